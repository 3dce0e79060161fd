"""The MNIST page's ablation section: the shipped baseline beside each broken rule with no training,
a new pick changes what is shown, and a bad value is explained, never a traceback."""

from __future__ import annotations

import json

from streamlit.testing.v1 import AppTest

from playground.ablations import LABELS
from tests.app.conftest import open_page

PAGE = "mnist_gan.py"
PICKER = "ablations_picker"


def comparison(at: AppTest) -> tuple[str, list[str], list[str]]:
    """The section's sentence, its metrics table's rows and its loss chart's curve names."""
    sentence = next(m.value for m in at.markdown if "Here the FID" in m.value)
    tables = [t.value for t in at.dataframe if "FID ↓" in t.value.columns]
    assert len(tables) == 1
    chart = next(c for c in at.get("plotly_chart") if "side by side" in c.proto.spec)
    names = [trace["name"] for trace in json.loads(chart.proto.spec)["data"]]
    return sentence, list(tables[0].index), names


def test_the_shipped_comparison_renders_and_follows_the_pick() -> None:
    at = open_page(PAGE)
    assert not at.exception, [e.value for e in at.exception]
    assert at.selectbox(key=PICKER).value == "no_batch_norm"
    sentence, rows, names = comparison(at)
    assert sentence.startswith("Batch norm off: batch normalization")
    assert rows == [LABELS["none"], LABELS["no_batch_norm"]]
    assert "D loss · batch norm off" in names and "D loss · baseline DCGAN" in names

    at.selectbox(key=PICKER).set_value("fully_connected_g").run()
    assert not at.exception, [e.value for e in at.exception]
    sentence, rows, names = comparison(at)
    assert sentence.startswith("Fully connected G: transposed convolutions")
    assert rows == [LABELS["none"], LABELS["fully_connected_g"]]
    assert "G loss · fully connected G" in names and "G loss · batch norm off" not in names


def test_a_bad_pick_is_explained_and_replaced() -> None:
    at = open_page(PAGE)
    at.session_state["ablations.pick"] = "dropout"
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert any("ablation must be one of" in w.value and "'dropout'" in w.value for w in at.warning)
    sentence, _, _ = comparison(at)
    assert sentence.startswith("Batch norm off")
