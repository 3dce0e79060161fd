"""A small class at once (bench/load.py, N = 5 for 20 s, one of them training a job, one real
browser beside them): every press is answered, and nothing on any page is an error."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT
from tests.e2e.conftest import chromium_executable

pytestmark = pytest.mark.e2e


def test_a_small_class_gets_every_press_answered_without_an_error(tmp_path: Path) -> None:
    if chromium_executable() is None:
        pytest.skip("the load test's browser student needs Debian's chromium")
    rows_file = tmp_path / "rows.json"
    command = [sys.executable, "bench/load.py", "--students", "5", "--jobs", "1",
               "--seconds", "20", "--json", str(rows_file)]  # fmt: skip
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    (row,) = json.loads(rows_file.read_text())
    assert row["errors"] == 0
    # five students pressing every 2-5 s for 20 s: at least three presses each
    assert row["presses"] >= 15, row
    assert row["browser_presses"] >= 2, row
    assert row["jobs_trained"] == 1, row
