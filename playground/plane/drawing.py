"""A distribution the student draws: a fine grid of candidate points on a canvas; the points a
student selects (click, box or lasso) become the drawn data set, each later blurred by mode_std
when sampled (`playground.plane.data`)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import numpy as np

from playground.plane.settings import DRAWN_LIMIT, MAX_DRAWN, Point

CANDIDATE_SPACING = 0.25
"""Distance between neighbouring candidate points (a 41 x 41 grid over [-5, 5]^2)."""


def candidate_points(limit: float = DRAWN_LIMIT, spacing: float = CANDIDATE_SPACING) -> np.ndarray:
    """The canvas's candidate points, shape (n, 2), on a square grid over [-limit, limit]^2."""
    axis = np.round(np.arange(-limit, limit + spacing / 2, spacing), 2)
    xs, ys = np.meshgrid(axis, axis)
    return np.stack([xs.ravel(), ys.ravel()], axis=1)


def drawn_points(selected: Iterable[Mapping[str, object]]) -> tuple[Point, ...]:
    """The drawn set from a chart's selected points (dicts with "x" and "y"): rounded to two
    decimals as a link writes them, inside the canvas, each once, in order, at most MAX_DRAWN."""
    points: dict[Point, None] = {}
    for point in selected:
        x, y = point.get("x"), point.get("y")
        if not isinstance(x, int | float) or not isinstance(y, int | float):
            continue
        rounded = (round(float(x), 2), round(float(y), 2))
        if all(np.isfinite(rounded)) and max(map(abs, rounded)) <= DRAWN_LIMIT:
            points[rounded] = None
    return tuple(points)[:MAX_DRAWN]


__all__ = ["CANDIDATE_SPACING", "candidate_points", "drawn_points"]
