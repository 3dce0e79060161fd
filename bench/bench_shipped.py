"""Time loading each shipped generator and drawing what the MNIST page shows (budget: 2 s on CPU).

Run: python bench/bench_shipped.py [--threads 2] [--repeats 5]
Each model is timed in a fresh Python process, as a server worker meets it: the imports, then
load_generator on trained_models/<model>.safetensors, then the page's pictures (sample grid and
latent interpolation). The budget covers load + pictures; the one-off imports are printed beside.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time

BUDGET_S = 2.0


def measure(model: str, threads: int) -> dict[str, float]:
    """Run in the child process: seconds for imports, load and pictures of one shipped model."""
    started = time.perf_counter()
    import torch

    from playground import shipped
    from playground.ui.jobs import generator_pictures

    torch.set_num_threads(threads)
    imported = time.perf_counter()
    loaded_model = shipped.load(model)
    loaded = time.perf_counter()
    pictures = generator_pictures(loaded_model, seed=0, digit=None)
    drawn = time.perf_counter()
    assert pictures.grid.size and pictures.interpolation.size
    return {"import": imported - started, "load": loaded - imported, "pictures": drawn - loaded}


def cold_run(model: str, threads: int) -> dict[str, float]:
    command = [sys.executable, __file__, "--child", model, "--threads", str(threads)]
    done = subprocess.run(command, capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--child", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(measure(args.child, args.threads)))
        return
    for model in ("dcgan", "cgan"):
        runs = [cold_run(model, args.threads) for _ in range(args.repeats)]
        median = {key: statistics.median(run[key] for run in runs) for key in runs[0]}
        total = median["load"] + median["pictures"]
        print(
            f"{model}: load {median['load']:.3f} s + pictures {median['pictures']:.3f} s = "
            f"{total:.3f} s (median of {args.repeats} fresh processes, {args.threads} threads; "
            f"imports {median['import']:.2f} s once per server); budget {BUDGET_S} s -> "
            f"{BUDGET_S / total:.1f}x headroom"
        )


if __name__ == "__main__":
    main()
