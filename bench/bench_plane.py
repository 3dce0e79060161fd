"""Time one button press of the 2-D GAN page: one update plus every figure rebuilt and shipped
(budget 50 ms), with the coarse grids a press draws beside the fine ones of a sharp picture.

Run: python bench/bench_plane.py [--presses 100] [--history 300]
A press is what the page does server-side after a click: the update (D step, G step or k D + 1 G,
with its history entry, numbers and snapshot), the picture (D's heatmap, G's manifold, the
arrows), the history charts, and each figure turned into the JSON its live chart ships.
"""

from __future__ import annotations

import argparse
import statistics
import time

from playground.figures import plane as figures
from playground.plane import PlaneSettings
from playground.plane.readout import COARSE, FINE, Resolution
from playground.plane.stepper import PlaneGAN
from playground.toy import single_threaded
from playground.ui.live_chart import figure_json

BUDGET_MS = 50.0


def press(gan: PlaneGAN, action: int, resolution: Resolution) -> None:
    """One click: an update, then every figure built and turned into JSON."""
    (gan.d_step, gan.g_step, gan.step)[action % 3]()
    curves = gan.curves()
    shown = [
        figures.plane_figure(gan.picture(resolution)),
        figures.loss_figure(curves),
        figures.d_output_figure(curves),
        figures.divergence_figure(curves),
        figures.coverage_figure(curves, 8),
    ]
    for figure in shown:
        figure_json(figure)


def measure(presses: int, history: int, resolution: Resolution) -> list[float]:
    gan = PlaneGAN(PlaneSettings())
    gan.run(min(history, 500))
    times = []
    for action in range(presses):
        start = time.perf_counter()
        press(gan, action, resolution)
        times.append((time.perf_counter() - start) * 1000)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--presses", type=int, default=100)
    parser.add_argument("--history", type=int, default=300)
    args = parser.parse_args()
    with single_threaded():
        for name, resolution in (("coarse (a press)", COARSE), ("fine (sharp picture)", FINE)):
            times = sorted(measure(args.presses, args.history, resolution))
            median, p90 = statistics.median(times), times[int(0.9 * len(times))]
            print(f"{name:22s} median {median:6.1f} ms  p90 {p90:6.1f} ms  "
                  f"budget {BUDGET_MS:.0f} ms  median/budget {median / BUDGET_MS:.2f}")  # fmt: skip


if __name__ == "__main__":
    main()
