"""The DCGAN opened up: the layers drawn are the layers trained, with the right shapes and rules."""

from __future__ import annotations

import pytest

from playground.architecture import FIRST_D_NORM, RULES, network_layers, shape_text
from playground.figures.architecture import blocks, network_dot
from playground.train import TrainSettings, build_models


@pytest.mark.parametrize("model", ["dcgan", "cgan"])
def test_the_shapes_go_z_3_6_13_28_in_g_and_back_down_in_d(model: str) -> None:
    layers = network_layers(TrainSettings(model=model))
    convs = [shape_text(x.shape) for x in layers["G"] if x.kind == "ConvTranspose2d"]
    assert convs == ["256×3×3", "128×6×6", "64×13×13", "1×28×28"]
    convs = [shape_text(x.shape) for x in layers["D"] if x.kind == "Conv2d"]
    assert convs == ["16×13×13", "32×5×5", "1×1×1"]
    assert layers["G"][-1].kind == "Tanh" and layers["G"][-1].shape == (1, 28, 28)
    inputs = (layers["G"][0].shape, layers["D"][0].shape)
    if model == "cgan":
        assert inputs == ((74,), (11, 28, 28))  # z + one-hot y; x + 10 label planes
    else:
        assert inputs == ((64,), (1, 28, 28))


@pytest.mark.parametrize("model", ["dcgan", "cgan"])
def test_every_parameter_of_the_trained_networks_is_counted_once(model: str) -> None:
    settings = TrainSettings(model=model)
    generator, discriminator = build_models(settings)
    layers = network_layers(settings)
    for net, module in (("G", generator), ("D", discriminator)):
        assert sum(x.parameters for x in layers[net]) == sum(p.numel() for p in module.parameters())


def test_each_layer_carries_the_dcgan_rule_it_follows() -> None:
    layers = network_layers(TrainSettings(model="dcgan"))
    for net in ("G", "D"):
        for layer in layers[net][1:]:
            expected = RULES.get((net, layer.kind))
            assert layer.rule in (expected, FIRST_D_NORM), (net, layer)
    kinds = {x.kind for x in layers["D"]}
    assert "LeakyReLU" in kinds and "ReLU" not in kinds and "MaxPool2d" not in kinds
    assert [x.rule for x in layers["D"]].count(FIRST_D_NORM) == 1
    assert not any(x.kind == "Linear" for net in ("G", "D") for x in layers[net])


def test_the_diagram_has_one_box_per_convolution_with_its_output_shape() -> None:
    layers = network_layers(TrainSettings(model="dcgan"))
    grouped = blocks(layers["G"])
    assert [len(b) for b in grouped] == [1, 3, 3, 3, 2]  # z; conv+BN+ReLU ×3; conv+tanh
    dot = network_dot("G", layers["G"])
    for shape in ("64", "256×3×3", "128×6×6", "64×13×13", "1×28×28"):
        assert f'\\n{shape}"' in dot
    assert dot.count("->") == len(grouped) - 1
    assert "logit" in network_dot("D", layers["D"])
