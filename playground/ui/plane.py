"""Widgets of the 2-D GAN page: which experiment it shows (its link, replayed, or this session's
own), the settings form, the step buttons, the read-out, rewind, and the canvas a student draws
the data on. This session's `PlaneGAN` lives in one SessionValue, so page navigation keeps it.
Every button acts in an on_click callback, before the script draws anything."""

from __future__ import annotations

from dataclasses import fields, replace
from typing import Any

import numpy as np
import streamlit as st

from playground.figures import plane as figures
from playground.losses import GAN_LOSSES
from playground.plane import (
    ACTIVATIONS,
    DATA_KINDS,
    NOISE_KINDS,
    OPTIMIZERS,
    PlaneSettings,
    PlaneSettingsError,
)
from playground.plane.drawing import candidate_points, drawn_points
from playground.plane.links import experiment_params, read_link, replay
from playground.plane.readout import COARSE, FINE
from playground.plane.stepper import PlaneGAN, run_limit
from playground.tricks import OBJECTIVES
from playground.ui.layout import decimal
from playground.ui.live_chart import live_chart
from playground.ui.state import SessionValue

GAN: SessionValue[PlaneGAN | None] = SessionValue("plane.gan", lambda: None)
NOTICE: SessionValue[str] = SessionValue("plane.notice", str)
PROBLEM: SessionValue[str] = SessionValue("plane.problem", str)
LINK_NOTE: SessionValue[str] = SessionValue("plane.link_note", str)
DRAWING: SessionValue[tuple] = SessionValue("plane.drawing", tuple)
RUN_N: SessionValue[int] = SessionValue("plane.run_n", lambda: 200)

D_STEP, G_STEP, DG_STEP, RUN, RESET, REWIND, USE_DRAWING, SHARP, APPLY = (
    f"plane.{name}"
    for name in ("d_step", "g_step", "dg_step", "run", "reset", "rewind", "use_drawing", "sharp",
                 "apply")
)  # fmt: skip
"""Keys of the controls (tests press them by key)."""
CANVAS = "plane.canvas"
FORM_PREFIX = "plane.form."

CAPTIONS = {
    "ring": "Eight narrow Gaussians on a circle: the fakes spread out and find the modes one by "
    "one. After 600 steps most seeds cover 7 or 8 of the 8 (6 of 10 seeds measured) while the "
    "rest still hop, and none has settled (JS estimate above 0.25 on 10 of 10).",
    "two-hills": "Two broad Gaussians: one smooth G covers both within 600 steps (10 of 10 seeds), "
    "its manifold bending to reach each hill.",
    "line": "A thin segment: G squeezes its 2-D noise grid flat onto the line; within 600 steps the "
    "JS estimate is below 0.3 (10 of 10 seeds).",
    "clusters": "Two tight clusters far apart: a continuous G cannot tear its manifold in two. "
    "After 600 steps it has dropped one cluster on most seeds (7 of 10) and is still far from "
    "the data (JS estimate above 0.2 on 9 of 10).",
    "spiral": "A spiral arm: G must roll its noise grid up, which takes many steps; after 600 "
    "the JS estimate is still above 0.15 (10 of 10 seeds).",
    "grid": "Nine Gaussians on a 3 × 3 grid: slow to learn; after 600 steps G covers at most 5 "
    "of the 9 modes (10 of 10 seeds).",
    "drawn": "Your drawing: each drawn point is a small Gaussian (std = mode spread).",
}
"""What each data shape shows with the default networks (measured on seeds 100-109:
tests/unit/test_plane_presets.py)."""

LABELS = {
    "data": "data",
    "modes": "ring modes",
    "radius": "data size (radius)",
    "mode_std": "mode spread (std)",
    "noise": "noise z",
    "noise_dim": "noise dimension",
    "g_layers": "G hidden layers",
    "g_neurons": "G neurons per layer",
    "d_layers": "D hidden layers",
    "d_neurons": "D neurons per layer",
    "activation": "activation",
    "optimizer": "optimizer",
    "lr_d": "D learning rate",
    "lr_g": "G learning rate",
    "momentum": "SGD momentum",
    "beta1": "Adam β1",
    "beta2": "Adam β2",
    "batch_size": "batch size",
    "g_loss": "loss",
    "k_d": "k (D steps per G step)",
    "seed": "seed",
    "label_smoothing": "label smoothing",
    "instance_noise": "instance noise σ₀",
    "instance_noise_steps": "instance noise steps",
    "objective": "objective",
    "gp_weight": "gradient penalty λ",
    "minibatch_std": "minibatch std",
    "spectral_norm": "spectral norm",
}
CHOICES = {
    "data": DATA_KINDS,
    "noise": NOISE_KINDS,
    "activation": ACTIVATIONS,
    "optimizer": OPTIMIZERS,
    "g_loss": GAN_LOSSES,
    "objective": OBJECTIVES,
}


# -- which experiment ----------------------------------------------------------------------------


def current_gan() -> PlaneGAN:
    """This session's PlaneGAN; the first time, the experiment the page's link opens."""
    gan = GAN.get()
    if gan is None:
        opened = read_link({name: st.query_params.get_all(name) for name in st.query_params})
        for problem in opened.problems:
            st.error(problem, icon=":material/error:")
        gan = PlaneGAN(opened.settings)
        if opened.presses:
            replay(gan, opened.presses, opened.final)
            NOTICE.set(f"Replayed this link's presses: step {gan.current.step}, the same numbers.")
        GAN.set(gan)
    return gan


def write_link(gan: PlaneGAN) -> None:
    """Put the link to the current step into the page's address (if it changed)."""
    params, note = experiment_params(gan)
    LINK_NOTE.set(note)
    if st.query_params.to_dict() != params:
        st.query_params.from_dict(params)


def _start(settings: PlaneSettings, notice: str) -> None:
    GAN.set(PlaneGAN(settings))
    PROBLEM.set("")
    NOTICE.set(notice)
    for name in list(st.session_state):
        if isinstance(name, str) and name.startswith(FORM_PREFIX):
            del st.session_state[name]  # the form shows the new settings


# -- settings ------------------------------------------------------------------------------------


def _widget(name: str, value: Any) -> Any:
    key, label = FORM_PREFIX + name, LABELS[name]
    if name in CHOICES:
        options = CHOICES[name]
        return st.selectbox(label, options, index=options.index(value), key=key)
    if isinstance(value, bool):
        return st.checkbox(label, value=value, key=key)
    if isinstance(value, int):
        return int(st.number_input(label, value=value, step=1, key=key))
    return float(st.number_input(label, value=value, format="%.5g", key=key))


GROUPS = (
    ("Data and noise", ("data", "modes", "radius", "mode_std", "noise", "noise_dim", "seed")),
    ("Networks", ("g_layers", "g_neurons", "d_layers", "d_neurons", "activation", "batch_size")),
    ("Training", ("optimizer", "lr_d", "lr_g", "beta1", "beta2", "momentum", "g_loss", "k_d")),
    ("Tricks", ("label_smoothing", "instance_noise", "instance_noise_steps", "objective",
                "gp_weight", "minibatch_std", "spectral_norm")),
)  # fmt: skip


def settings_panel(gan: PlaneGAN) -> None:
    """The settings form: rates, loss and k change in place; the rest starts over."""
    expander = st.expander("Settings: data, networks, training", expanded=False)
    with expander, st.form("plane.settings"):
        for title, names in GROUPS:
            st.markdown(f"**{title}**")
            columns = st.columns(4)
            for index, name in enumerate(names):
                with columns[index % 4]:
                    _widget(name, getattr(gan.settings, name))
        st.form_submit_button("Apply", key=APPLY, on_click=_apply)
    if PROBLEM.get():
        st.error(PROBLEM.get(), icon=":material/error:")


def _apply() -> None:
    gan = GAN.get()
    assert gan is not None
    values = {f.name: st.session_state.get(FORM_PREFIX + f.name) for f in fields(PlaneSettings)}
    values = {k: v for k, v in values.items() if v is not None}
    try:
        settings = replace(gan.settings, **values).validate()
    except PlaneSettingsError as exc:
        PROBLEM.set(f"Not applied: {exc}")
        return
    PROBLEM.set("")
    if settings.rebuild_fields(gan.settings):
        changed = ", ".join(settings.rebuild_fields(gan.settings))
        GAN.set(PlaneGAN(settings))
        NOTICE.set(f"Started over with new networks ({changed} changed).")
    else:
        gan.apply(settings)
        NOTICE.set("Applied in place: the networks and the optimizers' state are kept.")


# -- presses -------------------------------------------------------------------------------------


def _pressed(action: str) -> None:
    gan = GAN.get()
    assert gan is not None
    try:
        if action == "d":
            gan.d_step()
        elif action == "g":
            gan.g_step()
        elif action == "dg":
            gan.step()
        else:
            gan.run(RUN_N.get())
    except PlaneSettingsError as exc:
        NOTICE.set(str(exc))
        return
    NOTICE.set(_explain(gan))


def _explain(gan: PlaneGAN) -> str:
    record, m = gan.current.record, gan.current.measures
    if record is None:
        return ""
    loss = f"D loss {decimal(record.d_loss)}" if record.d_loss is not None else ""
    loss += (
        f"{', ' if loss else ''}G loss {decimal(record.g_loss)}"
        if record.g_loss is not None
        else ""
    )
    return (
        f"Step {gan.current.step} ({gan.d_steps} D, {gan.g_steps} G updates): {loss}; "
        f"D(real) {m.d_real:.3f}, D(fake) {m.d_fake:.3f}."
    )


def _set_run_n() -> None:
    value = st.session_state.get("plane.run_n_input")
    if isinstance(value, int | float) and value >= 1:
        RUN_N.set(int(value))


def step_buttons(gan: PlaneGAN) -> None:
    """D step, G step, k D + 1 G, Run N and Start over, in one row."""
    with st.container(horizontal=True, gap="small", vertical_alignment="bottom"):
        st.button("D step", key=D_STEP, on_click=_pressed, args=("d",))
        st.button("G step", key=G_STEP, on_click=_pressed, args=("g",))
        st.button(f"{gan.settings.k_d} D + 1 G", key=DG_STEP, on_click=_pressed, args=("dg",))
        st.number_input("N", min_value=1, max_value=run_limit(gan.settings), value=min(RUN_N.get(), run_limit(gan.settings)),
                        step=50, key="plane.run_n_input", on_change=_set_run_n, width=120)  # fmt: skip
        st.button("Run N", key=RUN, on_click=_pressed, args=("run",))
        st.button("Start over", key=RESET, on_click=_restart, icon=":material/restart_alt:")
    if NOTICE.get():
        st.info(NOTICE.get(), icon=":material/info:")


def _restart() -> None:
    gan = GAN.get()
    assert gan is not None
    _start(gan.settings, f"Started over (seed {gan.settings.seed}).")


def readout(gan: PlaneGAN) -> None:
    """The counters and the step's numbers."""
    m = gan.current.measures
    record = gan.current.record
    with st.container(horizontal=True):
        st.metric("D updates", gan.d_steps)
        st.metric("G updates", gan.g_steps)
        st.metric("D loss", decimal(record.d_loss if record else None))
        st.metric("G loss", decimal(record.g_loss if record else None))
        st.metric("D(real)", f"{m.d_real:.3f}")
        st.metric("D(fake)", f"{m.d_fake:.3f}")
        st.metric("JS (estimate)", f"{m.js:.3f}")
        if np.isfinite(m.covered):
            st.metric("modes covered", f"{int(m.covered)} of {len(gan.picture().centers)}")


def pictures(gan: PlaneGAN) -> None:
    """The plane picture (coarse while stepping, fine on request) and the history charts."""
    sharp = st.toggle("Sharp picture (slower presses)", key=SHARP)
    with st.container(horizontal=True):
        manifold = st.checkbox("G's manifold", value=True, key="plane.show_manifold")
        arrows = st.checkbox("arrows on the fakes", value=True, key="plane.show_arrows")
    picture = gan.picture(FINE if sharp else COARSE)
    live_chart(figures.plane_figure(picture, manifold, arrows), key="plane_picture")
    st.caption(
        "Background: D's probability that a point is real (green: real, purple: fake, white: ½). "
        "Blue: real samples; red: fakes G(z) of fixed z, so they move only when G moves. Orange: "
        "a grid of noise space pushed through G (a curve for 1-D noise). Each red line points where "
        "the next G step pushes that fake: −∂loss/∂x."
    )
    st.caption(CAPTIONS[gan.settings.data])
    curves = gan.curves()
    left, right = st.columns(2)
    with left:
        live_chart(figures.loss_figure(curves), key="plane_losses")
        live_chart(figures.divergence_figure(curves), key="plane_divergences")
    with right:
        live_chart(figures.d_output_figure(curves), key="plane_d_outputs")
        if len(picture.centers):
            live_chart(figures.coverage_figure(curves, len(picture.centers)), key="plane_modes")


def rewind_control(gan: PlaneGAN) -> None:
    """Go back to any kept step (a press from there drops the later ones)."""
    steps = gan.rewind_steps()
    if len(steps) < 2:
        st.caption("Press a step button first; every kept step can be restored here.")
        return
    current = gan.current.step if gan.current.step in steps else steps[-1]
    with st.container(horizontal=True, vertical_alignment="bottom"):
        st.select_slider("step", options=steps, value=current, key="plane.rewind_step")
        st.button("Rewind", key=REWIND, on_click=_rewind, icon=":material/history:")


def _rewind() -> None:
    gan = GAN.get()
    assert gan is not None
    step = st.session_state.get("plane.rewind_step")
    if isinstance(step, int):
        gan.rewind(step)
        NOTICE.set(f"Back at step {step}: the same networks, optimizers and batches as then.")


# -- drawing -------------------------------------------------------------------------------------


def drawing_panel(gan: PlaneGAN) -> None:
    """The canvas: select points (click, box or lasso); they become the data on a press."""
    with st.expander("Draw your own data", expanded=gan.settings.data == "drawn"):
        drawn = np.array(gan.settings.drawn, dtype=np.float64).reshape(-1, 2)
        figure = figures.drawing_figure(candidate_points(), drawn, 5.0)
        event = st.plotly_chart(figure, key=CANVAS, on_select="rerun",
                                selection_mode=("points", "box", "lasso"), width="stretch")  # fmt: skip
        selected = drawn_points(event.selection.points) if event else ()
        DRAWING.set(selected)
        st.button(f"Train on the selected points ({len(selected)})", key=USE_DRAWING,
                  on_click=_use_drawing, disabled=len(selected) < 2)  # fmt: skip
        st.caption("Select with the box or lasso tool (shift adds to a selection). Each point "
                   "becomes a small Gaussian of std = mode spread; the link carries the points.")  # fmt: skip


def _use_drawing() -> None:
    gan = GAN.get()
    assert gan is not None
    settings = replace(gan.settings, data="drawn", drawn=DRAWING.get())
    try:
        settings.validate()
    except PlaneSettingsError as exc:
        PROBLEM.set(str(exc))
        return
    _start(settings, f"Started over on your {len(settings.drawn)} drawn points.")


def link_caption() -> None:
    st.caption(
        "The settings, the seed, the drawn points and your presses are in this page's address: "
        "copy it to reopen the experiment at this very step with the same numbers."
    )
    if LINK_NOTE.get():
        st.caption(LINK_NOTE.get())
