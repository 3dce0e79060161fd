"""VAE vs GAN: the same digits from a VAE and a GAN, side by side, measured the same way."""

import streamlit as st

from playground import shipped
from playground.checkpoints import CheckpointError
from playground.data import DataUnavailable
from playground.figures import compare as figures
from playground.ui import compare
from playground.ui.layout import page_header

page_header(
    "VAE vs GAN",
    "A **variational autoencoder (VAE)** learns to make digits another way. Its encoder maps a "
    "digit x to a Gaussian q(z|x) over codes z, its decoder maps a code back to an image, and "
    "training maximises the *evidence lower bound*: reconstruct x well, while keeping q(z|x) "
    "close to the prior N(0, I). Afterwards, decoding z ~ N(0, I) makes new digits, just as "
    "G(z) does for a GAN. Below, the shipped VAE and the shipped DCGAN draw from the same noise "
    "seed and are scored by the same classifier.",
)

models, problems = compare.shipped_models()

st.header("1. Samples side by side")
st.markdown(
    "Each image is decode(z) for the VAE and G(z) for the DCGAN, with z ~ N(0, I) drawn from the "
    "noise seed below. Draw new noise a few times and compare: which digits are sharper, which "
    "are always readable?"
)
seed = compare.noise_button()
pictures = {}
for column, name in zip(st.columns(2), compare.COMPARED, strict=True):
    with column:
        st.subheader(compare.COMPARED[name])
        if name in problems:
            st.warning(problems[name], icon=":material/warning:")
            continue
        pictures[name] = compare.pictures(models[name], seed)
        st.image(pictures[name].grid, caption=f"noise seed {seed}", width="stretch")

st.header("2. Measured the same way")
st.markdown(
    "The training command scored both models with one Evaluator: the same number of samples "
    "each, the same classifier's features (FID, precision, recall) and predictions (Inception "
    "Score, at most 10 for ten digits; digits covered). The last row scores held-out **real** test digits exactly like samples: the "
    "best a model could hope for."
)
rows = figures.comparison_rows(
    {model.label: model.metrics for model in models.values()}, shipped.real_metrics()
)
if not rows:
    st.warning(
        "No scores to compare yet: trained_models/ holds neither the models nor their manifest.",
        icon=":material/warning:",
    )
else:
    note = shipped.measurement_problem(list(models))
    if note:
        st.warning(f"Compare with care: {note}", icon=":material/warning:")
    st.dataframe(figures.metrics_table(rows), width="stretch")
    st.plotly_chart(figures.metrics_bars(rows), key="compare-metrics", width="stretch")
    st.markdown(
        "**Digits covered** and the chart below say whether a model makes every digit about as "
        "often as real data does. A GAN is rewarded only for fooling D, never for covering all of "
        "the data, so it can *drop modes*: make some digits rarely or never. The VAE must "
        "reconstruct every training digit, so it is pushed to keep them all (though not "
        "always in equal measure). These classifier scores judge mostly *which* digit an image "
        "is and its overall shape, not how crisp its strokes are: blur costs the VAE little "
        "here, which is why section 3 measures with features that see blur."
    )
    shares = {name: row["class_shares"] for name, row in rows.items() if row.get("class_shares")}
    st.plotly_chart(figures.digit_shares(shares), key="compare-shares", width="stretch")

st.header("3. Measures that see blur")
st.markdown(
    "The classifier above reads a digit in two large strided steps (28 → 14 → 7 pixels): it "
    "learns *which* digit it sees and hardly notices soft edges. A **deeper classifier**, "
    "trained on the same digits, looks through five small 3×3 filters, the first at full "
    "resolution; small filters respond to how steep an edge is, so its features are more "
    "sensitive to a smeared stroke (how much more, the numbers below say). On those features we compute FID again and **KID** (kernel "
    "inception distance: it compares the two sets of features directly through a kernel instead "
    "of fitting a Gaussian to each, and is unbiased at any sample size). **Sharpness** needs no "
    "network at all: the variance of the image's Laplacian, large where ink meets paper in one "
    "step, small where the step is spread over several pixels."
)
recorded, stale, found = compare.blur_scores()
if recorded is None:
    st.warning(
        "The scores that see blur have not been computed on this server: run "
        "`python -m playground.compare score` once.",
        icon=":material/warning:",
    )
else:
    if stale:
        st.warning(
            "Compare with care: these files changed since the scores were recorded: "
            f"{', '.join(stale)}. Rerun `{recorded.command}`.",
            icon=":material/warning:",
        )
    st.dataframe(figures.scores_table(recorded.rows), width="stretch")
    st.plotly_chart(
        figures.verdict_bars(found, compare.LEVEL), key="compare-verdicts", width="stretch"
    )
    st.markdown("\n".join(f"- {f.sentence}" for f in found))
    st.markdown(compare.verdict_summary(found))
    st.caption(
        f"{recorded.samples:,} samples of each model from noise seed {recorded.seed}; the real "
        "row is held-out test digits that no reference statistic contains. Grey bars: the "
        "classifier's features; purple bars: the measures that see blur."
    )

st.header("4. Why are the VAE's digits blurrier?")
st.markdown(
    "The VAE's decoder is trained on a **pixel-wise likelihood**: each pixel is scored on its "
    "own (here, as a coin flip between ink and paper). When a code z could have come from "
    "several slightly different digits, the loss is lowest for their **average**, and an average "
    "of strokes that do not line up is a grey smear. A GAN's generator is never compared with a "
    "particular digit: it is judged by the discriminator, which easily spots grey smears, so G "
    "learns sharp strokes. The price is the mode dropping above. The histogram counts how bright "
    "the stroke pixels of the samples above are."
)
if pictures:
    figure, grey = compare.stroke_figure(
        {compare.COMPARED[name]: p for name, p in pictures.items()}, seed
    )
    st.plotly_chart(figure, key="compare-strokes", width="stretch")
    st.caption(
        "Grey stroke pixels (brightness 0.25-0.75): "
        + " · ".join(f"{name} {share:.0%}" for name, share in grey.items())
    )

st.header("5. The VAE reconstructs real digits")
st.markdown(
    "Top row: real test digits the VAE never trained on, one of each. Bottom row: decode(μ(x)), "
    "the image the VAE rebuilds from the mean of its code. The digit survives, its exact "
    "strokes are averaged away. (A GAN has no encoder: it cannot reconstruct a given digit.)"
)
if "vae" in models:
    try:
        st.image(compare.reconstructions(models["vae"], seed), width="stretch")
    except DataUnavailable as exc:
        st.warning(
            "The reconstructions need the MNIST test digits, which are not on this server. "
            f"Run `python -m playground.data fetch` once to get them.\n\n{exc}",
            icon=":material/dataset:",
        )
else:
    st.warning(problems["vae"], icon=":material/warning:")

st.header("6. Walking through the latent space")
st.markdown(
    "Each model decodes the straight line from the first noise vector of its grid to the second. "
    "The VAE's KL term packs codes of similar digits close together around 0, so its path morphs "
    "smoothly; the GAN's path is smooth too, but may pass through shapes that are no digit."
)
for name, picture in pictures.items():
    st.markdown(f"**{compare.COMPARED[name]}**")
    st.image(picture.interpolation, width="stretch")

st.header("7. A VAE with a 2-D latent space")
st.markdown(
    "The same VAE, trained with codes of only two numbers (z₁, z₂), so its whole latent space "
    "fits on the screen. Left: decode(z) on a 15×15 grid of z; the grid's values are normal "
    "quantiles, so each tile stands for the same share of the prior N(0, I). Right: where the "
    "encoder puts real test digits (the mean μ(x) of each), coloured by their label, with the "
    "grid's points as grey crosses. Digits of one kind gather in one region, and the decoded "
    "grid morphs from one kind to the next across the borders: the KL term has packed every "
    "digit around 0 with no empty space between them. With two numbers for everything the "
    "digits come out blurrier still than the 16-number VAE's above."
)
try:
    plane_grid = compare.plane_grid()
except CheckpointError as exc:
    st.warning(str(exc), icon=":material/warning:")
else:
    left, right = st.columns(2)
    left.plotly_chart(figures.latent_grid_figure(plane_grid), key="plane-grid", width="stretch")
    try:
        codes = compare.plane_codes()
    except DataUnavailable as exc:
        right.warning(
            "The latent plane needs the MNIST test digits, which are not on this server. "
            f"Run `python -m playground.data fetch` once to get them.\n\n{exc}",
            icon=":material/dataset:",
        )
    else:
        right.plotly_chart(
            figures.latent_scatter(codes, plane_grid), key="plane-codes", width="stretch"
        )
