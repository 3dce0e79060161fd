"""One line, from the numbers, of what a press did: what D saw, how far the fakes moved and why."""

from __future__ import annotations

from playground.gan import StepRecord
from playground.losses import LOG4
from playground.toy.presses import Press
from playground.toy.readout import Measures
from playground.toy.settings import ToySettings


def explain_press(press: Press, settings: ToySettings) -> str:
    """One line, from the numbers, of what a press did (what D saw / how far the fakes moved)."""
    before, after = press.before.measures, press.after.measures
    record = press.after.record
    assert record is not None
    if press.label == "d":
        return _explain_d(record, before, after, settings)
    if press.label == "g":
        return _explain_g(record, before, after, settings)
    what = (
        f"{settings.k_d} D + 1 G"
        if press.count == 1
        else f"{press.count} × ({settings.k_d} D + 1 G)"
    )
    return (
        f"{what}: D loss {record.d_loss:.3f} (log 4 = {LOG4:.3f} at equilibrium), G loss {record.g_loss:.3f}; "
        f"fake mean {before.fake_mean:.2f} → {after.fake_mean:.2f} and std {before.fake_std:.2f} → "
        f"{after.fake_std:.2f} (data: mean {settings.real_mean:g}, std {settings.real_std:g}); "
        f"JS {before.js:.3f} → {after.js:.3f}."
    )


def _explain_d(record: StepRecord, before: Measures, after: Measures, settings: ToySettings) -> str:
    gap_before, gap_after = before.d_real - before.d_fake, after.d_real - after.d_fake
    verdict = "better" if gap_after > gap_before else "worse"
    return (
        f"D step {record.d_steps}: D saw {settings.batch_size} real and {settings.batch_size} fake "
        f"samples and rated them {record.d_real:.3f} and {record.d_fake:.3f} on average "
        f"(loss {record.d_loss:.3f}; log 4 = {LOG4:.3f} when it cannot tell). After the update, "
        f"mean D(real) {before.d_real:.3f} → {after.d_real:.3f} and mean D(fake) "
        f"{before.d_fake:.3f} → {after.d_fake:.3f}: D got {verdict} at telling them apart."
    )


def _explain_g(record: StepRecord, before: Measures, after: Measures, settings: ToySettings) -> str:
    moved = after.fake_mean - before.fake_mean
    toward = abs(after.fake_mean - settings.real_mean) < abs(before.fake_mean - settings.real_mean)
    side = "right" if before.push > 0 else "left"
    weak = ""
    if settings.g_loss == "minimax" and record.d_fake is not None and record.d_fake < 0.1:
        weak = f" (minimax loss: its gradient is D(G(z)) ≈ {record.d_fake:.3f}, almost no signal)"
    return (
        f"G step {record.g_steps}: the fakes' mean moved {before.fake_mean:.3f} → {after.fake_mean:.3f} "
        f"({moved:+.3f}, {'toward' if toward else 'away from'} the data mean {settings.real_mean:g}) "
        f"{_why_it_moved(moved, before, after, side)}{weak}; "
        f"mean D(fake) {before.d_fake:.3f} → {after.d_fake:.3f}, G loss {record.g_loss:.3f}."
    )


def _why_it_moved(moved: float, before: Measures, after: Measures, side: str) -> str:
    """Tie the fakes' movement to the arrows, honestly when the two disagree.

    G moves its weights, not each sample, so the fakes follow the arrows only on the whole: the
    mean can step against the average arrow while the spread does what the arrows ask.
    """
    arrows = f"the arrows −∂loss/∂x̃ pointed {side} on average ({before.push:+.3f})"
    if moved * before.push >= 0:
        return f"because {arrows}"
    return (
        f"although {arrows}: G changes its weights, not each sample, and this step mostly "
        f"reshaped the fakes (std {before.fake_std:.3f} → {after.fake_std:.3f})"
    )
