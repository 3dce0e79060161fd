"""Widgets of the 1-D GAN stepper: settings form -> ToySettings, step buttons, counters, the
one-line explanation and the rewind slider (which experiment it shows, and its link, are in
`playground.ui.experiment`).

This session's `ToyGAN` lives in one SessionValue, so page navigation keeps it and two students
never share one. Every button acts in an on_click callback, which runs before the script: the
widgets it updates (form fields, rewind slider) are not drawn yet, so they can be set from state.
"""

from __future__ import annotations

import threading
import time
from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any

import streamlit as st

from playground.toy import (
    SETTING_CHOICES,
    SETTING_RANGES,
    ToyGAN,
    ToySettings,
    ToySettingsError,
    run_limit,
)
from playground.tricks import TRICK_FIELDS
from playground.ui.layout import decimal, errors_shown
from playground.ui.state import SessionValue
from playground.ui.trick_fields import TRICK_HELP, TRICK_LABELS, TWO_TIME_SCALES_NOTE, trick_widget

GAN: SessionValue[ToyGAN | None] = SessionValue("stepper.gan", lambda: None)
PENDING: SessionValue[ToySettings | None] = SessionValue("stepper.pending", lambda: None)
LOCKED: SessionValue[frozenset[str]] = SessionValue("stepper.locked", frozenset)
NOTICE: SessionValue[str] = SessionValue("stepper.notice", str)
PROBLEM: SessionValue[str] = SessionValue("stepper.problem", str)
RUN_N: SessionValue[int] = SessionValue("stepper.run_n", lambda: 200)
RUNNING: SessionValue[RunRequest | None] = SessionValue("stepper.running", lambda: None)
WHOLE_PAGE: SessionValue[bool] = SessionValue("stepper.whole_page", lambda: False)
"""Set by a press that needs the whole page to run again (Reset, Run N steps)."""
REWIND: SessionValue[int] = SessionValue("stepper.rewind", lambda: 0)
FORM: dict[str, SessionValue[Any]] = {
    f.name: SessionValue(f"stepper.form.{f.name}", lambda: None) for f in fields(ToySettings)
}

D_STEP, G_STEP, DG_STEP, RUN, STOP, RESET, APPLY = (
    f"stepper.{name}" for name in ("d_step", "g_step", "dg_step", "run", "stop", "reset", "apply")
)
"""Keys of the buttons (tests press them by key)."""

LABELS = {
    "target": "real data",
    "real_mean": "real mean",
    "real_std": "real std",
    "noise": "noise z",
    "noise_dim": "noise dimension",
    "g_hidden": "G hidden width",
    "d_hidden": "D hidden width",
    "optimizer": "optimizer",
    "lr_d": "D learning rate",
    "lr_g": "G learning rate",
    "momentum": "SGD momentum",
    "beta1": "Adam β1",
    "beta2": "Adam β2",
    "batch_size": "batch size",
    "g_loss": "G loss",
    "k_d": "k: D steps per G step",
    "seed": "seed",
    **TRICK_LABELS,
}
STEPS = {
    "real_mean": 0.25,
    "real_std": 0.05,
    "lr_d": 1e-4,
    "lr_g": 1e-4,
    "momentum": 0.05,
    "beta1": 0.05,
    "beta2": 0.001,
}
FORMATS = {"lr_d": "%.5f", "lr_g": "%.5f", "beta2": "%.4f"}
HELP = {
    "target": "the data's shape: gaussian, two_modes (two separated modes), three_modes, uniform "
    "or exponential (skewed); real mean and real std are its mean and std for every shape",
    "real_mean": "the mean of the real data, whatever its shape",
    "real_std": "the standard deviation of the real data, whatever its shape",
    "noise": "uniform: U(-1, 1) as in the classic 50-line GAN; gaussian: N(0, 1)",
    "momentum": "used by SGD only",
    "beta1": "used by Adam only",
    "beta2": "used by Adam only",
    "g_loss": "minimax: minimise log(1 − D(G(z))); non-saturating: minimise −log D(G(z))",
    "k_d": "used by 'k D + 1 G' and 'Run N steps'",
    **TRICK_HELP,
}


def fill_form(settings: ToySettings, force: bool) -> None:
    """Put `settings` into the form's widgets (all of them, or only those not on screen yet)."""
    for name, value in asdict(settings).items():
        if force or not FORM[name].exists():
            FORM[name].set(value)


# -- settings panel ---------------------------------------------------------------------------


SETTINGS_COLUMNS = 4
"""The settings form's columns: data, networks, optimizer and loss (they stack on a phone)."""


def settings_panel(gan: ToyGAN) -> None:
    """The settings form, folded above the buttons. Learning rates, optimizer hyper-parameters,
    loss, batch size and k change in place; sizes, noise, optimizer kind, data and seed wait for
    Reset."""
    locked = LOCKED.get()
    with st.expander(
        "Settings: data, networks, optimizer, loss, seed and tricks", icon=":material/tune:"
    ):
        with st.form("stepper.settings_form", border=False):
            names = [name for name in LABELS if name not in TRICK_FIELDS]
            rows = -(-len(names) // SETTINGS_COLUMNS)
            for column, start in zip(
                st.columns(SETTINGS_COLUMNS), range(0, len(names), rows), strict=True
            ):
                with column:
                    for name in names[start : start + rows]:
                        _setting_widget(name, disabled=name in locked)
            _tricks_row(locked)
            st.form_submit_button("Apply", key=APPLY, on_click=_on_apply, type="primary")
        if locked:
            st.caption(f"Locked by the link: {', '.join(LABELS[n] for n in sorted(locked))}.")
    if PROBLEM.get():
        st.error(PROBLEM.get(), icon=":material/error:")
    pending = PENDING.get()
    if pending is not None:
        names = ", ".join(LABELS[n] for n in gan.settings.rebuild_fields(pending))
        st.warning(
            f"Changing {names} needs new networks: press **Reset** to start over with them. "
            "The other changes already apply.",
            icon=":material/restart_alt:",
        )


def _tricks_row(locked: frozenset[str]) -> None:
    """The training tricks, all off by default, under the other settings."""
    st.markdown("**Training tricks** (all off by default). " + TWO_TIME_SCALES_NOTE)
    columns = st.columns(SETTINGS_COLUMNS)
    for index, name in enumerate(TRICK_FIELDS):
        with columns[index % SETTINGS_COLUMNS]:
            trick_widget(name, key=FORM[name].key, disabled=name in locked)


def _setting_widget(name: str, disabled: bool) -> None:
    key, label = FORM[name].key, LABELS[name]
    help_text = "locked by the link" if disabled else HELP.get(name)
    if name in SETTING_CHOICES:
        st.selectbox(label, SETTING_CHOICES[name], key=key, disabled=disabled, help=help_text)
        return
    low, high = SETTING_RANGES[name]
    st.number_input(
        label, min_value=low, max_value=high, step=STEPS.get(name, 1), format=FORMATS.get(name),
        key=key, disabled=disabled, help=help_text,
    )  # fmt: skip


def _on_apply() -> None:
    gan = GAN.get()
    assert gan is not None
    try:
        wanted = ToySettings(**{name: value.get() for name, value in FORM.items()}).validate()
    except ToySettingsError as exc:
        PROBLEM.set(str(exc))
        return
    PROBLEM.set("")
    rebuild = gan.settings.rebuild_fields(wanted)
    gan.apply(replace(wanted, **{name: getattr(gan.settings, name) for name in rebuild}))
    PENDING.set(wanted if rebuild else None)
    NOTICE.set("Settings applied in place: the optimizers keep their state.")


# -- buttons, counters, explanation, rewind ---------------------------------------------------


@dataclass
class RunRequest:
    """A "Run N steps" press in progress: it survives reruns until done or stopped.

    `start_step` is the history step the press started from; `driver` the script thread now
    training it (a rerun hands the run to the new thread, and the old one stops)."""

    total: int
    start_step: int
    done: int = 0
    driver: int = 0
    started: float = field(default_factory=time.monotonic)


PROGRESS_EVERY_S = 0.1
"""How often a Run press redraws its progress bar."""


def step_buttons(gan: ToyGAN) -> None:
    """D step, G step, k D + 1 G, Run N steps (N chosen) and Reset."""
    limit = run_limit(gan.settings)
    if not RUN_N.exists() or RUN_N.get() > limit:
        RUN_N.set(min(RUN_N.get(), limit))  # the N field's default, or its new maximum
    # One wrapping row: on a narrow screen the buttons flow onto a second line, never "D st…".
    with st.container(horizontal=True, vertical_alignment="bottom", gap="small"):
        st.button("D step", key=D_STEP, on_click=press, args=("d",), type="primary")
        st.button("G step", key=G_STEP, on_click=press, args=("g",), type="primary")
        st.button(f"{gan.settings.k_d} D + 1 G", key=DG_STEP, on_click=press, args=("dg",),
                  help="k D steps then one G step (k from the settings)")  # fmt: skip
        st.number_input(
            "N", min_value=1, max_value=limit, step=50, key=RUN_N.key, width=140,
            help=f"at most {limit} with these settings: bigger networks, batches and k allow "
            "fewer steps per press, so one press never takes minutes",
        )  # fmt: skip
        st.button("Run N steps", key=RUN, on_click=_start_run, help="N times (k D + 1 G)")
        st.button("Reset", key=RESET, on_click=_reset, help="new networks from the seed")


def run_in_progress(gan: ToyGAN) -> None:
    """A Run press, carried on with a progress bar and Stop (nothing when no Run is on).

    This runs in the whole page's script, not in the part a press reruns: a click on Stop then
    interrupts the running script at once, where a click inside the pressed part would wait for
    the run to end."""
    request = RUNNING.get()
    if request is not None:
        _run_with_progress(gan, request)


def busy() -> bool:
    """True (and say so) when a Run press is still going: other presses wait for Stop."""
    request = RUNNING.get()
    if request is None:
        return False
    NOTICE.set(
        f"Still running: {request.done} of {request.total} steps done. That press was ignored; "
        "press **Stop** to end the run first."
    )
    return True


def press(kind: str) -> None:
    """One D step ("d"), G step ("g") or k D + 1 G ("dg"), unless a Run press is going."""
    gan = GAN.get()
    assert gan is not None
    if busy():
        return
    if kind == "d":
        gan.d_step()
    elif kind == "g":
        gan.g_step()
    else:
        gan.step()
    REWIND.set(gan.current.step)
    NOTICE.set("")


def _start_run() -> None:
    gan = GAN.get()
    assert gan is not None
    if busy():
        return
    RUNNING.set(RunRequest(total=RUN_N.get(), start_step=gan.current.step))
    NOTICE.set("")
    WHOLE_PAGE.set(True)  # the run is carried on by the whole page (see run_in_progress)


def _stop_run() -> None:
    gan, request = GAN.get(), RUNNING.get()
    RUNNING.set(None)  # the thread training it stops before its next iteration
    if gan is not None and request is not None:
        done = gan.run_count(request.start_step)
        NOTICE.set(f"Stopped after {done} of {request.total} steps.")


def _run_with_progress(gan: ToyGAN, request: RunRequest) -> None:
    """Carry on the Run press `request` with a progress bar and a Stop button.

    A rerun of the page (any click) starts a new script thread: it takes the run over from
    `request.start_step` and the old thread stops after its current iteration, so the press
    does exactly N iterations whichever threads do them. Only Stop (or Reset) ends it early.
    """
    request.driver = threading.get_ident()
    bar, stop = st.columns([5, 1], vertical_alignment="center")
    stop.button("Stop", key=STOP, on_click=_stop_run, icon=":material/stop:", width="stretch")
    progress = bar.progress(request.done / request.total, text=_progress_text(request))
    drawn = time.monotonic()

    def still_mine() -> bool:  # not stopped, reset, or taken over by a newer script thread
        return RUNNING.get() is request and request.driver == threading.get_ident()

    def on_progress(done: int, total: int) -> bool:
        nonlocal drawn
        if not still_mine():
            return False
        request.done = done
        if time.monotonic() - drawn >= PROGRESS_EVERY_S:
            drawn = time.monotonic()
            progress.progress(done / total, text=_progress_text(request))
        return True

    with errors_shown():
        gan.run(
            request.total,
            on_progress=on_progress,
            resume_from_step=request.start_step,
            keep_going=still_mine,
        )
    if still_mine():
        RUNNING.set(None)  # done: not stopped, reset or handed over
        REWIND.set(gan.current.step)


def _progress_text(request: RunRequest) -> str:
    elapsed = time.monotonic() - request.started
    text = f"Running {request.done} of {request.total} steps"
    if request.done >= 5 and elapsed > 0.5:
        left = elapsed / request.done * (request.total - request.done)
        text += f" · about {left:.0f} s left"
    return text + " · other presses wait for the run to end; Stop ends it now"


def _reset() -> None:
    gan = GAN.get()
    assert gan is not None
    RUNNING.set(None)  # a Run in progress ends: its networks are being replaced
    settings = PENDING.get() or gan.settings
    GAN.set(ToyGAN(settings))
    PENDING.set(None)
    PROBLEM.set("")
    fill_form(settings, force=True)
    REWIND.set(0)
    NOTICE.set(f"Reset: new networks from seed {settings.seed}.")
    WHOLE_PAGE.set(True)


def press_summary(gan: ToyGAN) -> None:
    """Counters of D and G updates, the latest losses and the explanation of the last press."""
    latest = gan.last_losses()
    batch = "batch mean in the last update that measured it"
    with st.container(horizontal=True, gap="large"):  # wraps onto two lines on a narrow screen
        st.metric("D updates", gan.d_steps, width="content")
        st.metric("G updates", gan.g_steps, width="content")
        st.metric("D loss", decimal(latest["d_loss"]), help="log 4 ≈ 1.3863 when D = ½ everywhere",
                  width="content")  # fmt: skip
        st.metric("G loss", decimal(latest["g_loss"]), width="content")
        st.metric("D(real)", decimal(latest["d_real"]), help=batch, width="content")
        st.metric("D(fake)", decimal(latest["d_fake"]), help=batch, width="content")
        st.metric(
            "JS(p_data ‖ p_g)",
            decimal(gan.current.measures.js),
            help="0 when p_g = p_data, at most log 2",
            width="content",
        )
    if NOTICE.get():
        st.success(NOTICE.get(), icon=":material/check:")
    st.info(gan.explain(), icon=":material/lightbulb:")
    if gan.diverged():
        st.warning(
            "The last update produced NaN or infinite numbers: rewind or Reset.",
            icon=":material/warning:",
        )


def map_caption(settings: ToySettings) -> str:
    """What the generator's map chart shows, for these settings' noise and real data."""
    if settings.noise_dim > 1:
        return "With several noise coordinates G(z) is drawn against the first one only."
    if settings.target == "gaussian":
        return (
            "G is a function from noise to data. One exact answer stretches the noise's CDF onto "
            "the Gaussian's (dashed): x = μ + σ·Φ⁻¹(F(z))."
        )
    return (
        "G is a function from noise to data. One exact answer stretches the noise's CDF onto "
        "the data's (dashed): x = F_data⁻¹(F(z)), steep where the data is rare."
    )


def rewind_control(gan: ToyGAN) -> None:
    """A slider over every restorable step: moving it puts both networks and optimizers back."""
    steps = gan.rewind_steps()
    if len(steps) < 2:
        st.caption("Every step you take appears here and can be rewound.")
        return
    if not REWIND.exists() or REWIND.get() not in steps:
        REWIND.set(gan.current.step)
    st.select_slider(
        "rewind to step", options=steps, key=REWIND.key, on_change=_on_rewind,
        help="restores the parameters, the optimizers' state and the batch RNG; a new press drops the later steps",
    )  # fmt: skip


def _on_rewind() -> None:
    gan = GAN.get()
    assert gan is not None
    if busy():
        REWIND.set(gan.current.step)
        return
    gan.rewind(REWIND.get())
    NOTICE.set(f"Rewound to step {gan.current.step}. A new press starts a new future from here.")
