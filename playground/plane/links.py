"""A 2-D experiment as a link: its starting settings, its seed and the presses made so far, so the
link reopens the same step with the same numbers (all randomness comes from the seed).

Presses are written as on the 1-D page (`playground.toy.replay`): d, 3d, g, s, s3 (k D + 1 G),
200r, 50r5 (Run N), and name-value for a setting changed in place before the next press.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields

from playground.plane.settings import (
    PLANE_RANGES,
    REBUILD_FIELDS,
    PlaneSettings,
    PlaneSettingsError,
    written_value,
)
from playground.plane.stepper import PlaneGAN, run_limit
from playground.settings import shown
from playground.toy import LoggedPress
from playground.toy.replay import PRESS_LETTERS, written

PRESSES_PARAM = "presses"
MAX_PRESSES_CHARS = 1000
REPLAY_ITERATIONS = 3000
"""A link replays at most this many updates' worth of iterations (k D + 1 G counted as one)."""
_KINDS = {letter: kind for kind, letter in PRESS_LETTERS.items()}
_PRESS = re.compile(r"(\d{1,5})?([dgsr])(\d{1,2})?")


def experiment_params(gan: PlaneGAN) -> tuple[dict[str, str], str]:
    """The link to `gan` at its current step, and a note when it must open at step 0 ("" if
    not): a history too long for a link opens the current settings at step 0."""
    start, presses = written(gan.presses(), gan.settings, written_value)
    if len(presses) > MAX_PRESSES_CHARS or _work(gan.presses()) > REPLAY_ITERATIONS:
        note = "This page's address opens the experiment at step 0: too many presses for a link."
        return gan.settings.to_params(), note
    params = start.to_params()
    if presses:
        params[PRESSES_PARAM] = presses
    return params, ""


def _work(presses: Sequence[LoggedPress]) -> int:
    return sum(p.count * max(p.k, 1) for p in presses)


@dataclass(frozen=True)
class OpenedLink:
    """What a link asks the 2-D page to open, and one message per part that was refused."""

    settings: PlaneSettings
    presses: tuple[LoggedPress, ...] = ()
    final: PlaneSettings | None = None
    problems: tuple[str, ...] = ()


def read_link(params: Mapping[str, Sequence[str]]) -> OpenedLink:
    """The experiment a link opens; bad settings open the defaults, bad presses step 0, each
    with a message."""
    params = dict(params)
    given = params.pop(PRESSES_PARAM, [])
    try:
        settings = PlaneSettings.from_params(params)
    except PlaneSettingsError as exc:
        problem = f"This link's settings cannot be used: {exc}. Showing the default experiment."
        return OpenedLink(PlaneSettings(), problems=(problem,))
    if len(given) > 1:
        return OpenedLink(settings, problems=(f"{PRESSES_PARAM} is given {len(given)} times.",))
    try:
        presses, final = read_presses(given[0] if given else "", settings)
    except PlaneSettingsError as exc:
        problem = f"This link's presses cannot be replayed: {exc}. Opening at step 0."
        return OpenedLink(settings, problems=(problem,))
    return OpenedLink(settings, presses, final)


def read_presses(text: str, start: PlaneSettings) -> tuple[tuple[LoggedPress, ...], PlaneSettings]:
    """The presses written in `text` from `start` and the settings after the last change,
    checked before anything runs (PlaneSettingsError names the first problem)."""
    if len(text) > MAX_PRESSES_CHARS:
        raise PlaneSettingsError(f"presses= is longer than {MAX_PRESSES_CHARS} characters")
    presses: list[LoggedPress] = []
    settings, step = start, 0
    for token in filter(None, text.split(",")):
        if "-" in token:
            settings = _changed(settings, token)
            continue
        presses.append(_press(token, settings, step))
        step = presses[-1].end
    if _work(presses) > REPLAY_ITERATIONS:
        raise PlaneSettingsError(f"more than {REPLAY_ITERATIONS:,} steps to replay")
    return tuple(presses), settings


def _press(token: str, settings: PlaneSettings, step: int) -> LoggedPress:
    match = _PRESS.fullmatch(token)
    if match is None:
        raise PlaneSettingsError(
            f"{shown(token)} is neither a press (3d, g, 2s3, 200r) nor a change"
        )
    count_text, letter, k_text = match.groups()
    kind, count = _KINDS[letter], int(count_text or 1)
    if k_text is not None and kind in ("d", "g"):
        raise PlaneSettingsError(f"{shown(token)}: only s and r presses take a k")
    k = int(k_text or 1) if kind in ("dg", "run") else int(kind == "d")
    low, high = PLANE_RANGES["k_d"]
    if count < 1 or (kind in ("dg", "run") and not low <= k <= high):
        raise PlaneSettingsError(f"{shown(token)}: counts start at 1 and k is in [{low}, {high}]")
    if kind == "run" and count > run_limit(settings):
        raise PlaneSettingsError(f"{shown(token)}: more work than one Run press may do")
    return LoggedPress(kind, k, count, settings, step)


def _changed(settings: PlaneSettings, token: str) -> PlaneSettings:
    name, value = token.split("-", 1)
    if name in REBUILD_FIELDS:
        raise PlaneSettingsError(f"{shown(name)} changes mid-experiment, which needs new networks")
    params = {f.name: written_value(getattr(settings, f.name)) for f in fields(PlaneSettings)}
    try:
        return PlaneSettings.from_params({**params, name: value})
    except PlaneSettingsError as exc:
        raise PlaneSettingsError(f"{shown(token)}: {exc}") from None


def replay(gan: PlaneGAN, presses: Sequence[LoggedPress], final: PlaneSettings | None) -> None:
    """Make `presses` on `gan` (fresh, built with their starting settings) as they were made."""
    for press in presses:
        if press.settings != gan.settings:
            gan.apply(press.settings)
        if press.kind == "run":
            gan.run(press.count, press.k)
            continue
        for _ in range(press.count):
            if press.kind == "d":
                gan.d_step()
            elif press.kind == "g":
                gan.g_step()
            else:
                gan.step(press.k)
    if final is not None and final != gan.settings:
        gan.apply(final)


__all__ = [
    "MAX_PRESSES_CHARS",
    "PRESSES_PARAM",
    "OpenedLink",
    "experiment_params",
    "read_link",
    "read_presses",
    "replay",
    "written",
]
