"""The one pixel-range module: stored uint8, the models' [-1, 1] and the [0, 1] a grid shows."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from playground.pixels import (
    ImageError,
    checked_model_images,
    model_to_uint8,
    to_shown,
    uint8_to_model,
)


def test_uint8_to_model_maps_0_and_255_to_minus_one_and_one() -> None:
    images = torch.tensor([[0, 255], [127, 128]], dtype=torch.uint8).repeat(3, 14, 14)
    unit = uint8_to_model(images)
    assert unit.shape == (3, 1, 28, 28) and unit.dtype == torch.float32
    assert unit.min() == -1.0 and unit.max() == 1.0
    assert torch.allclose(unit, images.unsqueeze(1).float() / 127.5 - 1)
    with pytest.raises(TypeError, match="uint8"):
        uint8_to_model(images.float())


def test_model_to_uint8_inverts_uint8_to_model_and_is_read_only() -> None:
    images = torch.arange(256, dtype=torch.uint8).repeat(7)[: 2 * 28 * 28].reshape(2, 28, 28)
    stored = model_to_uint8(uint8_to_model(images))
    assert stored.dtype == np.uint8 and stored.shape == (2, 28, 28)
    assert np.array_equal(stored, images.numpy()) and not stored.flags.writeable


def test_to_shown_gives_the_same_picture_from_stored_and_model_pixels() -> None:
    images = torch.randint(0, 256, (3, 28, 28), dtype=torch.uint8)
    from_stored = to_shown(images.numpy())
    from_model = to_shown(uint8_to_model(images))
    assert from_stored.shape == (3, 1, 28, 28)
    assert torch.allclose(from_stored, from_model, atol=1e-6)
    assert from_stored.min() >= 0 and from_stored.max() <= 1
    with pytest.raises(ImageError, match="expected images"):
        to_shown(torch.zeros(2, 3, 28, 28))


def test_checked_model_images_refuse_what_is_not_a_digit_in_range() -> None:
    assert checked_model_images(torch.zeros(2, 28, 28, dtype=torch.uint8)).min() == -1.0
    for bad, words in (
        ([1, 2], "must be a tensor"),
        (torch.zeros(2, 28, 28, dtype=torch.int32), "uint8"),
        (torch.full((2, 1, 28, 28), 2.0), r"\[-1, 1\]"),
        (torch.full((2, 1, 28, 28), float("nan")), "finite"),
    ):
        with pytest.raises(ImageError, match=words):
            checked_model_images(bad)
