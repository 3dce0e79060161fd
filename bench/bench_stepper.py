"""Time one button press of the 1-D GAN page: one update plus every figure rebuilt (budget 50 ms).

Run: python bench/bench_stepper.py [--presses 200] [--history 300] [--costs]
A press is what the page does server-side after a click: the update (D step, G step or k D + 1 G,
each with its history entry, snapshot and read-out), the history curves, and the six figures.
Also reported: the same plus turning each figure into the JSON its live chart ships.
--costs: the measured time of one "Run N steps" iteration at several settings beside the cost
model that caps a Run press (`playground.toy.iteration_seconds`), with their ratio.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Callable
from dataclasses import replace

from playground.figures.toy import all_figures
from playground.toy import ToyGAN, ToySettings, iteration_seconds, run_limit
from playground.ui.live_chart import figure_json

BUDGET_MS = 50.0


def press_and_draw(gan: ToyGAN, update: Callable[[], object]) -> dict:
    """One click: the update, then the read-out, the curves and all figures."""
    update()
    return all_figures(gan.readout(), gan.curves())


def ship(figures: dict) -> None:
    """What the page's live charts do with each figure before it leaves the server."""
    for fig in figures.values():
        figure_json(fig)


COST_SETTINGS = {
    "default": {},
    "batch 1024": {"batch_size": 1024},
    "widths 128": {"g_hidden": 128, "d_hidden": 128},
    "k 20": {"k_d": 20},
    "tiny": {"g_hidden": 2, "d_hidden": 2, "batch_size": 1},
    "batch 1024, widths 128, k 5": {
        "batch_size": 1024,
        "g_hidden": 128,
        "d_hidden": 128,
        "k_d": 5,
        "noise_dim": 8,
    },
}


def costs() -> None:
    """Measured seconds per Run iteration beside the cost model's estimate."""
    print(f"{'settings':30} {'measured':>10} {'model':>10} {'ratio':>6} {'N cap':>6}")
    for name, changes in COST_SETTINGS.items():
        settings = replace(ToySettings(), **changes)
        gan = ToyGAN(settings)
        gan.run(3)
        n = max(5, int(0.5 / iteration_seconds(settings)))
        started = time.perf_counter()
        gan.run(n)
        measured = (time.perf_counter() - started) / n
        model = iteration_seconds(settings)
        print(
            f"{name:30} {measured * 1e3:8.2f}ms {model * 1e3:8.2f}ms "
            f"{measured / model:6.2f} {run_limit(settings):6d}"
        )


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--presses", type=int, default=200)
    parser.add_argument("--history", type=int, default=300, help="steps taken before timing")
    parser.add_argument("--costs", action="store_true", help="the Run cost model vs measured")
    args = parser.parse_args()
    if args.costs:
        costs()
        return

    gan = ToyGAN(ToySettings())
    gan.run(args.history)  # a realistic history: curves with hundreds of points
    updates = [gan.d_step, gan.g_step, gan.step]
    press_ms, shipped_ms = [], []
    for i in range(args.presses):
        started = time.perf_counter()
        figures = press_and_draw(gan, updates[i % len(updates)])
        press_ms.append((time.perf_counter() - started) * 1e3)
        ship(figures)
        shipped_ms.append((time.perf_counter() - started) * 1e3)

    median = statistics.median(press_ms)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(
        f"{args.presses} presses (D, G, 1 D + 1 G in turn) after {args.history} steps; load average {load:.1f}"
    )
    print(
        f"press = update + read-out + 6 figures: median {median:.1f} ms, p90 {percentile(press_ms, 0.9):.1f} ms; "
        f"budget {BUDGET_MS:.0f} ms -> {BUDGET_MS / median:.1f}x headroom"
    )
    print(
        f"press + chart JSON: median {statistics.median(shipped_ms):.1f} ms, "
        f"p90 {percentile(shipped_ms, 0.9):.1f} ms"
    )


if __name__ == "__main__":
    main()
