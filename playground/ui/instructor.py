"""The instructor's page: the server's readings, every job of the cohort, lesson links.

Who may open it is decided in `playground.ui.access`."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from playground.jobs import JobManager
from playground.jobs.cohort import COLUMNS, cohort_counts, cohort_rows
from playground.links import SETTING_NAMES, LinkError, lesson_link, qr_png
from playground.server_stats import server_stats
from playground.toy import SETTING_CHOICES, SETTING_RANGES, ToySettings
from playground.ui.layout import errors_shown
from playground.ui.stepper import FORMATS, LABELS, STEPS

REFRESH_S = 5.0


def server_panel(manager: JobManager) -> None:
    """Students online, jobs by state, CPU, memory and GPU memory, refreshed every few seconds."""

    @st.fragment(run_every=REFRESH_S)
    def readings() -> None:
        stats = server_stats()
        counts = cohort_counts(manager.cohort())
        columns = st.columns(4)
        columns[0].metric("students online", manager.students_online())
        columns[1].metric("jobs running", counts["running"])
        columns[2].metric("jobs queued", counts["queued"])
        columns[3].metric("students training", counts["students training"])
        columns = st.columns(4)
        columns[0].metric("server CPU", f"{stats.cpu_percent:.0f} %", help="100 % is one core")
        columns[1].metric(
            "machine CPU", f"{stats.machine_cpu_percent:.0f} %", help=f"of {stats.cores} cores"
        )
        columns[2].metric("server memory", f"{stats.rss_gib:.2f} GiB")
        columns[3].metric(
            "memory free", f"{stats.memory_available_gib:.1f} of {stats.memory_total_gib:.0f} GiB"
        )
        st.caption(f"Jobs train on: {manager.executor.description()}.")
        for gpu in stats.gpus:
            st.caption(
                f"{gpu.name}: jobs hold {gpu.allocated_gib:.1f} GiB; "
                f"{gpu.free_gib:.1f} of {gpu.total_gib:.0f} GiB free"
            )

    readings()


def cohort_panel(manager: JobManager, display_name=lambda key: None) -> None:
    """Every job of the cohort as a table (refreshed), and pause / resume / stop with a reason."""

    @st.fragment(run_every=REFRESH_S)
    def table() -> None:
        rows = cohort_rows(manager.cohort(), display_name)
        if not rows:
            st.info("No student has started a job yet.", icon=":material/hourglass_empty:")
            return
        st.dataframe(
            pd.DataFrame(rows, columns=COLUMNS),
            hide_index=True,
            column_config={
                "progress": st.column_config.ProgressColumn("progress", format="percent"),
                "FID": st.column_config.NumberColumn("FID", format="%.1f"),
                "label accuracy": st.column_config.NumberColumn(format="percent"),
            },
        )

    table()
    _actions(manager, display_name)


def _actions(manager: JobManager, display_name) -> None:
    rows = {row["job"]: row for row in cohort_rows(manager.cohort(), display_name)}
    if not rows:
        return
    with st.form("instructor_actions"):
        job_id = st.selectbox(
            "job",
            list(rows),
            format_func=lambda j: (
                f"{j} · {rows[j]['student']} · {rows[j]['model']} · {rows[j]['state']}"
            ),
        )
        reason = st.text_input(
            "reason (the student sees it on their job)",
            max_chars=200,
            placeholder="e.g. freeing the GPU for the demo",
        )
        pause, resume, stop = st.columns(3)
        action = None
        if pause.form_submit_button("Pause", icon=":material/pause:"):
            action = "pause"
        if resume.form_submit_button("Resume", icon=":material/play_arrow:"):
            action = "resume"
        if stop.form_submit_button("Stop", icon=":material/stop:"):
            action = "stop"
    if action is None:
        return
    with errors_shown():
        if action == "pause":
            manager.instructor_pause(job_id, reason)
        elif action == "resume":
            manager.instructor_resume(job_id)
        else:
            manager.instructor_stop(job_id, reason)
        st.toast(f"Job {job_id}: {action} done", icon=":material/check:")


def lesson_link_panel() -> None:
    """Compose a 1-D experiment (settings and locked controls); get its link and QR code."""
    defaults = ToySettings()
    with st.form("lesson_link"):
        base = st.text_input("the app's address", value=_app_address())
        columns = st.columns(4)
        values = {}
        for i, name in enumerate(SETTING_NAMES):
            with columns[i % 4]:
                values[name] = _setting_input(name, getattr(defaults, name))
        locked = st.multiselect(
            "controls the students cannot change",
            ["all", *SETTING_NAMES],
            format_func=lambda n: LABELS.get(n, n),
        )
        presses = st.text_input(
            "presses to replay (optional): the link opens at the step they reach",
            placeholder="e.g. 3d,g,200r",
            help="d: D step, g: G step, s: k D + 1 G (s3: k = 3), 200r: Run 200 steps; a count "
            "in front repeats a press (3d); name-value changes a setting in place (lr_g-0.001)",
        )
        made = st.form_submit_button("Make the link", icon=":material/qr_code_2:")
    if not made:
        return
    with errors_shown((ValueError, LinkError)):
        link = lesson_link(base, ToySettings(**values), locked, presses.strip())
        st.code(link, language=None)
        png = qr_png(link)
        st.image(png, caption="Project this: a phone camera opens the experiment", width=320)
        st.download_button("Download the QR code", png, "lesson-link.png", "image/png")


def _setting_input(name: str, default):
    """One setting's widget: a choice, a switch, or a number in its allowed range."""
    label = LABELS.get(name, name.replace("_", " "))
    if name in SETTING_CHOICES:
        choices = SETTING_CHOICES[name]
        return st.selectbox(label, choices, index=choices.index(default), key=f"lesson.{name}")
    if isinstance(default, bool):
        return st.checkbox(label, value=default, key=f"lesson.{name}")
    low, high = SETTING_RANGES[name]
    step = STEPS.get(name, 1)
    if isinstance(default, float) or any(isinstance(v, float) for v in (low, high, step)):
        low, high, default, step = float(low), float(high), float(default), float(step)
    return st.number_input(
        label, min_value=low, max_value=high, value=default, step=step,
        format=FORMATS.get(name), key=f"lesson.{name}",
    )  # fmt: skip


def _app_address() -> str:
    """The address this page was opened at, without the page's own path."""
    url = st.context.url or "http://localhost:8501"
    return url.split("?")[0].removesuffix("/instructor").rstrip("/") + "/"
