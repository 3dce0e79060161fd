"""Time one evaluation of 2,000 images with the shipped classifier (budget: 1.5 s on 2 CPU cores).

Run: python bench/bench_metrics.py [--threads 2] [--repeats 5] [--path FILE]
Images are 2,000 random MNIST test digits when the local cache has them, else seeded noise
(the cost does not depend on what the images show). The seed-0 draw happens to be the shipped
file's held-out set, so with real digits the printed metrics equal its "real data" row.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import torch

from playground.data import DataUnavailable, load_mnist
from playground.metrics import DEFAULT_CLASSIFIER_PATH, DEFAULT_SAMPLES, load_evaluator
from playground.pixels import uint8_to_model

BUDGET_S = 1.5


def bench_images(n: int) -> tuple[torch.Tensor, torch.Tensor, str]:
    """n random MNIST test digits in [-1, 1] with their labels if cached, else seeded noise."""
    g = torch.Generator().manual_seed(0)
    try:
        mnist = load_mnist(fetch=False)
    except DataUnavailable:
        noise = torch.rand(n, 1, 28, 28, generator=g) * 2 - 1
        return noise, torch.arange(n) % 10, "uniform-noise images"
    pick = torch.randperm(len(mnist.test_labels), generator=g)[:n]
    return uint8_to_model(mnist.test_images[pick]), mnist.test_labels[pick], "MNIST test digits"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--n", type=int, default=DEFAULT_SAMPLES)
    parser.add_argument("--path", type=Path, default=DEFAULT_CLASSIFIER_PATH)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    started = time.perf_counter()
    evaluator = load_evaluator(args.path)
    load_s = time.perf_counter() - started
    images, labels, source = bench_images(args.n)

    started = time.perf_counter()
    evaluator.evaluate(images, labels)  # the first call also pays one-off kernel setup
    first_s = time.perf_counter() - started
    times = []
    for _ in range(args.repeats):
        started = time.perf_counter()
        metrics = evaluator.evaluate(images, labels)
        times.append(time.perf_counter() - started)
    median = statistics.median(times)
    print(f"load_evaluator: {load_s:.2f} s; first evaluate: {first_s:.3f} s")
    print(
        f"evaluate {args.n} {source} on {args.threads} threads: median {median:.3f} s, "
        f"min {min(times):.3f} s over {args.repeats} runs; budget {BUDGET_S} s "
        f"-> {BUDGET_S / median:.1f}x headroom"
    )
    print("metrics:", {k: v for k, v in metrics.as_dict().items() if k != "class_shares"})


if __name__ == "__main__":
    main()
