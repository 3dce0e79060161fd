"""The MNIST page explains its numbers: FID and IS of the shipped generator taken apart on a press
(the parts shown are what the metric code computes), and a job's card says when D rates the fakes
above the real digits."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest

from playground import shipped
from playground.metrics.evaluator import load_evaluator
from playground.mnist_numbers import numbers_of
from tests.app.conftest import live_charts, open_page, press


def test_fid_and_is_are_taken_apart_on_a_press() -> None:
    at = open_page("mnist_gan.py")
    assert not at.exception
    before = " ".join(m.value for m in at.markdown)
    assert "FID (Fréchet distance)" not in before  # nothing scored before the press
    charts = len(live_charts(at))
    press(at, "numbers.take_apart.dcgan")
    shown = " ".join(m.value for m in at.markdown)
    model = shipped.load("dcgan")
    expected = numbers_of(model.sampler, model.conditional, load_evaluator())
    fid = expected.fid
    assert f"{fid.mean_term:.1f} + {fid.spread_term:.1f} = {fid.total:.1f}" in shown
    assert f"= **{expected.inception.score:.2f}**" in shown
    assert len(live_charts(at)) == charts + 2  # the two pictures
    # Scored once per file version: another visit shows it without a press.
    again = open_page("mnist_gan.py")
    assert f"= {fid.total:.1f}" in " ".join(m.value for m in again.markdown)


def phase_script() -> None:
    from playground.gan import HistoryPoint
    from playground.ui.numbers import phase_note

    points = [(100, 0.55, 0.35), (200, 0.40, 0.62), (300, 0.38, 0.70), (400, 0.60, 0.45)]
    phase_note([HistoryPoint(s, 0.0, 0.0, 1.0, 1.0, r, f) for s, r, f in points])
    phase_note([HistoryPoint(s, 0.0, 0.0, 1.0, 1.0, r, f) for s, r, f in points[:3]])
    phase_note([HistoryPoint(100, 0.0, 0.0, 1.0, 1.0, 0.7, 0.3)])


def test_a_job_card_explains_when_d_rates_the_fakes_above_the_real_digits() -> None:
    at = AppTest.from_function(phase_script, default_timeout=30).run()
    assert not at.exception
    notes = [i.value for i in at.info]
    assert len(notes) == 2  # the third history never had fakes above real
    assert notes[0].startswith("**From step 200 to 300 D rates the fakes above the real digits")
    assert "D(G(z)) = 0.70 against D(x) = 0.38" in notes[0]
    assert notes[1].startswith("**Right now (since step 200)")
