"""Durations written with units ("15 min", "2 h", "3 days") and the simulation's time unit.

The simulation clock counts **hours** from midnight of the scenario's start date. Every duration
in a scenario must carry a unit, because a bare number is ambiguous (minutes? days?) and that
ambiguity is exactly the kind of mistake that silently ruins a capacity model.
"""

from __future__ import annotations

import math
import re

HOUR = 1.0
MINUTE = HOUR / 60.0
SECOND = MINUTE / 60.0
DAY = 24.0 * HOUR
WEEK = 7.0 * DAY
MAX_YEARS = 10
"""The longest horizon, or duration of any kind, a scenario may give, in years."""
MAX_DURATION = math.ceil(MAX_YEARS * 365.25) * 24
"""The longest duration, in hours: 10 years (3653 days); anything longer means "never".
An int: it appears in the names of the generic distribution classes, which pickle looks up by
name, and the dot of a float would break that lookup."""

_UNITS: dict[str, float] = {}
for _names, _value in (
    (("s", "sec", "secs", "second", "seconds"), SECOND),
    (("m", "min", "mins", "minute", "minutes"), MINUTE),
    (("h", "hr", "hrs", "hour", "hours"), HOUR),
    (("d", "day", "days"), DAY),
    (("w", "wk", "week", "weeks"), WEEK),
):
    for _name in _names:
        _UNITS[_name] = _value

_PATTERN = re.compile(r"^\s*([0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?)\s*([a-zA-Z]+)\s*$")


def parse_duration(text: object) -> float:
    """Return the duration in hours; raise ValueError with the accepted forms otherwise."""
    if isinstance(text, bool) or not isinstance(text, str):
        if isinstance(text, int | float) and not isinstance(text, bool) and text == 0:
            return 0.0
        raise ValueError("a duration needs a unit, for example '15 min', '2 h' or '3 days'")
    match = _PATTERN.match(text)
    if match is None:
        raise ValueError(
            "a duration is a number and a unit, for example '15 min', '2 h' or '3 days'"
        )
    number, unit = match.groups()
    factor = _UNITS.get(unit.lower())
    if factor is None:
        raise ValueError(f"unknown time unit {unit!r}; use s, min, h, days or weeks")
    hours = float(number) * factor
    if not hours <= MAX_DURATION:  # also catches '1e400 h', which is infinite
        shown = text.strip() if len(text.strip()) <= 40 else text.strip()[:37] + "..."
        raise ValueError(
            f"must be at most {MAX_YEARS} years ({MAX_DURATION / DAY:.0f} days) (got {shown!r})"
        )
    return hours


def format_duration(hours: float) -> str:
    """Hours as a person reads a span of time, in the largest unit that keeps the number
    readable, to one decimal: '54 s', '2.3 min', '5.4 h', '3 days', '12.5 days'."""
    if hours != hours:  # NaN
        return "n/a"
    size = abs(hours)
    if size >= DAY:
        number, unit = hours / DAY, "days"
    elif size >= HOUR:
        number, unit = hours, "h"
    elif size >= MINUTE:
        number, unit = hours / MINUTE, "min"
    else:
        return f"{hours / SECOND:.0f} s"
    text = f"{number:,.1f}".removesuffix(".0")
    return "1 day" if text == "1" and unit == "days" else f"{text} {unit}"


def duration_text(hours: float) -> str:
    """A duration as the shortest exact text a scenario accepts: '90 days', '1.5 min', '4 h'."""
    hours = float(hours)
    days, minutes = round(hours / DAY, 9), round(hours / MINUTE, 9)
    if hours >= DAY and days.is_integer():
        return "1 day" if days == 1 else f"{int(days)} days"
    if hours >= HOUR and round(hours, 9).is_integer():
        return f"{round(hours)} h"
    if hours < MINUTE and hours > 0:
        return f"{round(hours / SECOND, 9):g} s"
    if hours < HOUR:
        return f"{minutes:g} min"
    return f"{hours:g} h"
