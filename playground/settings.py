"""Checking settings: every settings dataclass declares a table of ranges and choices, and one
checker reads it.

A page, a link, a job form or a hand-edited JSON file can put anything into a setting: text, a
3,000-digit number, NaN, a list. A table names three kinds of field: numbers in a `Range`, text
among choices, and flags (on/off switches, which must be True or False). `field_problems` names every field that is not what its table
allows, in messages short enough for a page (`shown` cuts any value to a few dozen characters),
and never raises anything else.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import NamedTuple


class Range(NamedTuple):
    """Allowed values of a number: whole numbers when both bounds are ints; an open end
    excludes its bound (a learning rate in (0, 0.1])."""

    low: float
    high: float
    low_open: bool = False
    high_open: bool = False

    @property
    def whole(self) -> bool:
        return isinstance(self.low, int) and isinstance(self.high, int)

    def __str__(self) -> str:
        left, right = "(" if self.low_open else "[", ")" if self.high_open else "]"
        if self.whole:
            return f"{left}{self.low}, {self.high}{right}"
        return f"{left}{self.low:g}, {self.high:g}{right}"

    def allows(self, value: object) -> bool:
        if isinstance(value, bool) or not isinstance(value, int if self.whole else int | float):
            return False
        # Compared as given: converting 10**400 to a float raises OverflowError. NaN fails both.
        above = value > self.low if self.low_open else value >= self.low
        below = value < self.high if self.high_open else value <= self.high
        return bool(above and below)


def is_whole_number(value: object) -> bool:
    """An int that is not a bool (True is an int to Python, never a count to a person)."""
    return isinstance(value, int) and not isinstance(value, bool)


Ranges = Mapping[str, "Range | tuple[float, float]"]
Choices = Mapping[str, tuple[str, ...]]
Flags = tuple[str, ...]

SHOWN_CHARS = 40


def shown(value: object) -> str:
    """`value` as a message shows it: repr, cut to SHOWN_CHARS characters (a 3,000-digit number
    or a page of text in a link must not flood the page, and repr of a huge int can raise)."""
    if isinstance(value, int) and abs(value) >= 10**SHOWN_CHARS:
        return f"a number of about {round(abs(value).bit_length() * math.log10(2))} digits"
    text = repr(value)
    return text if len(text) <= SHOWN_CHARS else text[: SHOWN_CHARS - 1] + "…"


def field_problems(
    settings: object, ranges: Ranges, choices: Choices, flags: Flags = ()
) -> list[str]:
    """One message per field of `settings` outside its range, not among its choices, or a flag
    that is not True or False (1 and "yes" are not: a switch is a bool)."""
    problems = []
    for name, bounds in ranges.items():
        allowed = Range(*bounds)
        value = getattr(settings, name)
        if not allowed.allows(value):
            kind = "a whole number" if allowed.whole else "a number"
            problems.append(f"{name} must be {kind} in {allowed}, got {shown(value)}")
    for name, options in choices.items():
        value = getattr(settings, name)
        if not isinstance(value, str) or value not in options:
            problems.append(f"{name} must be one of {', '.join(options)}, got {shown(value)}")
    for name in flags:
        value = getattr(settings, name)
        if not isinstance(value, bool):
            problems.append(f"{name} must be True or False, got {shown(value)}")
    return problems


def join_problems(problems: list[str]) -> str:
    """One message naming every problem."""
    if len(problems) == 1:
        return problems[0]
    return f"{len(problems)} problems: " + "; ".join(problems)


def check_fields(
    settings: object,
    ranges: Ranges,
    choices: Choices,
    error: type[ValueError],
    flags: Flags = (),
) -> None:
    """Raise `error` naming every field of `settings` outside its range or choices, or a flag
    that is not a bool."""
    problems = field_problems(settings, ranges, choices, flags)
    if problems:
        raise error(join_problems(problems))


__all__ = [
    "Range",
    "check_fields",
    "field_problems",
    "is_whole_number",
    "join_problems",
    "shown",
]
