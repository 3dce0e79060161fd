"""1-D Gaussian GAN: press "D step" and "G step" and watch each network move."""

import streamlit as st

from playground.figures import toy as figures
from playground.toy.modes import mode_note
from playground.ui import experiment, overlay, quiz, stepper
from playground.ui.layout import page_header
from playground.ui.live_chart import live_chart

page_header(
    "A 1-D Gaussian GAN, one update at a time",
    "The real data are numbers drawn from a Gaussian (by default N(4, 1.25²): mean 4, std 1.25). The generator G turns noise z "
    "into one number; the discriminator D outputs the probability that a number is real. "
    "**D step** trains D on one mini-batch of real and fake numbers; **G step** moves G so that "
    "D rates its fakes as more real. Everything here can be drawn exactly, so watch D(x) chase "
    "the best possible discriminator D\\*(x), and the fakes follow the arrows. By default D learns "
    "10× faster than G, which lets the game settle on the data within about 1,000 steps instead of "
    "circling it. The real data can also have two or three separated modes, or be uniform or "
    "skewed (exponential): see *Other real data* below.",
)

gan = experiment.current_gan()
experiment.preset_banner(gan)
experiment.preset_buttons(gan)
experiment.target_buttons()
stepper.settings_panel(gan)
stepper.run_in_progress(gan)


@st.fragment
def live_stepper() -> None:
    """Everything a press changes: a press reruns only this part, not the settings or the text."""
    gan = experiment.fragment_gan()
    quiz.quiz_panel(gan)
    stepper.step_buttons(gan)
    stepper.press_summary(gan)
    settings = gan.settings
    charts = figures.all_figures(gan.readout(), gan.curves())

    def chart(key: str) -> None:
        live_chart(charts[key], key=key)

    left, right = st.columns(2)
    with left:
        chart("toy_densities")
        st.caption(
            "Red points: fixed fakes G(z) (same z every step, so they move only when G moves). Each "
            "arrow points where the next G step pushes that fake: −∂loss/∂x̃, towards higher D(x)."
        )
    with right:
        chart("toy_discriminator")
        st.caption(
            "For the current G the best D is D\\*(x) = p_data / (p_data + p_g). A few D steps pull "
            "D(x) towards it; when p_g = p_data, D\\* = ½ everywhere and G gets no more signal."
        )

    left, right = st.columns(2)
    with left:
        chart("toy_map")
        st.caption(stepper.map_caption(settings))
        modes = gan.modes()
        if modes is not None:
            st.caption(mode_note(modes))
    with right:
        chart("toy_losses")
        st.caption(
            "At equilibrium D says ½ to everything: its two-term loss is log 4 ≈ 1.386 and G's loss "
            "sits on its dashed line. A D loss far below log 4 means D is winning."
        )
        st.caption("Why the players circle that point instead of landing on it:")
        st.page_link(
            "../pages/saddle_point.py", label="The saddle point", icon=":material/cyclone:"
        )

    left, right = st.columns(2)
    with left:
        chart("toy_d_outputs")
    with right:
        chart("toy_divergences")

    st.subheader("Rewind")
    stepper.rewind_control(gan)
    st.subheader("Compare runs")
    overlay.compare_runs(gan)
    experiment.link_caption()


live_stepper()
