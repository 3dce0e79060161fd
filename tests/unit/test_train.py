"""The MNIST training engine: settings, seeded batches, the textbook maths, exact resume, safe files."""

from __future__ import annotations

import contextlib
import copy
import json
import math
import statistics
from dataclasses import fields, replace
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch
from hypothesis import given
from hypothesis import settings as settings_of_hypothesis
from hypothesis import strategies as st
from safetensors.torch import save as save_plain_safetensors
from torch import Tensor, nn

from playground.checkpoints import (
    Checkpoint,
    CheckpointError,
    file_sha256,
    from_bytes,
    load_checkpoint,
    pack_parts,
    save_checkpoint,
    to_bytes,
)
from playground.models import ConditionalGenerator, Generator
from playground.pixels import checked_model_images
from playground.train import (
    CudaGraphStep,
    MnistBatches,
    SettingsError,
    Trainer,
    TrainingDataError,
    TrainSettings,
    build_models,
    cli,
    cuda_graph_decision,
    generate,
    load_generator,
)
from tests.unit.conftest import random_digits

BATCH = 32


pytestmark = pytest.mark.usefixtures("one_thread")


def stroke_digits(n: int = 256, seed: int = 0) -> tuple[Tensor, Tensor]:
    """Digit-like images: a ring, a bar, a cross, ... per label, white on black, shifted +-2 px."""
    g = torch.Generator().manual_seed(seed)
    labels = torch.randint(0, 10, (n,), generator=g)
    shift = torch.randint(-2, 3, (n, 2), generator=g).float()
    yy, xx = torch.meshgrid(torch.arange(28.0), torch.arange(28.0), indexing="ij")
    x = xx - 14 - shift[:, 0, None, None]
    y = yy - 14 - shift[:, 1, None, None]
    r = (x**2 + y**2).sqrt()
    box = (x.abs() < 8) & (y.abs() < 8)
    shapes = torch.stack(
        [
            (r - 7).abs() < 1.5,
            (x.abs() < 1.5) & (y.abs() < 9),
            (y.abs() < 1.5) & (x.abs() < 8),
            ((x - y).abs() < 2) & box,
            ((x + y).abs() < 2) & box,
            ((x.abs() < 1.5) | (y.abs() < 1.5)) & box,
            (r - 4).abs() < 1.5,
            ((x.abs() - 6).abs() < 1.5) & box,
            ((y.abs() - 6).abs() < 1.5) & box,
            (((x**2 + (y + 4) ** 2).sqrt() - 4).abs() < 1.5) | ((x - 3).abs() < 1.5) & (y > -4),
        ]
    )  # (10, n, 28, 28)
    images = shapes[labels, torch.arange(n)]
    return (images * 255).to(torch.uint8), labels


def settings(**changes) -> TrainSettings:
    return TrainSettings(**{"batch_size": BATCH, "epochs": 1, "device": "cpu", **changes})


def assert_same_state(a: nn.Module, b: nn.Module) -> None:
    for (key, x), y in zip(a.state_dict().items(), b.state_dict().values(), strict=True):
        assert torch.equal(x, y), key


# -- networks --------------------------------------------------------------------------------


@pytest.mark.parametrize("model", ["dcgan", "cgan"])
def test_networks_map_noise_to_digits_and_digits_to_logits(model: str) -> None:
    generator, discriminator = build_models(TrainSettings(model=model, z_dim=16))
    noise, labels = torch.randn(5, 16), torch.arange(5)
    extra = (labels,) if model == "cgan" else ()
    fake = generator(noise, *extra)
    assert fake.shape == (5, 1, 28, 28)
    assert fake.abs().max() <= 1.0
    assert discriminator(fake, *extra).shape == (5,)


def test_weights_follow_the_dcgan_recipe_and_the_seed() -> None:
    generator, _ = build_models(TrainSettings(seed=3))
    twin, _ = build_models(TrainSettings(seed=3))
    other, _ = build_models(TrainSettings(seed=4))
    assert_same_state(generator, twin)
    first_conv = generator.net[0][0].weight
    assert not torch.equal(first_conv, other.net[0][0].weight)
    assert abs(first_conv.std().item() - 0.02) < 0.002
    assert abs(generator.net[0][1].weight.mean().item() - 1.0) < 0.01
    assert torch.count_nonzero(generator.net[0][0].bias) == 0
    assert torch.equal(generator.net[0][1].running_var, torch.ones(256))


def test_building_models_leaves_the_global_rng_alone() -> None:
    state = torch.get_rng_state()
    build_models(TrainSettings(model="cgan"))
    assert torch.equal(torch.get_rng_state(), state)


# -- settings --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"model": "vae"}, r"model must be one of dcgan, cgan"),
        ({"epochs": 0}, r"epochs must be a number in \(0, 100\]"),
        ({"epochs": 101}, r"epochs must be a number in \(0, 100\]"),
        ({"epochs": float("nan")}, "epochs"),
        ({"batch_size": 4}, r"batch_size must be a whole number in \[8, 1024\], got 4"),
        ({"batch_size": 64.0}, "batch_size must be a whole number"),
        ({"batch_size": True}, "batch_size must be a whole number"),
        ({"lr_g": 0.0}, r"lr_g must be a number in \(0, 0\.1\]"),
        ({"lr_d": 0.5}, r"lr_d must be a number in \(0, 0\.1\]"),
        ({"beta1": 1.0}, r"beta1 must be a number in \[0, 1\)"),
        ({"beta2": -0.1}, r"beta2 must be a number in \[0, 1\)"),
        ({"z_dim": 0}, r"z_dim must be a whole number in \[1, 256\]"),
        ({"g_loss": "wasserstein"}, "g_loss must be one of nonsaturating, minimax"),
        ({"k_d": 11}, r"k_d must be a whole number in \[1, 10\]"),
        ({"seed": -1}, r"seed must be a whole number in \[0, 2147483647\]"),
        ({"device": "tpu"}, "device must be one of auto, cpu, cuda"),
        ({"epochs": "5"}, "epochs must be a number"),
    ],
)
def test_invalid_settings_name_the_field_and_range(change: dict, message: str) -> None:
    with pytest.raises(SettingsError, match=message):
        TrainSettings(**change).validate()
    with pytest.raises(SettingsError, match=message):
        TrainSettings.from_dict({**TrainSettings().to_dict(), **change})


def test_settings_round_trip_through_json() -> None:
    original = TrainSettings(model="cgan", epochs=0.5, k_d=2, seed=9, g_loss="minimax")
    assert TrainSettings.from_dict(json.loads(json.dumps(original.to_dict()))) == original
    assert TrainSettings.from_dict({"model": "cgan"}) == TrainSettings(model="cgan")


def test_unknown_or_non_mapping_settings_are_refused() -> None:
    with pytest.raises(SettingsError, match=r"unknown setting\(s\) \['lr'\]"):
        TrainSettings.from_dict({"lr": 0.1})
    with pytest.raises(SettingsError, match="must be a mapping"):
        TrainSettings.from_dict([("model", "dcgan")])


def test_batch_larger_than_the_data_is_refused() -> None:
    images, labels = random_digits(20)
    with pytest.raises(SettingsError, match="batch_size 32 is larger than the data set"):
        Trainer(settings(), images, labels)


def test_bad_training_data_is_refused() -> None:
    images, labels = random_digits()
    with pytest.raises(TrainingDataError, match="labels"):
        Trainer(settings(model="cgan"), images, None)
    with pytest.raises(TrainingDataError, match=r"\(96,\)"):
        Trainer(settings(), images, labels[:10])
    with pytest.raises(TrainingDataError, match=r"\[-1, 1\]"):
        Trainer(settings(), images.float().unsqueeze(1), labels)
    with pytest.raises(TrainingDataError, match="float"):
        Trainer(settings(), images.to(torch.int32), labels)


# -- device and the CUDA-graph decision ------------------------------------------------------


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the behaviour without a GPU")
def test_asking_for_cuda_without_a_gpu_is_a_settings_error() -> None:
    images, labels = random_digits()
    with pytest.raises(SettingsError, match="device 'cuda' was asked for.*'auto' or 'cpu'"):
        Trainer(settings(device="cuda"), images, labels)
    with pytest.raises(SettingsError, match="device 'cuda'"):
        Trainer(settings(device="auto"), images, labels, device="cuda:0")
    trainer = Trainer(settings(device="auto"), images, labels)
    assert trainer.device.type == "cpu"
    assert not trainer.fast_path
    assert "eager loop" in trainer.fallback_reason


def test_cuda_graph_decision(monkeypatch: pytest.MonkeyPatch) -> None:
    assert "CUDA graphs need a CUDA GPU" in cuda_graph_decision(torch.device("cpu"))
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert cuda_graph_decision(torch.device("cuda")) is None
    assert "turned off" in cuda_graph_decision(torch.device("cuda"), enabled=False)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert "not available" in cuda_graph_decision(torch.device("cuda"))


# -- batches ---------------------------------------------------------------------------------


def test_real_batches_walk_a_seeded_permutation_per_epoch() -> None:
    images, labels = random_digits(100)
    real = checked_model_images(images)
    source = MnistBatches(real, labels, BATCH, z_dim=4, seed=5, conditional=True)
    reference = torch.Generator().manual_seed(5)
    for _ in range(2):  # two epochs of 100 // 32 = 3 batches; the last 4 images are skipped
        order = torch.randperm(100, generator=reference)
        for b in range(3):
            batch, batch_labels = source.real()
            expected = order[b * BATCH : (b + 1) * BATCH]
            assert torch.equal(batch, real[expected])
            assert torch.equal(batch_labels, labels[expected])
    assert source.epochs_started == 2
    noise, fake_labels = source.noise()
    assert torch.equal(noise, torch.randn(BATCH, 4, generator=reference))
    assert torch.equal(fake_labels, torch.randint(0, 10, (BATCH,), generator=reference))


def test_fake_labels_are_uniform_digits() -> None:
    images, labels = random_digits(1000)
    source = MnistBatches(checked_model_images(images), labels, 1000, 4, 0, True)
    counts = torch.bincount(torch.cat([source.noise()[1] for _ in range(10)]), minlength=10)
    assert counts.sum() == 10_000 and counts.min() > 850 and counts.max() < 1150


def test_source_state_round_trip_replays_the_same_batches() -> None:
    images, labels = random_digits()
    source = MnistBatches(checked_model_images(images), labels, BATCH, 4, 0, True)
    source.real(), source.noise(), source.real()
    state = copy.deepcopy(source.state_dict())
    ahead = [source.real()[0] for _ in range(4)] + [source.noise()[0]]
    source.load_state_dict(state)
    again = [source.real()[0] for _ in range(4)] + [source.noise()[0]]
    for a, b in zip(ahead, again, strict=True):
        assert torch.equal(a, b)


# -- the maths: same as the textbook loop ----------------------------------------------------


def textbook_iteration(G, D, g_opt, d_opt, real, noise, labels=()) -> tuple[float, float]:
    """pytorch/examples dcgan: BCE on sigmoid(D), real label 1, fake label 0, then G with label 1.

    As there, one batch of fakes per iteration: D sees it detached, then G is updated through it.
    """
    real_labels, fake_labels = labels or (None, None)

    def call(net, x, y):
        return net(x) if y is None else net(x, y)

    criterion = nn.BCELoss()
    # (1) Update D network: maximize log(D(x)) + log(1 - D(G(z)))
    d_opt.zero_grad()
    output = torch.sigmoid(call(D, real, real_labels))
    err_d_real = criterion(output, torch.ones_like(output))
    err_d_real.backward()
    fake = call(G, noise, fake_labels)
    output = torch.sigmoid(call(D, fake.detach(), fake_labels))
    err_d_fake = criterion(output, torch.zeros_like(output))
    err_d_fake.backward()
    d_opt.step()
    # (2) Update G network: maximize log(D(G(z)))
    g_opt.zero_grad()
    output = torch.sigmoid(call(D, fake, fake_labels))
    err_g = criterion(output, torch.ones_like(output))
    err_g.backward()
    g_opt.step()
    return (err_d_real + err_d_fake).item(), err_g.item()


@pytest.fixture
def float64():
    """Compare in float64: in float32, Adam (update = lr * m / sqrt(v)) blows the round-off of
    near-zero gradients up to whole steps of lr (e.g. conv biases before BatchNorm, whose exact
    gradient is 0), so two correct implementations drift apart by ~lr. In float64 they do not."""
    torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(torch.float32)


@pytest.mark.parametrize("model", ["dcgan", "cgan"])
def test_engine_matches_the_textbook_loop(model: str, float64: None) -> None:
    images, labels = random_digits()
    trainer = Trainer(settings(model=model), images, labels)
    trainer.stepper.generator.double(), trainer.stepper.discriminator.double()
    trainer.source.images = trainer.source.images.double()
    G, D = copy.deepcopy(trainer.stepper.generator), copy.deepcopy(trainer.stepper.discriminator)
    g_opt = torch.optim.Adam(G.parameters(), lr=2e-4, betas=(0.5, 0.999))
    d_opt = torch.optim.Adam(D.parameters(), lr=2e-4, betas=(0.5, 0.999))
    twin = MnistBatches(trainer.source.images, labels, BATCH, 64, 0, model == "cgan")
    for _ in range(4):
        (real, real_labels), (noise, fake_labels) = twin.real(), twin.noise()
        extra = (real_labels, fake_labels) if model == "cgan" else ()
        d_loss, g_loss = textbook_iteration(G, D, g_opt, d_opt, real, noise, extra)
        record = trainer.step()
        assert math.isclose(record.d_loss, d_loss, rel_tol=1e-6)  # the record is float32
        assert math.isclose(record.g_loss, g_loss, rel_tol=1e-6)
    for mine, theirs in ((trainer.stepper.generator, G), (trainer.stepper.discriminator, D)):
        for (key, a), b in zip(
            mine.state_dict().items(), theirs.state_dict().values(), strict=True
        ):
            assert a.dtype == b.dtype and torch.allclose(a, b, rtol=1e-7, atol=1e-9), key


def test_the_graph_body_run_eagerly_equals_the_eager_loop() -> None:
    """The CUDA fast path's iteration (static buffers refilled from the seeded source, then
    GANStepper's d_update/g_update) computes exactly what the eager loop computes."""
    images, labels = random_digits()
    for model, k_d in (("dcgan", 1), ("cgan", 2)):
        eager = Trainer(settings(model=model, k_d=k_d), images, labels)
        body = Trainer(settings(model=model, k_d=k_d), images, labels)
        graph_step = CudaGraphStep(body.stepper, body.source, k_d)
        for _ in range(3):  # 3 iterations of 1 or 2 D updates: crosses an epoch of 3 batches
            record = eager.run(1)
            stats = graph_step.eager_iteration()
        assert stats.tolist()[0] == record.d_loss and stats.tolist()[6] == record.g_loss
        assert_same_state(eager.stepper.generator, body.stepper.generator)
        assert_same_state(eager.stepper.discriminator, body.stepper.discriminator)


def test_failed_capture_falls_back_to_eager_and_says_why(monkeypatch: pytest.MonkeyPatch) -> None:
    images, labels = random_digits()
    eager = Trainer(settings(), images, labels)
    fast = Trainer(settings(), images, labels)
    fast.fast_path = True  # pretend to be on a GPU: warm-up runs eagerly, capture fails

    def warm_up_on_cpu(self, iterations):
        for _ in range(iterations):
            stats = self.eager_iteration()
        self.warmup_left -= iterations
        return stats

    def capture_fails(self):
        raise RuntimeError("operation not permitted when stream is capturing\nmore")

    monkeypatch.setattr(CudaGraphStep, "warm_up", warm_up_on_cpu)
    monkeypatch.setattr(CudaGraphStep, "capture", capture_fails)
    assert fast.run(2) == eager.run(2)  # warm-up only
    assert fast.fast_path
    assert fast.run(4) == eager.run(4)  # 1 more warm-up, capture fails, 3 eager
    assert not fast.fast_path
    assert fast.fallback_reason == (
        "CUDA graph capture failed (operation not permitted when stream is capturing); eager loop"
    )
    assert fast.iteration == eager.iteration == 6
    assert fast.stepper.d_steps == 6
    assert_same_state(eager.stepper.generator, fast.stepper.generator)


def test_counters_and_single_updates() -> None:
    images, labels = random_digits()
    trainer = Trainer(settings(k_d=2, epochs=2), images, labels)
    assert trainer.steps_per_epoch == 1 and trainer.total_iterations == 2  # 3 batches // k_d 2
    d_only = copy.deepcopy(trainer.stepper.generator.state_dict())
    trainer.d_step()
    assert trainer.iteration == 0 and trainer.stepper.d_steps == 1
    for key, value in trainer.stepper.generator.state_dict().items():
        if not key.endswith(("running_mean", "running_var", "num_batches_tracked")):
            assert torch.equal(value, d_only[key]), key
    trainer.g_step()
    record = trainer.step()
    assert (trainer.iteration, trainer.stepper.d_steps) == (2, 3)
    assert record.kind == "dg" and record.g_steps == 2 and trainer.done
    assert trainer.progress(record).epoch == 2.0
    assert trainer.images_per_s > 0


# -- learning --------------------------------------------------------------------------------


def window_means(values: list[float], width: int) -> tuple[float, float]:
    return statistics.mean(values[:width]), statistics.mean(values[-width:])


@pytest.mark.slow
@pytest.mark.parametrize("seed", [0, 1])
def test_a_short_run_lowers_d_loss_then_g_steps_lower_g_loss(seed: int) -> None:
    """At the start D rates the fakes above the reals (D(G(z)) ~ 0.75, d_loss ~ 2.2). In 60
    iterations on digit-like strokes D learns: its loss falls towards log 4 (while G's
    non-saturating loss rises towards log 2, as it must when D(G(z)) falls). Then G, updated
    alone against that fixed D, lowers its own loss. Checked on seeds 0-7 with 60 and 80
    iterations: the smallest margins seen were 0.11 (D) and 0.13 (G)."""
    images, labels = stroke_digits()
    trainer = Trainer(settings(seed=seed), images, labels)
    d_losses = [trainer.step().d_loss for _ in range(60)]
    first, last = window_means(d_losses, 15)
    assert last < first - 0.05
    g_losses = [trainer.g_step().g_loss for _ in range(24)]
    first, last = window_means(g_losses, 6)
    assert last < first - 0.05


# -- samples ---------------------------------------------------------------------------------


def test_fixed_noise_samples_are_fixed_and_leave_training_mode_alone() -> None:
    images, labels = random_digits()
    trainer = Trainer(settings(model="cgan"), images, labels)
    first = trainer.fixed_noise_samples()
    assert first.shape == (80, 1, 28, 28)
    assert torch.equal(trainer.fixed_labels, torch.arange(10).repeat_interleave(8))
    assert torch.equal(first, trainer.fixed_noise_samples())
    assert trainer.stepper.generator.training
    dcgan = Trainer(settings(), images, labels)
    assert dcgan.fixed_noise_samples().shape == (64, 1, 28, 28)


def test_samples_for_metrics_cycle_the_labels() -> None:
    images, labels = random_digits()
    trainer = Trainer(settings(model="cgan"), images, labels)
    fake, fake_labels = trainer.samples(23, seed=1)
    assert fake.shape == (23, 1, 28, 28)
    assert torch.equal(fake_labels, torch.arange(23) % 10)
    assert torch.equal(fake, trainer.samples(23, seed=1)[0])
    assert not torch.equal(fake, trainer.samples(23, seed=2)[0])
    with pytest.raises(ValueError, match="needs labels"):
        trainer.sample(torch.randn(2, 64))


# -- checkpoints -----------------------------------------------------------------------------


@pytest.mark.parametrize("model", ["dcgan", "cgan"])
def test_train_save_load_train_equals_training_straight(tmp_path: Path, model: str) -> None:
    images, labels = random_digits()
    straight = Trainer(settings(model=model, epochs=3), images, labels)
    straight_records = [straight.run(2), straight.d_step(), straight.run(3)]

    first = Trainer(settings(model=model, epochs=3), images, labels)
    records = [first.run(2), first.d_step()]
    path = first.save(tmp_path / "run.safetensors", metrics={"fid": 12.5})
    resumed = Trainer.load(path, images, labels)
    assert (resumed.iteration, resumed.stepper.d_steps) == (2, 3)
    records.append(resumed.run(3))  # crosses into the next epoch's permutation

    assert records == straight_records
    assert_same_state(straight.stepper.generator, resumed.stepper.generator)
    assert_same_state(straight.stepper.discriminator, resumed.stepper.discriminator)
    for mine, theirs in (
        (resumed.stepper.g_opt, straight.stepper.g_opt),
        (resumed.stepper.d_opt, straight.stepper.d_opt),
    ):
        for p, q in zip(
            mine.param_groups[0]["params"], theirs.param_groups[0]["params"], strict=True
        ):
            assert mine.state[p].keys() == theirs.state[q].keys()
            assert all(torch.equal(mine.state[p][k], theirs.state[q][k]) for k in mine.state[p])
    meta = load_checkpoint(path).metadata
    assert meta["metrics"] == {"fid": 12.5} and meta["seed"] == 0 and meta["step"] == 2
    assert meta["settings"]["model"] == model and "torch" in meta["versions"]


def test_checkpoints_stay_small(tmp_path: Path) -> None:
    images, labels = random_digits()
    trainer = Trainer(settings(), images, labels)
    trainer.step()
    size = trainer.save(tmp_path / "a.safetensors").stat().st_size
    assert 5e6 < size < 15e6  # G + D + two Adam moments each, fp32
    assert len(trainer.generator_checkpoint()) < 4e6


def saved(tmp_path: Path, model: str = "dcgan") -> tuple[Path, Tensor, Tensor]:
    images, labels = random_digits()
    trainer = Trainer(settings(model=model), images, labels)
    trainer.step()
    return trainer.save(tmp_path / "good.safetensors"), images, labels


def rewritten(path: Path, change, folder: Path) -> Path:
    """A copy of the checkpoint at `path`, in `folder`, with `change` applied."""
    checkpoint = load_checkpoint(path)
    change(checkpoint)
    out = folder / "bad.safetensors"
    save_checkpoint(out, Checkpoint(checkpoint.tensors, checkpoint.metadata))
    return out


@pytest.fixture(scope="module")
def good_checkpoint(
    one_thread: None, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, Tensor, Tensor]:
    """One trained DCGAN's checkpoint, saved once for every case that spoils a copy of it."""
    return saved(tmp_path_factory.mktemp("good"))


def test_corrupted_and_truncated_checkpoints_are_refused(tmp_path: Path) -> None:
    path, images, labels = saved(tmp_path)
    data = bytearray(path.read_bytes())
    data[20:40] = b"#" * 20  # inside the JSON header
    corrupted = tmp_path / "corrupted.safetensors"
    corrupted.write_bytes(bytes(data))
    truncated = tmp_path / "truncated.safetensors"
    truncated.write_bytes(path.read_bytes()[: len(data) // 2])
    for bad in (corrupted, truncated):
        with pytest.raises(CheckpointError, match="not a valid"):
            Trainer.load(bad, images, labels)


def test_wrong_kind_is_refused(tmp_path: Path) -> None:
    path, images, labels = saved(tmp_path)
    trainer = Trainer.load(path, images, labels)
    g_only = tmp_path / "g.safetensors"
    g_only.write_bytes(trainer.generator_checkpoint())
    with pytest.raises(CheckpointError, match="holds only generator weights"):
        Trainer.load(g_only, images, labels)
    other = tmp_path / "classifier.safetensors"
    save_checkpoint(
        other, Checkpoint(pack_parts({"classifier": {"w": torch.ones(1)}}), {"kind": "classifier"})
    )
    with pytest.raises(CheckpointError, match="'classifier' checkpoint, not a GAN training"):
        Trainer.load(other, images, labels)
    with pytest.raises(CheckpointError, match="'classifier' checkpoint, not a GAN"):
        load_generator(other)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            lambda c: c.tensors.__setitem__("generator.net.0.0.weight", torch.zeros(64, 256, 2, 2)),
            r"generator weight net\.0\.0\.weight has shape \(64, 256, 2, 2\)",
        ),
        (
            lambda c: c.tensors["discriminator.net.2.weight"].fill_(float("nan")),
            "NaN or infinite",
        ),
        (lambda c: c.tensors.pop("d_opt.0.exp_avg"), "same quantities"),
        (
            lambda c: c.tensors.__setitem__("g_opt.0.exp_avg", torch.zeros(3)),
            "g_opt state 0.exp_avg has shape",
        ),
        (lambda c: c.metadata["settings"].__setitem__("batch_size", 3), "settings are invalid"),
        (lambda c: c.metadata["settings"].__setitem__("z_dim", 32), "shape"),
        (lambda c: c.metadata.pop("settings"), "settings are invalid"),
        (lambda c: c.metadata.__setitem__("dataset_size", 60000), "trained on 60000 images"),
        (lambda c: c.tensors["source.permutation"].fill_(0), "not a permutation"),
        (lambda c: c.metadata["source"].__setitem__("position", 10**6), "batch position"),
        (lambda c: c.metadata.__setitem__("step", -1), "'step' must be a whole number"),
        (lambda c: c.metadata.__setitem__("d_steps", -1), "step counters"),
        (lambda c: c.metadata.__setitem__("settings", [["z_dim", 64]]), "'settings' must be"),
        (lambda c: c.metadata["g_opt"]["param_groups"][0].__setitem__("eps", "boom"), "'eps'"),
    ],
)
def test_bad_training_checkpoints_are_refused(
    tmp_path: Path, good_checkpoint: tuple[Path, Tensor, Tensor], change, message: str
) -> None:
    path, images, labels = good_checkpoint
    with pytest.raises(CheckpointError, match=message):
        Trainer.load(rewritten(path, change, tmp_path), images, labels)


@pytest.mark.parametrize("model", ["dcgan", "cgan"])
def test_load_generator_from_full_and_generator_only_checkpoints(
    tmp_path: Path, model: str
) -> None:
    images, labels = random_digits()
    trainer = Trainer(settings(model=model), images, labels)
    trainer.run(2)
    noise = torch.randn(6, 64)
    digits = torch.arange(6) if model == "cgan" else None
    expected = trainer.sample(noise, digits)
    path = trainer.save(tmp_path / "full.safetensors")
    for source in (path, trainer.generator_checkpoint()):
        generator, loaded_settings, meta = load_generator(source)
        assert isinstance(generator, ConditionalGenerator if model == "cgan" else Generator)
        assert not generator.training and loaded_settings == trainer.settings
        assert meta["step"] == 2
        assert torch.allclose(generate(generator, noise, digits), expected, atol=1e-5)
    with pytest.raises(CheckpointError, match="not a valid"):
        load_generator(b"\x00" * 100)


# -- the command line ------------------------------------------------------------------------


def test_cli_keeps_the_best_fid_epoch_and_updates_the_manifest(
    tmp_path: Path, offline_cli: SimpleNamespace
) -> None:
    evaluator = offline_cli.evaluator
    evaluator.fids = [30.0, 12.0, 20.0]
    classifier = offline_cli.classifier
    manifest = tmp_path / "manifest.json"
    manifest.write_text(json.dumps({"models": {"classifier": {"file": "classifier.safetensors"}}}))
    out = tmp_path / "dcgan.safetensors"
    argv = ["dcgan", "--batch-size", "16", "--seed", "4", "--out", str(out)]
    assert cli.main([*argv, "--epochs", "3", "--eval-samples", "40", "--device", "cpu"]) == 0

    assert len(evaluator.calls) == 3 and evaluator.calls[0][0].shape == (40, 1, 28, 28)
    assert not torch.equal(evaluator.calls[0][0], evaluator.calls[1][0])  # G moved
    meta = load_checkpoint(out).metadata
    assert meta["metrics"]["epoch"] == 2 and meta["metrics"]["fid"] == 12.0
    assert meta["step"] == 2 * 4  # 64 // 16 iterations per epoch
    models = json.loads(manifest.read_text())["models"]
    assert models["classifier"] == {"file": "classifier.safetensors"}
    entry = models["dcgan"]
    assert entry["epoch_kept"] == 2 and entry["metrics"]["fid"] == 12.0
    assert [h["fid"] for h in entry["history"]] == [30.0, 12.0, 20.0]
    assert entry["seed"] == 4 and entry["file"] == "dcgan.safetensors"
    assert entry["command"].startswith(
        "python -m playground.train dcgan --epochs 3 --batch-size 16"
    )
    assert entry["classifier_sha256"] == file_sha256(classifier)

    # The classifier is rebuilt: --rescore scores the kept checkpoint again, history stays.
    classifier.write_bytes(b"second classifier")
    evaluator.fids = [7.0]
    assert cli.main([*argv, "--rescore", "--eval-samples", "40"]) == 0
    rescored = json.loads(manifest.read_text())["models"]["dcgan"]
    assert rescored["metrics"]["fid"] == 7.0 and rescored["metrics"]["epoch"] == 2
    assert rescored["classifier_sha256"] == file_sha256(classifier)
    assert rescored["history_classifier_sha256"] == entry["classifier_sha256"]
    assert rescored["history"] == entry["history"]
    assert rescored["rescore_command"].endswith(f"--rescore --eval-samples 40 --out {out}")
    with pytest.raises(SystemExit):
        cli.main(["gan", "--out", str(out)])
    assert cli.main(["cgan", "--rescore", "--out", str(out)]) == 2  # it holds a dcgan


def test_cli_resumes_a_run_with_lower_learning_rates_keeping_only_a_better_epoch(
    tmp_path: Path, offline_cli: SimpleNamespace
) -> None:
    evaluator = offline_cli.evaluator
    evaluator.fids = [30.0, 12.0]
    out = tmp_path / "dcgan.safetensors"
    base = ["dcgan", "--batch-size", "16", "--seed", "4", "--device", "cpu", "--eval-samples", "40"]
    assert cli.main([*base, "--epochs", "2", "--out", str(out)]) == 0
    first = json.loads((tmp_path / "manifest.json").read_text())["models"]["dcgan"]

    # Phase 2: epochs 3-5 at a tenth of the learning rates, none better than the kept epoch 2
    # (FID 12): the file keeps epoch 2, the step counters and history go on.
    evaluator.fids = [15.0, 13.0, 14.0]
    tuned = [*base, "--epochs", "5", "--lr-g", "2e-5", "--lr-d", "2e-5"]
    assert cli.main([*tuned, "--resume-from", str(out), "--out", str(out)]) == 0
    meta = load_checkpoint(out).metadata
    assert meta["metrics"]["epoch"] == 2 and meta["metrics"]["fid"] == 12.0
    entry = json.loads((tmp_path / "manifest.json").read_text())["models"]["dcgan"]
    assert [h["epoch"] for h in entry["history"]] == [1, 2, 3, 4, 5]
    assert [h["fid"] for h in entry["history"]] == [30.0, 12.0, 15.0, 13.0, 14.0]
    assert entry["epoch_kept"] == 2
    assert entry["resumed_from"]["command"] == first["command"]
    assert entry["command"].endswith(f"--resume-from {out} --out {out}")
    assert "--lr-g 2e-05 --lr-d 2e-05" in entry["command"]

    # Only the learning rates, betas and length may change on a resume.
    changed = [
        *base,
        "--epochs",
        "5",
        "--z-dim",
        "32",
        "--resume-from",
        str(out),
        "--out",
        str(out),
    ]
    assert cli.main(changed) == 2


def test_cli_label_accuracy_floor_prefers_a_cgan_epoch_that_draws_the_asked_digits(
    tmp_path: Path, offline_cli: SimpleNamespace
) -> None:
    evaluator = offline_cli.evaluator
    base = ["cgan", "--batch-size", "16", "--seed", "4", "--device", "cpu", "--epochs", "3"]
    base += ["--eval-samples", "40"]
    for floor, kept_epoch in ((None, 2), (0.9, 3)):
        evaluator.fids = [30.0, 12.0, 20.0]
        evaluator.label_accuracies = [0.95, 0.80, 0.91]
        out = tmp_path / f"cgan-{floor}.safetensors"
        extra = [] if floor is None else ["--min-label-accuracy", str(floor)]
        assert cli.main([*base, *extra, "--out", str(out), "--name", out.stem]) == 0
        assert load_checkpoint(out).metadata["metrics"]["epoch"] == kept_epoch
        entry = json.loads((tmp_path / "manifest.json").read_text())["models"][out.stem]
        assert entry["epoch_kept"] == kept_epoch and entry["min_label_accuracy"] == floor
        assert ("--min-label-accuracy 0.9" in entry["command"]) == (floor is not None)
    # Only a cGAN has labels to check, and a floor outside [0, 1] is refused.
    assert cli.main(["dcgan", "--min-label-accuracy", "0.9", "--out", str(out)]) == 2
    assert cli.main([*base, "--min-label-accuracy", "1.5", "--out", str(out)]) == 2


def test_cli_reports_bad_settings_without_a_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["dcgan", "--batch-size", "2", "--out", str(tmp_path / "x")]) == 2
    assert "batch_size must be a whole number in [8, 1024], got 2" in capsys.readouterr().err


SETTING_VALUES = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8)
CRAFTED_SETTINGS = st.dictionaries(
    st.sampled_from([f.name for f in fields(TrainSettings)]) | st.text(max_size=6),
    SETTING_VALUES | st.lists(SETTING_VALUES, max_size=3),
    max_size=4,
)


@settings_of_hypothesis(max_examples=100, deadline=None)
@given(CRAFTED_SETTINGS, st.sampled_from(["generator", "gan", "vae", ""]))
def test_an_upload_with_any_settings_gives_a_generator_or_a_checkpoint_error(
    changes: dict, kind: str
) -> None:
    images, labels = random_digits(32)
    upload = Trainer(settings(), images, labels).generator_checkpoint()
    checkpoint = from_bytes(upload)
    meta = {**checkpoint.metadata, "kind": kind}
    meta["settings"] = {**meta["settings"], **changes}
    with contextlib.suppress(CheckpointError):
        load_generator(to_bytes(Checkpoint(checkpoint.tensors, meta)))


QUICK_CLI = ["dcgan", "--batch-size", "16", "--seed", "4", "--device", "cpu"]


def unscored_run(out: Path, epochs: str) -> None:
    """A run of `epochs` saved at `out` without evaluation (so its file holds no metrics)."""
    argv = [*QUICK_CLI, "--epochs", epochs, "--eval-every-epochs", "0", "--out", str(out)]
    assert cli.main(argv) == 0


def test_cli_resume_with_nothing_left_to_train_says_so_in_one_line(
    tmp_path: Path, offline_cli: SimpleNamespace, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "dcgan.safetensors"
    unscored_run(out, "2")
    capsys.readouterr()
    again = tmp_path / "again.safetensors"
    for epochs in ("2", "1"):
        argv = [*QUICK_CLI, "--epochs", epochs, "--resume-from", str(out), "--out", str(again)]
        assert cli.main(argv) == 2
        err = capsys.readouterr().err
        assert err.startswith("error: nothing left to train: dcgan.safetensors is already at")
        assert "epoch 2 (iteration 8)" in err and "ask for more epochs" in err
        assert err.count("\n") == 1
    assert not again.exists()


def test_cli_resumes_a_run_saved_without_metrics_and_keeps_its_first_scored_epoch(
    tmp_path: Path, offline_cli: SimpleNamespace
) -> None:
    out = tmp_path / "dcgan.safetensors"
    unscored_run(out, "1")
    assert load_checkpoint(out).metadata["metrics"] == {}  # nothing to beat
    offline_cli.evaluator.fids = [40.0]
    argv = [*QUICK_CLI, "--epochs", "2", "--eval-samples", "40", "--resume-from", str(out)]
    assert cli.main([*argv, "--out", str(out)]) == 0
    assert load_checkpoint(out).metadata["metrics"]["fid"] == 40.0


def crafted(path: Path, change) -> Path:
    """`path` with its metadata edited by hand: `change` edits it in place, or returns the raw
    text to store instead (written as is, without the checks of save_checkpoint)."""
    checkpoint = load_checkpoint(path)
    meta = {"format": 1, **checkpoint.metadata}
    text = change(meta)
    out = path.with_name("crafted.safetensors")
    header = {"playground": text if isinstance(text, str) else json.dumps(meta)}
    out.write_bytes(save_plain_safetensors(checkpoint.tensors, metadata=header))
    return out


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda m: "[1, 2]", "is a JSON list, not an object"),
        (lambda m: "[" * 100_000 + "]" * 100_000, "nested too deeply"),
        (lambda m: m["g_opt"]["param_groups"][0].update(eps="boom"), "'eps' must be a finite"),
        (lambda m: m["d_opt"]["param_groups"][0].update(weight_decay=math.nan), "'weight_decay'"),
        (lambda m: m["g_opt"]["param_groups"][0].update(maximize=True), "'maximize' must be"),
        (lambda m: m.update(metrics=[1.0]), "'metrics' must be"),
        (lambda m: m.update(metrics={"fid": "low"}), "'metrics' must be"),
        (lambda m: m.update(step="4"), "'step' must be"),
    ],
    ids=["list", "deep", "eps", "weight_decay", "maximize", "metrics", "fid", "step"],
)
def test_cli_refuses_a_crafted_resume_file_in_one_line(
    tmp_path: Path,
    offline_cli: SimpleNamespace,
    capsys: pytest.CaptureFixture[str],
    change,
    message: str,
) -> None:
    out = tmp_path / "dcgan.safetensors"
    unscored_run(out, "1")
    capsys.readouterr()
    argv = [*QUICK_CLI, "--epochs", "2", "--eval-every-epochs", "0"]
    argv += [
        "--resume-from",
        str(crafted(out, change)),
        "--out",
        str(tmp_path / "next.safetensors"),
    ]
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1 and message in err


def test_retune_changes_learning_rates_in_place_and_keeps_adam_moments() -> None:
    images, labels = random_digits()
    trainer = Trainer(settings(), images, labels)
    trainer.run(2)
    moments = trainer.stepper.g_opt.state_dict()["state"][0]["exp_avg"].clone()
    trainer.retune(replace(trainer.settings, lr_g=1e-5, lr_d=3e-5, epochs=4))
    assert [g["lr"] for g in trainer.stepper.g_opt.param_groups] == [1e-5]
    assert [g["lr"] for g in trainer.stepper.d_opt.param_groups] == [3e-5]
    assert torch.equal(trainer.stepper.g_opt.state_dict()["state"][0]["exp_avg"], moments)
    assert trainer.total_iterations == 4 * trainer.steps_per_epoch
    with pytest.raises(SettingsError, match="seed"):
        trainer.retune(replace(trainer.settings, seed=9))
