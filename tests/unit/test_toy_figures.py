"""Read-outs and figures of the 1-D GAN against closed forms and torch autograd: D* on the grid,
the gradient arrows, KL and JS between two Gaussians, and valid plotly figures."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import plotly.graph_objects as go
import pytest
import torch
import torch.nn.functional as F

from playground.figures import toy as figures
from playground.losses import LOG4, g_loss_logit_gradient, gaussian_pdf
from playground.toy import (
    Curves,
    ToyGAN,
    ToySettings,
    divergences,
    fake_gradients,
    perfect_map,
    x_grid,
)

SETTINGS = ToySettings(batch_size=32, seed=5)


@pytest.fixture(scope="module")
def trained() -> ToyGAN:
    """A GAN a few dozen updates in, so D has some shape."""
    gan = ToyGAN(SETTINGS)
    gan.run(40)
    return gan


def log_gaussian(x: np.ndarray, mean: float, std: float) -> np.ndarray:
    return -0.5 * ((x - mean) / std) ** 2 - math.log(std * math.sqrt(2.0 * math.pi))


def trace(fig: go.Figure, name_start: str) -> go.Scatter:
    matches = [t for t in fig.data if t.name and t.name.startswith(name_start)]
    assert len(matches) == 1, [t.name for t in fig.data]
    return matches[0]


# -- D* ------------------------------------------------------------------------------------------


def test_optimal_discriminator_equals_the_closed_form_on_the_grid(trained: ToyGAN) -> None:
    r = trained.readout()
    assert np.allclose(r.p_data, np.exp(log_gaussian(r.x, 4.0, 1.25)), rtol=1e-12)
    assert np.allclose(r.d_star, r.p_data / (r.p_data + r.p_g), rtol=1e-12)
    shown = np.asarray(trace(figures.discriminator_figure(r), "D*(x)").y)
    assert np.array_equal(shown, r.d_star)


def test_optimal_discriminator_of_two_gaussians_is_a_sigmoid_of_the_log_ratio(
    trained: ToyGAN,
) -> None:
    """D* = p_data / (p_data + p_g) = sigmoid(log p_data - log p_g), exactly, for p_g = N(1, 0.7^2)."""
    r = trained.readout()
    p_g = gaussian_pdf(r.x, 1.0, 0.7)
    gaussian = replace(r, p_g=p_g, d_star=r.p_data / (r.p_data + p_g))
    closed = 1.0 / (1.0 + np.exp(log_gaussian(r.x, 1.0, 0.7) - log_gaussian(r.x, 4.0, 1.25)))
    shown = np.asarray(trace(figures.discriminator_figure(gaussian), "D*(x)").y)
    assert np.allclose(shown, closed, rtol=1e-9, atol=1e-12)
    at = lambda value: shown[np.argmin(np.abs(r.x - value))]  # noqa: E731
    assert at(1.0) < 0.5 < at(4.0), "D* < ½ where fakes dominate, > ½ at the data's mode"


def test_learned_d_on_the_grid_is_the_sigmoid_of_the_logits(trained: ToyGAN) -> None:
    r = trained.readout()
    with torch.no_grad():
        logits = trained.discriminator(
            torch.tensor(r.x, dtype=torch.float32).reshape(-1, 1)
        ).reshape(-1)
    assert np.allclose(r.d_x, torch.sigmoid(logits).double().numpy(), atol=1e-7)


# -- gradient arrows ------------------------------------------------------------------------------


@pytest.mark.parametrize("g_loss", ["nonsaturating", "minimax"])
def test_gradient_arrows_match_torch_autograd(trained: ToyGAN, g_loss: str) -> None:
    fake = torch.linspace(-1.0, 7.0, 33)
    d_grads = [p.grad.clone() for p in trained.discriminator.parameters()]
    grad = fake_gradients(trained.discriminator, fake, g_loss).double().numpy()
    after = [p.grad for p in trained.discriminator.parameters()]
    assert all(torch.equal(a, b) for a, b in zip(d_grads, after, strict=True)), (
        "D's .grad untouched"
    )
    # reference 1: each fake on its own, through torch.autograd, with the loss written out
    for i in (0, 9, 20, 32):
        x = fake[i : i + 1].reshape(1, 1).clone().requires_grad_(True)
        logit = trained.discriminator(x).reshape(())
        loss = F.softplus(-logit) if g_loss == "nonsaturating" else -F.softplus(logit)
        (expected,) = torch.autograd.grad(loss, x)
        assert grad[i] == pytest.approx(float(expected), rel=1e-5, abs=1e-9)
    # reference 2: the chain rule, dl/dlogit in closed form times a finite difference of the logit
    eps = 1e-3
    with torch.no_grad():
        up = (
            trained.discriminator((fake + eps).double().reshape(-1, 1).float()).reshape(-1).double()
        )
        down = trained.discriminator((fake - eps).reshape(-1, 1)).reshape(-1).double()
        d_fake = (
            torch.sigmoid(trained.discriminator(fake.reshape(-1, 1)).reshape(-1)).double().numpy()
        )
    chain = g_loss_logit_gradient(d_fake, g_loss) * ((up - down) / (2 * eps)).numpy()
    big = np.abs(chain) > 1e-3
    assert np.all(np.sign(grad[big]) == np.sign(chain[big]))
    assert np.allclose(grad, chain, rtol=0.05, atol=2e-3)


def test_arrows_point_where_g_moves_each_fake(trained: ToyGAN) -> None:
    """The drawn arrow of each fake goes along -dl/dx~, at one common scale."""
    r = trained.readout()
    fig = figures.densities_figure(r)
    arrows = trace(fig, "−∂loss/∂x̃")
    xs = np.asarray(arrows.x, dtype=float).reshape(-1, 3)
    start, end = xs[:, 0], xs[:, 1]
    assert np.array_equal(start, r.fake)
    step = end - start
    moving = np.abs(r.fake_grad) > 1e-9
    assert np.all(np.sign(step[moving]) == -np.sign(r.fake_grad[moving]))
    scale = step[moving] / -r.fake_grad[moving]
    assert np.allclose(scale, scale[0]) and 0 < scale[0] <= 1.0
    longest = np.max(np.abs(step))
    assert longest <= figures.ARROW_SHARE * (r.x[-1] - r.x[0]) + 1e-9


def test_a_g_step_moves_the_fakes_the_way_the_arrows_point() -> None:
    gan = ToyGAN(replace(SETTINGS, lr_g=1e-3))
    gan.run(30)
    gan.d_step()
    before = gan.readout()
    gan.g_step()
    moved = gan.readout().fake - before.fake
    agree = np.sign(moved) == -np.sign(before.fake_grad)
    assert agree.mean() > 0.8, "most fakes move along their arrow"


def test_arrow_scale_keeps_true_size_unless_too_long() -> None:
    assert figures.arrow_scale(np.array([0.1, -0.2]), 12.0) == 1.0
    assert figures.arrow_scale(np.array([10.0, -30.0]), 12.0) == pytest.approx(0.12 * 12.0 / 30.0)
    assert figures.arrow_scale(np.array([np.nan]), 12.0) == 1.0


# -- KL and JS --------------------------------------------------------------------------------------


def gaussian_kl(m1: float, s1: float, m2: float, s2: float) -> float:
    """KL(N(m1, s1^2) || N(m2, s2^2)) in closed form."""
    return math.log(s2 / s1) + (s1**2 + (m1 - m2) ** 2) / (2 * s2**2) - 0.5


def monte_carlo_js(m1: float, s1: float, m2: float, s2: float, n: int = 400_000) -> float:
    """JS = ½ E_p[log 2p/(p+q)] + ½ E_q[log 2q/(p+q)], estimated from samples (no grid)."""
    rng = np.random.default_rng(0)
    xp, xq = rng.normal(m1, s1, n), rng.normal(m2, s2, n)

    def half(x: np.ndarray, own: tuple[float, float], other: tuple[float, float]) -> float:
        log_own, log_other = log_gaussian(x, *own), log_gaussian(x, *other)
        return float(np.mean(math.log(2.0) + log_own - np.logaddexp(log_own, log_other)))

    return 0.5 * half(xp, (m1, s1), (m2, s2)) + 0.5 * half(xq, (m2, s2), (m1, s1))


@pytest.mark.parametrize(("mean", "std"), [(2.0, 1.0), (4.5, 1.0), (3.0, 2.0), (0.0, 3.0)])
def test_kl_and_js_match_closed_forms_for_two_gaussians(mean: float, std: float) -> None:
    x = np.linspace(-20.0, 25.0, 4501)
    kl, js = divergences(gaussian_pdf(x, 4.0, 1.25), gaussian_pdf(x, mean, std), float(x[1] - x[0]))
    assert kl == pytest.approx(gaussian_kl(4.0, 1.25, mean, std), rel=1e-4)
    assert js == pytest.approx(monte_carlo_js(4.0, 1.25, mean, std), abs=2e-3)
    assert 0.0 <= js <= math.log(2.0)


@pytest.mark.parametrize(("mean", "std"), [(4.5, 1.0), (3.5, 1.5), (4.0, 1.25)])
def test_kl_and_js_on_the_page_grid_are_accurate_near_the_data(mean: float, std: float) -> None:
    x = x_grid(ToySettings())  # the grid the page records them on: data ± 4 std
    kl, js = divergences(gaussian_pdf(x, 4.0, 1.25), gaussian_pdf(x, mean, std), float(x[1] - x[0]))
    assert kl == pytest.approx(gaussian_kl(4.0, 1.25, mean, std), abs=2e-3)
    assert js == pytest.approx(monte_carlo_js(4.0, 1.25, mean, std), abs=3e-3)


def test_js_of_far_apart_gaussians_is_log_2() -> None:
    x = np.linspace(-30.0, 30.0, 4001)
    _, js = divergences(gaussian_pdf(x, -15.0, 1.0), gaussian_pdf(x, 15.0, 1.0), float(x[1] - x[0]))
    assert js == pytest.approx(math.log(2.0), abs=1e-6)


def test_recorded_divergences_are_those_of_the_readout(trained: ToyGAN) -> None:
    r = trained.readout()
    kl, js = divergences(r.p_data, r.p_g, float(r.x[1] - r.x[0]))
    assert (trained.current.measures.kl, trained.current.measures.js) == (kl, js)
    curves = trained.curves()
    assert curves.js[-1] == js and curves.step[-1] == trained.current.step


# -- map z -> x, histories, validity ----------------------------------------------------------------


def test_perfect_map_turns_noise_into_the_real_gaussian() -> None:
    settings = ToySettings()
    z = np.random.default_rng(1).uniform(-1.0, 1.0, 200_000)
    x = perfect_map(settings, z)
    assert x.mean() == pytest.approx(4.0, abs=0.01) and x.std() == pytest.approx(1.25, abs=0.01)
    gaussian = replace(settings, noise="gaussian")
    assert np.allclose(perfect_map(gaussian, np.array([-1.0, 0.0, 2.0])), [2.75, 4.0, 6.5])


def curves_of(n: int) -> Curves:
    step = np.arange(n)
    d_loss = np.where(step % 2 == 1, 1.3, np.nan)
    return Curves(
        step,
        d_loss,
        np.where(step % 2 == 0, 0.7, np.nan),
        step * 0 + 0.6,
        step * 0 + 0.4,
        step * 0.01,
        step * 0.001,
    )


@pytest.mark.parametrize(
    ("g_loss", "g_level"), [("nonsaturating", math.log(2.0)), ("minimax", -math.log(2.0))]
)
def test_loss_history_marks_the_equilibrium_values(g_loss: str, g_level: float) -> None:
    fig = figures.loss_history_figure(curves_of(9), g_loss)
    assert list(trace(fig, "log 4").y) == [LOG4, LOG4]
    assert list(trace(fig, "G loss when D = ½").y) == [g_level, g_level]
    d_loss = trace(fig, "D loss")
    assert list(d_loss.x) == [1, 3, 5, 7], "only the steps that measured a D loss"
    assert list(trace(figures.d_output_history_figure(curves_of(9)), "½").y) == [0.5, 0.5]


def test_long_histories_are_thinned_but_keep_the_latest_step() -> None:
    fig = figures.divergence_history_figure(curves_of(4999))
    js = trace(fig, "JS")
    assert len(js.x) <= figures.MAX_HISTORY_POINTS + 1
    assert js.x[-1] == 4998
    assert min(js.y) >= figures.DIVERGENCE_FLOOR, "a log axis cannot draw 0"


@pytest.mark.parametrize("noise_dim", [1, 3])
def test_every_figure_is_a_valid_plotly_figure(noise_dim: int) -> None:
    gan = ToyGAN(replace(SETTINGS, noise_dim=noise_dim))
    gan.d_step()
    gan.g_step()
    charts = figures.all_figures(gan.readout(), gan.curves())
    assert list(charts) == [
        "toy_densities",
        "toy_discriminator",
        "toy_map",
        "toy_losses",
        "toy_d_outputs",
        "toy_divergences",
    ]
    for name, fig in charts.items():
        checked = go.Figure(fig.to_dict())  # full validation, which the builders skip for speed
        assert checked.layout.title.text, name
        assert len(checked.data) >= 2, name
    map_fig = charts["toy_map"]
    if noise_dim == 1:
        assert trace(map_fig, "an exact G").y is not None
    else:
        assert all(not t.name.startswith("an exact G") for t in map_fig.data)


def test_the_overlay_draws_each_runs_losses_and_js_on_one_chart() -> None:
    runs = []
    for lr_g in (1e-3, 5e-4):
        gan = ToyGAN(replace(SETTINGS, lr_g=lr_g))
        gan.run(5)
        gan.d_step()
        runs.append((f"lr_g {lr_g:g}", gan.curves()))
    raw = figures.overlay_figure(runs)
    fig = go.Figure(raw.to_dict())  # full validation
    names = [t.name for t in fig.data]
    assert names == [
        "lr_g 0.001: D loss", "lr_g 0.001: G loss", "lr_g 0.001: JS",
        "lr_g 0.0005: D loss", "lr_g 0.0005: G loss", "lr_g 0.0005: JS",
    ]  # fmt: skip
    first, second = fig.data[0], fig.data[3]
    assert first.line.color != second.line.color, "one colour per run"
    assert fig.data[1].line.dash == "dot" and fig.data[2].yaxis == "y2"
    assert np.array_equal(raw.data[0].y, runs[0][1].d_loss[1:]), "D loss where D was updated"
    assert list(raw.data[1].x) == [1, 2, 3, 4, 5], "G loss where G was updated (not the D step)"
    assert fig.layout.yaxis2.type == "log"
