"""First render of every page against the 2 s budget, as a student meets it on a started server.

Run: python bench/bench_pages.py [--repeats 3]

Each page is measured in its own fresh process under AppTest: the server's one-off imports
(Home's warm-up) finish first and are reported apart; then "first visit" is the page's first run
in that process (its models loaded and its caches filled: what the first student of a cohort
waits for) and "next student" is the first run of the page in a new session afterwards (the
shared caches warm). The failure-modes page trains nothing until Run is pressed. Prints one line
per page with the ratio to the budget.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BUDGET_S = 2.0
PAGES = (
    "bce_loss.py",
    "gaussian_gan.py",
    "mnist_gan.py",
    "vae_vs_gan.py",
    "failure_modes.py",
    "saddle_point.py",
    "batch_norm.py",
    "latent_space.py",
    "gan_2d.py",
)


def measure(page: str) -> dict[str, float]:
    """In this process: the warm-up imports, then two sessions' first run of `page`."""
    from streamlit.testing.v1 import AppTest

    entry = str(ROOT / "playground" / "Home.py")
    started = time.perf_counter()
    home = AppTest.from_file(entry, default_timeout=120)
    home.run()
    from playground.ui.warmup import start_warm_up

    start_warm_up().join()
    imports = time.perf_counter() - started
    times = []
    for _ in range(2):
        at = AppTest.from_file(entry, default_timeout=120)
        at.run()
        at.switch_page(f"../pages/{page}")
        started = time.perf_counter()
        at.run()
        times.append(time.perf_counter() - started)
        if at.exception:
            raise RuntimeError(f"{page}: {at.exception[0].value}")
    return {"imports": imports, "first": times[0], "next": times[1]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3, help="fresh processes per page")
    parser.add_argument("--page", help=argparse.SUPPRESS)  # internal: measure in this process
    args = parser.parse_args()
    if args.page:
        print(json.dumps(measure(args.page)))
        return
    print(f"first render of each page (median of {args.repeats} fresh processes), budget 2 s")
    for page in PAGES:
        runs = []
        for _ in range(args.repeats):
            out = subprocess.run(
                [sys.executable, __file__, "--page", page],
                check=True,
                capture_output=True,
                text=True,
                cwd=ROOT,
            ).stdout
            runs.append(json.loads(out.strip().splitlines()[-1]))
        first = statistics.median(r["first"] for r in runs)
        nxt = statistics.median(r["next"] for r in runs)
        imports = statistics.median(r["imports"] for r in runs)
        verdict = "meets" if first <= BUDGET_S else "misses"
        print(
            f"{page:18s} first visit {first * 1000:6.0f} ms ({first / BUDGET_S:.2f}x budget, "
            f"{verdict}); next student {nxt * 1000:5.0f} ms; one-off imports {imports:.1f} s"
        )


if __name__ == "__main__":
    main()
