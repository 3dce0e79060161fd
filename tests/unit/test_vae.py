"""The VAE: its objective against torch's own formulas, the reparameterization trick, the trainer
on the shared engine (seeded, exactly resumable, safe files) and the command line."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch
import torch.nn.functional as F
from torch.distributions import Normal, kl_divergence

from playground.checkpoints import CheckpointError, load_checkpoint
from playground.data import synthetic_digits
from playground.losses import vae_kl_divergence, vae_loss, vae_reconstruction_loss
from playground.models import VAE, VAEConfig, VAEConfigError, VAESampler
from playground.seeds import EVAL_NOISE_STREAM, stream_seed
from playground.train import (
    MnistBatches,
    SettingsError,
    Trainer,
    TrainSettings,
    VAESettings,
    VAETrainer,
    build_vae,
    cli,
    draw_samples,
    load_generator,
    load_vae,
)
from tests.unit.conftest import random_digits
from tests.unit.test_train import (
    assert_same_state,
    float64,  # noqa: F401  (a fixture, used by name)
    rewritten,
)

BATCH = 32


pytestmark = pytest.mark.usefixtures("one_thread")


def vae_settings(**changes) -> VAESettings:
    return VAESettings(**{"batch_size": BATCH, "device": "cpu", "z_dim": 8, **changes})


# -- the objective -----------------------------------------------------------------------------


def test_kl_term_equals_torch_distributions_kl_and_its_gradient() -> None:
    g = torch.Generator().manual_seed(0)
    mu = torch.randn(5, 8, generator=g, dtype=torch.float64, requires_grad=True)
    logvar = torch.randn(5, 8, generator=g, dtype=torch.float64, requires_grad=True)
    mine = vae_kl_divergence(mu, logvar)
    q = Normal(mu, torch.exp(0.5 * logvar))
    p = Normal(torch.zeros_like(mu), torch.ones_like(mu))
    reference = kl_divergence(q, p).sum(dim=1).mean()
    assert mine.item() == pytest.approx(reference.item(), rel=1e-12)
    ours = torch.autograd.grad(mine, (mu, logvar))
    theirs = torch.autograd.grad(reference, (mu, logvar))
    for a, b in zip(ours, theirs, strict=True):
        assert torch.allclose(a, b, atol=1e-12)


def test_kl_is_zero_exactly_when_q_is_the_prior() -> None:
    zeros = torch.zeros(3, 4)
    assert vae_kl_divergence(zeros, zeros).item() == 0.0
    assert vae_kl_divergence(zeros + 0.5, zeros).item() == pytest.approx(4 * 0.5**2 / 2)


def test_reconstruction_term_equals_torch_bce_summed_over_pixels() -> None:
    g = torch.Generator().manual_seed(1)
    logits = 4 * torch.randn(6, 1, 28, 28, generator=g, dtype=torch.float64)
    targets = torch.rand(6, 1, 28, 28, generator=g, dtype=torch.float64)  # grey pixels too
    mine = vae_reconstruction_loss(logits, targets)
    with_logits = F.binary_cross_entropy_with_logits(logits, targets, reduction="sum") / 6
    on_probabilities = F.binary_cross_entropy(logits.sigmoid(), targets, reduction="sum") / 6
    assert mine.item() == pytest.approx(with_logits.item(), rel=1e-12)
    assert mine.item() == pytest.approx(on_probabilities.item(), rel=1e-9)


def test_vae_loss_is_reconstruction_plus_kl() -> None:
    g = torch.Generator().manual_seed(2)
    logits, targets = torch.randn(4, 1, 28, 28, generator=g), torch.rand(4, 1, 28, 28, generator=g)
    mu, logvar = torch.randn(4, 8, generator=g), torch.randn(4, 8, generator=g)
    loss = vae_loss(logits, targets, mu, logvar)
    assert loss.reconstruction.item() == pytest.approx(
        vae_reconstruction_loss(logits, targets).item()
    )
    assert loss.kl.item() == pytest.approx(vae_kl_divergence(mu, logvar).item())
    assert loss.total.item() == pytest.approx(loss.reconstruction.item() + loss.kl.item())


# -- the network -------------------------------------------------------------------------------


def test_reparameterization_passes_gradients_to_mu_and_logvar() -> None:
    g = torch.Generator().manual_seed(3)
    mu = torch.randn(4, 8, generator=g, requires_grad=True)
    logvar = torch.randn(4, 8, generator=g, requires_grad=True)
    eps = torch.randn(4, 8, generator=g)
    z = VAE.reparameterize(mu, logvar, eps)
    sigma = torch.exp(0.5 * logvar)
    assert torch.allclose(z, mu + sigma * eps)
    d_mu, d_logvar = torch.autograd.grad(z.sum(), (mu, logvar))
    assert torch.equal(d_mu, torch.ones_like(mu))  # dz/dmu = 1
    assert torch.allclose(d_logvar, 0.5 * sigma * eps)  # dz/dlogvar = sigma * eps / 2


def test_reparameterized_samples_follow_q() -> None:
    mu, logvar = (
        torch.tensor([[1.5, -2.0]]),
        torch.tensor([[0.0, 2 * torch.log(torch.tensor(3.0))]]),
    )
    eps = torch.randn(200_000, 2, generator=torch.Generator().manual_seed(4))
    z = VAE.reparameterize(mu, logvar, eps)
    assert torch.allclose(z.mean(0), mu[0], atol=0.03)
    assert torch.allclose(z.std(0), torch.tensor([1.0, 3.0]), atol=0.03)


def test_shapes_and_ranges() -> None:
    vae = build_vae(vae_settings(z_dim=8, hidden=32))
    images = torch.rand(5, 1, 28, 28) * 2 - 1
    mu, logvar = vae.encode(images)
    assert mu.shape == logvar.shape == (5, 8)
    logits, mu2, _ = vae(images)
    assert logits.shape == (5, 1, 28, 28) and torch.equal(mu, mu2)
    decoded = vae.decode(torch.randn(7, 8))
    assert decoded.shape == (7, 1, 28, 28) and decoded.min() >= -1 and decoded.max() <= 1
    sampler = VAESampler(vae)
    noise = torch.randn(3, 8)
    assert sampler.z_dim == 8 and torch.equal(sampler(noise), vae.decode(noise))
    # Decoding mu is the reconstruction without sampling: forward() without eps does that.
    assert torch.allclose(logits.sigmoid() * 2 - 1, vae.decode(mu), atol=1e-6)


@pytest.mark.parametrize(
    ("config", "message"),
    [
        (VAEConfig(z_dim=0), r"z_dim must be a whole number in \[1, 256\]"),
        (VAEConfig(hidden=4.0), "hidden"),
    ],
)
def test_bad_network_shapes_are_refused(config: VAEConfig, message: str) -> None:
    with pytest.raises(VAEConfigError, match=message):
        VAE(config)


def test_weights_follow_the_seed_and_leave_the_global_rng_alone() -> None:
    torch.manual_seed(123)
    before = torch.random.get_rng_state()
    a, b = build_vae(vae_settings(seed=1)), build_vae(vae_settings(seed=1))
    c = build_vae(vae_settings(seed=2))
    assert torch.equal(torch.random.get_rng_state(), before)
    assert_same_state(a, b)
    assert not torch.equal(a.to_mu.weight, c.to_mu.weight)
    assert a.to_mu.weight.std() > 0 and a.decoder[-1].bias.abs().sum() > 0


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"lr": 0.0}, r"lr must be a number in \(0, 0.1\]"),
        ({"hidden": 2}, r"hidden must be a whole number in \[8, 2048\]"),
        ({"model": "dcgan"}, "model must be one of vae"),
        ({"epochs": float("nan")}, "epochs must be a number"),
    ],
)
def test_invalid_vae_settings_name_the_field_and_range(change: dict, message: str) -> None:
    with pytest.raises(SettingsError, match=message):
        vae_settings(**change).validate()
    with pytest.raises(SettingsError, match="unknown setting"):
        VAESettings.from_dict({"lr_g": 1e-3})
    assert VAESettings.from_dict(vae_settings().to_dict()) == vae_settings()


# -- the trainer ---------------------------------------------------------------------------------


@pytest.mark.slow
def test_a_short_run_on_synthetic_digits_lowers_the_negative_elbo() -> None:
    data = synthetic_digits(256)
    trainer = VAETrainer(vae_settings(epochs=30, lr=2e-3), data.images)
    first = [trainer.step().loss for _ in range(5)]
    trainer.run(150)
    last = [trainer.step().loss for _ in range(5)]
    assert trainer.iteration == 160 and trainer.epoch == 160 / (256 // BATCH)
    assert sum(last) / 5 < 0.7 * sum(first) / 5
    record = trainer.step()
    assert record.is_finite() and record.loss == pytest.approx(record.reconstruction + record.kl)
    assert record.kl > 0  # the codes carry information about the digits


@pytest.mark.usefixtures("float64")
def test_each_step_is_one_textbook_adam_update_on_the_elbo() -> None:
    images, _ = random_digits(64)
    trainer = VAETrainer(vae_settings(), images)
    trainer.vae.double()
    trainer.source.images = trainer.source.images.double()
    reference = copy.deepcopy(trainer.vae)
    optimizer = torch.optim.Adam(reference.parameters(), lr=1e-3, betas=(0.9, 0.999))
    twin = MnistBatches(trainer.source.images, None, BATCH, 8, 0, False)
    for _ in range(4):
        real, _ = twin.real()
        eps, _ = twin.noise()
        logits, mu, logvar = reference(real, eps)
        loss = vae_loss(logits, (real + 1) / 2, mu, logvar).total
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        record = trainer.step()
        assert record.loss == pytest.approx(loss.item(), rel=1e-9)
    for (key, a), b in zip(
        trainer.vae.state_dict().items(), reference.state_dict().values(), strict=True
    ):
        assert torch.allclose(a, b, rtol=1e-7, atol=1e-9), key


def test_the_autoencoder_is_the_same_network_trained_on_reconstruction_alone() -> None:
    """model="ae": the code is mu(x) (no eps drawn), the loss has no KL term, and the unused
    log-variance head never moves; everything else is the VAE's."""
    images, _ = random_digits(64)
    trainer = VAETrainer(vae_settings(model="ae"), images)
    reference = copy.deepcopy(trainer.vae)
    optimizer = torch.optim.Adam(reference.parameters(), lr=1e-3, betas=(0.9, 0.999))
    twin = MnistBatches(trainer.source.images, None, BATCH, 8, 0, False)
    for _ in range(3):
        real, _ = twin.real()
        loss = vae_reconstruction_loss(
            reference.decode_logits(reference.encode(real)[0]), (real + 1) / 2
        )
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        record = trainer.step()
        assert not record.variational and record.kl == 0.0
        assert record.loss == record.reconstruction == pytest.approx(loss.item(), rel=1e-5)
    assert_same_state(trainer.vae, reference)
    untrained = build_vae(vae_settings(model="ae"))
    assert torch.equal(trainer.vae.to_logvar.weight, untrained.to_logvar.weight)
    assert VAETrainer(vae_settings(), images).step().variational


def test_train_save_load_train_equals_training_straight(tmp_path: Path) -> None:
    images, _ = random_digits(96)
    straight = VAETrainer(vae_settings(epochs=3), images)
    straight_records = [straight.run(2), straight.run(3)]
    first = VAETrainer(vae_settings(epochs=3), images)
    records = [first.run(2)]
    path = first.save(tmp_path / "vae.safetensors", metrics={"fid": 80.0})
    resumed = VAETrainer.load(path, images)
    assert resumed.iteration == 2
    records.append(resumed.run(3))  # crosses into the next epoch's permutation
    assert records == straight_records
    assert_same_state(straight.vae, resumed.vae)
    meta = load_checkpoint(path).metadata
    assert meta["kind"] == "vae" and meta["metrics"] == {"fid": 80.0} and meta["step"] == 2
    assert meta["settings"] == vae_settings(epochs=3).to_dict()

    vae, settings, _ = load_vae(path)
    assert not vae.training and settings == vae_settings(epochs=3)
    noise = torch.randn(4, 8)
    assert torch.allclose(vae.decode(noise), first.sample(noise), atol=1e-6)
    assert torch.equal(load_vae(path.read_bytes())[0].decode(noise), vae.decode(noise))


def saved_vae(tmp_path: Path) -> tuple[Path, torch.Tensor]:
    images, _ = random_digits(64)
    trainer = VAETrainer(vae_settings(), images)
    trainer.step()
    return trainer.save(tmp_path / "good.safetensors"), images


@pytest.fixture(scope="module")
def good_vae(
    one_thread: None, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, torch.Tensor]:
    """One trained VAE's checkpoint, saved once for every case that spoils a copy of it."""
    return saved_vae(tmp_path_factory.mktemp("good"))


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            lambda c: c.tensors.__setitem__("vae.to_mu.weight", torch.zeros(3, 128)),
            r"vae weight to_mu\.weight has shape \(3, 128\)",
        ),
        (lambda c: c.metadata["settings"].__setitem__("z_dim", 12), "shape"),
        (lambda c: c.metadata["settings"].__setitem__("hidden", 64), "shape"),
        (lambda c: c.tensors["vae.decoder.0.weight"].fill_(float("inf")), "NaN or infinite"),
        (lambda c: c.metadata["settings"].__setitem__("lr_g", 1e-3), "settings are invalid"),
        (lambda c: c.tensors.pop("vae.to_logvar.bias"), "missing to_logvar.bias"),
        (lambda c: c.metadata.__setitem__("kind", "gan"), "not a VAE checkpoint"),
    ],
)
def test_bad_or_mismatched_vae_files_are_refused(
    tmp_path: Path, good_vae: tuple[Path, torch.Tensor], change, message: str
) -> None:
    path, images = good_vae
    bad = rewritten(path, change, tmp_path)
    with pytest.raises(CheckpointError, match=message):
        load_vae(bad)
    with pytest.raises(CheckpointError, match=message):
        VAETrainer.load(bad, images)


def test_foreign_files_are_refused_both_ways(tmp_path: Path) -> None:
    path, images = saved_vae(tmp_path)
    with pytest.raises(CheckpointError, match="not a valid"):
        load_vae(b"\x00" * 100)
    with pytest.raises(CheckpointError, match="trained on 64 images"):
        VAETrainer.load(path, images[:32])
    with pytest.raises(CheckpointError, match="'vae' checkpoint, not a GAN"):
        load_generator(path)
    gan = Trainer(TrainSettings(batch_size=BATCH, device="cpu"), images, None)
    gan_path = gan.save(tmp_path / "dcgan.safetensors")
    with pytest.raises(CheckpointError, match="'gan' checkpoint, not a VAE"):
        load_vae(gan_path)
    with pytest.raises(CheckpointError, match="'generator' checkpoint, not a VAE"):
        load_vae(gan.generator_checkpoint())


# -- the command line ----------------------------------------------------------------------------


def test_cli_trains_the_vae_keeps_the_best_fid_epoch_and_updates_the_manifest(
    tmp_path: Path, offline_cli: SimpleNamespace, capsys: pytest.CaptureFixture[str]
) -> None:
    evaluator = offline_cli.evaluator
    evaluator.fids = [50.0, 40.0, 45.0]
    out = tmp_path / "vae.safetensors"
    argv = ["vae", "--batch-size", "16", "--seed", "3", "--z-dim", "8", "--out", str(out)]
    assert cli.main([*argv, "--epochs", "3", "--eval-samples", "40", "--device", "cpu"]) == 0
    assert "-ELBO" in capsys.readouterr().out  # the progress line speaks the VAE's loss

    # Metrics score decoded z ~ N(0, I): the same noise every epoch, a decoder that moved.
    assert len(evaluator.calls) == 3 and evaluator.calls[0][0].shape == (40, 1, 28, 28)
    assert evaluator.calls[0][1] is None
    assert not torch.equal(evaluator.calls[0][0], evaluator.calls[1][0])
    meta = load_checkpoint(out).metadata
    assert meta["kind"] == "vae" and meta["metrics"]["epoch"] == 2 and meta["step"] == 2 * 4
    entry = json.loads((tmp_path / "manifest.json").read_text())["models"]["vae"]
    assert entry["kind"] == "vae" and entry["epoch_kept"] == 2 and entry["seed"] == 3
    assert [h["fid"] for h in entry["history"]] == [50.0, 40.0, 45.0]
    assert entry["command"] == (
        f"python -m playground.train vae --epochs 3 --batch-size 16 --seed 3 --lr 0.001 "
        f"--beta1 0.9 --beta2 0.999 --z-dim 8 --hidden 128 --device cpu --eval-every-epochs 1 "
        f"--eval-samples 40 --keep best-fid --out {out}"
    )
    vae, settings, _ = load_vae(out)
    images, _ = draw_samples(VAESampler(vae), 40, stream_seed(3, EVAL_NOISE_STREAM))
    assert torch.allclose(images, evaluator.calls[1][0], atol=1e-6)  # the kept epoch's samples

    evaluator.fids = [41.0]
    assert cli.main(["vae", "--rescore", "--eval-samples", "40", "--out", str(out)]) == 0
    entry = json.loads((tmp_path / "manifest.json").read_text())["models"]["vae"]
    assert entry["metrics"]["fid"] == 41.0 and entry["metrics"]["epoch"] == 2
    assert cli.main(["dcgan", "--rescore", "--out", str(out)]) == 2  # it holds a VAE


def test_cli_trains_the_autoencoder_and_keeps_its_last_epoch(
    tmp_path: Path, offline_cli: SimpleNamespace, capsys: pytest.CaptureFixture[str]
) -> None:
    offline_cli.evaluator.fids = [90.0, 95.0]
    out = tmp_path / "ae.safetensors"
    argv = ["ae", "--epochs", "2", "--batch-size", "16", "--z-dim", "8", "--keep", "last"]
    assert cli.main([*argv, "--eval-samples", "40", "--device", "cpu", "--out", str(out)]) == 0
    assert "an autoencoder: no KL term" in capsys.readouterr().out
    entry = json.loads((tmp_path / "manifest.json").read_text())["models"]["ae"]
    assert entry["kind"] == "vae" and entry["model"] == "ae" and entry["epoch_kept"] == 2
    assert entry["command"].startswith("python -m playground.train ae --epochs 2 ")
    assert entry["command"].endswith(f"--keep last --out {out}")
    network, settings, _ = load_vae(out)
    assert settings.model == "ae" and not settings.variational
    offline_cli.evaluator.fids = [91.0]
    assert cli.main(["ae", "--rescore", "--eval-samples", "40", "--out", str(out)]) == 0
    assert cli.main(["vae", "--rescore", "--out", str(out)]) == 2  # it holds an autoencoder


def test_cli_refuses_options_of_the_other_kind_of_model(
    tmp_path: Path, offline_cli: SimpleNamespace, capsys: pytest.CaptureFixture[str]
) -> None:
    out = str(tmp_path / "x.safetensors")
    assert cli.main(["vae", "--lr-g", "1e-3", "--out", out]) == 2
    assert "the vae does not take --lr-g" in capsys.readouterr().err
    assert cli.main(["dcgan", "--lr", "1e-3", "--hidden", "64", "--out", out]) == 2
    assert "the dcgan does not take --hidden, --lr" in capsys.readouterr().err
    assert cli.main(["vae", "--resume-from", out, "--out", out]) == 2
    assert "--resume-from continues GAN runs only" in capsys.readouterr().err
    assert cli.main(["vae", "--hidden", "4", "--out", out]) == 2
    assert "hidden must be a whole number in [8, 2048]" in capsys.readouterr().err
