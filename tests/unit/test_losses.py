"""Every formula in playground.losses checked against torch or a closed form, edges included."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from playground import losses


@pytest.fixture
def logits() -> torch.Tensor:
    g = torch.Generator().manual_seed(0)
    edge = torch.tensor([-80.0, -20.0, 0.0, 20.0, 80.0], dtype=torch.float64)
    return torch.cat([torch.randn(32, generator=g, dtype=torch.float64) * 3, edge])


def test_bce_matches_torch_including_zero_and_one() -> None:
    p = torch.tensor([0.0, 1.0, 0.0, 1.0, 0.3, 0.5, 1e-12, 1 - 1e-12], dtype=torch.float64)
    y = torch.tensor([1.0, 0.0, 0.0, 1.0, 1.0, 0.0, 1.0, 0.0], dtype=torch.float64)
    expected = F.binary_cross_entropy(p, y)
    assert torch.allclose(losses.bce(p, y), expected)
    assert torch.isfinite(losses.bce(p, y))
    assert torch.allclose(losses.bce_terms(p, y), F.binary_cross_entropy(p, y, reduction="none"))


def test_bce_curve_is_the_two_branches() -> None:
    p = np.array([0.0, 0.1, 0.5, 0.9, 1.0])
    assert np.allclose(losses.bce_curve(p[1:4], 1), -np.log(p[1:4]))
    assert np.allclose(losses.bce_curve(p[1:4], 0), -np.log(1 - p[1:4]))
    assert losses.bce_curve(p, 1)[0] == 100.0 and losses.bce_curve(p, 0)[-1] == 100.0
    assert np.all(np.isfinite(losses.bce_curve(p, 0)))


def test_minibatch_bce_equals_torch() -> None:
    labels = np.array([1, 1, 0, 0, 1])
    preds = np.array([0.9, 0.6, 0.2, 0.7, 0.0])
    result = losses.minibatch_bce(labels, preds)
    expected = F.binary_cross_entropy(
        torch.tensor(preds), torch.tensor(labels, dtype=torch.float64)
    )
    assert result.mean == pytest.approx(expected.item(), rel=1e-12)
    assert result.per_example.shape == (5,)


@pytest.mark.parametrize(
    ("labels", "preds", "message"),
    [
        ([1, 0], [0.5, 1.5], "between 0 and 1"),
        ([2, 0], [0.5, 0.5], r"0 \(fake\) or 1"),
        ([], [], "at least one"),
    ],
)
def test_minibatch_bce_rejects_invalid_batches(labels, preds, message) -> None:
    with pytest.raises(losses.BCEInputError, match=message):
        losses.minibatch_bce(np.array(labels), np.array(preds))


def test_bce_with_logits_matches_torch(logits: torch.Tensor) -> None:
    for label in (0.0, 1.0):
        target = torch.full_like(logits, label)
        expected = F.binary_cross_entropy_with_logits(logits, target)
        assert torch.allclose(losses.bce_with_logits(logits, label), expected)


def test_discriminator_loss_is_bce_on_real_ones_and_fake_zeros(logits: torch.Tensor) -> None:
    real, fake = logits[:20], logits[17:]
    loss = losses.discriminator_loss(real, fake)
    expected_real = F.binary_cross_entropy_with_logits(real, torch.ones_like(real))
    expected_fake = F.binary_cross_entropy_with_logits(fake, torch.zeros_like(fake))
    assert torch.allclose(loss.real, expected_real)
    assert torch.allclose(loss.fake, expected_fake)
    assert torch.allclose(loss.total, expected_real + expected_fake)
    assert torch.isfinite(loss.total)


def test_discriminator_loss_at_equilibrium_is_log4() -> None:
    half = torch.zeros(10)  # logit 0 <=> D = 1/2
    assert losses.discriminator_loss(half, half).total.item() == pytest.approx(
        math.log(4), rel=1e-6
    )


def test_generator_losses_match_their_probability_forms(logits: torch.Tensor) -> None:
    d = torch.sigmoid(logits[:32])  # away from the extreme edges, where 1 - D rounds to 0
    assert torch.allclose(losses.minimax_g_loss(logits[:32]), torch.log(1 - d).mean())
    assert torch.allclose(losses.nonsaturating_g_loss(logits[:32]), -torch.log(d).mean())
    assert torch.isfinite(losses.minimax_g_loss(logits)) and torch.isfinite(
        losses.nonsaturating_g_loss(logits)
    )


@pytest.mark.parametrize("kind", losses.G_LOSSES)
def test_logit_gradient_closed_form_matches_autograd(kind: str, logits: torch.Tensor) -> None:
    x = logits.clone().requires_grad_(True)
    # per-sample loss: sum, so each element's gradient is its own derivative
    total = losses.generator_loss(x, kind) * x.numel()
    (grad,) = torch.autograd.grad(total, x)
    d = torch.sigmoid(logits).numpy()
    assert np.allclose(grad.numpy(), losses.g_loss_logit_gradient(d, kind), atol=1e-12)


def test_minimax_gradient_vanishes_when_d_rejects_fakes() -> None:
    d = np.array([1e-4, 1e-2])
    minimax = np.abs(losses.g_loss_logit_gradient(d, "minimax"))
    nonsat = np.abs(losses.g_loss_logit_gradient(d, "nonsaturating"))
    assert np.all(minimax <= d + 1e-15) and np.all(nonsat > 0.98)


def test_g_loss_curve_matches_formula() -> None:
    d = np.array([0.01, 0.5, 0.99])
    assert np.allclose(losses.g_loss_curve(d, "minimax"), np.log(1 - d))
    assert np.allclose(losses.g_loss_curve(d, "nonsaturating"), -np.log(d))


def test_unknown_generator_loss_is_refused() -> None:
    with pytest.raises(ValueError, match="nonsaturating"):
        losses.generator_loss(torch.zeros(2), "hinge")


def test_wasserstein_losses_and_gradient_penalty_match_autograd() -> None:
    g = torch.Generator().manual_seed(1)
    weight = torch.randn(3, generator=g, dtype=torch.float64)

    def critic(x: torch.Tensor) -> torch.Tensor:
        return (x * weight).sum(dim=1) ** 2  # gradient 2 (w.x) w, known in closed form

    real = torch.randn(8, 3, generator=g, dtype=torch.float64)
    fake = torch.randn(8, 3, generator=g, dtype=torch.float64)
    mix = torch.rand(8, 1, generator=g, dtype=torch.float64)
    x_hat = mix * real + (1 - mix) * fake
    grad_norms = (2 * (x_hat @ weight)).abs() * weight.norm()
    expected = ((grad_norms - 1) ** 2).mean()
    assert torch.allclose(losses.gradient_penalty(critic, real, fake, mix), expected)
    crit = losses.wasserstein_critic_loss(critic(real), critic(fake))
    assert torch.allclose(crit.total, critic(fake).mean() - critic(real).mean())
    assert torch.allclose(losses.wasserstein_g_loss(critic(fake)), -critic(fake).mean())


def test_gaussian_pdf_matches_torch_normal() -> None:
    x = np.linspace(-3, 9, 50)
    expected = torch.distributions.Normal(4.0, 1.25).log_prob(torch.tensor(x)).exp().numpy()
    assert np.allclose(losses.gaussian_pdf(x, 4.0, 1.25), expected)


def test_optimal_discriminator_closed_form_and_half_where_no_mass() -> None:
    p_data = np.array([0.0, 0.1, 0.3, 0.0])
    p_g = np.array([0.0, 0.3, 0.1, 0.2])
    assert np.allclose(losses.optimal_discriminator(p_data, p_g), [0.5, 0.25, 0.75, 0.0])


def test_optimal_discriminator_minimises_the_pointwise_bce() -> None:
    # For fixed x, D minimising -[p_data log D + p_g log(1-D)] is p_data / (p_data + p_g).
    p_data, p_g = 0.3, 0.1
    d = torch.linspace(0.001, 0.999, 9999, dtype=torch.float64)
    objective = -(p_data * torch.log(d) + p_g * torch.log(1 - d))
    best = d[objective.argmin()].item()
    assert best == pytest.approx(losses.optimal_discriminator(p_data, p_g), abs=1e-3)


def test_kl_and_js_of_gaussians_match_closed_forms() -> None:
    x = np.linspace(-15, 20, 20001)
    dx = float(x[1] - x[0])
    p = losses.gaussian_pdf(x, 4.0, 1.25)
    q = losses.gaussian_pdf(x, 2.0, 1.0)
    kl_closed = math.log(1.0 / 1.25) + (1.25**2 + (4.0 - 2.0) ** 2) / (2 * 1.0**2) - 0.5
    assert losses.kl_divergence(p, q, dx) == pytest.approx(kl_closed, rel=1e-4)
    assert losses.js_divergence(p, p, dx) == pytest.approx(0.0, abs=1e-12)
    far = losses.gaussian_pdf(x, -10.0, 0.5)
    assert losses.js_divergence(p, far, dx) == pytest.approx(math.log(2), rel=1e-4)


def test_js_matches_torch_kl_div_on_discrete_distributions() -> None:
    g = torch.Generator().manual_seed(3)
    p = torch.rand(50, generator=g, dtype=torch.float64)
    q = torch.rand(50, generator=g, dtype=torch.float64)
    p, q = p / p.sum(), q / q.sum()
    m = (p + q) / 2
    expected = 0.5 * F.kl_div(m.log(), p, reduction="sum") + 0.5 * F.kl_div(
        m.log(), q, reduction="sum"
    )
    assert losses.js_divergence(p.numpy(), q.numpy(), 1.0) == pytest.approx(
        expected.item(), rel=1e-10
    )


def test_value_at_optimal_d_is_log4_minus_2js() -> None:
    x = np.linspace(-10, 20, 8001)
    dx = float(x[1] - x[0])
    p = losses.gaussian_pdf(x, 4.0, 1.25)
    q = losses.gaussian_pdf(x, 1.0, 1.0)
    d_star = losses.optimal_discriminator(p, q)
    with np.errstate(divide="ignore"):
        direct = (
            -np.sum((p * np.log(d_star) + q * np.log(1 - d_star))[(d_star > 0) & (d_star < 1)]) * dx
        )
    assert losses.optimal_discriminator_value(p, q, dx) == pytest.approx(direct, rel=1e-6)
    assert losses.optimal_discriminator_value(p, p, dx) == pytest.approx(losses.LOG4, rel=1e-6)
