"""The training tricks in a settings form: one label, help line and step per switch, shared by the
1-D stepper's form and the MNIST job form (the switches themselves: `playground.tricks`)."""

from __future__ import annotations

from typing import Any

import streamlit as st

from playground.tricks import OBJECTIVES, TRICK_FIELDS, TRICK_FLAGS, TRICK_RANGES, Tricks

TRICK_LABELS = {
    "label_smoothing": "label smoothing s",
    "instance_noise": "instance noise σ₀",
    "instance_noise_steps": "noise fades over (steps)",
    "objective": "objective",
    "gp_weight": "gradient penalty λ",
    "minibatch_std": "minibatch std in D",
    "spectral_norm": "spectral norm in D",
}
TRICK_HELP = {
    "label_smoothing": (
        "One-sided label smoothing: D's target for real samples is 1 − s (fakes keep 0), so D "
        "is never more confident than 1 − s. 0 = off; 0.1 is the usual choice."
    ),
    "instance_noise": (
        "D sees every sample, real or fake, through x + σ ε with ε ~ N(0, 1): the two "
        "distributions overlap, so D cannot be perfect early on. σ falls linearly from σ₀ to 0. "
        "0 = off."
    ),
    "instance_noise_steps": "training iterations (G updates) over which σ falls to 0",
    "objective": (
        "gan: D's BCE and the chosen G loss. wgan-gp: D becomes a critic f scoring samples, "
        "with loss E[f(fake)] − E[f(real)] + λ·gradient penalty, and G minimises −E[f(fake)]; "
        "k (D steps per G step) is n_critic (5 in the paper); label smoothing and the G loss "
        "do not apply."
    ),
    "gp_weight": "wgan-gp only: λ times E[(‖∇f(x̂)‖ − 1)²] on random mixes x̂ of real and fake",
    "minibatch_std": (
        "D also sees how much the samples of its batch differ from each other: a collapsed "
        "batch of fakes (all alike) is easy to spot. Needs new networks (Reset)."
    ),
    "spectral_norm": (
        "Every weight matrix of D divided by its largest singular value: D cannot get steep, "
        "so its gradients to G stay tame. Needs new networks (Reset)."
    ),
}
TRICK_STEPS = {
    "label_smoothing": 0.05,
    "instance_noise": 0.1,
    "instance_noise_steps": 100,
    "gp_weight": 1.0,
}
TWO_TIME_SCALES_NOTE = (
    "Two time-scales (Heusel et al. 2017) need no switch: give D a larger learning rate than G "
    "(e.g. lr_d = 4 × lr_g)."
)


def trick_widget(name: str, key: str | None = None, disabled: bool = False, **value: Any) -> Any:
    """The widget of trick `name` (checkbox, selectbox or number box); `value=` sets the start
    value of an unkeyed widget. Returns what it shows."""
    label, help_text = TRICK_LABELS[name], TRICK_HELP[name]
    common: dict[str, Any] = {"key": key, "disabled": disabled, "help": help_text}
    if name in TRICK_FLAGS:
        return st.checkbox(label, **common, **value)
    if name == "objective":
        index = {"index": OBJECTIVES.index(value["value"])} if value else {}
        return st.selectbox(label, OBJECTIVES, **common, **index)
    low, high = TRICK_RANGES[name]
    return st.number_input(
        label, min_value=low, max_value=high, step=TRICK_STEPS[name], **common, **value
    )


def trick_inputs(defaults: Tricks, columns: int = 4) -> dict[str, Any]:
    """Every trick's widget in `columns` columns, started at `defaults`: their values by name."""
    values: dict[str, Any] = {}
    slots = st.columns(columns)
    for index, name in enumerate(TRICK_FIELDS):
        with slots[index % columns]:
            values[name] = trick_widget(name, value=getattr(defaults, name))
    st.caption(TWO_TIME_SCALES_NOTE)
    return values
