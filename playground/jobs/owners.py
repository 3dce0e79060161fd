"""Who a job belongs to, as the server stores it and as people read it.

A student is an owner id (a login proxy's user name, or the browser's private token); the disk
and the instructor's view only ever see `owner_key(owner)`, a one-way hash. The instructor reads
a pseudonym made from that key ("amber otter 17"), not the id: projecting the cohort's jobs on a
lecture-hall screen must not name anyone who did not choose a display name.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata

from playground.jobs.states import JobError


def owner_key(owner: str) -> str:
    """A stable, non-reversible folder name for an owner id (user ids never reach the disk)."""
    if not isinstance(owner, str) or not owner.strip():
        raise JobError("a job needs an owner (a session or user id)")
    return hashlib.sha256(owner.encode()).hexdigest()[:24]


_ADJECTIVES = [
    "amber",
    "azure",
    "brisk",
    "calm",
    "coral",
    "crisp",
    "dapper",
    "eager",
    "fern",
    "gentle",
    "golden",
    "hazel",
    "ivory",
    "jade",
    "keen",
    "lilac",
    "lucky",
    "maple",
    "mellow",
    "misty",
    "noble",
    "olive",
    "pearl",
    "plucky",
    "quiet",
    "rosy",
    "rustic",
    "sage",
    "silver",
    "sunny",
    "teal",
    "witty",
]
_ANIMALS = [
    "badger",
    "beaver",
    "bison",
    "crane",
    "dolphin",
    "falcon",
    "ferret",
    "gecko",
    "heron",
    "ibis",
    "jackal",
    "koala",
    "lemur",
    "lynx",
    "marten",
    "moose",
    "newt",
    "ocelot",
    "otter",
    "owl",
    "panda",
    "puffin",
    "quail",
    "raven",
    "seal",
    "stoat",
    "swift",
    "tapir",
    "toucan",
    "walrus",
    "wombat",
    "yak",
]


def pseudonym(key: str) -> str:
    """A readable, stable label for an owner key: two words and a number (32 × 32 × 100 names)."""
    digest = hashlib.sha256(f"pseudonym:{key}".encode()).digest()
    adjective = _ADJECTIVES[digest[0] % len(_ADJECTIVES)]
    animal = _ANIMALS[digest[1] % len(_ANIMALS)]
    return f"{adjective} {animal} {int.from_bytes(digest[2:4], 'big') % 100}"


MAX_REASON = 200
"""Characters an instructor's reason may have (it is shown on the student's job card)."""


def clean_reason(text: str) -> str:
    """The instructor's reason for pausing or stopping a job, checked: one line, printable."""
    if not isinstance(text, str):
        raise JobError("the reason must be text")
    reason = " ".join(text.split())
    if not reason:
        raise JobError("say why: the student sees the reason on their job")
    if len(reason) > MAX_REASON:
        raise JobError(f"keep the reason to {MAX_REASON} characters (it has {len(reason)})")
    if any(unicodedata.category(c).startswith("C") for c in reason):
        raise JobError("the reason may not contain control or invisible characters")
    return reason


_SERVER_PATH = re.compile(r"(?<![\w.)\]])~?/[^\s'\"(),;]+")
_OWNER_KEY = re.compile(r"\b[0-9a-f]{24}\b")  # owner_key's 24 hex digits


def without_server_paths(text: str) -> str:
    """`text` with absolute paths and owner keys blanked out: a student's message must not show
    the server's folders, nor the folder names (owner keys) of other students' jobs."""
    return _OWNER_KEY.sub("…", _SERVER_PATH.sub("<server path>", text))


__all__ = ["MAX_REASON", "clean_reason", "owner_key", "pseudonym", "without_server_paths"]
