"""2-D GAN: every picture of GAN Lab, one D or G update at a time."""

import streamlit as st

from playground.ui import plane
from playground.ui.layout import page_header

page_header(
    "A 2-D GAN, one update at a time",
    "The real data are points in the plane: a ring of Gaussians, two hills, a line, two far-apart "
    "clusters, a spiral, a grid, or a shape you draw. G turns noise z (1-D or 2-D, uniform or "
    "Gaussian) into a point; D says how likely a point is real. The background shows D's "
    "probability everywhere, the orange lines show how G bends its noise grid onto the plane, and "
    "each fake carries an arrow to where the next G step moves it. Rewind any step; the address "
    "reopens the experiment at the same step.",
)

gan = plane.current_gan()
plane.settings_panel(gan)
plane.drawing_panel(gan)


@st.fragment
def live_stepper() -> None:
    """Everything a press changes: a press reruns only this part."""
    gan = plane.current_gan()
    plane.write_link(gan)
    plane.step_buttons(gan)
    plane.readout(gan)
    plane.pictures(gan)
    st.subheader("Rewind")
    plane.rewind_control(gan)
    plane.link_caption()


live_stepper()
