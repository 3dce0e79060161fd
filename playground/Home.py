"""GAN Playground entry point: `streamlit run playground/Home.py`.

Registers the pages in ../pages with st.navigation (paths are relative to this script) and renders
the Home lesson. Adding a page = one file in pages/ and one `lesson(...)` line in PAGES.
"""

from __future__ import annotations

import streamlit as st
from streamlit.navigation.page import StreamlitPage

from playground.ui.access import instructor_page
from playground.ui.state import connection_problem, remember_owner
from playground.ui.warmup import start_warm_up

st.set_page_config(
    page_title="GAN Playground", page_icon=":material/sports_kabaddi:", layout="wide"
)

GAN_LOOP = """
digraph gan {
  rankdir=LR; bgcolor="transparent";
  node [shape=box, style="rounded,filled", fontname="Helvetica", fillcolor="#f4f4f4"];
  z [label="noise z ~ p(z)", shape=ellipse];
  G [label="Generator G\\n(the forger)", fillcolor="#ffe3c4"];
  fake [label="fake x̃ = G(z)", shape=ellipse, fillcolor="#f8d0d0"];
  real [label="real x ~ p_data", shape=ellipse, fillcolor="#cfe2f3"];
  D [label="Discriminator D\\n(the inspector)", fillcolor="#d4edda"];
  out [label="D(x) = P(real)", shape=ellipse];
  bce [label="BCE loss\\nreal → 1, fake → 0", shape=note];
  z -> G -> fake -> D; real -> D; D -> out -> bce;
  bce -> D [label=" D step: get better at telling", style=dashed, color="#2ca02c"];
  bce -> G [label=" G step: fool D (labels flipped)", style=dashed, color="#ff7f0e"];
}
"""


def home() -> None:
    """The Home lesson: what a generative model is, the game, the loop, the map of pages."""
    st.title("GAN Playground")
    st.markdown(
        "Learn how **Generative Adversarial Networks** learn by driving them yourself: one "
        "discriminator update, one generator update, and every curve redrawn after each press."
    )
    left, right = st.columns(2)
    with left:
        st.subheader("Discriminative models: P(Y | X)")
        st.markdown(
            "Given an example X, predict its label Y: *is this email spam?*, *is this digit a 7?* "
            "A discriminative model draws a boundary between classes and never has to know what "
            "a whole example looks like."
        )
    with right:
        st.subheader("Generative models: P(X | Y)")
        st.markdown(
            "Learn what examples of a class look like well enough to **produce new ones**: "
            "turn random noise (and optionally a class Y) into a new example X. A GAN is one way "
            "to learn such a model without ever writing P(X) down."
        )
    st.subheader("The game: a forger and an inspector")
    st.markdown(
        "The **generator G** is a forger: it turns noise z into fakes. The **discriminator D** is "
        "an inspector: it outputs the probability that an example is real. D is trained to say "
        "1 on real data and 0 on fakes; G is trained to make D say 1 on its fakes. Each gets "
        "better because the other does. At the ideal end of the game G's samples are "
        "indistinguishable from data and the best D can do is answer ½ everywhere."
    )
    st.graphviz_chart(GAN_LOOP, width="stretch")
    st.subheader("Where to go next")
    # A page link is one line that ends in "…" when it is too long: the summary goes under it.
    for page, summary in LESSONS:
        with st.container(border=True):
            st.page_link(page, label=f"**{page.title}**", icon=page.icon)
            st.markdown(summary)


LESSONS: list[tuple[StreamlitPage, str]] = []


def lesson(path: str, title: str, icon: str, summary: str) -> StreamlitPage:
    """A course page in ../pages, listed on Home with its one-line summary."""
    page = st.Page(path, title=title, icon=icon)
    LESSONS.append((page, summary))
    return page


HOME = st.Page(home, title="Home", icon=":material/home:", default=True)
PAGES = [
    HOME,
    lesson(
        "../pages/bce_loss.py",
        "BCE loss",
        ":material/functions:",
        "the loss both players use, why log(1 − D(G(z))) saturates and −log D(G(z)) does not, and the optimal discriminator D*.",
    ),
    lesson(
        "../pages/gaussian_gan.py",
        "1-D Gaussian GAN",
        ":material/show_chart:",
        "train a tiny GAN on N(4, 1.25²), mean 4 and std 1.25, one D or G step at a time; watch D(x) chase D*(x), the fakes follow the gradient, rewind any step.",
    ),
    lesson(
        "../pages/gan_2d.py",
        "2-D GAN",
        ":material/scatter_plot:",
        "GAN Lab's pictures, one step at a time: D's probability behind the samples, G's manifold, arrows on the fakes, preset or drawn data, modes covered, rewind and links.",
    ),
    lesson(
        "../pages/mnist_gan.py",
        "MNIST DCGAN / cGAN",
        ":material/draw:",
        "sample trained digit generators, then train your own DCGAN or conditional GAN in the background and watch its samples improve.",
    ),
    lesson(
        "../pages/vae_vs_gan.py",
        "VAE vs GAN",
        ":material/compare:",
        "the same digits from a VAE and a GAN, side by side, measured the same way: why the VAE's are blurrier and the GAN's can miss digits.",
    ),
    lesson(
        "../pages/failure_modes.py",
        "Failure modes",
        ":material/warning:",
        "mode collapse and an overpowered discriminator whose minimax gradient vanishes, each from a preset, beside the one-setting change that fixes it.",
    ),
    lesson(
        "../pages/saddle_point.py",
        "The saddle point",
        ":material/cyclone:",
        "the game's equilibrium is a saddle point: step each player by hand; simultaneous steps spiral away, alternating ones circle (two time-scales only reshape the orbit), a gradient penalty on D or a look-ahead step reaches it.",
    ),
    lesson(
        "../pages/batch_norm.py",
        "Batch normalization",
        ":material/equalizer:",
        "what batch norm computes, step by step on a small tensor and checked against torch in train and eval mode, and why the DCGAN generator needs it: activations layer by layer with and without it.",
    ),
    lesson(
        "../pages/latent_space.py",
        "Latent space",
        ":material/scatter_plot:",
        "arithmetic on a GAN's noise: average the z of samples that share a style and add the difference to other digits; the cGAN's z as handwriting under every label; the holes in a plain autoencoder's codes that a VAE's prior fills.",
    ),
]

refused = connection_problem()
if refused:  # a direct connection to a server that names students by a proxy's header
    st.error(refused, icon=":material/block:")
    st.stop()
remember_owner()  # a reload keeps this browser's jobs (see playground.ui.state.owner_from)
warm_up = start_warm_up()
teacher = instructor_page()  # None unless the server names an instructor
selected = st.navigation([*PAGES, teacher] if teacher else PAGES, position="top")
if selected.url_path != HOME.url_path:
    # Never run a page while the warm-up thread is half-way through an import: libraries that peek
    # at sys.modules (plotly looks for pandas there) would see a partly initialised module.
    warm_up.join()
selected.run()
