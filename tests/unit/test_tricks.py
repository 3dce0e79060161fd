"""Training tricks: each formula against torch or a closed form, each switch changing training as
the lesson says, and every switch usable from the 1-D stepper, the ring and the MNIST jobs."""

from __future__ import annotations

from dataclasses import replace

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from playground.failures import RingGAN, RingSettings, RingSettingsError
from playground.gan import GANStepper, evaluating
from playground.losses import discriminator_loss, gradient_penalty, wasserstein_critic_loss
from playground.models import MinibatchStdDev, add_spectral_norm, minibatch_std, mlp
from playground.toy import ToyGAN, ToySettings, ToySettingsError, ToySource, make_discriminator
from playground.train import SettingsError, Trainer, TrainSettings, cuda_graph_decision
from playground.tricks import TRICK_FIELDS, Tricks, TricksError, two_time_scales
from tests.unit.conftest import random_digits

pytestmark = pytest.mark.usefixtures("one_thread")

TOY = ToySettings(batch_size=64, seed=5)
EVERY_TRICK = {
    "label_smoothing": 0.1,
    "instance_noise": 0.5,
    "instance_noise_steps": 50,
    "minibatch_std": True,
    "spectral_norm": True,
}
"""Every trick at once (with the GAN objective; WGAN-GP is tested beside it)."""


def d_only(settings: ToySettings, updates: int = 200) -> ToyGAN:
    """A 1-D GAN whose D alone trains `updates` times against G as initialised (far from the
    data), so D's verdict is what the trick lets it reach."""
    gan = ToyGAN(settings)
    for _ in range(updates):
        gan.stepper.d_step()
    return gan


def logit_slopes(discriminator: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """|d logit / dx| of a 1-D D at each x (read out in eval mode)."""
    x = x.reshape(-1, 1).clone().requires_grad_(True)
    with evaluating(discriminator):
        (grad,) = torch.autograd.grad(discriminator(x).sum(), x)
    return grad.abs().reshape(-1)


# -- one-sided label smoothing -------------------------------------------------------------------


def test_label_smoothing_is_bce_against_target_one_minus_s() -> None:
    real, fake = torch.randn(64, generator=torch.Generator().manual_seed(0)).chunk(2)
    loss = discriminator_loss(real, fake, real_label=0.9)
    assert loss.real == pytest.approx(
        F.binary_cross_entropy_with_logits(real, torch.full_like(real, 0.9)).item(), abs=1e-6
    )
    assert loss.fake == pytest.approx(
        F.binary_cross_entropy_with_logits(fake, torch.zeros_like(fake)).item(), abs=1e-6
    )
    plain = discriminator_loss(real, fake)
    assert torch.equal(plain.total, discriminator_loss(real, fake, real_label=1.0).total)


@pytest.mark.parametrize("smoothing", [0.0, 0.1, 0.3])
def test_smoothed_optimal_discriminator_is_one_minus_s_times_d_star(smoothing: float) -> None:
    """D*(x) = (1 - s) p / (p + q): the pointwise smoothed loss is flat there (autograd)."""
    p = torch.tensor([0.05, 0.3, 1.0, 2.0], dtype=torch.float64)
    q = torch.tensor([1.0, 0.3, 0.2, 0.01], dtype=torch.float64)
    d_star = (1 - smoothing) * p / (p + q)
    logit = torch.logit(d_star).requires_grad_(True)
    pointwise = (
        p * ((1 - smoothing) * F.softplus(-logit) + smoothing * F.softplus(logit))
        + q * F.softplus(logit)
    ).sum()
    (grad,) = torch.autograd.grad(pointwise, logit)
    assert torch.allclose(grad, torch.zeros_like(grad), atol=1e-12)


# -- instance noise ----------------------------------------------------------------------------


def test_instance_noise_falls_linearly_to_zero() -> None:
    tricks = Tricks(instance_noise=2.0, instance_noise_steps=100)
    assert [tricks.noise_std(t) for t in (0, 25, 50, 100, 500)] == [2.0, 1.5, 1.0, 0.0, 0.0]
    assert Tricks().noise_std(0) == 0.0


def test_d_sees_samples_through_noise_of_the_scheduled_std() -> None:
    gan = ToyGAN(replace(TOY, instance_noise=2.0, instance_noise_steps=100))
    x = torch.zeros(20_000, 1)
    assert (gan.stepper.seen(x) - x).std().item() == pytest.approx(2.0, rel=0.03)
    gan.stepper.g_steps = 75
    assert (gan.stepper.seen(x) - x).std().item() == pytest.approx(0.5, rel=0.03)
    gan.stepper.g_steps = 100
    assert gan.stepper.seen(x) is x  # annealed away: D sees the samples themselves


# -- WGAN-GP -----------------------------------------------------------------------------------


def test_the_critic_loss_is_wasserstein_plus_lambda_times_the_penalty() -> None:
    gan = ToyGAN(replace(TOY, objective="wgan-gp", gp_weight=7.0))
    stepper = gan.stepper
    real, fake = torch.randn(64, 1) + 4.0, torch.randn(64, 1)
    state = stepper.rng.get_state()
    loss, real_logits, fake_logits = stepper.d_loss(real, None, fake, None)
    stepper.rng.set_state(state)
    mix = torch.rand(64, 1, generator=stepper.rng)  # the draw d_loss made
    critic = gan.discriminator
    expected = wasserstein_critic_loss(critic(real).reshape(-1), critic(fake).reshape(-1))
    penalty = gradient_penalty(critic, real, fake, mix)
    assert loss.total.item() == pytest.approx((expected.total + 7.0 * penalty).item(), rel=1e-6)
    assert (loss.real.item(), loss.fake.item()) == pytest.approx(
        (expected.real.item(), expected.fake.item()), rel=1e-6
    )
    assert torch.equal(real_logits, critic(real).reshape(-1))


def test_the_wgan_generator_minimises_minus_the_critics_score() -> None:
    gan = ToyGAN(replace(TOY, objective="wgan-gp", g_loss="minimax"))  # g_loss does not apply
    state = gan.stepper.snapshot()
    noise, _ = gan.source.noise()
    expected = -gan.discriminator(gan.generator(noise)).mean()
    gan.stepper.restore(state)
    assert gan.stepper.g_step().g_loss == pytest.approx(expected.item(), rel=1e-6)


@pytest.mark.slow
def test_the_gradient_penalty_holds_the_critics_slope_near_one() -> None:
    """Without it the critic's scores run off (the Wasserstein loss is unbounded below)."""
    penalised = d_only(replace(TOY, objective="wgan-gp"))
    free = d_only(replace(TOY, objective="wgan-gp", gp_weight=0.0))
    between = torch.linspace(0.0, 4.0, 200)  # where the interpolates of fakes and data lie
    assert logit_slopes(penalised.discriminator, between).mean() == pytest.approx(1.0, abs=0.3)
    assert logit_slopes(free.discriminator, between).mean() > 20.0


# -- minibatch standard deviation --------------------------------------------------------------


def test_minibatch_std_is_the_mean_of_the_batch_std_of_each_feature() -> None:
    features = torch.randn(32, 5, 3, 3, generator=torch.Generator().manual_seed(1))
    expected = features.std(dim=0, correction=0).mean()
    assert minibatch_std(features).item() == pytest.approx(expected.item(), rel=1e-6)
    collapsed = torch.ones(8, 4)
    assert minibatch_std(collapsed).item() == pytest.approx(1e-4)  # sqrt(eps): no inf gradient


def test_the_minibatch_std_layer_appends_the_spread_and_keeps_it_for_read_outs() -> None:
    layer = MinibatchStdDev()
    flat = torch.randn(16, 3, generator=torch.Generator().manual_seed(2))
    out = layer(flat)
    assert out.shape == (16, 4) and torch.equal(out[:, :3], flat)
    assert torch.allclose(out[:, 3], minibatch_std(flat).expand(16))
    images = torch.randn(4, 2, 5, 5)
    assert layer(images).shape == (4, 3, 5, 5)
    remembered = layer.last_std.clone()
    layer.eval()
    single = layer(torch.zeros(1, 3))
    assert single[0, 3] == remembered  # one point has no spread: the last batch's is used


@pytest.mark.slow
def test_minibatch_std_lets_d_spot_a_generator_collapsed_on_the_data_mean() -> None:
    """Every fake at x = 4, the middle of N(4, 1.25²): one point at a time it looks real;
    as a batch it has no spread at all."""

    def d_fake_after_training(minibatch: bool) -> float:
        settings = replace(TOY, minibatch_std=minibatch)
        collapsed = nn.Linear(1, 1)
        with torch.no_grad():
            collapsed.weight.zero_()
            collapsed.bias.fill_(settings.real_mean)
        discriminator = make_discriminator(settings, torch.Generator().manual_seed(1))
        stepper = GANStepper(
            collapsed,
            discriminator,
            torch.optim.Adam(collapsed.parameters()),
            torch.optim.Adam(discriminator.parameters(), lr=2e-3, betas=(0.5, 0.999)),
            ToySource(settings, torch.Generator().manual_seed(2)),
        )
        records = [stepper.d_step() for _ in range(300)]
        return sum(r.d_fake for r in records[-20:]) / 20

    spotted, fooled = d_fake_after_training(minibatch=True), d_fake_after_training(minibatch=False)
    assert spotted < 0.15 and fooled > 2 * spotted  # measured: 0.07 against 0.25


# -- spectral normalisation --------------------------------------------------------------------


def test_spectral_norm_divides_each_weight_by_its_largest_singular_value() -> None:
    network = add_spectral_norm(
        mlp(3, 16, 1, nn.ReLU, torch.Generator().manual_seed(0)), torch.Generator().manual_seed(1)
    )
    for _ in range(30):  # each training-mode pass is one more power iteration
        network(torch.randn(4, 3))
    layers = [m for m in network if isinstance(m, nn.Linear)]
    assert len(layers) == 3
    for layer in layers:
        original = layer.parametrizations.weight.original
        sigma = torch.linalg.matrix_norm(original, ord=2)
        assert torch.allclose(layer.weight, original / sigma, atol=1e-5)
        assert torch.linalg.matrix_norm(layer.weight, ord=2).item() == pytest.approx(1.0, abs=1e-4)


def test_spectral_norm_is_seeded_and_leaves_torchs_global_rng_alone() -> None:
    def built(seed: int) -> nn.Module:
        network = mlp(2, 8, 1, nn.ReLU, torch.Generator().manual_seed(0))
        return add_spectral_norm(network, torch.Generator().manual_seed(seed))

    before = torch.random.get_rng_state()
    first, again, other = built(3), built(3), built(4)
    assert torch.equal(torch.random.get_rng_state(), before)
    for mine, theirs in zip(first.state_dict().values(), again.state_dict().values(), strict=True):
        assert torch.equal(mine, theirs)
    assert not torch.equal(
        first[0].parametrizations.weight[0]._u, other[0].parametrizations.weight[0]._u
    )


@pytest.mark.slow
def test_spectral_norm_keeps_d_one_lipschitz_while_a_plain_d_grows_steep() -> None:
    grid = torch.linspace(-4.0, 10.0, 400)
    normalised = d_only(replace(TOY, spectral_norm=True)).discriminator
    plain = d_only(TOY).discriminator
    assert logit_slopes(normalised, grid).max() <= 1.02  # each layer 1-Lipschitz, LeakyReLU too
    assert logit_slopes(plain, grid).max() > 3.0


# -- label smoothing and instance noise in training --------------------------------------------


@pytest.mark.slow
def test_smoothing_caps_d_real_and_instance_noise_keeps_d_unsure() -> None:
    plain = d_only(TOY).stepper.d_step()
    smoothed = d_only(replace(TOY, label_smoothing=0.2)).stepper.d_step()
    noisy = d_only(replace(TOY, instance_noise=3.0, instance_noise_steps=10_000)).stepper.d_step()
    assert plain.d_real > 0.97 and plain.d_fake < 0.03  # a perfect D
    assert smoothed.d_real == pytest.approx(0.8, abs=0.05)  # D* <= 1 - s
    assert noisy.d_real - noisy.d_fake < 0.5  # the blurred distributions overlap


def test_two_time_scales_is_a_choice_of_learning_rates() -> None:
    assert two_time_scales(1e-4) == {"lr_g": 1e-4, "lr_d": 4e-4}
    assert replace(TOY, **two_time_scales(2.5e-4, ratio=8.0)).lr_d == 2e-3


# -- the step API's contract with tricks -------------------------------------------------------


def test_noisy_tricks_need_a_generator_to_draw_from() -> None:
    gan = ToyGAN(TOY)
    s = gan.stepper
    with pytest.raises(ValueError, match="pass rng"):
        GANStepper(
            s.generator,
            s.discriminator,
            s.g_opt,
            s.d_opt,
            s.source,
            tricks=Tricks(objective="wgan-gp"),
        )
    with pytest.raises(TricksError, match=r"label_smoothing must be a number in \[0, 0.5\]"):
        s.retune(1e-3, 1e-3, tricks=Tricks(label_smoothing=0.9))


def test_a_rewind_with_every_trick_replays_exactly() -> None:
    for objective in ("gan", "wgan-gp"):
        tricks = {**EVERY_TRICK, "label_smoothing": 0.0} if objective == "wgan-gp" else EVERY_TRICK
        gan = ToyGAN(replace(TOY, objective=objective, **tricks))
        gan.run(3)
        first = [gan.step() for _ in range(3)]
        gan.rewind(3)
        assert [gan.step() for _ in range(3)] == first


def test_read_outs_do_not_move_training() -> None:
    """Spectral norm's power iteration and the remembered spread move only in training mode:
    a stepper read out after every update trains exactly as one never read out."""
    settings = replace(TOY, **EVERY_TRICK)
    watched, unwatched = ToyGAN(settings), ToyGAN(settings)
    watched.run(8)  # a read-out after each update
    unwatched.stepper.run(8)
    for mine, theirs in zip(
        watched.discriminator.state_dict().values(),
        unwatched.discriminator.state_dict().values(),
        strict=True,
    ):
        assert torch.equal(mine, theirs)


def test_tricks_change_in_place_but_d_layers_need_a_reset() -> None:
    gan = ToyGAN(TOY)
    gan.apply(replace(TOY, label_smoothing=0.2, objective="wgan-gp", instance_noise=1.0))
    assert gan.stepper.tricks.objective == "wgan-gp" and gan.stepper.tricks.instance_noise == 1.0
    assert TOY.rebuild_fields(replace(TOY, spectral_norm=True)) == ("spectral_norm",)


# -- one set of switches in every world --------------------------------------------------------


def test_every_world_carries_the_same_switches_all_off() -> None:
    for settings in (ToySettings(), RingSettings(), TrainSettings()):
        assert settings.tricks == Tricks()
        assert set(TRICK_FIELDS) <= set(vars(settings))


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("label_smoothing", 0.7, r"label_smoothing must be a number in \[0, 0.5\]"),
        ("instance_noise", -1.0, "instance_noise must be a number"),
        ("instance_noise_steps", 0, "instance_noise_steps must be a whole number"),
        ("objective", "wgan", "objective must be one of gan, wgan-gp"),
        ("gp_weight", float("nan"), "gp_weight"),
        ("spectral_norm", 1, "spectral_norm must be True or False, got 1"),
        ("minibatch_std", "yes", "minibatch_std must be True or False"),
    ],
)
def test_a_bad_trick_is_named_in_every_world(name: str, value: object, message: str) -> None:
    for settings, error in (
        (ToySettings(), ToySettingsError),
        (RingSettings(), RingSettingsError),
        (TrainSettings(), SettingsError),
    ):
        with pytest.raises(error, match=message):
            replace(settings, **{name: value}).validate()


def test_a_link_carries_the_switches() -> None:
    settings = ToySettings(spectral_norm=True, objective="wgan-gp", instance_noise=0.5, seed=2)
    params = settings.to_params()
    assert params["spectral_norm"] == "True" and params["objective"] == "wgan-gp"
    assert ToySettings.from_params(params) == settings
    assert ToySettings.from_params({"minibatch_std": "false"}).minibatch_std is False
    with pytest.raises(ToySettingsError, match="spectral_norm must be True or False, got 'yes'"):
        ToySettings.from_params({"spectral_norm": "yes"})


def test_the_ring_builds_its_d_with_the_switches() -> None:
    gan = RingGAN(RingSettings(hidden=8, batch_size=16, minibatch_std=True, spectral_norm=True))
    layers = list(gan.stepper.discriminator)
    assert any(isinstance(layer, MinibatchStdDev) for layer in layers)
    assert all(hasattr(m, "parametrizations") for m in layers if isinstance(m, nn.Linear))
    gan.run(2)


def test_a_mnist_job_trains_with_every_trick_and_resumes_exactly(tmp_path) -> None:
    images, labels = random_digits()
    for model, objective in (("dcgan", "gan"), ("cgan", "wgan-gp")):
        tricks = {**EVERY_TRICK, "label_smoothing": 0.0} if objective == "wgan-gp" else EVERY_TRICK
        settings = TrainSettings(
            model=model, batch_size=16, epochs=1, device="cpu", objective=objective, **tricks
        )
        straight = Trainer(settings, images, labels)
        expected = [straight.run(2), straight.run(2)]
        first = Trainer(settings, images, labels)
        records = [first.run(2)]
        resumed = Trainer.load(first.save(tmp_path / f"{model}.safetensors"), images, labels)
        records.append(resumed.run(2))
        assert records == expected and all(r.is_finite() for r in records)
        assert TrainSettings.from_dict(settings.to_dict()) == settings


def test_noisy_tricks_keep_the_mnist_loop_eager() -> None:
    cuda = torch.device("cuda")
    assert "eager" in cuda_graph_decision(cuda, True, Tricks(instance_noise=0.1))
    assert "eager" in cuda_graph_decision(cuda, True, Tricks(objective="wgan-gp"))
