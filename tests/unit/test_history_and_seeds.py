"""The one thinning rule of long histories, and the one seed rule of every random stream."""

from __future__ import annotations

import numpy as np
import pytest

from playground.history import halve_older, thin, thinned_indices
from playground.seeds import (
    EVAL_NOISE_STREAM,
    FIXED_NOISE_STREAM,
    INIT_STREAM,
    RESUMED_BATCHES_STREAM,
    TOY_BATCHES,
    TOY_EVALUATION,
    TOY_INIT,
    stream_seed,
)


def test_thinned_indices_stride_evenly_and_always_keep_the_newest() -> None:
    assert list(thinned_indices(5, 10)) == [0, 1, 2, 3, 4]
    assert list(thinned_indices(0, 10)) == []
    assert list(thinned_indices(10, 4)) == [0, 3, 6, 9]
    assert list(thinned_indices(11, 4)) == [0, 3, 6, 9, 10]  # the newest is appended
    assert len(thinned_indices(100_000, 1500)) <= 1501


def test_thin_keeps_the_points_its_indices_name() -> None:
    points = list(range(11))
    assert thin(points, 4) == (0, 3, 6, 9, 10)
    assert thin(points, 100) == tuple(points)


def test_halve_older_drops_every_other_point_before_the_recent_ones() -> None:
    points = list(range(10))
    assert halve_older(points, 4) == [0, 2, 4, 6, 7, 8, 9]
    assert halve_older(points, 20) == points  # nothing is older than the recent ones
    assert halve_older(points, 0) == [0, 2, 4, 6, 8]


@pytest.mark.parametrize(
    ("seed", "stream", "expected"),
    [
        # Recorded before the two derivations shared one home: the shipped models and the
        # shipped failure runs were made with exactly these seeds.
        (0, INIT_STREAM, 2918264622725855778),
        (0, EVAL_NOISE_STREAM, 3291213472928352369),
        (7, FIXED_NOISE_STREAM, 9139555415570476218),
        (3, RESUMED_BATCHES_STREAM + 2, 2376608225359572039),
        (0, TOY_INIT, 1122411983230619194),
        (0, TOY_BATCHES, 958974869244695683),
        (5, TOY_EVALUATION, 6192719336684255510),
    ],
)
def test_stream_seeds_are_the_ones_the_shipped_files_were_made_with(
    seed: int, stream: int | str, expected: int
) -> None:
    assert stream_seed(seed, stream) == expected


def test_streams_of_one_seed_are_distinct_63_bit_seeds() -> None:
    streams = [INIT_STREAM, FIXED_NOISE_STREAM, EVAL_NOISE_STREAM, TOY_INIT, TOY_BATCHES]
    seeds = [stream_seed(11, stream) for stream in streams]
    assert len(set(seeds)) == len(seeds)
    assert all(0 <= s < 2**63 for s in seeds)
    assert stream_seed(11, INIT_STREAM) != stream_seed(12, INIT_STREAM)
    assert np.random.default_rng(seeds[0]).random() != np.random.default_rng(seeds[1]).random()
