"""The batch-norm lesson: our arithmetic against torch.nn.BatchNorm2d (outputs, running statistics,
eval mode, gradients), the generator variants built from the course's DCGAN, and what the probe
says about activations with and without batch norm."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch import nn

from playground.batchnorm import (
    BatchNormDemo,
    BatchNormSettingsError,
    GeneratorProbe,
    RunningStats,
    batch_norm_eval,
    batch_norm_train,
    layer_gain,
    probe_generator,
    run_demo,
)
from playground.figures import batchnorm as figures
from playground.models import Generator, weights_init
from playground.models.generator_variants import generator_variant

SHAPES = [(2, 3, 1, 1), (4, 2, 2, 2), (8, 1, 5, 3), (3, 4, 7, 7)]
TOLERANCE = {torch.float64: 1e-12, torch.float32: 2e-5}
"""float64 agrees to rounding; float32 sums in another order than torch's kernel (~1e-6 of |x|)."""


def random_layer(shape: tuple[int, ...], dtype: torch.dtype, seed: int):
    draw = torch.Generator().manual_seed(seed)
    batches = [3 * torch.randn(shape, generator=draw, dtype=dtype) + 2 for _ in range(4)]
    weight = torch.rand(shape[1], generator=draw, dtype=dtype) + 0.5
    bias = torch.randn(shape[1], generator=draw, dtype=dtype)
    return batches, weight, bias


def torch_layer(weight: torch.Tensor, bias: torch.Tensor, momentum: float, eps: float):
    layer = nn.BatchNorm2d(weight.numel(), eps=eps, momentum=momentum, dtype=weight.dtype)
    with torch.no_grad():
        layer.weight.copy_(weight)
        layer.bias.copy_(bias)
    return layer


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
@pytest.mark.parametrize(("momentum", "eps"), [(0.1, 1e-5), (0.5, 1e-3), (1.0, 0.5)])
@pytest.mark.parametrize("shape", SHAPES)
def test_train_and_eval_mode_match_torch(shape, momentum, eps, dtype) -> None:
    batches, weight, bias = random_layer(shape, dtype, seed=sum(shape))
    layer = torch_layer(weight, bias, momentum, eps)
    running = RunningStats.fresh(shape[1], dtype)
    tolerance = TOLERANCE[dtype]
    for batch in batches:
        ours = batch_norm_train(batch, weight, bias, running, momentum, eps)
        theirs = layer(batch).detach()
        assert torch.allclose(ours.outputs, theirs, atol=tolerance, rtol=tolerance)
        running = ours.running
        assert torch.allclose(running.mean, layer.running_mean, atol=tolerance, rtol=tolerance)
        assert torch.allclose(running.var, layer.running_var, atol=tolerance, rtol=tolerance)
    layer.eval()
    ours_eval = batch_norm_eval(batches[0], weight, bias, running, eps)
    assert torch.allclose(ours_eval, layer(batches[0]).detach(), atol=tolerance, rtol=tolerance)


@pytest.mark.parametrize("shape", SHAPES)
def test_gradients_through_our_batch_norm_match_torch(shape) -> None:
    batches, weight, bias = random_layer(shape, torch.float64, seed=7)
    x = batches[0]
    upstream = torch.randn(shape, generator=torch.Generator().manual_seed(1), dtype=x.dtype)
    ours = [t.clone().requires_grad_() for t in (x, weight, bias)]
    y = batch_norm_train(*ours, RunningStats.fresh(shape[1]), 0.1, 1e-5).outputs
    (y * upstream).sum().backward()
    layer = torch_layer(weight, bias, 0.1, 1e-5)
    theirs_x = x.clone().requires_grad_()
    (layer(theirs_x) * upstream).sum().backward()
    expected = (theirs_x.grad, layer.weight.grad, layer.bias.grad)
    for mine, reference in zip(ours, expected, strict=True):
        assert torch.allclose(mine.grad, reference, atol=1e-10)


def test_normalised_channels_have_mean_zero_and_the_stated_variance() -> None:
    batches, weight, bias = random_layer((5, 3, 4, 4), torch.float64, seed=3)
    eps = 0.1
    step = batch_norm_train(batches[0], weight, bias, RunningStats.fresh(3), 0.1, eps)
    assert torch.allclose(
        step.normalised.mean(dim=(0, 2, 3)), torch.zeros(3, dtype=torch.float64), atol=1e-12
    )
    variance = step.normalised.var(dim=(0, 2, 3), unbiased=False)
    assert torch.allclose(variance, step.var / (step.var + eps))
    assert step.count == 5 * 4 * 4


def test_running_statistics_follow_their_closed_form() -> None:
    """k updates with one batch: running_mean = (1 − (1 − m)^k)·μ (it starts at 0)."""
    batch, weight, bias = random_layer((6, 2, 3, 3), torch.float64, seed=5)
    running, momentum = RunningStats.fresh(2), 0.2
    for _ in range(7):
        step = batch_norm_train(batch[0], weight, bias, running, momentum, 1e-5)
        running = step.running
    assert torch.allclose(running.mean, (1 - 0.8**7) * step.mean)
    unbiased = step.var * 54 / 53
    assert torch.allclose(running.var, 0.8**7 * 1 + (1 - 0.8**7) * unbiased)


def test_the_demo_agrees_with_torch_and_shows_what_the_student_set() -> None:
    demo = BatchNormDemo(batch_size=6, scale=4.0, shift=-3.0, gamma=2.0, beta=0.5, batches=30)
    run = run_demo(demo)
    assert max(run.gap_train, run.gap_running, run.gap_eval) < 1e-12
    assert run.inputs.shape == (6, 2, 2, 2) and run.running_means.shape == (31, 2)
    assert run.mean[0] == pytest.approx(run.inputs[:, 0].mean())
    assert np.allclose(run.outputs[:, 0], 2.0 * run.normalised[:, 0] + 0.5)
    assert run.outputs[:, 0].mean() == pytest.approx(0.5)
    assert abs(run.running_means[-1, 0] - (-3.0)) < 1.0, "30 batches bring it near the shift"
    assert run.demo == demo


def test_bad_settings_name_the_field() -> None:
    with pytest.raises(BatchNormSettingsError, match="batch_size"):
        BatchNormDemo(batch_size=1).validate()
    with pytest.raises(BatchNormSettingsError, match="momentum"):
        run_demo(BatchNormDemo(momentum=0.0))
    with pytest.raises(BatchNormSettingsError, match="extra_layers"):
        GeneratorProbe(extra_layers=20).validate()


def test_the_default_variant_is_the_course_generator() -> None:
    before = torch.random.get_rng_state()
    variant = generator_variant(seed=4)
    assert torch.equal(torch.random.get_rng_state(), before), "the global RNG is untouched"
    course = Generator()
    init = torch.Generator().manual_seed(4)
    course.apply(lambda m: weights_init(m, init))
    assert variant.state_dict().keys() == course.state_dict().keys()
    for name, tensor in course.state_dict().items():
        assert torch.equal(variant.state_dict()[name], tensor), name


def test_variants_change_only_their_knob() -> None:
    plain = generator_variant(batch_norm=False, seed=2)
    assert not any(isinstance(m, nn.BatchNorm2d) for m in plain.modules())
    scaled = generator_variant(init_std=0.1, seed=2)
    convs = [m for m in generator_variant(seed=2).modules() if isinstance(m, nn.ConvTranspose2d)]
    scaled_convs = [m for m in scaled.modules() if isinstance(m, nn.ConvTranspose2d)]
    for conv, bigger in zip(convs, scaled_convs, strict=True):
        assert torch.allclose(bigger.weight, conv.weight * 5)
    deeper = generator_variant(extra_layers=3)
    assert len(deeper.net) == len(Generator().net) + 3
    with torch.no_grad():
        images = deeper(torch.randn(4, 64, generator=torch.Generator().manual_seed(0)))
    assert images.shape == (4, 1, 28, 28)


def test_batch_norm_holds_every_block_at_the_scale_of_a_relu_of_a_unit_gaussian() -> None:
    for std in (0.005, 0.02, 0.15):
        readout = probe_generator(GeneratorProbe(extra_layers=3, init_std=std), batch_norm=True)
        blocks = slice(0, len(readout.names) - 2)
        assert np.allclose(readout.stds[blocks], figures.RELU_OF_UNIT_NORMAL_STD, atol=0.05)
        assert np.allclose(readout.means[blocks], 1 / math.sqrt(2 * math.pi), atol=0.05)


@pytest.mark.parametrize(("std", "fades"), [(0.02, True), (0.1, False)])
def test_without_batch_norm_each_extra_layer_multiplies_the_scale_by_its_gain(std, fades) -> None:
    readout = probe_generator(GeneratorProbe(extra_layers=4, init_std=std), batch_norm=False)
    extra = readout.stds[3:7]  # the four extra layers
    ratios = extra[1:] / extra[:-1]
    # the closed form counts every input of a 3x3 kernel; at the 13x13 border fewer exist
    assert np.all((ratios > 0.85 * layer_gain(std)) & (ratios < layer_gain(std)))
    assert np.all(ratios < 1) == fades and np.all(ratios > 1) == (not fades)


def test_without_batch_norm_dcgan_init_makes_every_image_alike_and_starves_the_gradients() -> None:
    probe = GeneratorProbe(extra_layers=8)
    with_bn, without = (probe_generator(probe, batch_norm=b) for b in (True, False))
    assert with_bn.sample_spread > 0.05 and without.sample_spread < 1e-3
    assert np.all(without.grad_norms[:-1] < with_bn.grad_norms[:-1] / 100)
    assert math.isnan(without.grad_norms[-1]), "the image layer has no weights"
    assert len(with_bn.names) == len(with_bn.values) == 3 + 8 + 2


def test_figures_and_tables_draw_the_numbers() -> None:
    run = run_demo(BatchNormDemo(batch_size=3))
    table = figures.channel_table(run.inputs, 0)
    assert table.shape == (3, 4) and table.iloc[1, 2] == round(run.inputs[1, 0, 1, 0], 3)
    stages = figures.stages_figure(run.inputs[:, 0], run.normalised[:, 0], run.outputs[:, 0])
    assert np.allclose(stages.data[2].x, run.normalised[:, 0].ravel())
    readouts = {
        figures.WITH_BN: probe_generator(GeneratorProbe(), True),
        figures.WITHOUT_BN: probe_generator(GeneratorProbe(), False),
    }
    names = readouts[figures.WITH_BN].names
    scale = figures.layer_scale_figure(names, {v: r.stds for v, r in readouts.items()})
    assert np.allclose(scale.data[1].y, readouts[figures.WITHOUT_BN].stds)
    grads = figures.gradient_figure(names, {v: r.grad_norms for v, r in readouts.items()})
    assert len(grads.data[0].x) == len(names) - 1, "the image layer has no weights to show"
    table = figures.layer_table(
        names, {v: r.means for v, r in readouts.items()}, {v: r.stds for v, r in readouts.items()}
    )
    assert list(table.index) == list(names) and table.shape == (len(names), 4)
