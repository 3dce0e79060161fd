"""VAE vs GAN, measured with features that see blur, beside the classifier's.

Each row scores one set of digits the same way: SCORE_SAMPLES samples from z ~ N(0, I) drawn with
SCORE_SEED (or the held-out real test digits), by

- the metric classifier's features: FID (the number the MNIST page reports) and KID;
- the deep feature network's features: FID and KID (`metrics.deep_features`);
- the pixels: sharpness, the mean Laplacian variance (`metrics.sharpness`).

`findings` turns the rows into plain sentences: which measure ranks the VAE behind the DCGAN (what
a student sees: blurrier digits), which ranks them level or the other way, and by how much.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

from torch import Tensor, nn

from playground.metrics import DEFAULT_SAMPLES, Evaluator
from playground.metrics.deep_features import DeepEvaluator
from playground.metrics.kernel_distance import kernel_distance
from playground.shipped import draw_noise
from playground.train import generate

COMPARED = ("vae", "dcgan")
"""The shipped models the page compares, by file stem."""
REAL = "real"
"""The row of held-out real test digits."""
SCORE_SAMPLES = DEFAULT_SAMPLES
SCORE_SEED = 0
LEVEL_RATIO = 1.15
"""Two distances within this factor of each other rank the models level."""
CLEAR_RATIO = 1.5
"""Below this factor (and above LEVEL_RATIO) a measure ranks the VAE only slightly behind."""


@dataclass(frozen=True)
class ComparisonRow:
    """One set of n digits scored old and new: distances to real digits (lower is closer) on the
    classifier's and on the deep features, and the pixels' sharpness (higher is crisper)."""

    classifier_fid: float
    classifier_kid: float
    deep_fid: float
    deep_kid: float
    sharpness: float
    n: int

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Measure:
    """A column of the comparison: its key, its name on the page, whether lower is better, and
    whether the classifier's features ("classifier") or the new measures ("new") give it."""

    key: str
    name: str
    lower_is_better: bool
    family: str


MEASURES = (
    Measure("classifier_fid", "FID on the classifier's features", True, "classifier"),
    Measure("classifier_kid", "KID on the classifier's features", True, "classifier"),
    Measure("deep_fid", "FID on the deep features", True, "new"),
    Measure("deep_kid", "KID on the deep features", True, "new"),
    Measure("sharpness", "sharpness (Laplacian variance)", False, "new"),
)


def score_images(images: Tensor, classifier: Evaluator, deep: DeepEvaluator) -> ComparisonRow:
    """Every measure of one set of generated images (n, 1, 28, 28) in [-1, 1]."""
    features, logits = classifier.classify(images)
    old = classifier.evaluate_features(features, logits)
    new = deep.evaluate(images)
    return ComparisonRow(
        classifier_fid=old.fid,
        classifier_kid=kernel_distance(classifier.reference.features, features),
        deep_fid=new.deep_fid,
        deep_kid=new.deep_kid,
        sharpness=new.sharpness,
        n=new.n,
    )


def score_real(classifier: Evaluator, deep: DeepEvaluator) -> ComparisonRow:
    """The real row: held-out real test digits, never in any reference, scored like samples."""
    reference = classifier.reference
    new = deep.reference_scores()
    return ComparisonRow(
        classifier_fid=classifier.reference_metrics().fid,
        classifier_kid=kernel_distance(reference.features, reference.heldout_features),
        deep_fid=new.deep_fid,
        deep_kid=new.deep_kid,
        sharpness=new.sharpness,
        n=new.n,
    )


def model_samples(sampler: nn.Module, n: int = SCORE_SAMPLES, seed: int = SCORE_SEED) -> Tensor:
    """n digits G(z) (or decode(z)) for z ~ N(0, I) drawn with `seed`, (n, 1, 28, 28)."""
    return generate(sampler, draw_noise(sampler, n, seed))


def score_models(
    samplers: Mapping[str, nn.Module],
    classifier: Evaluator,
    deep: DeepEvaluator,
    n: int = SCORE_SAMPLES,
    seed: int = SCORE_SEED,
) -> dict[str, ComparisonRow]:
    """{name: row} for each sampler, then the REAL row."""
    rows = {
        name: score_images(model_samples(sampler, n, seed), classifier, deep)
        for name, sampler in samplers.items()
    }
    rows[REAL] = score_real(classifier, deep)
    return rows


@dataclass(frozen=True)
class Finding:
    """What one measure says about the VAE against the DCGAN.

    ratio: how many times worse the VAE scores (VAE / DCGAN for a distance, DCGAN / VAE for
    sharpness); verdict: "behind" (agrees with the blur a student sees), "level" or "ahead"."""

    measure: Measure
    vae: float
    dcgan: float
    real: float | None
    ratio: float
    verdict: str
    sentence: str


def _verdict(ratio: float) -> str:
    if ratio > LEVEL_RATIO:
        return "behind"
    return "ahead" if ratio < 1 / LEVEL_RATIO else "level"


def _number(value: float) -> str:
    if abs(value) < 1:
        return f"{value:.3g}"
    return f"{value:.2f}" if abs(value) < 10 else f"{value:.1f}"


def finding(measure: Measure, rows: Mapping[str, Mapping[str, float]]) -> Finding:
    """The verdict of one measure on the rows "vae", "dcgan" (and REAL when present)."""
    vae, dcgan = float(rows["vae"][measure.key]), float(rows["dcgan"][measure.key])
    real = rows.get(REAL, {}).get(measure.key)
    worse, better = (vae, dcgan) if measure.lower_is_better else (dcgan, vae)
    ratio = worse / better if better > 0 else float("inf")
    verdict = _verdict(ratio)
    ranks = {
        "behind": f"ranks the VAE {'slightly ' if ratio < CLEAR_RATIO else ''}behind the DCGAN",
        "level": "ranks them about level",
        "ahead": "ranks the VAE ahead of the DCGAN",
    }[verdict]
    sentence = (
        f"{measure.name} {ranks}: VAE {_number(vae)}, DCGAN {_number(dcgan)}"
        + ("" if real is None else f", real digits {_number(float(real))}")
        + (f" (VAE ÷ DCGAN = {vae / dcgan:.2f})." if dcgan else ".")
    )
    return Finding(
        measure, vae, dcgan, None if real is None else float(real), ratio, verdict, sentence
    )


def findings(rows: Mapping[str, Mapping[str, float]]) -> list[Finding]:
    """Each measure's verdict on the VAE against the DCGAN, in MEASURES order."""
    return [finding(measure, rows) for measure in MEASURES]


def disagreements(found: list[Finding]) -> list[Finding]:
    """The measures that do not rank the blurrier VAE behind: where numbers and eyes still differ."""
    return [f for f in found if f.verdict != "behind"]


def _names(found: list[Finding]) -> str:
    names = [f.measure.name for f in found]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def summary(found: list[Finding]) -> str:
    """Where the measures agree with what students see (the VAE's blur) and where they still
    disagree, in plain words, computed from the verdicts."""
    new = [f for f in found if f.measure.family == "new"]
    old = [f for f in found if f.measure.family == "classifier"]
    seeing = [f for f in new if f.verdict == "behind"]
    lines = [
        f"**{len(seeing)} of the {len(new)} measures that see blur rank the VAE behind the DCGAN**"
        + (", as its soft strokes suggest." if seeing else ".")
    ]
    if seeing:
        gaps = ", ".join(f"{f.measure.name} {f.ratio:.2f}×" for f in seeing)
        lines.append(f"How far behind differs by measure: {gaps}.")
    old_blind = [f for f in old if f.verdict != "behind"]
    if old_blind:
        lines.append(
            f"{' and '.join(f.measure.name.split(' on ')[0] for f in old_blind)} on the "
            f"classifier's features {'does' if len(old_blind) == 1 else 'do'} not: those "
            "features judge which digit an image is and its shape, and a blurry 3 is still "
            "clearly a 3."
        )
    still = [f for f in disagreements(found) if f.measure.family == "new"]
    if still:
        lines.append(f"Still disagreeing with the eye: {_names(still)}.")
    elif old_blind:
        lines.append("Every measure that sees blur agrees with the eye.")
    else:
        lines.append("No measure disagrees with the eye any more.")
    lines += _real_row_notes(found)
    return " ".join(lines)


def _real_row_notes(found: list[Finding]) -> list[str]:
    """What the real row adds: a sharpness past the real digits', and how far even the better
    model is from real digits on the deep features."""
    notes = []
    by_key = {f.measure.key: f for f in found}
    sharp = by_key.get("sharpness")
    if sharp and sharp.real is not None and sharp.dcgan > sharp.real:
        notes.append(
            f"The DCGAN's pixels are even sharper than real digits' ({_number(sharp.dcgan)} vs "
            f"{_number(sharp.real)}): sharpness rewards every hard edge, stray specks included, so "
            "it says how crisp, never how digit-like."
        )
    deep = by_key.get("deep_fid")
    if deep and deep.real:
        notes.append(
            f"Neither model is close to real digits yet: on the deep features even the DCGAN's "
            f"FID is {deep.dcgan / deep.real:.0f}× that of held-out real digits."
        )
    return notes
