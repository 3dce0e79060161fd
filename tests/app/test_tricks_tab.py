"""The failure-modes page's Tricks tab: the shipped table of the default seeds shows at once, with
the published numbers beside it; other seeds are measured with a progress bar, once per server."""

from __future__ import annotations

import threading
from dataclasses import replace

import pytest

from playground.failures import TRICK_PRESETS, measure_tricks, shipped_tricks_table
from playground.ui import tricks_tab
from playground.ui.tricks_tab import TableRuns
from tests.app.conftest import live_charts, open_page

PAGE = "failure_modes.py"


def table(at) -> dict[str, list]:
    """The tab's table, column by column."""
    frame = at.dataframe[0].value
    return {name: list(frame[name]) for name in frame.columns}


def test_the_shipped_table_shows_at_once_beside_the_published_numbers(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def no_measuring(*args: object, **kwargs: object) -> None:
        raise AssertionError("the default seeds were measured instead of shown")

    monkeypatch.setattr(tricks_tab, "measure_tricks", no_measuring)
    at = open_page(PAGE)
    assert not at.exception, [e.value for e in at.exception]
    shipped = shipped_tricks_table()
    shown = table(at)
    assert shown["trick"] == [p.title for p in TRICK_PRESETS]
    assert shown["modes covered (mean)"] == [
        round(shipped[p.key].mean_modes, 2) for p in TRICK_PRESETS
    ]
    text = " ".join(m.value for m in at.markdown)
    assert "unrolled GANs **7.6**" in text and "PacGAN2 **7.9**" in text
    assert "**What these seeds show.**" in text  # read from the table's own numbers
    chart = next(c for c in live_charts(at) if c["layout"]["title"]["text"].startswith("Modes"))
    assert len(chart["data"][1]["y"]) == 10 * len(TRICK_PRESETS)  # one dot per seed and trick
    assert not at.get("progress")


def test_other_seeds_are_measured_with_a_progress_bar_and_kept(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    short = tuple(replace(p, iterations=8) for p in TRICK_PRESETS[:2])
    runs = TableRuns(lambda: {}, short, threading.BoundedSemaphore(1))
    monkeypatch.setattr(tricks_tab, "table_runs", lambda: runs)
    at = open_page(PAGE)
    assert at.info[-1].value.startswith("Press **Measure**")  # nothing shipped: nothing shown
    at.number_input(key=tricks_tab.FIRST_SEED).set_value(40)
    at.number_input(key=tricks_tab.SEED_COUNT).set_value(2)
    at.button(key=tricks_tab.MEASURE).click().run(timeout=120)
    assert not at.exception, [e.value for e in at.exception]
    expected = measure_tricks([40, 41], short)
    assert table(at)["modes covered (mean)"] == [round(r.mean_modes, 2) for r in expected]
    assert runs.ready((40, 41)) == expected  # kept for the next session that asks
