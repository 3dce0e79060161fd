"""The saddle point: why the GAN game's equilibrium is hard to reach with gradient steps."""

import streamlit as st

from playground.figures import saddle as figures
from playground.saddle import METHODS, SaddleSettings, distances, trajectory, verdict
from playground.ui.layout import errors_shown, page_header
from playground.ui.live_chart import live_chart

page_header(
    "The equilibrium is a saddle point",
    "A GAN is a game: G minimises the value V(D, G) that D maximises. Its equilibrium is neither "
    "a minimum nor a maximum of V but a **saddle point**: lowest along G's direction and highest "
    "along D's at the same time. Gradient steps find minima; at a saddle point each player's step "
    "changes the ground under the other, so they can circle the answer instead of reaching it. "
    "The smallest game with that shape is **min over x, max over y of f(x, y) = x·y**: x plays G, "
    "y plays D, and the only equilibrium is (0, 0).",
)

st.markdown(
    "- **Simultaneous** steps (both players read the same old point, x′ = x − η·y, "
    "y′ = y + η·x) spiral **outwards**: every step multiplies the distance to (0, 0) by "
    "√(1 + η²).\n"
    "- **Alternating** steps (y answers the new x, as the 1-D page's *D step* / *G step* "
    "buttons do) **circle for ever**: x² + y² − η·x·y never changes.\n"
    "- **Extragradient** (each player first looks one step ahead, then steps with the gradient "
    "found there) spirals **in**: the distance shrinks by √(1 − η² + η⁴) per step."
)


@st.fragment
def game() -> None:
    """The controls and the two charts: a change reruns this part only."""
    left, right = st.columns([1, 2])
    with left:
        chosen = st.multiselect("how the players step", METHODS, default=list(METHODS))
        lr = st.slider("step size η", 0.01, 1.0, 0.2, 0.01)
        steps = st.slider("steps", 10, 500, 100, 10)
        x0 = st.slider("start x (G)", -2.5, 2.5, 1.0, 0.1)
        y0 = st.slider("start y (D)", -2.5, 2.5, 1.0, 0.1)
    with errors_shown():
        runs = {m: SaddleSettings(m, lr, steps, x0, y0).validate() for m in chosen}
        paths = {m: trajectory(s) for m, s in runs.items()}
        with right:
            live_chart(figures.landscape_figure(paths), key="saddle_landscape")
        for settings in runs.values():
            st.markdown(f"- {verdict(settings)}")
        live_chart(
            figures.distance_figure({m: distances(p) for m, p in paths.items()}),
            key="saddle_distance",
        )


game()

st.subheader("What this means for a GAN")
st.markdown(
    "Real GANs are not x·y, but near their equilibrium the game looks like it: each network's "
    "best step depends on where the other stands. That is why GAN losses oscillate instead of "
    "settling, and why practitioners give the players different speeds. On the **1-D Gaussian "
    "GAN** page, D learns 8× faster than G by default (two time-scale updates): D is nearly "
    "optimal whenever G moves, which damps the circling. Set both learning rates equal there and "
    "watch the fakes' mean swing around 4 instead of settling; the failure-modes page shows what "
    "happens when the balance tips the other way."
)
