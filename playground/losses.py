"""GAN losses and the closed forms the course shows next to them.

Every loss takes the discriminator's *logits* (never probabilities), so a sigmoid is applied exactly
once, inside the numerically stable log-sigmoid, and the values stay finite when D -> 0 or 1.

Notation: D(x) = sigmoid(l(x)), l the logit. Useful identities:
    log D(x)     = -softplus(-l)
    log(1 - D(x)) = -softplus(l)
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

LOG4 = math.log(4.0)
"""Value of the two-term discriminator loss at equilibrium (D = 1/2 everywhere): 2 log 2."""

LOG_FLOOR = -100.0
"""BCE on probabilities clamps each log at -100, as torch.nn.functional.binary_cross_entropy does,
so a prediction of exactly 0 or 1 gives a large finite loss (100), never inf or NaN."""

PROB_EPS = 1e-7
"""Plots of the generator losses stop this close to 0 and 1."""

G_LOSSES = ("nonsaturating", "minimax")
"""The generator losses of the log-loss game (D trained with BCE)."""
LEAST_SQUARES = "least-squares"
GAN_LOSSES = (*G_LOSSES, LEAST_SQUARES)
"""Every loss the step API takes: one of G's two log losses (D's BCE), or least squares (LSGAN)
for both players."""


@dataclass(frozen=True)
class DiscriminatorLoss:
    """The discriminator's BCE loss and its two terms, kept apart for logging."""

    total: Tensor
    real: Tensor
    fake: Tensor


def bce_terms(prediction: Tensor, label: Tensor) -> Tensor:
    """Per-example binary cross-entropy of probabilities: -[y log p + (1 - y) log(1 - p)].

    Each log is clamped at -100 (torch's convention), so p = 0 or 1 stays finite.
    """
    log_p = torch.log(prediction).clamp(min=LOG_FLOOR)
    log_not_p = torch.log1p(-prediction).clamp(min=LOG_FLOOR)
    return -(label * log_p + (1.0 - label) * log_not_p)


def bce(prediction: Tensor, label: Tensor) -> Tensor:
    """Mean binary cross-entropy of probabilities over a mini-batch."""
    return bce_terms(prediction, label).mean()


def bce_curve(prediction: np.ndarray, label: int) -> np.ndarray:
    """Per-example BCE for a whole array of predictions with one label (for the loss curves)."""
    with np.errstate(divide="ignore"):
        p = np.asarray(prediction, dtype=np.float64)
        log_term = np.log(p) if label == 1 else np.log1p(-p)
    return -np.maximum(log_term, LOG_FLOOR)


class BCEInputError(ValueError):
    """A mini-batch that BCE is not defined on (labels not 0/1, predictions outside [0, 1])."""


@dataclass(frozen=True)
class MiniBatchBCE:
    """Each example's BCE and their mean."""

    per_example: np.ndarray
    mean: float


def minibatch_bce(labels: np.ndarray, predictions: np.ndarray) -> MiniBatchBCE:
    """BCE of a small hand-edited batch, after checking it is a valid input."""
    labels = np.asarray(labels, dtype=np.float64)
    predictions = np.asarray(predictions, dtype=np.float64)
    if labels.shape != predictions.shape or labels.ndim != 1 or labels.size == 0:
        raise BCEInputError("the batch needs at least one row, each with a label and a prediction")
    if not np.all(np.isfinite(predictions)) or np.any((predictions < 0) | (predictions > 1)):
        raise BCEInputError("every prediction ŷ must be a probability between 0 and 1")
    if not np.all(np.isin(labels, (0.0, 1.0))):
        raise BCEInputError("every label y must be 0 (fake) or 1 (real)")
    terms = bce_terms(torch.tensor(predictions), torch.tensor(labels)).numpy()
    return MiniBatchBCE(per_example=terms, mean=float(terms.mean()))


def bce_with_logits(logits: Tensor, label: Tensor | float) -> Tensor:
    """Mean BCE from logits: softplus(-l) for label 1, softplus(l) for label 0."""
    label = torch.as_tensor(label, dtype=logits.dtype, device=logits.device).expand_as(logits)
    return (label * F.softplus(-logits) + (1.0 - label) * F.softplus(logits)).mean()


def discriminator_loss(
    real_logits: Tensor, fake_logits: Tensor, real_label: float = 1.0
) -> DiscriminatorLoss:
    """D's loss: -[log D(x) + log(1 - D(G(z)))], each term a batch mean.

    D maximises log D(x) + log(1 - D(G(z))); we minimise the negative. At equilibrium both terms
    equal log 2, so the total is log 4.

    One-sided label smoothing (Salimans et al. 2016) gives real samples the target
    real_label = 1 - s instead of 1: the real term becomes BCE(D(x), 1 - s) =
    -(1 - s) log D(x) - s log(1 - D(x)), and the optimal D becomes
    D*(x) = (1 - s) p_data / (p_data + p_g), never more confident than 1 - s.
    """
    if real_label == 1.0:
        real = F.softplus(-real_logits).mean()
    else:
        real = bce_with_logits(real_logits, real_label)
    fake = F.softplus(fake_logits).mean()
    return DiscriminatorLoss(total=real + fake, real=real, fake=fake)


def minimax_g_loss(fake_logits: Tensor) -> Tensor:
    """The original (saturating) generator loss: minimise log(1 - D(G(z))) = -softplus(l).

    Its gradient with respect to the logit is -D(G(z)): it vanishes exactly when D confidently
    rejects the fakes, which is early in training, when G needs the signal most.
    """
    return -F.softplus(fake_logits).mean()


def nonsaturating_g_loss(fake_logits: Tensor) -> Tensor:
    """The non-saturating generator loss: minimise -log D(G(z)) = softplus(-l).

    Its gradient with respect to the logit is -(1 - D(G(z))): close to -1 when D rejects the fakes.
    """
    return F.softplus(-fake_logits).mean()


def generator_loss(fake_logits: Tensor, kind: str) -> Tensor:
    """The generator loss named by `kind` ("nonsaturating", "minimax" or "least-squares")."""
    if kind == "nonsaturating":
        return nonsaturating_g_loss(fake_logits)
    if kind == "minimax":
        return minimax_g_loss(fake_logits)
    if kind == LEAST_SQUARES:
        return least_squares_g_loss(fake_logits)
    raise ValueError(f"generator loss must be one of {GAN_LOSSES}, got {kind!r}")


def least_squares_d_loss(
    real_scores: Tensor, fake_scores: Tensor, real_target: float = 1.0
) -> DiscriminatorLoss:
    """LSGAN's D loss (Mao et al. 2017, eq. 2 with a = 0, b = 1) on D's raw outputs (no sigmoid):
    1/2 E[(D(x) - b)^2] + 1/2 E[D(G(z))^2], each term a batch mean.

    Its minimiser is D*(x) = b p_data / (p_data + p_g): with b = 1 the same D* as the log loss's,
    reached without a sigmoid. One-sided label smoothing lowers the real target to b = 1 - s.
    """
    real = 0.5 * (real_scores - real_target).square().mean()
    fake = 0.5 * fake_scores.square().mean()
    return DiscriminatorLoss(total=real + fake, real=real, fake=fake)


def least_squares_g_loss(fake_scores: Tensor) -> Tensor:
    """LSGAN's G loss (c = 1): 1/2 E[(D(G(z)) - 1)^2] on D's raw outputs.

    Its gradient with respect to the score is D(G(z)) - 1: it fades only as the fakes reach the
    real target, not when D rejects them (no saturation), and it pulls harder the farther a fake
    sits on the wrong side of the boundary.
    """
    return 0.5 * (fake_scores - 1.0).square().mean()


def discriminator_probability(outputs: Tensor, loss: str) -> Tensor:
    """D's outputs as the probability "real" a figure shows: sigmoid(logit) for the log losses;
    for least squares the raw output itself (its optimum p_data / (p_data + p_g) is one),
    clamped to [0, 1]."""
    if loss == LEAST_SQUARES:
        return outputs.clamp(0.0, 1.0)
    return torch.sigmoid(outputs)


def g_loss_logit_gradient(d_fake: np.ndarray, kind: str) -> np.ndarray:
    """d(loss)/d(logit) of one fake sample's generator loss, as a function of D(G(z)).

    minimax: d/dl[-softplus(l)] = -D;  non-saturating: d/dl[softplus(-l)] = -(1 - D).
    """
    d = np.asarray(d_fake, dtype=np.float64)
    if kind == "minimax":
        return -d
    if kind == "nonsaturating":
        return -(1.0 - d)
    raise ValueError(f"generator loss must be one of {G_LOSSES}, got {kind!r}")


def g_loss_curve(d_fake: np.ndarray, kind: str) -> np.ndarray:
    """One fake sample's generator loss as a function of D(G(z)) (for the saturation plot)."""
    d = np.clip(np.asarray(d_fake, dtype=np.float64), PROB_EPS, 1.0 - PROB_EPS)
    if kind == "minimax":
        return np.log1p(-d)
    if kind == "nonsaturating":
        return -np.log(d)
    raise ValueError(f"generator loss must be one of {G_LOSSES}, got {kind!r}")


def wasserstein_critic_loss(real_scores: Tensor, fake_scores: Tensor) -> DiscriminatorLoss:
    """WGAN critic loss E[f(G(z))] - E[f(x)] (the critic maximises the difference)."""
    real = -real_scores.mean()
    fake = fake_scores.mean()
    return DiscriminatorLoss(total=real + fake, real=real, fake=fake)


def wasserstein_g_loss(fake_scores: Tensor) -> Tensor:
    """WGAN generator loss -E[f(G(z))]."""
    return -fake_scores.mean()


def gradient_penalty(critic, real: Tensor, fake: Tensor, mix: Tensor) -> Tensor:
    """WGAN-GP penalty E[(||grad_x f(x_hat)||_2 - 1)^2] with x_hat = mix * real + (1 - mix) * fake.

    `mix` holds one uniform weight per example, shaped to broadcast over `real`.
    """
    x_hat = (mix * real + (1.0 - mix) * fake).requires_grad_(True)
    scores = critic(x_hat)
    (grad,) = torch.autograd.grad(scores.sum(), x_hat, create_graph=True)
    norms = grad.flatten(1).norm(dim=1)
    return ((norms - 1.0) ** 2).mean()


def gaussian_pdf(x: np.ndarray, mean: float, std: float) -> np.ndarray:
    """N(mean, std^2) density."""
    x = np.asarray(x, dtype=np.float64)
    return np.exp(-0.5 * ((x - mean) / std) ** 2) / (std * math.sqrt(2.0 * math.pi))


def optimal_discriminator(p_data: np.ndarray, p_g: np.ndarray) -> np.ndarray:
    """D*(x) = p_data(x) / (p_data(x) + p_g(x)); 1/2 where both densities vanish."""
    p_data = np.asarray(p_data, dtype=np.float64)
    p_g = np.asarray(p_g, dtype=np.float64)
    total = p_data + p_g
    safe = np.where(total > 0, total, 1.0)
    return np.where(total > 0, p_data / safe, 0.5)


def optimal_discriminator_value(p_data: np.ndarray, p_g: np.ndarray, dx: float) -> float:
    """The two-term D loss at D = D*: log 4 - 2 JS(p_data || p_g), integrated on a grid."""
    return LOG4 - 2.0 * js_divergence(p_data, p_g, dx)


def kl_divergence(p: np.ndarray, q: np.ndarray, dx: float) -> float:
    """KL(p || q) = sum p log(p / q) dx on a grid; terms with p = 0 contribute 0.

    q is floored at a tiny density so that a generator with no mass where p has some gives a large
    finite number, not inf.
    """
    p = np.asarray(p, dtype=np.float64)
    q = np.maximum(np.asarray(q, dtype=np.float64), 1e-12)
    mask = p > 0
    return float(np.sum(p[mask] * np.log(p[mask] / q[mask])) * dx)


def js_divergence(p: np.ndarray, q: np.ndarray, dx: float) -> float:
    """JS(p || q) = 1/2 KL(p || m) + 1/2 KL(q || m), m = (p + q) / 2; between 0 and log 2."""
    p = np.asarray(p, dtype=np.float64)
    q = np.asarray(q, dtype=np.float64)
    m = 0.5 * (p + q)
    return 0.5 * kl_divergence(p, m, dx) + 0.5 * kl_divergence(q, m, dx)


# ---------------------------------------------------------------------------------------------
# The VAE objective (Kingma & Welling 2014, "Auto-Encoding Variational Bayes", eq. 10 and app. B)


@dataclass(frozen=True)
class VAELoss:
    """The negative ELBO per image and its two terms, kept apart for logging (batch means)."""

    total: Tensor
    reconstruction: Tensor
    kl: Tensor


def vae_reconstruction_loss(logits: Tensor, targets: Tensor) -> Tensor:
    """-E_q[log p(x|z)] for Bernoulli pixels: sum over pixels of BCE(sigmoid(l), x), batch mean.

    -log p(x|z) = -sum_i [x_i log p_i + (1 - x_i) log(1 - p_i)], p_i = sigmoid(l_i), x_i in [0, 1]
    (a grey pixel is a "soft" target). Computed from logits, like the GAN losses.
    """
    per_pixel = targets * F.softplus(-logits) + (1.0 - targets) * F.softplus(logits)
    return per_pixel.flatten(1).sum(dim=1).mean()


def vae_kl_divergence(mu: Tensor, logvar: Tensor) -> Tensor:
    """KL(q(z|x) || p(z)) for q = N(mu, diag(sigma^2)), p = N(0, I), summed over z, batch mean.

    Closed form: KL = -1/2 sum_j (1 + log sigma_j^2 - mu_j^2 - sigma_j^2).
    """
    per_dim = -0.5 * (1.0 + logvar - mu.square() - logvar.exp())
    return per_dim.sum(dim=1).mean()


def autoencoder_loss(logits: Tensor, targets: Tensor) -> VAELoss:
    """A plain autoencoder's loss: the reconstruction term alone, -log p(x|z) with z = mu(x).

    Without the KL term nothing ties the codes to N(0, I): the encoder may put them anywhere,
    with gaps between them, which is what the latent-space page shows. (kl is 0, for logging.)
    """
    reconstruction = vae_reconstruction_loss(logits, targets)
    return VAELoss(reconstruction, reconstruction, torch.zeros_like(reconstruction))


def vae_loss(logits: Tensor, targets: Tensor, mu: Tensor, logvar: Tensor) -> VAELoss:
    """The negative ELBO: -E_q[log p(x|z)] + KL(q(z|x) || p(z)), in nats per image.

    Minimising it maximises the evidence lower bound log p(x) >= E_q[log p(x|z)] - KL(q || p).
    """
    reconstruction = vae_reconstruction_loss(logits, targets)
    kl = vae_kl_divergence(mu, logvar)
    return VAELoss(total=reconstruction + kl, reconstruction=reconstruction, kl=kl)
