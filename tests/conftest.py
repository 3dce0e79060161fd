"""Shared test set-up: tests run on the CPU with few threads, never touching the network."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parents[1]

torch.set_num_threads(min(2, os.cpu_count() or 1))


@pytest.fixture(autouse=True)
def _isolated_dirs(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Runs and caches of a test go to a temporary folder, never the user's."""
    monkeypatch.setenv("PLAYGROUND_RUNS", str(tmp_path_factory.mktemp("runs")))
