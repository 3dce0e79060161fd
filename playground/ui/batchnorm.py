"""Widgets of the batch-norm page: the small layer's controls, the generator probe's controls, and
their results cached once per server for each setting (a rerun with settings seen before costs
nothing; a new setting costs one small forward and backward pass)."""

from __future__ import annotations

import streamlit as st

from playground.batchnorm import (
    BatchNormDemo,
    DemoRun,
    GeneratorProbe,
    LayerReadout,
    probe_generator,
    run_demo,
)
from playground.figures.batchnorm import WITH_BN, WITHOUT_BN
from playground.ui.layout import decimal


@st.cache_data(show_spinner=False, max_entries=256)
def demo_run(demo: BatchNormDemo) -> DemoRun:
    """The small layer fed the demo's batches, ours beside torch's (cached)."""
    return run_demo(demo)


@st.cache_data(show_spinner=False, max_entries=64)
def generator_readouts(probe: GeneratorProbe) -> dict[str, LayerReadout]:
    """The probed generator with and without batch norm (cached)."""
    return {WITH_BN: probe_generator(probe, True), WITHOUT_BN: probe_generator(probe, False)}


def demo_controls() -> BatchNormDemo:
    """The student's knobs on the small layer; channel 1 is the one they shape."""
    left, middle, right = st.columns(3)
    with left:
        batch_size = st.slider("batch size B", 2, 16, 4, key="bn_batch_size")
        batches = st.slider("batches seen in train mode", 1, 100, 5, key="bn_batches")
        seed = st.number_input("seed", 0, 10_000, 0, key="bn_seed")
    with middle:
        scale = st.slider("channel 1's input scale", 0.1, 10.0, 3.0, 0.1, key="bn_scale")
        shift = st.slider("channel 1's input shift", -10.0, 10.0, 5.0, 0.5, key="bn_shift")
        momentum = st.slider("momentum m", 0.01, 1.0, 0.1, 0.01, key="bn_momentum")
    with right:
        gamma = st.slider("channel 1's γ (scale)", 0.0, 3.0, 1.0, 0.1, key="bn_gamma")
        beta = st.slider("channel 1's β (shift)", -3.0, 3.0, 0.0, 0.1, key="bn_beta")
    return BatchNormDemo(
        batch_size=batch_size, scale=scale, shift=shift, gamma=gamma, beta=beta,
        momentum=momentum, batches=batches, seed=int(seed),
    ).validate()  # fmt: skip


def channel_statistics(run: DemoRun) -> str:
    """μ and σ² of each channel of the last batch, as the lesson writes them."""
    parts = [
        f"channel {c + 1}: μ = {decimal(run.mean[c], 4)}, σ² = {decimal(run.var[c], 4)}"
        for c in range(run.mean.size)
    ]
    return f"Over n = B·H·W = {run.count} values per channel — " + "; ".join(parts) + "."


def torch_gaps(run: DemoRun) -> None:
    """The three "max |ours − torch|" numbers, side by side."""
    train, running, evaluation = st.columns(3)
    train.metric("max |ours − torch|, train mode", f"{run.gap_train:.1e}")
    running.metric("… running statistics", f"{run.gap_running:.1e}")
    evaluation.metric("… eval mode", f"{run.gap_eval:.1e}")


def probe_controls() -> GeneratorProbe:
    """How deep the generator is and how big its initial weights are."""
    left, right = st.columns(2)
    init_std = left.select_slider(
        "initial weights' std σ_w",
        options=[0.005, 0.01, 0.02, 0.03, 0.04, 0.05, 0.059, 0.07, 0.08, 0.1, 0.12, 0.15],
        value=0.02, key="bn_init_std",
        help="DCGAN draws its convolution weights from N(0, 0.02²); 0.059 = √(2/fan-in) of a "
        "64-channel 3×3 layer (He initialisation).",
    )  # fmt: skip
    extra = right.slider(
        "extra 64-channel layers", 0, 8, 0, key="bn_extra_layers",
        help="Blocks like the generator's own (transposed convolution, batch norm, ReLU), "
        "inserted before its output layer.",
    )  # fmt: skip
    return GeneratorProbe(extra_layers=extra, init_std=float(init_std)).validate()


def sample_spread(readouts: dict[str, LayerReadout]) -> None:
    """How different G's images are from one another, per variant."""
    for column, (variant, readout) in zip(st.columns(len(readouts)), readouts.items(), strict=True):
        column.metric(
            f"spread of G's images, {variant}", f"{readout.sample_spread:.4f}",
            help="The std over the batch of each pixel, averaged: 0 means every noise vector "
            "gives the same image. Pixels lie in [−1, 1].",
        )  # fmt: skip


__all__ = [
    "channel_statistics",
    "demo_controls",
    "demo_run",
    "generator_readouts",
    "probe_controls",
    "sample_spread",
    "torch_gaps",
]
