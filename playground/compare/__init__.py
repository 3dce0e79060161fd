"""VAE vs GAN, honestly measured: the shipped VAE and DCGAN scored with features that see blur
beside the classifier's, what the numbers say in plain sentences, and the 2-D VAE's latent plane.

    scores        ComparisonRow, score_models, findings (which measure ranks the VAE behind)
    latent_plane  the decoded grid of normal quantiles and the test digits' codes of the 2-D VAE
    cli           `python -m playground.compare features | score`
"""

from playground.compare.latent_plane import (
    GRID_SIDE,
    DecodedGrid,
    LatentPlaneError,
    PlaneCodes,
    decoded_grid,
    encode_plane,
    grid_codes,
    quantile_axis,
)
from playground.compare.scores import (
    COMPARED,
    MEASURES,
    REAL,
    ComparisonRow,
    Finding,
    Measure,
    disagreements,
    findings,
    score_images,
    score_models,
    score_real,
    summary,
)

__all__ = [
    "COMPARED",
    "GRID_SIDE",
    "MEASURES",
    "REAL",
    "ComparisonRow",
    "DecodedGrid",
    "Finding",
    "LatentPlaneError",
    "Measure",
    "PlaneCodes",
    "decoded_grid",
    "disagreements",
    "encode_plane",
    "findings",
    "grid_codes",
    "quantile_axis",
    "score_images",
    "score_models",
    "score_real",
    "summary",
]
