"""Lesson links: a 1-D experiment as an address a class can open, and as a QR code to project.

The 1-D page reads its settings, its seed, the locked controls, the presses made so far and the
preset it came from out of its address (see `playground.ui.experiment`); an instructor composes
an experiment, and every student who opens the link (or scans the code) gets the same networks,
the same batches, the same step and the same locked controls.

    seed=7&lr_d=0.001    the settings: the seed and every one that differs from the default
    lock=lr_d,g_loss     controls the students cannot change ("all" for every one)
    presses=3d,g,200r    what was pressed, replayed on opening (`playground.toy.replay`)
    preset=circling      the named experiment it started as (the page says which)
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, fields, replace
from urllib.parse import urlencode, urlsplit, urlunsplit

import segno

from playground.failures import LESSONS
from playground.settings import shown
from playground.toy import (
    PressesError,
    Replay,
    ToyGAN,
    ToySettings,
    ToySettingsError,
    check_link,
    read_presses,
    written,
)
from playground.toy.presets import STEPPER_PRESETS

STEPPER_PATH = "gaussian_gan"
"""The 1-D page's address, relative to the app's root."""
LOCK_PARAM = "lock"
PRESSES_PARAM = "presses"
PRESET_PARAM = "preset"
SETTING_NAMES = tuple(f.name for f in fields(ToySettings))


class LinkError(ToySettingsError):
    """The app address or the locked controls cannot make a lesson link (the message says why)."""


def parse_lock(text: str) -> frozenset[str]:
    """The settings a link locks: "lr_d,g_loss" or "all"; unknown names are an error."""
    names = {name.strip() for name in text.split(",") if name.strip()}
    if "all" in names:
        return frozenset(SETTING_NAMES)
    unknown = sorted(names - set(SETTING_NAMES))
    if unknown:
        raise LinkError(
            f"{LOCK_PARAM}= names unknown settings {', '.join(map(shown, unknown[:5]))}; "
            f"known: all, {', '.join(SETTING_NAMES)}"
        )
    return frozenset(names)


# -- named experiments ----------------------------------------------------------------------------


def named_presets() -> dict[str, tuple[str, ToySettings]]:
    """Every named 1-D experiment a link can say it started as, by key: the stepper's own and
    the 1-D presets of the failure-modes page, as (title, settings)."""
    named = {key: (preset.title, preset.settings) for key, preset in STEPPER_PRESETS.items()}
    for lesson in LESSONS.values():
        for preset in (lesson.failure, *lesson.fixes):
            if isinstance(preset.settings, ToySettings):
                named[preset.key] = (f"{lesson.title}: {preset.title}", preset.settings)
    return named


def preset_note(key: str, settings: ToySettings) -> str:
    """One line naming the preset `key` an experiment with `settings` started as, and what has
    been changed since ("" for no preset)."""
    named = named_presets()
    if key not in named:
        return ""
    title, preset = named[key]
    changed = [
        f.name
        for f in fields(ToySettings)
        if getattr(replace(preset, seed=settings.seed), f.name) != getattr(settings, f.name)
    ]
    note = f"This is the preset “{title}” (seed {settings.seed})"
    return note + (f", changed since: {', '.join(changed)}." if changed else ".")


# -- reading a link -------------------------------------------------------------------------------


@dataclass(frozen=True)
class OpenedLink:
    """What a link asks the 1-D page to open, and one message per part of it that was refused."""

    settings: ToySettings
    locked: frozenset[str] = frozenset()
    presses: Replay | None = None
    preset: str = ""
    problems: tuple[str, ...] = ()


def read_link(params: Mapping[str, Sequence[str]]) -> OpenedLink:
    """The experiment a link opens (every value of each parameter); a part that cannot be used
    falls back (the defaults, nothing locked, step 0, no preset) with one message each."""
    params = dict(params)
    problems: list[str] = []
    lock_text = _single(params.pop(LOCK_PARAM, []), LOCK_PARAM, problems, "nothing is locked")
    presses_text = _single(params.pop(PRESSES_PARAM, []), PRESSES_PARAM, problems, "step 0")
    preset = _single(params.pop(PRESET_PARAM, []), PRESET_PARAM, problems, "no preset")
    locked: frozenset[str] = frozenset()
    try:
        locked = parse_lock(lock_text)
    except ToySettingsError as exc:
        problems.append(f"{exc}; nothing is locked.")
    try:
        settings = ToySettings.from_params(params)
    except ToySettingsError as exc:
        problems.append(
            f"This link's settings cannot be used: {exc}. Showing the default experiment."
        )
        return OpenedLink(ToySettings(), locked, None, "", tuple(problems))
    presses = None
    if presses_text:
        try:
            presses = read_presses(presses_text, settings)
        except PressesError as exc:
            problems.append(f"This link's presses cannot be replayed: {exc}. Opening at step 0.")
    if preset and preset not in named_presets():
        problems.append(f"{PRESET_PARAM}= names no known preset ({shown(preset)}).")
        preset = ""
    return OpenedLink(settings, locked, presses, preset, tuple(problems))


def _single(values: Sequence[str], name: str, problems: list[str], fallback: str) -> str:
    if len(values) > 1:
        problems.append(f"{name} is given {len(values)} times; give it once; {fallback}.")
        return ""
    return values[0] if values else ""


def settings_from_link(
    params: Mapping[str, Sequence[str]],
) -> tuple[ToySettings, frozenset[str], list[str]]:
    """Settings and locks from a link, falling back to the defaults with one message per
    problem (`read_link` without the presses and the preset)."""
    opened = read_link(params)
    return opened.settings, opened.locked, list(opened.problems)


# -- writing a link -------------------------------------------------------------------------------


def lesson_params(
    settings: ToySettings, locked: Iterable[str] = (), presses: str = "", preset: str = ""
) -> dict[str, str]:
    """The 1-D page's query parameters: the seed, every non-default setting, the locks, and the
    presses to replay and the preset's key when given (refused with LinkError if unusable)."""
    params = settings.validate().to_params()
    names = parse_lock(",".join(locked))
    if names:
        params[LOCK_PARAM] = "all" if names == set(SETTING_NAMES) else ",".join(sorted(names))
    if presses:
        try:
            read_presses(presses, settings)
        except PressesError as exc:
            raise LinkError(str(exc)) from None
        params[PRESSES_PARAM] = presses
    if preset:
        if preset not in named_presets():
            raise LinkError(f"{PRESET_PARAM}= names no known preset ({shown(preset)})")
        params[PRESET_PARAM] = preset
    return params


def experiment_params(
    gan: ToyGAN, locked: Iterable[str] = (), preset: str = ""
) -> tuple[dict[str, str], str]:
    """The link to `gan` at its current step: its starting settings, the presses that led
    here, the locks and the preset. A history too long for a link opens at step 0 instead:
    the second value then says so ("" otherwise)."""
    made = gan.presses()
    start, presses = written(made, gan.settings)
    try:
        check_link(made, presses)  # made by hand: valid tokens, only the size is in question
    except PressesError as exc:
        note = f"This page's address opens the experiment at step 0: {exc}"
        return lesson_params(gan.settings, locked, "", preset), note
    params = lesson_params(start, locked, "", preset)
    if presses:
        params[PRESSES_PARAM] = presses
    return params, ""


def lesson_link(
    app_url: str,
    settings: ToySettings,
    locked: Iterable[str] = (),
    presses: str = "",
    preset: str = "",
) -> str:
    """The full address of the experiment on the 1-D page of the app served at `app_url`."""
    parts = urlsplit(app_url.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise LinkError(f"the app's address must start with http:// or https://, got {app_url!r}")
    path = parts.path.rstrip("/") + "/" + STEPPER_PATH
    query = urlencode(lesson_params(settings, locked, presses, preset), safe=",")
    return urlunsplit((parts.scheme, parts.netloc, path, query, ""))


def qr_png(text: str, scale: int = 8) -> bytes:
    """`text` as a QR code picture (PNG), readable from the back of a lecture hall."""
    code = segno.make(text, error="m")
    out = io.BytesIO()
    code.save(out, kind="png", scale=scale, border=4)
    return out.getvalue()


__all__ = [
    "LOCK_PARAM",
    "PRESET_PARAM",
    "PRESSES_PARAM",
    "LinkError",
    "OpenedLink",
    "experiment_params",
    "lesson_link",
    "lesson_params",
    "named_presets",
    "parse_lock",
    "preset_note",
    "qr_png",
    "read_link",
    "settings_from_link",
]
