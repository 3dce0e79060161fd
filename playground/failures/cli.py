"""`python -m playground.failures ship`: run every lesson's presets from the default seed with
`run_preset` itself and write them (and a manifest entry) for the page.
`python -m playground.failures tricks`: measure the tricks table over the default seeds (the
collapsing ring beside each training trick) and write it (and its manifest entry) for the page."""

from __future__ import annotations

import argparse
import platform
import shlex
import time
from pathlib import Path

import numpy as np
import torch

from playground.checkpoints import update_manifest
from playground.failures.lessons import LESSONS, lesson_for_seed
from playground.failures.presets import Trace, run_preset, verdict
from playground.failures.traces import SHIPPED_SEED, SHIPPED_TRACES, TRACES_KIND, save_traces
from playground.failures.tricks import (
    SHIPPED_TRICKS,
    TRICKS_SEEDS,
    TRICKS_TABLE_KIND,
    TrickResult,
    measure_tricks,
    save_tricks_table,
    table_facts,
)


def ship(out: Path = SHIPPED_TRACES) -> tuple[Path, list[Trace]]:
    """Run every lesson's presets from SHIPPED_SEED with `run_preset` and write them to `out`."""
    started = time.perf_counter()
    traces = [
        run_preset(preset)
        for key in LESSONS
        for preset in lesson_for_seed(key, SHIPPED_SEED).presets
    ]
    facts = {
        **_run_facts("ship", out, started),
        "seed": SHIPPED_SEED,
    }
    path = save_traces(out, traces, **facts)
    entry = {
        "file": path.name,
        "kind": TRACES_KIND,
        "bytes": path.stat().st_size,
        "presets": {trace.preset.key: verdict(trace) for trace in traces},
        **facts,
    }
    update_manifest(path.parent / "manifest.json", TRACES_KIND, entry)
    return path, traces


def ship_tricks(out: Path = SHIPPED_TRICKS, jobs: int = 1) -> tuple[Path, list[TrickResult]]:
    """Measure every trick over TRICKS_SEEDS with `run_preset` (in `jobs` processes) and write
    the table to `out`."""
    started = time.perf_counter()
    results = measure_tricks(TRICKS_SEEDS, jobs=jobs)
    facts = {**_run_facts("tricks", out, started, jobs), "seeds": list(TRICKS_SEEDS)}
    path = save_tricks_table(out, results, **facts)
    entry = {
        "file": path.name,
        "kind": TRICKS_TABLE_KIND,
        "bytes": path.stat().st_size,
        "rows": table_facts(results),
        **facts,
    }
    update_manifest(path.parent / "manifest.json", TRICKS_TABLE_KIND, entry)
    return path, results


def _run_facts(command: str, out: Path, started: float, jobs: int = 1) -> dict[str, object]:
    """The command that makes the file (its numbers do not depend on --jobs), where and how
    long it ran."""
    runs = "1 thread" if jobs == 1 else f"{jobs} processes of 1 thread"
    return {
        "command": shlex.join(["python", "-m", "playground.failures", command, "--out", str(out)]),
        "device": f"cpu ({platform.machine()}, {runs})",
        "wall_time_s": round(time.perf_counter() - started, 1),
        "versions": {"torch": torch.__version__, "numpy": np.__version__},
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m playground.failures")
    commands = parser.add_subparsers(dest="command", required=True)
    shipped = commands.add_parser(
        "ship", help="run every lesson's presets from the default seed and write them for the page"
    )
    shipped.add_argument(
        "--out", type=Path, default=SHIPPED_TRACES, help="where to write the runs (.safetensors)"
    )
    tricks = commands.add_parser(
        "tricks", help="measure the tricks table over the default seeds and write it for the page"
    )
    tricks.add_argument(
        "--out", type=Path, default=SHIPPED_TRICKS, help="where to write the table (.safetensors)"
    )
    tricks.add_argument(
        "--jobs", type=int, default=1, help="worker processes (the numbers do not depend on it)"
    )
    args = parser.parse_args(argv)
    if args.command == "tricks":
        path, results = ship_tricks(args.out, args.jobs)
        print(f"wrote {path}")
        for result in results:
            modes = " ".join(f"{m:.1f}" for m in result.modes)
            print(f"  {result.preset.key}: {result.mean_modes:.2f} modes on average ({modes})")
        return 0
    path, traces = ship(args.out)
    print(f"wrote {path} ({path.stat().st_size / 2**20:.2f} MiB)")
    for trace in traces:
        print(f"  {trace.preset.key}: {verdict(trace)}")
    return 0
