"""The instructor's view: the server, every job of the cohort, lesson links (instructors only)."""

import streamlit as st

from playground.ui import access, instructor
from playground.ui import jobs as jobs_ui
from playground.ui import leaderboard as leaderboard_ui
from playground.ui.layout import page_header

if not access.admitted():
    st.stop()

page_header(
    "Instructor",
    "The whole class at a glance: what the server is using, every student's job (named by the "
    "display name they chose on the leaderboard, otherwise by a pseudonym), and links that open "
    "an experiment you compose on every student's screen.",
)
manager = jobs_ui.shared_manager()

st.header("The server")
if manager is not None:
    instructor.server_panel(manager)

st.header("Every job")
st.markdown(
    "Pause a job to free its slot (it stays paused until you resume it) or stop it for good; "
    "the student reads your reason on their job. Files stay theirs."
)
if manager is not None:
    board = leaderboard_ui.shared_leaderboard(manager.settings.runs_dir)
    instructor.cohort_panel(manager, display_name=board.display_name)

st.header("A lesson link")
st.markdown(
    "Choose a 1-D experiment and the controls to lock; every student who opens the link (or "
    "scans the code) gets the same networks, batches and locks."
)
instructor.lesson_link_panel()
