"""What a ToyGAN's history keeps: one entry per update (what it did, the state after it, a snapshot
to rewind to), the last press, the log of presses that led to each step (what a link replays,
`playground.toy.replay`), and the limits that keep the history's memory bounded."""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import cached_property

from playground.gan import Snapshot, StepRecord
from playground.toy.readout import Measures
from playground.toy.settings import ToySettings


@dataclass(frozen=True)
class Entry:
    """One step of the history: what the press did and the state right after it."""

    step: int  # 0 = the freshly built GAN, then one per update call
    label: str  # "start", "d", "g" or "dg"
    record: StepRecord | None
    measures: Measures
    snapshot: Snapshot | None  # None once thinned away: this step can no longer be restored

    @cached_property
    def curve_row(self) -> tuple[float, ...]:
        """This step's point on every history curve (`ToyGAN.curves`), NaN where not measured;
        kept, so a press reads each older step's numbers once, not once per press."""

        def number(value: float | None) -> float:
            return float("nan") if value is None else float(value)

        record, measures = self.record, self.measures
        return (
            float(self.step),
            number(record.d_loss if record else None),
            number(record.g_loss if record else None),
            number(measures.d_real),
            number(measures.d_fake),
            number(measures.kl),
            number(measures.js),
        )


@dataclass(frozen=True)
class Press:
    """The last button press: its label and the history steps it went from and to."""

    label: str
    before: Entry
    after: Entry
    count: int = 1


@dataclass(frozen=True)
class LoggedPress:
    """One press, or a row of identical D, G or "k D + 1 G" presses, and the settings they ran
    under. Every press (and every iteration of a Run) is one history step."""

    kind: str  # "d", "g", "dg" or "run"
    k: int  # D updates per update call (1 for a D step, 0 for a G step)
    count: int  # presses in the row, or a Run's iterations
    settings: ToySettings
    start: int  # the history step it started from

    @property
    def end(self) -> int:
        return self.start + self.count


class PressLog:
    """The presses of one experiment, in order; a press from step s drops every later one (the
    future that a rewind went back from), as the history does."""

    def __init__(self) -> None:
        self.presses: list[LoggedPress] = []

    def record(self, start: int, kind: str, k: int, settings: ToySettings, continues: bool) -> None:
        """One update from history step `start`; `continues`: a further iteration of the Run
        press that made the step before (two Run presses stay two)."""
        self.presses = self.upto(start)
        last = self.presses[-1] if self.presses else None
        if (
            last is not None
            and (last.end, last.kind, last.k, last.settings) == (start, kind, k, settings)
            and (kind != "run" or continues)
        ):
            self.presses[-1] = replace(last, count=last.count + 1)
        else:
            self.presses.append(LoggedPress(kind, k, 1, settings, start))

    def upto(self, step: int) -> list[LoggedPress]:
        """The presses that led to history step `step` (a row or a Run cut where it falls)."""
        kept = [p for p in self.presses if p.start < step]
        if kept and kept[-1].end > step:
            kept[-1] = replace(kept[-1], count=step - kept[-1].start)
        return kept


@dataclass(frozen=True)
class HistoryLimits:
    """How much history a ToyGAN keeps: every snapshot of the last `recent` steps, at most
    `older` snapshots before them, at most `entries` entries (thinned by halving), and never more
    than `snapshot_bytes` of snapshots.

    A snapshot of the default networks is ~45 kB (400 of them: ~18 MB); one of the widest
    networks with Adam is ~0.9 MB, so there the byte budget keeps fewer, not more memory.
    """

    recent: int = 300
    older: int = 100
    entries: int = 5000
    snapshot_bytes: int = 24 * 2**20

    def for_snapshot(self, nbytes: int) -> HistoryLimits:
        """These limits with `recent` and `older` cut so that their snapshots fit the byte budget
        (three quarters recent, a quarter older; at least a few of each)."""
        fit = max(8, self.snapshot_bytes // max(nbytes, 1))
        recent = min(self.recent, max(4, fit * 3 // 4))
        older = min(self.older, max(4, fit - recent))
        return replace(self, recent=recent, older=older)
