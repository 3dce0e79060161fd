"""Failure modes: mode collapse and an overpowered discriminator, each with its fix, from presets."""

import streamlit as st

from playground.failures import LESSONS
from playground.ui import failures, tricks_tab
from playground.ui.layout import page_header

page_header(
    "When GAN training fails, and how to fix it",
    "GANs fail in a few typical ways. Each tab runs a **preset** that fails, next to the same "
    "preset with one setting changed that fixes it. Seed 0's runs show at once; another seed "
    "trains first (a progress bar shows the time left), and the same seed gives the same run. Use "
    "the slider to play a run back and watch the failure develop. The **Tricks** tab measures "
    "the training tricks practitioners use against mode collapse.",
)

*lesson_tabs, tricks = st.tabs([lesson.title for lesson in LESSONS.values()] + ["Tricks"])
for tab, key in zip(lesson_tabs, LESSONS, strict=True):
    with tab:
        failures.lesson_panel(key)
with tricks:
    tricks_tab.tricks_panel()

st.subheader("Spotting these failures in a real run")
st.markdown(
    "- **Mode collapse**: the sample grid shows the same few digits; on the MNIST page the "
    "*digits covered* metric drops and one digit's share grows.\n"
    "- **Overpowered discriminator**: D's loss goes to 0, D(x) → 1 and D(G(z)) → 0 and stay "
    "there while the samples stop improving. With the minimax loss G's gradient vanishes; the "
    "non-saturating loss (the default everywhere in this course) keeps G learning.\n"
    "- **Divergence**: a loss becomes NaN or explodes; the training jobs stop such a run and keep "
    "its last good checkpoint."
)
