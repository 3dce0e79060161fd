"""Batch normalization: what one layer computes, checked against torch, and why the DCGAN needs it."""

import streamlit as st

from playground.figures import batchnorm as figures
from playground.ui import batchnorm as bn
from playground.ui.layout import errors_shown, page_header
from playground.ui.live_chart import live_chart

page_header(
    "Batch normalization, shown",
    "Every block of the course's DCGAN generator is a transposed convolution, a **batch norm** "
    "and a ReLU. Batch norm takes each channel of a mini-batch, subtracts the batch's mean, "
    "divides by its standard deviation, then applies a learned scale γ and shift β. Below, it is "
    "written out on a tensor small enough to read, checked against PyTorch's own "
    "`torch.nn.BatchNorm2d`; then we look inside the generator with and without it.",
)

st.header("1. What one layer computes")
st.markdown(
    "For a batch x of shape (B, C, H, W), each channel c is normalised over its n = B·H·W values "
    "(ε = 10⁻⁵ keeps the division safe):"
)
st.latex(
    r"\mu_c = \frac{1}{n}\sum x,\quad \sigma^2_c = \frac{1}{n}\sum (x-\mu_c)^2,\quad "
    r"\hat{x} = \frac{x-\mu_c}{\sqrt{\sigma^2_c+\varepsilon}},\quad y = \gamma_c\,\hat{x}+\beta_c"
)
st.markdown(
    "In **train mode** the layer uses the batch's own μ and σ², and updates its running "
    "statistics with momentum m: running_mean ← (1 − m)·running_mean + m·μ, and "
    "running_var ← (1 − m)·running_var + m·σ²·n/(n − 1) (PyTorch keeps the unbiased variance). "
    "In **eval mode** it normalises with the running statistics instead, so a sample's output no "
    "longer depends on the rest of its batch. The tensor here has two channels of 2×2 pixels; "
    "channel 1's inputs are scale·N(0, 1) + shift, channel 2's are N(0, 1)."
)


@st.fragment
def one_layer() -> None:
    """The small layer: a change reruns this part only."""
    with errors_shown():
        run = bn.demo_run(bn.demo_controls())
        st.markdown(bn.channel_statistics(run))
        tabs = st.tabs(["x", "x̂ = (x − μ) / √(σ² + ε)", "y = γ·x̂ + β (train)", "y (eval)"])
        shown = (run.inputs, run.normalised, run.outputs, run.eval_outputs)
        for tab, values in zip(tabs, shown, strict=True):
            tab.dataframe(figures.channel_table(values, 0), width="stretch")
        st.caption("Channel 1 of the last batch: a row per sample, a column per pixel (h, w).")
        live_chart(
            figures.stages_figure(run.inputs[:, 0], run.normalised[:, 0], run.outputs[:, 0]),
            key="bn_stages",
        )
        st.markdown(
            "Whatever scale and shift you give channel 1, x̂ has mean 0 and variance close to 1; "
            "γ and β alone decide the output's range. The batch's μ and σ² are estimates: with "
            "a small batch they wander far from the shift and scale² the data were drawn with."
        )
        live_chart(
            figures.running_stats_figure(
                run.batch_means[:, 0], run.running_means[:, 0], run.batch_vars[:, 0],
                run.running_vars[:, 0], true_mean=run.demo.shift, true_var=run.demo.scale**2,
            ),
            key="bn_running",
        )  # fmt: skip
        st.markdown(
            "The running statistics start at mean 0, variance 1 and move a fraction m towards "
            "each batch's. Until they have caught up, eval mode's output (last tab) differs from "
            "train mode's: a network switched to eval mode too early is not the network that "
            "trained. Our arithmetic against PyTorch's, on every batch, in float64:"
        )
        bn.torch_gaps(run)


one_layer()

st.header("2. Why the DCGAN needs it")
st.markdown(
    "A layer without batch norm multiplies the size of its input by roughly σ_w·√(fan-in / 2), "
    "where σ_w is the spread of its weights and fan-in the number of inputs each output sums "
    "(a ReLU keeps half of the second moment). Through a stack of layers that factor compounds: "
    "below 1 the activations fade away, above 1 they blow up. Here is the course's generator at "
    "initialisation, fed one batch of 16 noise vectors, with and without its batch norms. Make "
    "it deeper, or change the initial weights, and watch which one keeps its scale."
)


@st.fragment
def inside_the_generator() -> None:
    """The generator probe: a change reruns this part only."""
    with errors_shown():
        readouts = bn.generator_readouts(bn.probe_controls())
        names = next(iter(readouts.values())).names
        bn.sample_spread(readouts)
        live_chart(
            figures.layer_scale_figure(names, {v: r.stds for v, r in readouts.items()}),
            key="bn_layer_scale",
        )
        layer = st.selectbox("histogram of", names, index=len(names) - 2, key="bn_layer")
        i = names.index(layer)
        live_chart(
            figures.activation_histogram_figure(
                {v: r.values[i] for v, r in readouts.items()}, layer
            ),
            key="bn_histogram",
        )
        live_chart(
            figures.gradient_figure(names, {v: r.grad_norms for v, r in readouts.items()}),
            key="bn_gradients",
        )
        with st.expander("Each layer's mean and std"):
            st.dataframe(
                figures.layer_table(
                    names, {v: r.means for v, r in readouts.items()},
                    {v: r.stds for v, r in readouts.items()},
                ),
                width="stretch",
            )  # fmt: skip


inside_the_generator()

st.markdown(
    "- **With batch norm** every block's activations are ReLU of a unit Gaussian, std ≈ 0.58, "
    "however deep the stack and however the weights were drawn: each layer gets inputs of the "
    "same size, and its weights get a gradient of a useful size.\n"
    "- **Without it**, at DCGAN's σ_w = 0.02 the scale shrinks about 3× per layer: the image "
    "layer gets almost nothing and every noise vector gives the same flat grey image (a spread "
    "near 0); add layers and every layer's gradient shrinks with it, a thousandfold at 8 extra "
    "layers. At σ_w = 0.1 each layer amplifies instead: add layers and the tanh saturates, "
    "pixels stuck at ±1 where its gradient vanishes.\n"
    "- An initialisation fitted to the fan-in (σ_w ≈ 0.059 here) holds the scale at the start, "
    "but only at the start and only for this architecture; once training moves the weights, "
    "nothing holds it. Batch norm does, at every step.\n\n"
    "The DCGAN paper (Radford et al., 2016) found batch norm essential to get deep generators "
    "to learn at all and to keep G from collapsing all its samples to one point; it leaves out "
    "G's output layer and D's input layer, where normalising made training oscillate (the "
    "course's small D keeps one after its first convolution)."
)
