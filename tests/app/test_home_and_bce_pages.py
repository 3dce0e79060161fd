"""Home and BCE pages under AppTest: they run, and the BCE widgets change the numbers shown."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from tests.app.conftest import open_page


def metric(at, label: str) -> str:
    return next(m.value for m in at.metric if m.label == label)


def test_home_renders_the_lesson_and_a_link_to_every_page() -> None:
    at = open_page()
    assert not at.exception
    assert at.title[0].value == "GAN Playground"
    text = " ".join(m.value for m in at.markdown)
    assert "P(Y | X)" in " ".join(s.value for s in at.subheader) and "forger" in text


def test_bce_page_runs_and_shows_minus_log_of_the_prediction() -> None:
    at = open_page("bce_loss.py")
    assert not at.exception
    assert float(metric(at, "BCE loss")) == pytest.approx(-math.log(0.3), abs=1e-4)


def test_bce_slider_and_label_change_the_loss() -> None:
    at = open_page("bce_loss.py")
    at.slider(key="bce_prediction").set_value(0.8).run()
    assert float(metric(at, "BCE loss")) == pytest.approx(-math.log(0.8), abs=1e-4)
    at.button_group(key="bce_label").set_value(0).run()
    assert float(metric(at, "BCE loss")) == pytest.approx(-math.log(0.2), abs=1e-4)


def test_minibatch_mean_equals_torch_bce() -> None:
    at = open_page("bce_loss.py")
    labels = torch.tensor([1.0, 1.0, 0.0, 0.0])
    preds = torch.tensor([0.9, 0.6, 0.2, 0.7])
    expected = F.binary_cross_entropy(preds.double(), labels.double()).item()
    assert float(metric(at, "mean BCE of the batch")) == pytest.approx(expected, abs=1e-4)


def test_generator_gradient_metrics_follow_the_slider() -> None:
    at = open_page("bce_loss.py")
    at.select_slider(key="bce_d_fake").set_value(0.001).run()
    assert float(metric(at, "minimax |gradient|")) == pytest.approx(0.001, abs=1e-4)
    assert float(metric(at, "non-saturating |gradient|")) == pytest.approx(0.999, abs=1e-4)


def test_optimal_d_value_is_log4_when_generator_matches_data() -> None:
    at = open_page("bce_loss.py")
    at.slider(key="dstar_g_mean").set_value(4.0)
    at.slider(key="dstar_g_std").set_value(1.25).run()
    assert float(metric(at, "D's loss at D* (log 4 − 2·JS)")) == pytest.approx(
        math.log(4), abs=1e-3
    )
    assert float(metric(at, "JS(p_data ‖ p_g)")) == pytest.approx(0.0, abs=1e-3)


def test_opening_the_app_starts_the_background_import_once(monkeypatch) -> None:
    import importlib
    import threading

    from playground.ui import warmup

    imported: list[str] = []
    done = threading.Event()
    real_import = importlib.import_module

    def record(name: str):
        imported.append(name)
        if len(imported) == len(warmup.HEAVY_MODULES):
            done.set()
        return real_import(name)

    monkeypatch.setattr(warmup.importlib, "import_module", record)
    warmup.start_warm_up.clear()
    at = open_page()
    open_page("bce_loss.py")  # a second session reuses the process-wide thread
    assert not at.exception
    assert done.wait(timeout=120)
    assert imported == list(warmup.HEAVY_MODULES)


class RecordingThread:
    """Stands in for the warm-up thread: records whether a page waited for it."""

    def __init__(self) -> None:
        self.joins = 0

    def join(self) -> None:
        self.joins += 1


def test_pages_other_than_home_wait_for_the_warm_up_imports(monkeypatch) -> None:
    # A page that ran while the warm-up thread was half-way through `import pandas` saw a partly
    # initialised pandas through plotly and crashed; Home.py must join the thread first.
    import playground.ui.warmup as warmup

    thread = RecordingThread()
    monkeypatch.setattr(warmup, "start_warm_up", lambda: thread)
    at = open_page()
    assert not at.exception and thread.joins == 0  # Home itself never waits
    at.switch_page("../pages/bce_loss.py").run()
    assert not at.exception and thread.joins == 1


def test_a_number_that_rounds_to_zero_is_shown_as_zero_not_minus_zero() -> None:
    at = open_page("bce_loss.py")
    at.slider(key="bce_prediction").set_value(1.0).run()  # y = 1, ŷ = 1: BCE = -log 1 = -0.0
    assert metric(at, "BCE loss") == "0.0000"
    at.slider(key="dstar_g_mean").set_value(4.0)
    at.slider(key="dstar_g_std").set_value(1.25).run()  # JS of two equal densities
    shown = [metric(at, "JS(p_data ‖ p_g)"), metric(at, "D's loss at D* (log 4 − 2·JS)")]
    assert not any(value.startswith("-0.0000") for value in shown), shown
    assert all("-0.0000" not in m.value for m in at.metric), [m.value for m in at.metric]


def test_every_page_names_the_1d_data_by_its_standard_deviation() -> None:
    texts = []
    for page in (None, "bce_loss.py", "gaussian_gan.py"):
        at = open_page(page)
        texts += [m.value for m in at.markdown] + [c.value for c in at.caption]
    said = " ".join(texts)
    assert "N(4, 1.25²)" in said and "std 1.25" in said
    assert "N(4, 1.25)" not in said, "N(4, 1.25) reads as variance 1.25"
