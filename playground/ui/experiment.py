"""Which experiment the 1-D stepper shows: the one its link opens (the presses replayed, so it
reopens at the same step with the same numbers), a named preset, or this session's own; and
the link written back into the page's address after every press.
"""

from __future__ import annotations

import time
from dataclasses import replace
from typing import NoReturn

import streamlit as st

from playground.links import (
    experiment_params,
    lesson_params,
    named_presets,
    preset_note,
    read_link,
)
from playground.toy import Replay, ToyGAN, ToySettings, replay_presses
from playground.toy.presets import STEPPER_PRESETS, TARGET_PRESETS
from playground.ui.state import SessionValue
from playground.ui.stepper import (
    GAN,
    LOCKED,
    NOTICE,
    PENDING,
    PROBLEM,
    REWIND,
    RUNNING,
    WHOLE_PAGE,
    fill_form,
)

PRESET: SessionValue[str] = SessionValue("stepper.preset", str)
"""The key of the named experiment this one started as ("" for none)."""
LINK_NOTE: SessionValue[str] = SessionValue("stepper.link_note", str)
"""Why the page's address cannot carry the presses ("" when it does)."""

PAGE = "../pages/gaussian_gan.py"
"""The stepper page, as Home.py registers it (relative to the entry script)."""
DEFAULTS_KEY = "stepper.preset.defaults"
PROGRESS_EVERY_S = 0.1


def link_values() -> dict[str, list[str]]:
    """This page's query parameters with every value each was given (a repeat is visible)."""
    return {name: st.query_params.get_all(name) for name in st.query_params}


def current_gan() -> ToyGAN:
    """This session's ToyGAN; the first time, the experiment the link opens (or the defaults)."""
    gan = GAN.get()
    if gan is None:
        gan = _open_link()
    fill_form(PENDING.get() or gan.settings, force=False)
    write_link(gan)
    return gan


def _open_link() -> ToyGAN:
    opened = read_link(link_values())
    for problem in opened.problems:
        st.error(problem, icon=":material/error:")
    gan = ToyGAN(opened.settings)
    if opened.presses is not None and opened.presses.presses:
        _replay_with_progress(gan, opened.presses)
    GAN.set(gan)
    LOCKED.set(opened.locked)
    PRESET.set(opened.preset)
    fill_form(gan.settings, force=True)
    REWIND.set(gan.current.step)
    return gan


def _replay_with_progress(gan: ToyGAN, presses: Replay) -> None:
    """Replay a link's presses, with a progress bar when it takes a moment."""
    bar = st.empty()
    drawn = time.monotonic()

    def on_progress(done: int, total: int) -> None:
        nonlocal drawn
        if time.monotonic() - drawn >= PROGRESS_EVERY_S:
            drawn = time.monotonic()
            bar.progress(
                done / total, text=f"Replaying this link's presses: step {done} of {total}"
            )

    replay_presses(gan, presses, on_progress)
    bar.empty()
    NOTICE.set(f"Replayed this link's presses: step {gan.current.step}, the same numbers.")


def write_link(gan: ToyGAN) -> None:
    """Put the link to the current step into the page's address (if it changed)."""
    params, note = experiment_params(gan, LOCKED.get(), PRESET.get())
    LINK_NOTE.set(note)
    if st.query_params.to_dict() != params:
        st.query_params.from_dict(params)


def fragment_gan() -> ToyGAN:
    """This session's ToyGAN, for the part of the page a press reruns (a fragment); the
    address follows the press.

    After a Reset the settings form and the link outside the fragment must show the new
    settings, so the whole page runs again instead."""
    if WHOLE_PAGE.get():
        WHOLE_PAGE.set(False)
        st.rerun(scope="app")
    gan = GAN.get()
    assert gan is not None, "current_gan() runs first on every full run of the page"
    write_link(gan)
    return gan


def open_experiment(settings: ToySettings, preset: str = "") -> NoReturn:
    """Go to the stepper page with a new experiment built from `settings` (started as the
    named `preset`, if given); it replaces this session's experiment there."""
    GAN.set(None)
    PENDING.set(None)
    RUNNING.set(None)
    LOCKED.set(frozenset())
    st.switch_page(PAGE, query_params=lesson_params(settings, (), "", preset))


def preset_banner(gan: ToyGAN) -> None:
    """Which named experiment this one started as (and what changed since), if any."""
    note = preset_note(PRESET.get(), gan.settings)
    if note:
        st.info(note, icon=":material/bookmark:")
    if PRESET.get() in STEPPER_PRESETS:
        st.caption(STEPPER_PRESETS[PRESET.get()].shows)


def preset_buttons(gan: ToyGAN) -> None:
    """A button per named stepper experiment, and one back to the defaults (same seed); none
    while a link locks controls (a preset would unlock them)."""
    if LOCKED.get():
        return
    with st.container(horizontal=True, gap="small"):
        for key, preset in STEPPER_PRESETS.items():
            if preset.settings.target != "gaussian":
                continue  # offered by target_buttons
            st.button(f"Open: {preset.title.lower()}", key=f"stepper.preset.{key}",
                      on_click=_open_preset, args=(key,), help=preset.shows,
                      icon=":material/science:")  # fmt: skip
        if PRESET.get() or gan.settings != ToySettings(seed=gan.settings.seed):
            st.button("Back to the defaults", key=DEFAULTS_KEY, on_click=_open_preset, args=("",),
                      icon=":material/restart_alt:")  # fmt: skip


def target_buttons() -> None:
    """For each real data shape beyond the Gaussian: settings that learn it and a preset where G
    drops a mode (none while a link locks controls)."""
    if LOCKED.get():
        return
    with st.expander(
        "Other real data: two modes, three modes, uniform, exponential",
        icon=":material/ssid_chart:",
    ):
        for presets in TARGET_PRESETS.values():
            with st.container(horizontal=True, gap="small"):
                for preset in presets:
                    st.button(f"Open: {preset.title.lower()}", key=f"stepper.preset.{preset.key}",
                              on_click=_open_preset, args=(preset.key,), help=preset.shows,
                              icon=":material/science:")  # fmt: skip


def _open_preset(key: str) -> None:
    """Start the named experiment `key` ("" for the defaults) from this experiment's seed."""
    gan = GAN.get()
    seed = gan.settings.seed if gan is not None else 0
    base = STEPPER_PRESETS[key].settings if key else ToySettings()
    settings = replace(base, seed=seed)
    RUNNING.set(None)
    GAN.set(ToyGAN(settings))
    PENDING.set(None)
    PROBLEM.set("")
    PRESET.set(key)
    LOCKED.set(frozenset())
    fill_form(settings, force=True)
    REWIND.set(0)
    title = named_presets()[key][0] if key else "the defaults"
    NOTICE.set(f"Opened {title} (seed {seed}).")


def link_caption() -> None:
    """How to share the experiment, and why the address opens at step 0 when it must."""
    st.caption(
        "The settings, the seed and your presses are in this page's address: copy it to share "
        "the experiment at this very step (add lock=lr_d,g_loss to fix chosen controls). Same "
        "seed and same presses give the same numbers."
    )
    if LINK_NOTE.get():
        st.caption(LINK_NOTE.get())
