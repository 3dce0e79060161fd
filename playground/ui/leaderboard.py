"""The class leaderboard on the MNIST page: the ranked board of the picked model, the form that
publishes one of your finished jobs, and your entries, each with a Withdraw button.

The Leaderboard is one per runs folder, shared by every session (`st.cache_resource`; it holds its
own lock). The board shows only what each entry copied when it was published: a display name, a
score, a step and a sample grid; never an owner key or another student's jobs.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import streamlit as st

from playground.figures import mnist as figures
from playground.jobs import JobManager, JobSnapshot, JobState, owner_key
from playground.jobs.leaderboard import (
    ALLOWED_NAME,
    FOLDER,
    MAX_NAME_CHARS,
    Entry,
    Leaderboard,
    ranking,
)
from playground.ui.jobs import MODEL_LABELS, metrics_text
from playground.ui.layout import errors_shown

BOARD_ROWS = 20
"""Entries drawn per model (best first): each one is a sample grid image sent to the browser."""
GRID_PER_ROW = 8


@st.cache_resource(show_spinner=False)
def shared_leaderboard(runs_dir: Path) -> Leaderboard:
    """The leaderboard kept in the runs folder's leaderboard/, one for the whole process."""
    return Leaderboard(Path(runs_dir) / FOLDER)


@st.cache_resource(show_spinner=False, max_entries=256)
def _entry_grid(entry_id: str, published_at: float, _samples: np.ndarray) -> np.ndarray:
    del entry_id, published_at  # the cache key: an entry published again has new samples
    return figures.sample_grid(_samples, GRID_PER_ROW)


def leaderboard_panel(manager: JobManager, owner: str, model: str) -> None:
    """The ranked board of `model`, the publish form and the owner's entries.

    The board is drawn last into a place above the form, so a job published in this run is
    already on it.
    """
    board = None
    with errors_shown():
        board = shared_leaderboard(manager.settings.runs_dir)
    if board is None:
        return
    board_place = st.container()
    _publish_form(board, manager, owner, model)
    _my_entries(board, owner)
    with board_place:
        _ranked_board(board, model)


def _ranked_board(board: Leaderboard, model: str) -> None:
    rank_by = ranking(model)
    entries = board.entries(model)
    label = MODEL_LABELS[model]
    if not entries:
        st.caption(f"No {label} entries yet: publish one of your finished jobs below.")
        return
    better = "lower" if rank_by.lower_is_better else "higher"
    shown = (
        f"; the best {BOARD_ROWS} of {len(entries)} are shown" if len(entries) > BOARD_ROWS else ""
    )
    st.caption(f"{label} entries ranked by {rank_by.label} ({better} is better){shown}.")
    for rank, entry in enumerate(entries[:BOARD_ROWS], start=1):
        with st.container(border=True, key=f"board-{entry.entry_id}"):
            words, grid = st.columns([3, 2])
            words.markdown(f"**#{rank} · {markdown_text(entry.display_name)}**")
            words.caption(_score_text(entry))
            grid.image(_entry_grid(entry.entry_id, entry.published_at, entry.samples))


def _score_text(entry: Entry) -> str:
    """E.g. "FID 41.3 · step 1,870"."""
    return f"{score_text(entry.metric_name, entry.metric_value)} · step {entry.step:,}"


def score_text(metric_name: str, value: float | None) -> str:
    """One score as the job panel writes it (e.g. "FID 41.3"); empty when there is none."""
    return metrics_text({metric_name: value}, None).removeprefix("Metrics: ")


def markdown_text(name: str) -> str:
    """A display name as literal Markdown text: its marks (. _ -) are escaped, so a name never
    turns into italics or a list."""
    return "".join(f"\\{c}" if c in "._-" else c for c in name)


def _publish_form(board: Leaderboard, manager: JobManager, owner: str, model: str) -> None:
    finished = [s for s in manager.list(owner) if s.model == model and s.state == JobState.FINISHED]
    label = MODEL_LABELS[model]
    if not finished:
        st.caption(f"When one of your {label} jobs has finished, you can publish it here.")
        return
    with st.form(f"publish_{model}"):
        job_id = st.selectbox(
            "your finished job",
            [s.job_id for s in finished],
            format_func=lambda i: _job_label(finished, i),
            key=f"publish_{model}_job",
        )
        name = st.text_input(
            "display name",
            value=board.display_name(owner_key(owner)) or "",
            max_chars=MAX_NAME_CHARS,
            help=f"Shown to the whole class: {ALLOWED_NAME}.",
            key=f"publish_{model}_name",
        )
        submitted = st.form_submit_button("Publish", icon=":material/publish:")
    if submitted:
        with errors_shown():
            entry = board.publish(owner, manager.get(owner, str(job_id)), name)
            st.toast(f"Published as {entry.display_name}", icon=":material/leaderboard:")


def _job_label(finished: list[JobSnapshot], job_id: str) -> str:
    s = next(s for s in finished if s.job_id == job_id)
    rank_by = ranking(s.model)
    score = score_text(rank_by.metric_name, s.metrics.get(rank_by.metric_name))
    return f"{job_id} · step {s.step:,} · {score or 'no ' + rank_by.label}"


def _my_entries(board: Leaderboard, owner: str) -> None:
    mine = board.mine(owner)
    if not mine:
        return
    st.markdown("**Your entries**")
    for entry in mine:
        words, action = st.columns([4, 1], vertical_alignment="center")
        words.markdown(
            f"{markdown_text(entry.display_name)} · {MODEL_LABELS[entry.model]} · "
            f"{_score_text(entry)}"
        )
        if action.button("Withdraw", key=f"withdraw-{entry.entry_id}", icon=":material/delete:"):
            with errors_shown():
                board.withdraw(owner, entry.entry_id)
                st.rerun()
