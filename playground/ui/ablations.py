"""The MNIST page's ablation section: a DCGAN rule broken, the baseline beside it.

The student picks a rule; the shipped runs of the baseline and of that ablation (one seed, one
command but for `--ablation`) are compared with no training: sample grids, loss curves, the MNIST
metrics and a sentence computed from them (`playground.ablations`). Their own finished jobs compare
the same way when a baseline and an ablation differ only in that setting.
"""

from __future__ import annotations

import streamlit as st

from playground import ablations, shipped
from playground.ablations import LABELS, RULES, AblationError, Run
from playground.checkpoints import CheckpointError
from playground.figures import ablations as figures
from playground.figures.mnist import sample_grid
from playground.jobs import JobManager
from playground.ui.state import SessionValue

_PICK: SessionValue[str] = SessionValue("ablations.pick", lambda: "no_batch_norm")
SHIPPED_SOURCE = "shipped runs"
JOBS_SOURCE = "my jobs"
SOURCES = (SHIPPED_SOURCE, JOBS_SOURCE)


@st.cache_resource(show_spinner=False, max_entries=16)
def _shipped_run(name: str, path: str, mtime_ns: int) -> Run:
    del path, mtime_ns  # part of the cache key: a replaced file is read afresh
    ablation = name.removeprefix(ablations.SHIPPED_PREFIX)
    return ablations.shipped_run(shipped.load(name), ablations.shipped_entry(ablation))


def shipped_run(ablation: str) -> Run:
    """The shipped run of `ablation` ("none": the baseline); CheckpointError when its file is
    missing or unreadable."""
    name = ablations.shipped_name(ablation)
    path, mtime = shipped.model_file(name)
    return _shipped_run(name, str(path), mtime)


def _picked() -> str:
    """The ablation this session looks at; an unknown value is reported and replaced."""
    value = _PICK.get()
    try:
        return ablations.checked_ablation(value)
    except AblationError as exc:
        st.warning(f"{exc}; showing {LABELS['no_batch_norm']} instead.")
        return _PICK.reset()


def ablation_picker() -> str:
    """The rule to break, as a select box kept across reruns."""
    names = list(RULES)
    picked = st.selectbox(
        "Rule to break",
        names,
        index=names.index(_picked()),
        format_func=lambda name: LABELS[name],
        key="ablations_picker",
    )
    _PICK.set(picked)
    return picked


def ablations_panel(manager: JobManager | None, owner: str | None) -> None:
    """Pick a rule; compare the baseline with its ablation, shipped or from the student's jobs."""
    ablation = ablation_picker()
    pairs = [] if manager is None or owner is None else _my_pairs(manager, owner, ablation)
    if pairs and st.radio("Runs", SOURCES, horizontal=True, key="ablations_source") == JOBS_SOURCE:
        labels = [f"{b.label} vs {a.label}" for b, a in pairs]
        chosen = st.selectbox(
            "Your pair of jobs", range(len(pairs)), format_func=labels.__getitem__
        )
        comparison(*pairs[chosen], key="ablations_jobs")
        return
    try:
        baseline, ablated = shipped_run("none"), shipped_run(ablation)
    except CheckpointError as exc:
        st.info(ablations.unavailable_text(ablation, str(exc)), icon=":material/info:")
        return
    comparison(baseline, ablated, key="ablations_shipped")
    if not pairs:
        st.caption(
            "To compare your own runs: train a job with the rule to break set to none, and one "
            "with this ablation, every other setting and the seed the same. Once both finish "
            "they appear here."
        )


def _my_pairs(manager: JobManager, owner: str, ablation: str) -> list[tuple[Run, Run]]:
    """This owner's finished (baseline, ablation) pairs for `ablation` (only their own jobs)."""
    snapshots = manager.list(owner)
    return [
        (ablations.job_run(b), ablations.job_run(a))
        for b, a in ablations.job_pairs(snapshots)
        if a.settings.ablation == ablation
    ]


def comparison(baseline: Run, ablated: Run, key: str) -> None:
    """The two runs side by side: sample grids, metrics, loss curves, and what the numbers say."""
    problem = ablations.comparison_problem(baseline.settings, ablated.settings)
    if problem:
        st.warning(f"These runs do not compare: {problem}.")
        return
    st.markdown(ablations.verdict(baseline, ablated))
    for column, run in zip(st.columns(2), (baseline, ablated), strict=True):
        column.markdown(f"**{run.label}**")
        if run.samples is not None:
            column.image(sample_grid(run.samples, 8), width="stretch")
    rows = {run.label: run.metrics for run in (baseline, ablated) if run.metrics}
    if rows:
        st.dataframe(figures.metrics_side_by_side(rows), width="stretch")
    if baseline.history and ablated.history:
        histories = {baseline.label: baseline.history, ablated.label: ablated.history}
        st.plotly_chart(figures.loss_comparison(histories), width="stretch", key=key)
    s = baseline.settings
    st.caption(
        f"Both runs: seed {s.seed}, batch {s.batch_size}, learning rates {s.lr_g:g} (G) and "
        f"{s.lr_d:g} (D), {s.epochs:g} epoch(s); metrics on the same evaluation noise, with the "
        "classifier of every other MNIST result. One seed each: train a pair with another seed "
        "to see how much of the difference holds."
    )
