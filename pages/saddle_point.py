"""The saddle point: why the GAN game's equilibrium is hard to reach with gradient steps, and what
makes the players reach it."""

import streamlit as st

from playground.figures import saddle as figures
from playground.saddle import METHODS, Players, SaddleSettings, distances, trajectory, verdict
from playground.ui import saddle
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

left, right = st.columns(2)
x0 = left.slider("start x (G)", -2.5, 2.5, 1.0, 0.1, key="saddle_x0")
y0 = right.slider("start y (D)", -2.5, 2.5, 1.0, 0.1, key="saddle_y0")

st.subheader("1. Play the game one player at a time")
st.markdown(
    "A **G step** moves x against the gradient, x ← x − η_G·y (G lowers the value); a **D step** "
    "moves y along it, y ← y + η_D·x (D raises it). Press *D step*, *G step*, *D step*, *G step*… "
    "and watch the point go round (0, 0) without ever arriving: each player's best move depends "
    "on where the other stands. Press one player's button several times in a row and that "
    "player runs off while the other stands still. Then give D a **gradient penalty** γ > 0 "
    "(its step becomes y ← y + η_D·(x − γ·y)) and alternate again."
)


@st.fragment
def by_hand(x0: float, y0: float) -> None:
    """The step sizes, the three buttons and the game: a press reruns this part only."""
    controls, chart = st.columns([1, 1.3])
    with controls:
        players = Players(
            st.slider("G's step η_G", 0.05, 1.0, 0.3, 0.05, key="saddle_turn_lr_g"),
            st.slider("D's step η_D", 0.05, 1.0, 0.3, 0.05, key="saddle_turn_lr_d"),
            st.slider("penalty on D γ", 0.0, 1.0, 0.0, 0.05, key="saddle_turn_gamma"),
        )
    with errors_shown():
        with controls:
            saddle.turn_buttons(x0, y0, players.validate())
            turns = saddle.current_turns(x0, y0)
            saddle.turn_counters(turns)
        with chart:
            live_chart(figures.turns_figure(turns.path(), turns.movers), key="saddle_turns")


by_hand(x0, y0)

st.subheader("2. What makes the players converge")
st.markdown(
    "Each method below updates both players once per step. All of them are linear, z′ = M·z, so "
    "the largest |eigenvalue| of M decides everything: above 1 the distance to (0, 0) grows, "
    "exactly 1 it circles, below 1 it shrinks (the table under the charts gives M for your "
    "settings).\n"
    "- **Simultaneous** (both read the same old point: x′ = x − η·y, y′ = y + η·x) spirals "
    "**outwards**: × √(1 + η²) per step.\n"
    "- **Alternating** (D answers G's new x, as the buttons above let you do) **circles for "
    "ever**: det M = 1 and x² + y² − η·x·y never changes.\n"
    "- **Two time-scales**: alternating with D's own step η_D ≠ η. It is the usual advice for "
    "GANs, but on this game it does **not** converge: M still has determinant 1 and, while "
    "η·η_D < 4, both eigenvalues stay on the unit circle; the orbit "
    "x² + (η/η_D)·y² − η·x·y = const is only stretched. (Giving simultaneous steps two speeds "
    "does not help either: × √(1 + η·η_D) per step.)\n"
    "- **Gradient penalty** on D (D maximises x·y − γ/2·y², the Dirac-GAN of Mescheder et al., "
    "2018): alternating steps now have det M = 1 − η·γ < 1 and spiral **in** for every γ > 0 (at the step sizes offered here). "
    "Simultaneous steps need more: they converge only when γ > η.\n"
    "- **Extragradient** (each player first looks one step ahead, then steps with the gradient "
    "found there) spirals **in**: × √(1 − η² + η⁴) per step."
)


@st.fragment
def methods(x0: float, y0: float) -> None:
    """The methods' controls and charts: a change reruns this part only."""
    left, right = st.columns([1, 2])
    with left:
        st.markdown("**how the players step**")
        chosen = [  # one box per method: they stack on a phone, where chips would spill out
            method
            for method in METHODS
            if st.checkbox(method, value=True, key=f"saddle_method_{method}")
        ]
        lr = st.slider("step size η", 0.01, 1.0, 0.2, 0.01, key="saddle_lr")
        lr_d = st.slider("D's step η_D (two time-scales)", 0.01, 1.0, 0.8, 0.01, key="saddle_lr_d")
        gamma = st.slider("penalty γ (gradient penalty)", 0.0, 1.0, 0.5, 0.05, key="saddle_gamma")
        steps = st.slider("steps", 10, 500, 100, 10, key="saddle_steps")
    with errors_shown():
        runs = {m: SaddleSettings(m, lr, steps, x0, y0, lr_d, gamma).validate() for m in chosen}
        paths = {m: trajectory(s) for m, s in runs.items()}
        with right:
            live_chart(figures.landscape_figure(paths), key="saddle_landscape")
        for settings in runs.values():
            st.markdown(f"- {verdict(settings)}")
        live_chart(
            figures.distance_figure({m: distances(p) for m, p in paths.items()}),
            key="saddle_distance",
        )
        saddle.matrix_table(runs)


methods(x0, y0)

st.subheader("What this means for a GAN")
st.markdown(
    "Real GANs are not x·y, but near their equilibrium the game looks like it: each network's "
    "best step depends on where the other stands. That is why GAN losses oscillate instead of "
    "settling. The remedies above are the ones used in practice, each with its limits. "
    "**Two time-scales** (Heusel et al., 2017) help a real GAN because there D has a best answer "
    "to every G, and a fast D stays near it, so G's steps go downhill on a divergence; x·y has no "
    "such answer (for x ≠ 0, D's gain grows without bound), which is why it only circles here. "
    "**Gradient penalties** on D (R1, WGAN-GP) damp D's swings, as γ does here. **Look-ahead** "
    "methods (extragradient, optimism) correct each step with the next one's gradient. On the "
    "**1-D Gaussian GAN** page D learns 10× faster than G by default: set both learning rates "
    "equal there and watch the fakes' mean swing around 4 instead of settling; the "
    "failure-modes page shows what happens when the balance tips the other way."
)
