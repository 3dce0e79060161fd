"""The MNIST page opens the networks up: both diagrams and the layer table, for the model picked."""

from __future__ import annotations

from tests.app.conftest import open_page


def test_the_mnist_page_draws_both_networks_and_their_layers() -> None:
    at = open_page("mnist_gan.py")
    charts = at.get("graphviz_chart")
    assert len(charts) == 2
    sources = [c.proto.spec for c in charts]
    assert "Generator G" in sources[0] and "1×28×28" in sources[0]
    assert "Discriminator D" in sources[1] and "logit" in sources[1]
    tables = [t.value for t in at.dataframe if "DCGAN rule" in t.value.columns]
    assert len(tables) == 1
    table = tables[0]
    assert set(table["network"]) == {"G", "D"}
    assert table["layer"].iloc[0] == "noise z"
    assert "tanh at the generator's output" in " ".join(table["DCGAN rule"])
