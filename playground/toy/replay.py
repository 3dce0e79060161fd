"""The presses that led to a step, written compactly for a link and replayed exactly.

A ToyGAN's numbers depend only on its settings and the updates made (all randomness comes from
the seeded source, `playground.gan`), so settings plus presses reopen an experiment at the same
step with the same numbers. The ToyGAN's `PressLog` (`playground.toy.presses`) keeps each press
with the settings it ran under; this module writes it, reads it back and replays it.

The written form, tokens joined by commas:

    d, 3d        one D step, three D steps
    g, 2g        G steps
    s, 4s, s3    "k D + 1 G" presses (k = 1 unless given: s3 is one 3 D + 1 G press)
    200r, 50r5   a "Run N steps" press of N iterations (of k D + 1 G, k = 1 unless given)
    lr_g-0.0005  a setting changed in place before the next press (name-value)
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, fields, replace
from functools import lru_cache
from typing import TypeVar

from playground.settings import shown
from playground.toy.cost import RUN_LIMIT, iteration_seconds, run_limit
from playground.toy.presses import LoggedPress
from playground.toy.settings import REBUILD_FIELDS, SETTING_RANGES, ToySettings, ToySettingsError
from playground.toy.stepper import ToyGAN

Settings = TypeVar("Settings")
"""A world's settings dataclass (ToySettings, PlaneSettings): what a link's presses carry."""

MAX_PRESSES_CHARS = 1000
"""The longest press sequence a link may carry (a few hundred presses, run-length encoded)."""

REPLAY_STEPS = 3000
"""A link replays at most the work of this many "1 D + 1 G" steps of the default experiment
(~25 s on the 2-core reference machine), whatever its settings: opening a link never takes
minutes of a shared server's CPU."""

PRESS_LETTERS = {"d": "d", "g": "g", "dg": "s", "run": "r"}
_KINDS = {letter: kind for kind, letter in PRESS_LETTERS.items()}
_PRESS = re.compile(r"(\d{1,5})?([dgsr])(\d{1,2})?")


class PressesError(ToySettingsError):
    """A press sequence that cannot be replayed (the message says which token and why)."""


def press_token(press: LoggedPress) -> str:
    """A press written for a link: 3d, g, 2s3, 200r."""
    count = "" if press.count == 1 and press.kind != "run" else str(press.count)
    k = str(press.k) if press.kind in ("dg", "run") and press.k != 1 else ""
    return f"{count}{PRESS_LETTERS[press.kind]}{k}"


def press_seconds(press: LoggedPress) -> float:
    """Estimated time to replay a press on the reference machine (`iteration_seconds`)."""
    d_updates = {"d": 1, "g": 0}.get(press.kind, press.k)
    return press.count * _update_seconds(press.settings, d_updates)


@lru_cache(maxsize=64)
def _update_seconds(settings: ToySettings, d_updates: int) -> float:
    return iteration_seconds(replace(settings, k_d=d_updates))  # (replace is slow: cached)


def written(
    presses: Sequence[LoggedPress],
    current: Settings,
    text: Callable[[object], str] | None = None,
) -> tuple[Settings, str]:
    """The settings to build the experiment with and the presses as a link writes them.

    A change made before the first press is part of the starting settings; one made after the
    last press (the `current` settings) ends the sequence. Any world's settings dataclass
    (the 1-D and the 2-D page's); `text` writes one setting's value (floats by repr)."""
    start = presses[0].settings if presses else current
    tokens: list[str] = []
    before = start
    for press in presses:
        tokens += _changes(before, press.settings, text or _text)
        tokens.append(press_token(press))
        before = press.settings
    tokens += _changes(before, current, text or _text)
    return start, ",".join(tokens)


def _changes(before: Settings, after: Settings, text: Callable[[object], str]) -> list[str]:
    if before is after:
        return []
    return [
        f"{f.name}-{text(getattr(after, f.name))}"
        for f in fields(after)
        if getattr(before, f.name) != getattr(after, f.name)
    ]


def _text(value: object) -> str:
    return repr(value) if isinstance(value, float) else str(value)


@dataclass(frozen=True)
class Replay:
    """A press sequence read from a link: the presses and the settings after the last change."""

    presses: tuple[LoggedPress, ...]
    final: ToySettings

    @property
    def steps(self) -> int:
        return self.presses[-1].end if self.presses else 0


def read_presses(text: str, start: ToySettings) -> Replay:
    """The presses written in `text` from `start`, checked before anything runs: known tokens,
    changes a running experiment can take, Run presses a press could do, and a total work of
    at most REPLAY_STEPS default steps. Raises PressesError naming the first problem."""
    _check_length(text)
    presses: list[LoggedPress] = []
    settings, step = start, 0
    for token in filter(None, text.split(",")):
        if "-" in token:
            settings = _changed(settings, token)
            continue
        press = _press(token, settings, step)
        presses.append(press)
        step = press.end
    _check_work(presses)
    return Replay(tuple(presses), settings)


def check_link(presses: Sequence[LoggedPress], text: str) -> None:
    """Raise PressesError if presses a student made (written as `text`) are too long or too
    much work for a link (what `read_presses` would refuse; their tokens are valid already)."""
    _check_length(text)
    _check_work(presses)


def _check_length(text: str) -> None:
    if len(text) > MAX_PRESSES_CHARS:
        raise PressesError(
            f"presses= is {len(text):,} characters long; a link carries at most "
            f"{MAX_PRESSES_CHARS:,} (share a shorter experiment, or its settings alone)"
        )


def _check_work(presses: Sequence[LoggedPress]) -> None:
    budget = REPLAY_STEPS * iteration_seconds(ToySettings())
    if sum(press_seconds(p) for p in presses) > budget:
        raise PressesError(
            f"presses= asks for more work than a link may replay: at most about {REPLAY_STEPS:,} "
            "steps of the default experiment (fewer with bigger networks, batches or k)"
        )


def _press(token: str, settings: ToySettings, step: int) -> LoggedPress:
    match = _PRESS.fullmatch(token)
    if match is None:
        raise PressesError(
            f"presses= holds {shown(token)}, which is neither a press (d, g, s, r with a count, "
            "e.g. 3d, 2s3, 200r) nor a change (name-value, e.g. lr_g-0.001)"
        )
    count_text, letter, k_text = match.groups()
    kind, count = _KINDS[letter], int(count_text or 1)
    k = int(k_text or 1) if kind in ("dg", "run") else (1 if kind == "d" else 0)
    if k_text is not None and kind in ("d", "g"):
        raise PressesError(f"presses= holds {shown(token)}: only s and r presses take a k")
    low, high = SETTING_RANGES["k_d"]
    if count < 1 or (kind in ("dg", "run") and not low <= k <= high):
        raise PressesError(
            f"presses= holds {shown(token)}: counts start at 1 and k is in [{low}, {high}]"
        )
    if kind == "run" and count > run_limit(replace(settings, k_d=k)):
        raise PressesError(
            f"presses= holds {shown(token)}: more work than one Run press may do with these "
            f"settings (at most {run_limit(replace(settings, k_d=k))}; {RUN_LIMIT} by default)"
        )
    return LoggedPress(kind, k, count, settings, step)


def _changed(settings: ToySettings, token: str) -> ToySettings:
    """`settings` with the change `token` (name-value), parsed like a link's setting."""
    name, value = token.split("-", 1)
    if name in REBUILD_FIELDS:
        raise PressesError(
            f"presses= changes {name} mid-experiment, which needs new networks: give it as the "
            "link's setting instead"
        )
    params = {f.name: _text(getattr(settings, f.name)) for f in fields(ToySettings)}
    try:
        return ToySettings.from_params({**params, name: value})
    except ToySettingsError as exc:
        raise PressesError(f"presses= holds {shown(token)}: {exc}") from None


Progress = Callable[[int, int], object]
"""on_progress(steps done, steps in all) after each press of a replay."""


def replay_presses(gan: ToyGAN, presses: Replay, on_progress: Progress | None = None) -> None:
    """Make `presses` on `gan` (a fresh ToyGAN built with their starting settings), exactly as
    the student made them: the same updates, Run presses and in-place changes."""
    for press in presses.presses:
        if press.settings != gan.settings:
            gan.apply(press.settings)
        if press.kind == "run":
            gan.run(press.count, press.k)
        else:
            for _ in range(press.count):
                _make(gan, press)
        if on_progress is not None:
            on_progress(press.end, presses.steps)
    if presses.final != gan.settings:
        gan.apply(presses.final)


def _make(gan: ToyGAN, press: LoggedPress) -> None:
    if press.kind == "d":
        gan.d_step()
    elif press.kind == "g":
        gan.g_step()
    else:
        gan.step(press.k)
