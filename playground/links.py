"""Lesson links: a 1-D experiment as an address a class can open, and as a QR code to project.

The 1-D page reads its settings, its seed and the locked controls from its address (see
`playground.ui.stepper`); an instructor composes an experiment, and every student who opens the
link (or scans the code) gets the same networks, the same batches and the same locked controls.
"""

from __future__ import annotations

import io
from collections.abc import Iterable
from dataclasses import fields
from urllib.parse import urlencode, urlsplit, urlunsplit

import segno

from playground.settings import shown
from playground.toy import ToySettings, ToySettingsError

STEPPER_PATH = "gaussian_gan"
"""The 1-D page's address, relative to the app's root."""
LOCK_PARAM = "lock"
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


def lesson_params(settings: ToySettings, locked: Iterable[str] = ()) -> dict[str, str]:
    """The 1-D page's query parameters: the seed, every non-default setting and the locks."""
    params = settings.validate().to_params()
    names = parse_lock(",".join(locked))
    if names:
        params[LOCK_PARAM] = "all" if names == set(SETTING_NAMES) else ",".join(sorted(names))
    return params


def lesson_link(app_url: str, settings: ToySettings, locked: Iterable[str] = ()) -> str:
    """The full address of the experiment on the 1-D page of the app served at `app_url`."""
    parts = urlsplit(app_url.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise LinkError(f"the app's address must start with http:// or https://, got {app_url!r}")
    path = parts.path.rstrip("/") + "/" + STEPPER_PATH
    query = urlencode(lesson_params(settings, locked), safe=",")
    return urlunsplit((parts.scheme, parts.netloc, path, query, ""))


def qr_png(text: str, scale: int = 8) -> bytes:
    """`text` as a QR code picture (PNG), readable from the back of a lecture hall."""
    code = segno.make(text, error="m")
    out = io.BytesIO()
    code.save(out, kind="png", scale=scale, border=4)
    return out.getvalue()


__all__ = ["LOCK_PARAM", "LinkError", "lesson_link", "lesson_params", "parse_lock", "qr_png"]
