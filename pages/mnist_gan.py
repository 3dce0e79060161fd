"""MNIST DCGAN / cGAN: sample a trained generator, then train your own in the background."""

import streamlit as st

from playground.ui import ablations as ablations_ui
from playground.ui import architecture as architecture_ui
from playground.ui import jobs as jobs_ui
from playground.ui import leaderboard as leaderboard_ui
from playground.ui.layout import errors_shown, page_header

page_header(
    "MNIST digits: DCGAN and conditional GAN",
    "The same game as on the 1-D page, now with images. The **DCGAN** generator turns a noise "
    "vector z into a 28×28 digit with transposed convolutions; the discriminator is a small "
    "convolutional classifier that outputs a logit for *real*. The **conditional GAN (cGAN)** also "
    "gives both players the digit label y, so you can ask G for a 7: G(z, y).",
)

model = jobs_ui.model_picker()

st.header("1. A trained generator")
st.markdown(
    "Each image is G(z) for one noise vector z. Draw new noise to see the variety G learned; "
    "for the cGAN, pick a digit and the same noise is turned into that digit."
)
jobs_ui.pretrained_panel(model)
with st.expander(
    "The networks, opened up: every layer, its output shape and the DCGAN rule it follows"
):
    architecture_ui.architecture_panel(model)

st.header("2. Train your own")
st.markdown(
    "Training runs in the background on the server: start it, read another page, come back. "
    "The loss curves and the sample grid (G applied to one fixed batch of noise) update live. "
    "Watch D(x) and D(G(z)): when they drift towards ½, D can no longer tell real from fake."
)
manager = jobs_ui.shared_manager()
problem = jobs_ui.data_problem()
if problem:
    st.warning(problem, icon=":material/dataset:")
elif manager is not None:
    settings = jobs_ui.settings_form(model, manager)
    if settings is not None:
        with errors_shown():
            job_id = manager.submit(jobs_ui.session_owner(), settings)
            st.toast(f"Job {job_id} submitted", icon=":material/rocket_launch:")

st.header("3. Your jobs")
if manager is not None:
    jobs_ui.job_panel(manager, jobs_ui.session_owner())

st.subheader("The DCGAN's rules, broken one at a time")
st.markdown(
    "Each ablation breaks one rule of the DCGAN: batch norm off, max pooling instead of strided "
    "convolutions in D, ReLU instead of LeakyReLU in D, sigmoid instead of tanh at G's output, a "
    "fully connected G. The shipped runs were trained by one command with the same seed, changing "
    "only that setting; pick a rule to see them beside the baseline. Your own jobs compare here too."
)
ablations_ui.ablations_panel(manager, jobs_ui.session_owner() if manager is not None else None)

st.header("4. Sample from a checkpoint")
st.markdown(
    "Download a job's generator above, or bring one from elsewhere, and sample from it here. "
    "Only this project's `.safetensors` format is read; anything else is refused."
)
jobs_ui.upload_panel()

st.header("5. Class leaderboard")
st.markdown(
    "Publish one of your finished jobs under a display name of your choice, and compare it with "
    "the class's. **DCGAN** entries are ranked by FID (lower is better), **cGAN** entries by "
    "label accuracy (higher is better). Only what you publish is shown: its name, score, step and "
    "samples. Withdraw it at any time."
)
if manager is not None:
    leaderboard_ui.leaderboard_panel(manager, jobs_ui.session_owner(), model)
