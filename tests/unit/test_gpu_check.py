"""bench/gpu_check.sh, the one command for a GPU machine, run here as CI runs it: a dry run on
the CPU with tiny sizes, so that its steps cannot rot between two visits to a GPU."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT

SCRIPT = ROOT / "bench" / "gpu_check.sh"


def gpu_check(out: Path, python: str = sys.executable, timeout: float = 900):
    return subprocess.run(
        ["bash", str(SCRIPT), "--dry-run", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, "PYTHON": python},
    )


@pytest.mark.slow
def test_a_dry_run_runs_every_step_on_the_cpu_and_writes_its_results(tmp_path: Path) -> None:
    done = gpu_check(tmp_path / "out")
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    out = tmp_path / "out"
    summary = (out / "summary.txt").read_text()
    assert "DRY RUN" in summary and summary.rstrip().endswith("every step passed")
    assert "cuda tests: ok" in summary and "skipped" in (out / "cuda_tests.txt").read_text()
    assert "engine/plain" in summary  # bench_train's ratio line
    for executor in ("local", "threads"):
        assert f"gpu: executor {executor}: ratio" in summary
    assert done.stdout.rstrip().endswith("every step passed")  # and it was printed


def test_without_pytest_the_benches_still_run_and_the_tests_are_said_skipped(
    tmp_path: Path,
) -> None:
    """A training machine may lack pytest: the script says so and goes on (benches stubbed)."""
    python = tmp_path / "python"
    python.write_text(
        "#!/usr/bin/env bash\n"
        'if [ "$1" = "-c" ] && [[ "$2" == *"import pytest"* ]]; then exit 1; fi\n'
        'if [[ "$1" == bench/* ]]; then echo "median: ran $*"; '
        'echo "gpu: executor stub: ratio 1.00x"; exit 0; fi\n'
        f'exec {sys.executable} "$@"\n'
    )
    python.chmod(0o755)
    done = gpu_check(tmp_path / "out", python=str(python), timeout=120)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    summary = (tmp_path / "out" / "summary.txt").read_text()
    assert "cuda tests: skipped: pytest is not installed on this machine" in summary
    assert (
        "median: ran bench/bench_train.py --device cpu"
        in (tmp_path / "out" / "bench_train.txt").read_text()
    )
    assert summary.count("4 jobs vs 1") == 2 and "every step passed" in summary


def test_it_needs_an_output_folder_and_refuses_a_full_run_without_a_gpu(tmp_path: Path) -> None:
    usage = subprocess.run(["bash", str(SCRIPT)], cwd=ROOT, capture_output=True, text=True)
    assert usage.returncode == 2 and "usage" in usage.stderr
    full = subprocess.run(
        ["bash", str(SCRIPT), str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHON": sys.executable, "CUDA_VISIBLE_DEVICES": ""},
        timeout=120,
    )
    assert full.returncode == 1 and "no CUDA GPU" in full.stdout
