"""The batch-norm page: its tables, charts and torch gaps are the core's, and its controls change
them."""

from __future__ import annotations

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from playground.batchnorm import BatchNormDemo, GeneratorProbe, probe_generator, run_demo
from playground.figures import batchnorm as figures
from tests.app.conftest import live_charts, numbers
from tests.conftest import ROOT

PAGE = ROOT / "pages" / "batch_norm.py"
CHARTS = ("stages", "running", "layer_scale", "histogram", "gradients")


@pytest.fixture
def at() -> AppTest:
    app = AppTest.from_file(str(PAGE), default_timeout=60)
    app.run()
    assert not app.exception
    return app


def charts(at: AppTest) -> dict[str, dict]:
    return dict(zip(CHARTS, live_charts(at), strict=True))


def metric(at: AppTest, label: str) -> str:
    return next(m.value for m in at.metric if m.label == label)


def test_the_small_layer_is_written_out_and_agrees_with_torch(at: AppTest) -> None:
    run = run_demo(BatchNormDemo())
    inputs, normalised, train, evaluation = (at.dataframe[i].value for i in range(4))
    assert np.allclose(inputs.to_numpy(), figures.channel_table(run.inputs, 0).to_numpy())
    assert np.allclose(normalised.to_numpy(), np.round(run.normalised[:, 0].reshape(4, 4), 3))
    assert np.allclose(evaluation.to_numpy(), np.round(run.eval_outputs[:, 0].reshape(4, 4), 3))
    assert train.shape == (4, 4)
    said = " ".join(m.value for m in at.markdown)
    assert f"μ = {run.mean[0]:.4f}, σ² = {run.var[0]:.4f}" in said
    for label in ("max |ours − torch|, train mode", "… running statistics", "… eval mode"):
        assert float(metric(at, label)) < 1e-12
    stages = charts(at)["stages"]["data"]
    assert np.allclose(numbers(stages[0]["x"]), run.inputs[:, 0].ravel())


def test_the_students_knobs_reshape_the_tensor(at: AppTest) -> None:
    at.slider(key="bn_batch_size").set_value(8)
    at.slider(key="bn_gamma").set_value(2.0)
    at.slider(key="bn_beta").set_value(-1.0).run()
    assert not at.exception
    run = run_demo(BatchNormDemo(batch_size=8, gamma=2.0, beta=-1.0))
    train = at.dataframe[2].value.to_numpy()
    assert train.shape == (8, 4)
    assert np.allclose(train, np.round(2.0 * run.normalised[:, 0] - 1.0, 3).reshape(8, 4))
    running = charts(at)["running"]["data"]
    assert np.allclose(numbers(running[1]["y"]), run.running_means[:, 0])


def test_the_generator_is_shown_with_and_without_batch_norm(at: AppTest) -> None:
    with_bn, without = (probe_generator(GeneratorProbe(), b) for b in (True, False))
    drawn = {t["name"]: t for t in charts(at)["layer_scale"]["data"] if "name" in t}
    assert np.allclose(numbers(drawn[figures.WITH_BN]["y"]), with_bn.stds)
    assert np.allclose(numbers(drawn[figures.WITHOUT_BN]["y"]), without.stds)
    spread = metric(at, f"spread of G's images, {figures.WITHOUT_BN}")
    assert spread == f"{without.sample_spread:.4f}"
    layer_table = at.dataframe[4].value
    assert list(layer_table.index) == list(with_bn.names)


def test_a_deeper_generator_and_another_layer_redraw_the_charts(at: AppTest) -> None:
    at.slider(key="bn_extra_layers").set_value(2).run()
    probe = GeneratorProbe(extra_layers=2)
    names = probe_generator(probe, True).names
    at.selectbox(key="bn_layer").set_value(names[3]).run()
    assert not at.exception
    without = probe_generator(probe, False)
    drawn = charts(at)
    assert len(numbers(drawn["layer_scale"]["data"][0]["y"])) == len(names)
    histogram = {t["name"]: t for t in drawn["histogram"]["data"]}
    assert np.allclose(numbers(histogram[figures.WITHOUT_BN]["x"]), without.values[3])
    assert names[3] in drawn["histogram"]["layout"]["title"]["text"]
