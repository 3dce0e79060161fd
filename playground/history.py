"""Keeping a long training history small: the one thinning rule of the course.

A history (a job's loss points, the 1-D stepper's entries, the curves a figure draws) grows by one
point per step. Two operations keep it bounded, each keeping the newest point:
`thinned_indices` picks at most `limit` evenly strided points (for drawing or sending), and
`halve_older` drops every other point before the newest `recent` (for keeping).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TypeVar

import numpy as np

T = TypeVar("T")


def thinned_indices(count: int, limit: int) -> np.ndarray:
    """Indices of at most ~`limit` of `count` points, evenly strided from the first, always
    ending at the newest (count - 1)."""
    stride = max(1, math.ceil(count / limit))
    index = np.arange(0, count, stride)
    return index if count == 0 or index[-1] == count - 1 else np.append(index, count - 1)


def thin(points: Sequence[T], limit: int) -> tuple[T, ...]:
    """At most ~`limit` of `points`, evenly strided, always keeping the newest."""
    return tuple(points[i] for i in thinned_indices(len(points), limit))


def halve_older(points: list[T], recent: int) -> list[T]:
    """`points` with every other point before the newest `recent` dropped (the first kept)."""
    older = max(0, len(points) - recent)
    return points[:older:2] + points[older:]


__all__ = ["halve_older", "thin", "thinned_indices"]
