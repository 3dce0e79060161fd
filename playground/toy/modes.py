"""Modes covered, and why a smooth generator spreads mass between separated modes or drops one.

With one noise coordinate the exact generator is x = Q(F_z(z)) (`playground.toy.targets`). Its
slope is dx/dz = f_z(z) / p_data(x): small inside a mode, huge in the gap between two modes,
where p_data nearly vanishes, so the exact map nearly jumps. A network G that is smooth has a
largest slope S; to reach both sides of a gap of width W it must spend at least W / S of noise
crossing it, that is at least f_z · W / S of its fakes between the modes (where the data has
almost none). G can lower that share only by getting steeper, or by not crossing at all: then
one mode gets no fakes (G dropped it).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from statistics import NormalDist

import numpy as np

from playground.toy.readout import Readout, noise_pdf
from playground.toy.settings import ToySettings
from playground.toy.targets import MODE_REACH, Target, target_of

DROPPED_SHARE = 0.05
"""A mode holding less than this share of the fakes is dropped ("nearly empty")."""


@dataclass(frozen=True)
class Gap:
    """The stretch between two neighbouring modes, beyond MODE_REACH std of each."""

    low: float
    high: float

    @property
    def width(self) -> float:
        return self.high - self.low

    @property
    def middle(self) -> float:
        return 0.5 * (self.low + self.high)


@dataclass(frozen=True)
class ModeReport:
    """How the fakes share the target's modes, and the slopes that explain it.

    shares[i]: the fakes' share within MODE_REACH std of mode i (data_shares: the data's);
    between: the share outside every mode. The slopes (x per unit of z, noise_dim = 1 only, else
    NaN): the exact map's in the middle of a gap and at a mode's centre, and G's steepest one;
    least_between: the share a G with that steepest slope must put in the gaps it crosses.
    """

    shares: np.ndarray
    data_shares: np.ndarray
    between: float
    data_between: float
    exact_gap_slope: float
    exact_mode_slope: float
    g_slope: float
    least_between: float

    @property
    def dropped(self) -> tuple[int, ...]:
        """The modes holding less than DROPPED_SHARE of the fakes."""
        return tuple(int(i) for i in np.flatnonzero(self.shares < DROPPED_SHARE))


def gaps(target: Target) -> list[Gap]:
    """The gaps between neighbouring modes (empty for a target of fewer than two)."""
    modes = sorted(target.modes, key=lambda m: m.mean)
    return [
        Gap(a.mean + MODE_REACH * a.std, b.mean - MODE_REACH * b.std)
        for a, b in zip(modes, modes[1:], strict=False)
    ]


def exact_slope(settings: ToySettings, x: float) -> float:
    """dx/dz of the exact map x = Q(F_z(z)) where it passes through x: f_z(z) / p_data(x)."""
    target = target_of(settings)
    u = float(target.cdf(np.array([x]))[0])
    z = 2.0 * u - 1.0 if settings.noise == "uniform" else NormalDist().inv_cdf(u)
    density = float(target.pdf(np.array([x]))[0])
    return float(noise_pdf(settings, np.array([z]))[0]) / max(density, 1e-300)


def steepest_slope(noise: np.ndarray, x: np.ndarray) -> float:
    """The largest |dx/dz| of a map sampled at increasing z (finite differences)."""
    slopes = np.abs(np.diff(x) / np.diff(noise))
    finite = slopes[np.isfinite(slopes)]
    return float(finite.max()) if finite.size else math.nan


def least_between(readout: Readout, g_slope: float) -> float:
    """The share of fakes a G whose steepest slope is `g_slope` must put in the gaps it crosses
    (a gap counts when G's map reaches past both of its ends): f_z · width / slope per gap."""
    settings = readout.settings
    total = 0.0
    low, high = float(np.min(readout.map_fake)), float(np.max(readout.map_fake))
    for gap in gaps(target_of(settings)):
        if low > gap.low or high < gap.high:
            continue
        crossing = readout.map_noise[np.argmin(np.abs(readout.map_fake - gap.middle))]
        density = float(noise_pdf(settings, np.array([crossing]))[0])
        total += density * gap.width / max(g_slope, 1e-12)
    return min(total, 1.0)


def mode_report(readout: Readout, fakes: np.ndarray) -> ModeReport | None:
    """The modes of `readout`'s target as `fakes` cover them (None for a target of one mode)."""
    settings = readout.settings
    target = target_of(settings)
    if len(target.modes) < 2:
        return None
    shares, data_shares = target.mode_shares(fakes), target.data_mode_shares()
    slopes = (math.nan, math.nan, math.nan, math.nan)
    if settings.noise_dim == 1:
        g_slope = steepest_slope(readout.map_noise, readout.map_fake)
        first = sorted(target.modes, key=lambda m: m.mean)[0]
        slopes = (
            exact_slope(settings, gaps(target)[0].middle),
            exact_slope(settings, first.mean),
            g_slope,
            least_between(readout, g_slope),
        )
    return ModeReport(
        shares, data_shares, float(1.0 - shares.sum()), float(1.0 - data_shares.sum()), *slopes
    )


def mode_names(count: int) -> list[str]:
    return ["left", "right"] if count == 2 else ["left", "middle", "right"][:count]


def mode_note(report: ModeReport) -> str:
    """Why the fakes sit where they do, in numbers: the shares, the slopes and the verdict."""
    names = mode_names(report.shares.size)
    shares = ", ".join(
        f"{name} {share:.0%} (data {data:.0%})"
        for name, share, data in zip(names, report.shares, report.data_shares, strict=True)
    )
    text = (
        f"Fakes in each mode: {shares}; between the modes {report.between:.1%} "
        f"(data {report.data_between:.1%})."
    )
    if math.isfinite(report.g_slope):
        ratio = report.exact_gap_slope / report.exact_mode_slope
        text += (
            f" The exact map (dashed) crosses the gap with slope {report.exact_gap_slope:.3g} "
            f"(x per unit of z), {ratio:.3g}× its slope at a mode's centre "
            f"({report.exact_mode_slope:.3g}): it nearly jumps. G's steepest slope is now "
            f"{report.g_slope:.3g}, so reaching every mode costs it at least "
            f"{report.least_between:.1%} of its fakes between them."
        )
    return text + " " + _verdict(report, names)


def _verdict(report: ModeReport, names: list[str]) -> str:
    if report.dropped:
        empty = " and ".join(names[i] for i in report.dropped)
        return (
            f"The {empty} mode holds under {DROPPED_SHARE:.0%} of the fakes: G dropped it "
            "rather than cross the gap."
        )
    if report.between > 2.0 * report.data_between + 0.02:
        return "G covers every mode but spreads mass between them, where the data has almost none."
    return "G covers every mode and keeps the gaps nearly empty."
