"""BCE loss: the loss both players use, and why the generator's minimax loss saturates."""

import numpy as np
import pandas as pd
import streamlit as st

from playground import losses
from playground.figures import bce as figures
from playground.ui.layout import decimal, errors_shown, page_header
from playground.ui.live_chart import live_chart

page_header(
    "Binary cross-entropy: the loss of the game",
    "D is a classifier that outputs ŷ = D(x), the probability that x is real. It is trained with "
    "**binary cross-entropy**: BCE(y, ŷ) = −[y·log ŷ + (1 − y)·log(1 − ŷ)], where y = 1 for real "
    "examples and y = 0 for fakes. Only one of the two terms is ever switched on.",
)

st.header("1. One prediction")


@st.fragment
def one_prediction() -> None:
    """A slider move reruns this section only and redraws its chart in place."""
    left, right = st.columns([1, 2])
    with left:
        prediction = st.slider("prediction ŷ = D(x)", 0.0, 1.0, 0.3, 0.01, key="bce_prediction")
        label = st.segmented_control(
            "true label y",
            options=[1, 0],
            default=1,
            key="bce_label",
            format_func=lambda y: "1 (real)" if y == 1 else "0 (fake)",
        )
        label = 1 if label is None else label
        loss = float(losses.bce_curve(np.array([prediction]), label)[0])
        st.metric("BCE loss", decimal(loss))
        st.caption(
            "Confident and right costs almost nothing; confident and wrong costs a lot. At exactly "
            "ŷ = 0 or 1 the log is clamped at −100 (as torch does), so the loss stays finite."
        )
    with right:
        live_chart(figures.bce_curves(prediction, label), key="bce_curves")


one_prediction()

st.header("2. A mini-batch")
st.markdown(
    "The loss of a batch is the mean over its examples. Edit the table: change labels, "
    "predictions, add or delete rows."
)
batch = st.data_editor(
    pd.DataFrame({"label y": [1, 1, 0, 0], "prediction ŷ": [0.9, 0.6, 0.2, 0.7]}),
    num_rows="dynamic",
    key="bce_batch",
    width="stretch",
    column_config={
        "label y": st.column_config.NumberColumn(min_value=0, max_value=1, step=1),
        "prediction ŷ": st.column_config.NumberColumn(min_value=0.0, max_value=1.0, step=0.01),
    },
)
with errors_shown():
    rows = batch.dropna()
    result = losses.minibatch_bce(rows["label y"].to_numpy(), rows["prediction ŷ"].to_numpy())
    st.metric("mean BCE of the batch", decimal(result.mean))
    st.caption(
        "Per example: "
        + ", ".join(decimal(v, 3) for v in result.per_example)
        + ". Same number as torch.nn.functional.binary_cross_entropy."
    )

st.header("3. The generator's view: why −log D(G(z)) and not log(1 − D(G(z)))")
st.markdown(
    "The original minimax game has G **minimise log(1 − D(G(z)))**. Early in training D easily "
    "spots the fakes, so D(G(z)) ≈ 0, and there the curve is flat: the gradient with respect to "
    "D's logit is −D(G(z)) → 0. G gets almost no signal exactly when it needs it most. The "
    "**non-saturating** loss −log D(G(z)) has the same goal but a gradient of −(1 − D(G(z))) → −1 "
    "there."
)


@st.fragment
def generator_gradients() -> None:
    d_fake = st.select_slider(
        "D(G(z)): how real D finds the fakes",
        key="bce_d_fake",
        options=[0.0001, 0.001, 0.01, 0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.99],
        value=0.01,
    )
    minimax_grad = abs(float(losses.g_loss_logit_gradient(np.array([d_fake]), "minimax")[0]))
    ns_grad = abs(float(losses.g_loss_logit_gradient(np.array([d_fake]), "nonsaturating")[0]))
    c1, c2, c3 = st.columns(3)
    c1.metric("minimax |gradient|", f"{minimax_grad:.4f}")
    c2.metric("non-saturating |gradient|", f"{ns_grad:.4f}")
    c3.metric("ratio", f"{ns_grad / minimax_grad:,.0f}×")
    live_chart(figures.generator_loss_curves(d_fake), key="g_loss_curves")


generator_gradients()

st.header("4. The best discriminator, and the value of the game")
st.markdown(
    "For a fixed G, the D that minimises the BCE is **D\\*(x) = p_data(x) / (p_data(x) + p_g(x))**. "
    "Plugged back in, D's two-term loss equals log 4 − 2·JS(p_data ‖ p_g). When G matches the data, "
    "D\\* = ½ everywhere and the loss is log 4 ≈ 1.386: the equilibrium of the game."
)


@st.fragment
def best_discriminator() -> None:
    c1, c2 = st.columns(2)
    with c1:
        g_mean = st.slider("generator mean", -2.0, 8.0, 1.0, 0.1, key="dstar_g_mean")
    with c2:
        g_std = st.slider("generator std", 0.3, 3.0, 1.0, 0.05, key="dstar_g_std")
    x = np.linspace(-6.0, 12.0, 600)
    p_data = losses.gaussian_pdf(x, 4.0, 1.25)
    p_g = losses.gaussian_pdf(x, g_mean, g_std)
    d_star = losses.optimal_discriminator(p_data, p_g)
    value = losses.optimal_discriminator_value(p_data, p_g, dx=float(x[1] - x[0]))
    c1, c2 = st.columns(2)
    c1.metric(
        "D's loss at D* (log 4 − 2·JS)",
        decimal(value),
        delta=f"{decimal(value - losses.LOG4, signed=True)} vs log 4",
        delta_color="off",
    )
    c2.metric(
        "JS(p_data ‖ p_g)", decimal((losses.LOG4 - value) / 2), help="between 0 and log 2 ≈ 0.693"
    )
    live_chart(figures.optimal_discriminator_figure(x, p_data, p_g, d_star), key="dstar")


best_discriminator()
st.caption(
    "p_data = N(4, 1.25²) (mean 4, std 1.25), the data of the 1-D GAN page. Move G onto it to see D* flatten to ½."
)
