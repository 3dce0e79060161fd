"""Widgets of the 1-D GAN stepper: settings form -> ToySettings, the shareable link, step buttons,
counters, the one-line explanation and the rewind slider.

This session's `ToyGAN` lives in one SessionValue, so page navigation keeps it and two students
never share one. Every button acts in an on_click callback, which runs before the script: the
widgets it updates (form fields, rewind slider) are not drawn yet, so they can be set from state.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, fields, replace
from typing import Any, NoReturn

import streamlit as st

from playground.toy import SETTING_CHOICES, SETTING_RANGES, ToyGAN, ToySettings, ToySettingsError
from playground.ui.state import SessionValue

GAN: SessionValue[ToyGAN | None] = SessionValue("stepper.gan", lambda: None)
PENDING: SessionValue[ToySettings | None] = SessionValue("stepper.pending", lambda: None)
LOCKED: SessionValue[frozenset[str]] = SessionValue("stepper.locked", frozenset)
NOTICE: SessionValue[str] = SessionValue("stepper.notice", str)
PROBLEM: SessionValue[str] = SessionValue("stepper.problem", str)
RUN_N: SessionValue[int] = SessionValue("stepper.run_n", lambda: 200)
REWIND: SessionValue[int] = SessionValue("stepper.rewind", lambda: 0)
FORM: dict[str, SessionValue[Any]] = {
    f.name: SessionValue(f"stepper.form.{f.name}", lambda: None) for f in fields(ToySettings)
}

D_STEP, G_STEP, DG_STEP, RUN, RESET, APPLY = (
    f"stepper.{name}" for name in ("d_step", "g_step", "dg_step", "run", "reset", "apply")
)
"""Keys of the buttons (tests press them by key)."""

LOCK_PARAM = "lock"
PAGE = "../pages/gaussian_gan.py"
"""The stepper page, as Home.py registers it (relative to the entry script)."""
RUN_LIMIT = 2000

LABELS = {
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
    "noise": "uniform: U(-1, 1) as in the classic 50-line GAN; gaussian: N(0, 1)",
    "momentum": "used by SGD only",
    "beta1": "used by Adam only",
    "beta2": "used by Adam only",
    "g_loss": "minimax: minimise log(1 − D(G(z))); non-saturating: minimise −log D(G(z))",
    "k_d": "used by 'k D + 1 G' and 'Run N steps'",
}


# -- the shareable link -----------------------------------------------------------------------


def parse_lock(text: str) -> frozenset[str]:
    """The settings a link locks: "lr_d,g_loss" or "all"; unknown names are an error."""
    names = {name.strip() for name in text.split(",") if name.strip()}
    if "all" in names:
        return frozenset(LABELS)
    unknown = sorted(names - set(LABELS))
    if unknown:
        raise ToySettingsError(
            f"lock= names unknown settings {', '.join(unknown)}; known: all, {', '.join(LABELS)}"
        )
    return frozenset(names)


def link_params(settings: ToySettings, locked: frozenset[str]) -> dict[str, str]:
    """What the page URL carries: the settings (seed and non-defaults) and the locks."""
    params = settings.to_params()
    if locked:
        params[LOCK_PARAM] = ",".join(sorted(locked))
    return params


def settings_from_link(params: Mapping[str, str]) -> tuple[ToySettings, frozenset[str], list[str]]:
    """Settings and locks from a link, falling back to the defaults with a message per problem."""
    params = dict(params)
    problems: list[str] = []
    locked: frozenset[str] = frozenset()
    try:
        locked = parse_lock(params.pop(LOCK_PARAM, ""))
    except ToySettingsError as exc:
        problems.append(f"{exc}; nothing is locked.")
    try:
        settings = ToySettings.from_params(params)
    except ToySettingsError as exc:
        problems.append(
            f"This link's settings cannot be used: {exc}. Showing the default experiment."
        )
        settings = ToySettings()
    return settings, locked, problems


def current_gan() -> ToyGAN:
    """This session's ToyGAN; the first time, built from the link's settings (or the defaults)."""
    gan = GAN.get()
    if gan is None:
        settings, locked, problems = settings_from_link(st.query_params.to_dict())
        for problem in problems:
            st.error(problem, icon=":material/error:")
        gan = ToyGAN(settings)
        GAN.set(gan)
        LOCKED.set(locked)
        _fill_form(settings, force=True)
    _fill_form(PENDING.get() or gan.settings, force=False)
    wanted = link_params(gan.settings, LOCKED.get())
    if st.query_params.to_dict() != wanted:
        st.query_params.from_dict(wanted)
    return gan


def open_experiment(settings: ToySettings) -> NoReturn:
    """Go to the stepper page with a new experiment built from `settings`; it replaces this
    session's experiment there."""
    GAN.set(None)
    PENDING.set(None)
    LOCKED.set(frozenset())
    st.switch_page(PAGE, query_params=link_params(settings.validate(), frozenset()))


def _fill_form(settings: ToySettings, force: bool) -> None:
    """Put `settings` into the form's widgets (all of them, or only those not on screen yet)."""
    for name, value in asdict(settings).items():
        if force or not FORM[name].exists():
            FORM[name].set(value)


# -- settings panel ---------------------------------------------------------------------------


def settings_panel(gan: ToyGAN) -> None:
    """The sidebar form. Learning rates, optimizer hyper-parameters, loss, batch size and k change
    in place; sizes, noise, optimizer kind, data and seed wait for Reset."""
    locked = LOCKED.get()
    with st.sidebar.form("stepper.settings_form"):
        st.markdown("**Settings** (Apply to use them)")
        for name in LABELS:
            _setting_widget(name, disabled=name in locked)
        st.form_submit_button("Apply", key=APPLY, on_click=_on_apply, width="stretch")
    if locked:
        st.sidebar.caption(f"Locked by the link: {', '.join(LABELS[n] for n in sorted(locked))}.")
    if PROBLEM.get():
        st.sidebar.error(PROBLEM.get(), icon=":material/error:")
    pending = PENDING.get()
    if pending is not None:
        names = ", ".join(LABELS[n] for n in gan.settings.rebuild_fields(pending))
        st.warning(
            f"Changing {names} needs new networks: press **Reset** to start over with them. "
            "The other changes already apply.",
            icon=":material/restart_alt:",
        )


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


def step_buttons(gan: ToyGAN) -> None:
    """D step, G step, k D + 1 G, Run N steps (N chosen) and Reset."""
    RUN_N.get()  # give the N field its default before it is drawn
    d, g, dg, n, run, reset = st.columns([1, 1, 1.1, 1, 1.2, 1], vertical_alignment="bottom")
    d.button("D step", key=D_STEP, on_click=_press, args=("d",), width="stretch", type="primary")
    g.button("G step", key=G_STEP, on_click=_press, args=("g",), width="stretch", type="primary")
    dg.button(f"{gan.settings.k_d} D + 1 G", key=DG_STEP, on_click=_press, args=("dg",), width="stretch",
              help="k D steps then one G step (k from the settings)")  # fmt: skip
    n.number_input("N", min_value=1, max_value=RUN_LIMIT, step=50, key=RUN_N.key)
    run.button("Run N steps", key=RUN, on_click=_press, args=("run",), width="stretch",
               help="N times (k D + 1 G)")  # fmt: skip
    reset.button(
        "Reset", key=RESET, on_click=_reset, width="stretch", help="new networks from the seed"
    )


def _press(kind: str) -> None:
    gan = GAN.get()
    assert gan is not None
    if kind == "d":
        gan.d_step()
    elif kind == "g":
        gan.g_step()
    elif kind == "dg":
        gan.step()
    else:
        gan.run(RUN_N.get())
    REWIND.set(gan.current.step)
    NOTICE.set("")


def _reset() -> None:
    gan = GAN.get()
    assert gan is not None
    settings = PENDING.get() or gan.settings
    GAN.set(ToyGAN(settings))
    PENDING.set(None)
    PROBLEM.set("")
    _fill_form(settings, force=True)
    REWIND.set(0)
    NOTICE.set(f"Reset: new networks from seed {settings.seed}.")


def _fmt(value: float | None) -> str:
    return "—" if value is None else f"{value:.4f}"


def press_summary(gan: ToyGAN) -> None:
    """Counters of D and G updates, the latest losses and the explanation of the last press."""
    shown = gan.last_losses()
    cols = st.columns(7)
    cols[0].metric("D updates", gan.d_steps)
    cols[1].metric("G updates", gan.g_steps)
    cols[2].metric("D loss", _fmt(shown["d_loss"]), help="log 4 ≈ 1.3863 when D = ½ everywhere")
    cols[3].metric("G loss", _fmt(shown["g_loss"]))
    batch = "batch mean in the last update that measured it"
    cols[4].metric("D(real)", _fmt(shown["d_real"]), help=batch)
    cols[5].metric("D(fake)", _fmt(shown["d_fake"]), help=batch)
    cols[6].metric(
        "JS(p_data ‖ p_g)",
        f"{gan.current.measures.js:.4f}",
        help="0 when p_g = p_data, at most log 2",
    )
    if NOTICE.get():
        st.success(NOTICE.get(), icon=":material/check:")
    st.info(gan.explain(), icon=":material/lightbulb:")
    if gan.diverged():
        st.warning(
            "The last update produced NaN or infinite numbers: rewind or Reset.",
            icon=":material/warning:",
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
    gan.rewind(REWIND.get())
    NOTICE.set(f"Rewound to step {gan.current.step}. A new press starts a new future from here.")
