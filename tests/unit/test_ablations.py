"""The DCGAN ablations: each changes only the layers its rule names, trains through the one step
API, round-trips through a checkpoint, and its shipped run is rescored from the file; the
comparison's sentence comes from the numbers."""

from __future__ import annotations

import difflib
import json
import shlex
from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from torch import nn

from playground import ablations
from playground.ablations import Run
from playground.checkpoints import load_checkpoint
from playground.gan import HistoryPoint
from playground.jobs import JobSnapshot, JobState
from playground.jobs.store import JobRecord, read_job
from playground.metrics import DEFAULT_CLASSIFIER_PATH, load_evaluator
from playground.models import ABLATIONS
from playground.models.dcgan import ModelToUnitRange, UnitToModelRange
from playground.seeds import EVAL_NOISE_STREAM, stream_seed
from playground.train import (
    SettingsError,
    Trainer,
    TrainSettings,
    build_discriminator,
    build_generator,
    build_models,
    cli,
    draw_samples,
    load_generator,
)
from tests.unit.conftest import random_digits

BROKEN = [a for a in ABLATIONS if a != "none"]
CHANGED_LAYERS = {
    # ablation: (G's leaf kinds removed, added; D's removed, added)
    "no_batch_norm": ({"BatchNorm2d"}, {"Identity"}, {"BatchNorm2d"}, {"Identity"}),
    "max_pool_d": (set(), set(), {"Conv2d s2"}, {"Conv2d s1", "MaxPool2d"}),
    "relu_d": (set(), set(), {"LeakyReLU"}, {"ReLU"}),
    "sigmoid_g": ({"Tanh"}, {"Sigmoid", "UnitToModelRange"}, set(), {"ModelToUnitRange"}),
}
"""What each ablation may change in the networks' leaf layers (the fully connected G: all of G)."""


def leaves(network: nn.Module) -> list[str]:
    """Each leaf layer's kind (a convolution with its stride), in order."""
    kinds = []
    for module in network.modules():
        if list(module.children()):
            continue
        kind = type(module).__name__
        if isinstance(module, nn.Conv2d):
            kind += f" s{module.stride[0]}"
        kinds.append(kind)
    return kinds


def changes(before: list[str], after: list[str]) -> tuple[set[str], set[str]]:
    """The leaf kinds taken out of `before` and put into `after`."""
    removed, added = set(), set()
    matcher = difflib.SequenceMatcher(a=before, b=after, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag != "equal":
            removed |= set(before[i1:i2])
            added |= set(after[j1:j2])
    return removed, added


def same_weights(a: nn.Module, b: nn.Module, skip: type = nn.BatchNorm2d) -> bool:
    """Every parameter of a's layers (but `skip`'s) equals b's, in order."""

    def kept(network: nn.Module) -> list[torch.Tensor]:
        return [
            p for m in network.modules() if not isinstance(m, skip) for p in m.parameters(False)
        ]

    left, right = kept(a), kept(b)
    return len(left) == len(right) and all(
        torch.equal(x, y) for x, y in zip(left, right, strict=True)
    )


@pytest.mark.parametrize("ablation", BROKEN)
def test_each_ablation_changes_only_the_layers_its_rule_names(ablation: str) -> None:
    g0, d0 = build_models(TrainSettings(seed=3))
    g1, d1 = build_models(TrainSettings(seed=3, ablation=ablation))
    if ablation == "fully_connected_g":
        assert not any("Conv" in kind for kind in leaves(g1))
        assert {"Linear", "BatchNorm1d", "Tanh"} <= set(leaves(g1))
        assert leaves(d1) == leaves(d0) and same_weights(d0, d1)  # D starts as the baseline's
        return
    g_out, g_in, d_out, d_in = CHANGED_LAYERS[ablation]
    assert changes(leaves(g0), leaves(g1)) == (g_out, g_in)
    assert changes(leaves(d0), leaves(d1)) == (d_out, d_in)
    # Every layer both share starts from the baseline's weights (batch norm's are gone).
    assert same_weights(g0, g1) and same_weights(d0, d1)


def test_the_baseline_is_the_course_dcgan_unchanged() -> None:
    settings = TrainSettings(seed=3)
    assert TrainSettings().ablation == "none"
    g, d = build_models(settings)
    assert leaves(d) == ["Conv2d s2", "BatchNorm2d", "LeakyReLU", "Conv2d s2", "BatchNorm2d",
                         "LeakyReLU", "Conv2d s2"]  # fmt: skip
    assert leaves(g)[-2:] == ["ConvTranspose2d", "Tanh"]
    # a record written before ablations existed reads as the baseline
    record = {k: v for k, v in settings.to_dict().items() if k != "ablation"}
    assert TrainSettings.from_dict(record) == settings


def test_max_pooling_keeps_ds_sizes_and_sigmoid_keeps_the_pixel_range() -> None:
    g, d = build_models(TrainSettings(ablation="max_pool_d"))
    sizes = []
    for block in d.net[:2]:
        block.register_forward_hook(lambda m, i, o: sizes.append(tuple(o.shape[-2:])))
    d(torch.zeros(2, 1, 28, 28))
    assert sizes[:2] == [(13, 13), (5, 5)]

    g, d = build_models(TrainSettings(ablation="sigmoid_g"))
    fakes = g(torch.randn(4, 64))
    assert fakes.min() > -1 and fakes.max() < 1
    # D reads sigmoid(a) for a fake and (x + 1) / 2 for a real digit: the [0, 1] game.
    seen = []
    d.net[1][0].register_forward_hook(lambda m, i, o: seen.append(i[0]))
    real = torch.rand(4, 1, 28, 28) * 2 - 1
    d(real)
    assert torch.allclose(seen[0], (real + 1) / 2)
    a = torch.randn(3, 1, 28, 28)
    assert torch.allclose(
        ModelToUnitRange()(UnitToModelRange()(torch.sigmoid(a))), torch.sigmoid(a)
    )


def test_a_bad_ablation_is_refused_with_its_name() -> None:
    with pytest.raises(SettingsError, match="ablation must be one of none, no_batch_norm"):
        TrainSettings(ablation="dropout").validate()
    with pytest.raises(SettingsError, match="ablation"):
        TrainSettings.from_dict({"ablation": 3})


@pytest.mark.parametrize("model", ["dcgan", "cgan"])
@pytest.mark.parametrize("ablation", BROKEN)
def test_each_ablation_trains_through_the_step_api_and_round_trips(
    ablation: str, model: str, tmp_path: Path, one_thread: None
) -> None:
    images, labels = random_digits(32)
    settings = TrainSettings(model=model, batch_size=8, z_dim=8, ablation=ablation, device="cpu")
    trainer = Trainer(settings, images, labels)
    d_before = [p.clone() for p in trainer.stepper.discriminator.parameters()]
    record = trainer.d_step()
    assert record.d_loss is not None and np.isfinite(record.d_loss)
    assert any(
        not torch.equal(a, b)
        for a, b in zip(d_before, trainer.stepper.discriminator.parameters(), strict=True)
    )
    assert trainer.g_step().is_finite() and trainer.run(2).is_finite()

    path = trainer.save(tmp_path / "run.safetensors")
    again = Trainer.load(path, images, labels)
    assert again.settings.ablation == ablation
    noise = torch.randn(4, 8)
    digits = torch.arange(4) if model == "cgan" else None
    assert torch.equal(trainer.sample(noise, digits), again.sample(noise, digits))
    assert again.run(1).is_finite()
    generator, loaded, _ = load_generator(trainer.generator_checkpoint())
    assert loaded.ablation == ablation
    shown = generator(noise, digits) if digits is not None else generator(noise)
    # the trainer's G runs channels_last: the same sums in another order
    assert torch.allclose(shown, trainer.sample(noise, digits), atol=1e-6)
    # networks built empty for loading have the trained ones' layers
    assert leaves(build_generator(settings)) == leaves(trainer.stepper.generator)
    assert leaves(build_discriminator(settings)) == leaves(trainer.stepper.discriminator)


def test_cli_trains_an_ablation_saves_g_alone_and_records_the_losses(
    tmp_path: Path, offline_cli: SimpleNamespace
) -> None:
    offline_cli.evaluator.fids = [40.0]
    out = tmp_path / "ablation_relu_d.safetensors"
    argv = ["dcgan", "--epochs", "1", "--batch-size", "8", "--seed", "2", "--device", "cpu"]
    argv += ["--ablation", "relu_d", "--save", "generator", "--eval-samples", "40"]
    assert cli.main([*argv, "--name", "ablation_relu_d", "--out", str(out)]) == 0
    checkpoint = load_checkpoint(out)
    assert checkpoint.kind == "generator" and not checkpoint.has_part("discriminator")
    assert checkpoint.metadata["settings"]["ablation"] == "relu_d"
    assert checkpoint.metadata["metrics"]["fid"] == 40.0
    entry = json.loads((tmp_path / "manifest.json").read_text())["models"]["ablation_relu_d"]
    words = shlex.split(entry["command"])
    assert words[words.index("--ablation") + 1] == "relu_d"
    assert words[words.index("--save") + 1] == "generator"
    assert words[words.index("--name") + 1] == "ablation_relu_d"  # rerun, it rewrites this entry
    losses = entry["losses"]
    assert losses["step"] == list(range(1, 9))  # 64 digits / 8: a point every iteration
    assert len(losses["d_fake"]) == 8 and all(0 <= p <= 1 for p in losses["d_fake"])
    points = ablations.history_points(losses)
    assert [p.step for p in points] == losses["step"]
    assert cli.main(["vae", "--ablation", "relu_d", "--out", str(out)]) == 2


# -- the comparison ---------------------------------------------------------------------------


def run(ablation: str, fid: float, covered: float = 10, d_fake: float = 0.3, **settings) -> Run:
    history = tuple(HistoryPoint(s, s / 10, 0.0, 1.0, 1.0, 0.6, d_fake) for s in range(1, 9))
    return Run(
        ablation,
        TrainSettings(ablation=ablation, **settings),
        None,
        history,
        {"fid": fid, "classes_covered": covered},
    )


def test_the_verdict_is_computed_from_the_numbers() -> None:
    baseline = run("none", 100.0, d_fake=0.25)
    worse = ablations.verdict(baseline, run("no_batch_norm", 300.0, covered=4, d_fake=0.05))
    assert "3.0× the baseline's" in worse and "100 → 300" in worse
    assert "digits covered 10 → 4" in worse and "0.25 → 0.05" in worse
    assert worse.startswith("Batch norm off: batch normalization")
    better = ablations.verdict(baseline, run("relu_d", 60.0))
    assert "falls by 40%" in better and better.startswith("ReLU in D: LeakyReLU")
    assert "about the same" in ablations.verdict(baseline, run("relu_d", 105.0))


def test_only_runs_that_differ_in_the_ablation_alone_compare() -> None:
    base = TrainSettings(seed=5, device="cuda")
    assert (
        ablations.comparison_problem(base, replace(base, ablation="relu_d", device="cpu")) is None
    )
    problem = ablations.comparison_problem(base, replace(base, ablation="relu_d", seed=6))
    assert problem == "the runs differ in more than the ablation: seed"
    assert "baseline" in ablations.comparison_problem(replace(base, ablation="relu_d"), base)
    with pytest.raises(ablations.AblationError, match="ablation must be one of"):
        ablations.checked_ablation("none")


# -- the shipped runs -------------------------------------------------------------------------

MODELS_DIR = DEFAULT_CLASSIFIER_PATH.parent
MANIFEST = json.loads((MODELS_DIR / "manifest.json").read_text())["models"]
SHIPPED = [ablations.shipped_name(a) for a in ABLATIONS]


def test_the_shipped_runs_are_one_command_but_for_the_ablation() -> None:
    commands = []
    for ablation in ABLATIONS:
        entry = MANIFEST[ablations.shipped_name(ablation)]
        path = MODELS_DIR / entry["file"]
        assert entry["bytes"] == path.stat().st_size
        meta = load_checkpoint(path).metadata
        assert meta["settings"] == entry["settings"] and meta["metrics"] == entry["metrics"]
        assert entry["settings"]["ablation"] == ablation
        words = shlex.split(entry["command"])
        if "--ablation" in words:
            del words[words.index("--ablation") : words.index("--ablation") + 2]
        commands.append([w for w in words if "ablation_" not in w])
        assert words[-1] == f"trained_models/{entry['file']}"
        assert words[words.index("--name") + 1] == ablations.shipped_name(ablation)
        assert len(entry["losses"]["step"]) >= 10
    assert all(c == commands[0] for c in commands)


@pytest.mark.slow  # draws and scores 2,000 digits of each of six generators
@pytest.mark.parametrize("name", SHIPPED)
def test_each_shipped_run_rescored_matches_the_manifest(name: str) -> None:
    entry = MANIFEST[name]
    generator, settings, _ = load_generator(MODELS_DIR / entry["file"])
    recorded = entry["metrics"]
    images, labels = draw_samples(
        generator, recorded["n"], stream_seed(settings.seed, EVAL_NOISE_STREAM)
    )
    live = load_evaluator().evaluate(images, labels).as_dict()
    # Another CPU rounds G's and the classifier's convolutions differently: equal up to that.
    assert live["fid"] == pytest.approx(recorded["fid"], rel=0.02)
    assert live["inception_score"] == pytest.approx(recorded["inception_score"], rel=0.02)
    for key in ("precision", "recall", "largest_class_fraction"):
        assert live[key] == pytest.approx(recorded[key], abs=0.01)


def snapshot(job_id: str, created: float, state: JobState = JobState.FINISHED, **settings):
    """A finished job of this owner, with metrics, its history and samples."""
    history = (HistoryPoint(1, 0.1, 1.0, 1.2, 0.8, 0.6, 0.4),)
    return JobSnapshot(
        job_id=job_id, state=state, settings=TrainSettings(**settings), position=None, reason="",
        device="cpu", step=1, total_steps=1, epoch=1.0, images_per_s=1.0, eta_s=None,
        d_real=0.6, d_fake=0.4, history=history, samples=np.zeros((4, 28, 28), np.uint8),
        samples_step=1, metrics={"fid": 50.0, "classes_covered": 9.0}, metrics_step=1,
        checkpoint_step=1, created_at=created,
    )  # fmt: skip


def test_a_students_finished_jobs_pair_up_when_only_the_ablation_differs() -> None:
    jobs = [
        snapshot("a", 1.0, seed=1),
        snapshot("b", 2.0, seed=1, ablation="relu_d"),
        snapshot("c", 3.0, seed=2, ablation="relu_d"),  # no baseline of seed 2
        snapshot("d", 4.0, state=JobState.RUNNING, seed=1, ablation="sigmoid_g"),
        snapshot("e", 5.0, seed=1),  # the newer baseline of seed 1
    ]
    pairs = ablations.job_pairs(jobs)
    assert [(b.job_id, a.job_id) for b, a in pairs] == [("e", "b")]
    baseline, ablated = (ablations.job_run(s) for s in pairs[0])
    assert ablated.label == "job b: ReLU in D" and ablated.metrics["fid"] == 50.0
    assert "stays about the same" in ablations.verdict(baseline, ablated)


def test_a_job_record_carries_its_ablation_and_an_old_one_reads_as_the_baseline(
    tmp_path: Path,
) -> None:
    directory = tmp_path / "owner" / "job1"
    directory.mkdir(parents=True)
    settings = TrainSettings(seed=4, ablation="max_pool_d")
    JobRecord("job1", "owner", settings, directory, seq=1, created_at=1.0).save()
    assert read_job(directory / "job.json").settings == settings

    raw = json.loads((directory / "job.json").read_text())
    del raw["settings"]["ablation"]  # a record written before ablations existed
    (directory / "job.json").write_text(json.dumps(raw))
    assert read_job(directory / "job.json").settings == replace(settings, ablation="none")
