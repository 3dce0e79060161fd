"""The BCE page's figures: what each axis says is what it shows."""

from __future__ import annotations

import numpy as np

from playground.figures import bce as figures
from playground.losses import gaussian_pdf, optimal_discriminator


def test_the_optimal_discriminator_figure_titles_each_axis_by_what_it_shows() -> None:
    x = np.linspace(-6.0, 12.0, 200)
    p_data, p_g = gaussian_pdf(x, 4.0, 1.25), gaussian_pdf(x, 1.0, 1.0)
    fig = figures.optimal_discriminator_figure(x, p_data, p_g, optimal_discriminator(p_data, p_g))
    assert fig.layout.yaxis.title.text == "density"
    assert fig.layout.yaxis2.title.text == "D*(x)"
    on_the_right = {trace.name for trace in fig.data if trace.yaxis == "y2"}
    assert "D*(x)" in on_the_right and "p_data(x)" not in on_the_right
