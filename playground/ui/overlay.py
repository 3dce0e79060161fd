"""Overlay runs: pin up to three runs of the 1-D stepper and compare their loss and JS curves
with this run's on one chart (`playground.figures.toy.overlay_figure`)."""

from __future__ import annotations

from dataclasses import dataclass, fields

import streamlit as st

from playground.figures.toy import overlay_figure
from playground.toy import Curves, ToyGAN, ToySettings
from playground.ui.live_chart import live_chart
from playground.ui.state import SessionValue
from playground.ui.stepper import GAN

MAX_PINNED = 3


@dataclass(frozen=True)
class PinnedRun:
    """A run's curves as they were when pinned, and a name saying what made it different."""

    name: str
    curves: Curves


PINNED: SessionValue[list[PinnedRun]] = SessionValue("overlay.pinned", list)
MESSAGE: SessionValue[str] = SessionValue("overlay.message", str)
PIN, CLEAR = "overlay.pin", "overlay.clear"
"""Keys of the buttons (tests press them by key)."""


def run_name(settings: ToySettings, step: int) -> str:
    """A short name for a run: what differs from the defaults, its seed and its step."""
    default = ToySettings()
    changed = [
        f"{f.name} {getattr(settings, f.name):g}"
        if isinstance(getattr(settings, f.name), float)
        else f"{f.name} {getattr(settings, f.name)}"
        for f in fields(settings)
        if f.name != "seed" and getattr(settings, f.name) != getattr(default, f.name)
    ]
    return ", ".join([*changed, f"seed {settings.seed}", f"step {step}"])


def compare_runs(gan: ToyGAN) -> None:
    """Pin / clear buttons and, once a run is pinned, the chart of this run beside them."""
    pinned = PINNED.get()
    with st.container(horizontal=True, vertical_alignment="center", gap="small"):
        st.button("Pin this run", key=PIN, on_click=_pin, icon=":material/push_pin:",
                  help=f"Keep this run's curves to compare with later runs (up to {MAX_PINNED})")  # fmt: skip
        if pinned:
            st.button("Unpin all", key=CLEAR, on_click=_clear)
        st.caption(f"{len(pinned)} of {MAX_PINNED} runs pinned")
    if MESSAGE.get():
        st.caption(MESSAGE.get())
    if not pinned:
        st.caption(
            "Pin this run, change a setting (or open a preset), Reset, and press again: the "
            "runs' losses and JS appear on one chart."
        )
        return
    runs = [("this run", gan.curves()), *((run.name, run.curves) for run in pinned)]
    live_chart(overlay_figure(runs), key="toy_overlay")
    for index, run in enumerate(pinned):
        with st.container(horizontal=True, vertical_alignment="center", gap="small"):
            st.button("Unpin", key=f"overlay.unpin.{index}", on_click=_unpin, args=(index,))
            st.caption(f"Pinned {index + 1}: {run.name}")


def _pin() -> None:
    gan = GAN.get()
    assert gan is not None
    pinned = PINNED.get()
    if len(pinned) >= MAX_PINNED:
        MESSAGE.set(f"{MAX_PINNED} runs are pinned already: unpin them to pin this one.")
        return
    pinned.append(PinnedRun(run_name(gan.settings, gan.current.step), gan.curves()))
    MESSAGE.set("")


def _unpin(index: int) -> None:
    pinned = PINNED.get()
    if index < len(pinned):
        del pinned[index]
    MESSAGE.set("")


def _clear() -> None:
    PINNED.set([])
    MESSAGE.set("")
