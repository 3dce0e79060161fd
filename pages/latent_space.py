"""Latent space: arithmetic on the noise z of the shipped DCGAN, the cGAN's split of a digit into
its style z and its label y, and the holes in a plain autoencoder's codes that a VAE fills."""

import streamlit as st

from playground.ui import latent
from playground.ui.layout import errors_shown, page_header

page_header(
    "Latent space",
    "A generator turns a noise vector z into a digit. Nearby z give similar digits, and "
    "**directions** in z-space come to mean something: one direction makes strokes thicker, "
    "another leans the digit over. Nobody labelled these directions; G found them because they "
    "are the cheapest way to make many different, realistic digits. Below you find such a "
    "direction yourself and add it to other digits, as the DCGAN paper did with faces "
    "(smiling woman − neutral woman + neutral man = smiling man).",
)

models, problems = latent.shipped_models()

st.header("1. Arithmetic on z")
st.markdown(
    "Each digit below is G(z) of the shipped DCGAN for its own noise vector z. Put samples "
    "that share a style in **group A** and samples without it in **group B** (a suggestion is "
    "made for you; change it). The page averages each group's noise vectors, z̄_A and z̄_B: "
    "averaging cancels what the samples do *not* share (which digit, other quirks) and keeps "
    "what they do. The difference **d = z̄_A − z̄_B** then points from B's style to A's, and "
    "adding s·d to another digit's z should give that digit A's style, as much more as s "
    "says. A negative s moves towards B's style."
)
if "dcgan" in problems:
    st.warning(problems["dcgan"], icon=":material/warning:")
else:
    seed = latent.seed_input("dcgan")
    grid_spot = st.container()
    choice = latent.group_pickers(seed)
    grid_spot.plotly_chart(latent.arithmetic_grid(choice), key="latent-grid", width="stretch")
    with errors_shown():
        equation = latent.equation(choice)
        st.plotly_chart(equation.figure, key="latent-equation", width="stretch")
        st.caption(
            "Every picture is decoded by G: the means of the groups as G(z̄_A) and G(z̄_B), "
            "the digit as G(z), the result as G(z + s·d). The sum is taken on z, not on "
            "pixels: adding the pictures themselves would only smear them."
        )
        st.markdown(equation.reading)
    st.markdown(
        "The suggested groups pair samples the classifier reads as the same digit, so that "
        "the digits' own directions cancel in d and only the style is left. Even so, in this "
        "small DCGAN a move of this length often turns a digit into another one: style and "
        "identity are tangled in its z. Try s = 0.5, or random groups (d then changes the "
        "digits about as often, but no longer the style). The cGAN below untangles them by "
        "construction."
    )

st.header("2. The cGAN: z is the style, y is the digit")
st.markdown(
    "A conditional GAN gets the digit as a label y beside z: G(z, y). Since y already says "
    "*which* digit, z is left to hold everything else: slant, thickness, width. Keep one z and "
    "change only y, and the same handwriting writes every digit: **style transfer**. Below, "
    "sample i was drawn as digit i mod 10; each outlined sample's z is decoded under all ten "
    "labels, one row each."
)
if "cgan" in problems:
    st.warning(problems["cgan"], icon=":material/warning:")
else:
    seed = latent.seed_input("cgan")
    grid_spot = st.container()
    kept = latent.style_picker(seed)
    grid_spot.plotly_chart(latent.conditional_grid(kept), key="latent-cgan-grid", width="stretch")
    with errors_shown():
        st.plotly_chart(latent.style_rows(kept), key="latent-styles", width="stretch")
        st.caption("Row #i: G(z_i, y) for y = 0 … 9, with z_i the noise of sample i above.")

st.header("3. Autoencoder vs VAE: holes in the latent space")
st.markdown(
    "A GAN has no encoder, but a **plain autoencoder** does: it learns x → z = enc(x) → "
    "dec(z) ≈ x and nothing else. The shipped autoencoder is the *same network* as the shipped "
    "VAE with the same 16-number code, trained on reconstruction alone: no sampling of z, no KL "
    "term. Nothing then says where its codes should lie: they spread out as the encoder likes, "
    "and the decoder never sees the space between them. The VAE's KL term pulls every code "
    "towards N(0, I) and its sampled codes fill the space around each one, so the region "
    "around the codes decodes to digits too.\n\n"
    "Below, both models encode the same two test digits (t = 0 and t = 1, outlined) and decode "
    "the straight line through their codes, z_t = (1 − t)·z_a + t·z_b, on to t = −0.5 and "
    "1.5, beyond the encoded digits (grey in the charts)."
)
models_ae, problems_ae = latent.autoencoder_models()
for problem in problems_ae.values():
    st.warning(problem, icon=":material/warning:")
if not problems_ae:
    choice = latent.path_pickers()
    pictures = latent.autoencoder_pictures(choice)
    if pictures is None:
        st.warning(
            "This section encodes MNIST test digits, which are not on this server. Run "
            "`python -m playground.data fetch` once to get them.",
            icon=":material/dataset:",
        )
    else:
        st.plotly_chart(pictures.paths, key="latent-paths", width="stretch")
        if pictures.measures is not None:
            st.plotly_chart(pictures.measures, key="latent-path-measures", width="stretch")
            st.caption(
                "Realism score (Kynkäänniemi et al. 2019): how close the metric classifier's "
                "features of an image come to those of real test digits, 1 at the edge of the "
                "region real digits occupy. Right: the same test on paths between many random "
                "pairs of test digits of different kinds."
            )
            st.markdown(
                "In 16 dimensions one path may look smooth for both models; over many paths "
                "the autoencoder's hole between the digits shows. " + pictures.paths_text
            )
        st.subheader("Decoding the prior: z ~ N(0, I)")
        st.markdown(
            "A VAE is made to be sampled: decoding z ~ N(0, I) gives new digits. The "
            "autoencoder was never told where its codes are, and N(0, I) is not where it put "
            "them: the same points decode to a few smudged shapes."
        )
        st.plotly_chart(pictures.prior, key="latent-prior", width="stretch")
        st.markdown(pictures.prior_text)
