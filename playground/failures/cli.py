"""`python -m playground.failures ship`: run every lesson's presets from the default seed with
`run_preset` itself and write them (and a manifest entry) for the page."""

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


def ship(out: Path = SHIPPED_TRACES) -> tuple[Path, list[Trace]]:
    """Run every lesson's presets from SHIPPED_SEED with `run_preset` and write them to `out`."""
    started = time.perf_counter()
    traces = [
        run_preset(preset)
        for key in LESSONS
        for preset in lesson_for_seed(key, SHIPPED_SEED).presets
    ]
    facts = {
        "command": shlex.join(["python", "-m", "playground.failures", "ship", "--out", str(out)]),
        "seed": SHIPPED_SEED,
        "device": f"cpu ({platform.machine()}, 1 thread)",
        "wall_time_s": round(time.perf_counter() - started, 1),
        "versions": {"torch": torch.__version__, "numpy": np.__version__},
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m playground.failures")
    commands = parser.add_subparsers(dest="command", required=True)
    shipped = commands.add_parser(
        "ship", help="run every lesson's presets from the default seed and write them for the page"
    )
    shipped.add_argument(
        "--out", type=Path, default=SHIPPED_TRACES, help="where to write the runs (.safetensors)"
    )
    args = parser.parse_args(argv)
    path, traces = ship(args.out)
    print(f"wrote {path} ({path.stat().st_size / 2**20:.2f} MiB)")
    for trace in traces:
        print(f"  {trace.preset.key}: {verdict(trace)}")
    return 0
