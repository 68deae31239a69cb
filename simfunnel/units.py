"""Durations written with units ("15 min", "2 h", "3 days") and the simulation's time unit.

The simulation clock counts **hours** from midnight of the scenario's start date. Every duration
in a scenario must carry a unit, because a bare number is ambiguous (minutes? days?) and that
ambiguity is exactly the kind of mistake that silently ruins a capacity model.
"""

from __future__ import annotations

import re

HOUR = 1.0
MINUTE = HOUR / 60.0
SECOND = MINUTE / 60.0
DAY = 24.0 * HOUR
WEEK = 7.0 * DAY

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
    return float(number) * factor


def format_duration(hours: float) -> str:
    """Render hours in the largest unit that keeps the number readable."""
    if hours != hours:  # NaN
        return "n/a"
    if hours >= DAY:
        return f"{hours / DAY:.1f} days"
    if hours >= HOUR:
        return f"{hours:.1f} h"
    return f"{hours / MINUTE:.1f} min"


def format_amount(x: float) -> str:
    """A currency amount as reports and axes write it: 6.1M, 950k, 12.3k, 850."""
    size = abs(x)
    if size >= 1e9:
        return f"{x / 1e9:.1f}B"
    if size >= 1e6:
        return f"{x / 1e6:.1f}M"
    if size >= 1e5:
        return f"{x / 1e3:.0f}k"
    if size >= 1e3:
        return f"{x / 1e3:.1f}k"
    return f"{x:.0f}"
