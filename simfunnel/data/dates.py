"""The date policy of the CRM readers: which format a table's dates are read with (stated, or
detected when one family reads 90% of them), what is refused rather than guessed (dates no
format reads, day-first and month-first reading the same values differently, a stated
day/month order that is the wrong way round), dates given as options, and placeholder dates
(far from the bulk of the data, or in the future) that no real record holds.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ..base.formatting import one_line
from .limits import (
    DETECT_SHARE,
    FUTURE_LIMIT,
    MAX_UNREAD,
    PLACEHOLDER_GAP,
    STRAY_GAP,
    STRAY_MOST,
    STRAY_RATIO,
    SWAPPED_MIN,
    UNREAD_SLACK,
    CalibrationError,
)

__all__ = [
    "PlaceholderRule",
    "choose_dates",
    "local_time",
    "minute",
    "parse_family",
    "parse_timestamp",
    "plausible_window",
    "stray_bounds",
    "to_datetime",
]

# Date formats tried, by family; ISO is read by pandas' ISO 8601 parser.
_DATE_FAMILIES: dict[str, tuple[str, ...]] = {
    "iso": ("ISO8601",),
    "day-first": tuple(
        f"%d{s}%m{s}{y}{t}"
        for s in "/-."
        for y in ("%Y", "%y")
        for t in (" %H:%M:%S", " %H:%M", " %I:%M %p", " %I:%M:%S %p", "")
    ),
    "month-first": tuple(
        f"%m{s}%d{s}{y}{t}"
        for s in "/-."
        for y in ("%Y", "%y")
        for t in (" %H:%M:%S", " %H:%M", " %I:%M %p", " %I:%M:%S %p", "")
    ),
}
_FAMILY_ALIASES = {
    "iso": "iso",
    "dayfirst": "day-first",
    "day-first": "day-first",
    "monthfirst": "month-first",
    "month-first": "month-first",
}
_HINT = "state it with date_format= (--date-format): iso, dayfirst, monthfirst or a pattern"
# A UTC offset or zone after a time of day ('09:30:00-05:00', '09:30Z', '09:30:00 UTC'): the
# time before it is kept as written.
_OFFSET = re.compile(
    r"^(.*\d{1,2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?)\s*"
    r"(?:[Zz]|(?:UTC|GMT)?\s*[+-]\d{2}(?::?\d{2})?|UTC|GMT)$"
)


def local_time(text: pd.Series) -> pd.Series:
    """Date texts with a UTC offset or zone after the time of day dropped, the time kept as
    written: an export shows the team's wall-clock time (see :func:`_local_times`)."""
    return text.str.replace(_OFFSET, r"\1", regex=True)


def minute(value: Any) -> str:
    """A date as the reports show it, to the minute."""
    return f"{value:%Y-%m-%d %H:%M}"


def parse_timestamp(value: Any, name: str) -> pd.Timestamp:
    """A date given as an option (``as_of``, ``start``, a backtest ``cutoff``) as a timestamp;
    one line naming the option when it is not a real date (``yesterday``, ``2026-02-30``)."""
    if isinstance(value, pd.Timestamp):
        stamp = value
    elif isinstance(value, bool | int | float | np.number):
        raise CalibrationError(f"{name} {value!r} is a number, not a date; write YYYY-MM-DD")
    else:
        try:
            stamp = pd.Timestamp(value)
        except (ValueError, TypeError, OverflowError) as exc:
            why = str(exc).split(":")[0].strip() or "not a date"
            raise CalibrationError(
                f"{name} {value!r} is not a date ({why}); write it as YYYY-MM-DD or "
                "YYYY-MM-DD HH:MM"
            ) from None
    if pd.isna(stamp):
        raise CalibrationError(f"{name} {value!r} is not a date; write it as YYYY-MM-DD")
    if stamp.tzinfo is not None:  # the wall-clock time written, as in the files (_local_times)
        stamp = stamp.tz_localize(None)
    return stamp.as_unit("ns")


def parse_family(values: pd.Series, family: str) -> pd.Series:
    """Values read with the formats of one family, each with the first format that reads it
    (unread or blank: NaT)."""
    out = pd.Series(pd.NaT, index=values.index, dtype="datetime64[ns]")
    todo = values != ""
    for fmt in _DATE_FAMILIES[family]:
        if not todo.any():
            break
        parsed = to_datetime(values[todo], fmt)
        got = parsed.notna()
        out.loc[got[got].index] = parsed[got]
        todo = todo & out.isna()
    return out


def to_datetime(values: pd.Series, fmt: str) -> pd.Series:
    """Values read with one format, per value (unread: NaT); offsets converted to UTC and
    dropped, so a file mixing offsets (or offsets and none) reads."""
    parsed = pd.to_datetime(values.where(values != ""), format=fmt, errors="coerce", utc=True)
    parsed = parsed.dt.tz_convert(None)
    # Years pandas cannot hold (0001-01-01, 9999-12-31 placeholders) are left unread.
    inside = parsed.between(pd.Timestamp.min, pd.Timestamp.max)
    return parsed.where(inside).astype("datetime64[ns]")


def _excel_hint(values: pd.Series) -> str:
    """A hint when unread dates look like Excel serial days, the commonest wrong export."""
    number = pd.to_numeric(values, errors="coerce")
    if len(number) and number.between(20000, 80000).mean() > 0.5:
        return " (numbers like 46000 are Excel serial days: export the dates as text)"
    return ""


def choose_dates(
    columns: dict[str, pd.Series],
    date_format: str | None,
    path: str = "",
    present: dict[str, str] | None = None,
) -> tuple[dict[str, pd.Series], str, list[tuple[str, str]]]:
    """Parse every date column with one format family: the stated one, or the one that reads
    the most values (at least 90% of them; when day-first and month-first read the same
    values and differ on some, the format is ambiguous and must be stated). Returns the parsed
    columns, how the format was chosen, and notes (mixed formats). Any column whose values the
    format leaves unread in more than 20% (and more than two values) stops the read."""
    present = present or {}
    columns, notes = _local_times(columns, present)
    if date_format is not None:
        parsed, described = _parse_stated(columns, date_format, path)
    else:
        detected = _parse_detected(columns, path, present)
        if detected is None:
            empty = {n: pd.Series(pd.NaT, index=s.index) for n, s in columns.items()}
            return empty, "none", notes
        parsed, described, mixed = detected
        notes += mixed
    _refuse_unread(columns, parsed, described, date_format, path, present)
    return parsed, described, notes


def _local_times(
    columns: dict[str, pd.Series], present: dict[str, str]
) -> tuple[dict[str, pd.Series], list[tuple[str, str]]]:
    """Dates with their UTC offset (or zone) dropped, and a note per column that had one.

    The time of day an export shows is the team's wall-clock time: converted to UTC, a lead
    created at 09:30 in New York would read as 14:30, moving office hours and, near midnight,
    the day. So the offset is read and dropped, not applied (a file mixing offsets, as across
    a change to summer time, keeps each value's own local time)."""
    out: dict[str, pd.Series] = {}
    count, names, example = 0, [], ""
    for name, values in columns.items():
        local = local_time(values)
        changed = local != values
        out[name] = local
        if changed.any():
            count += int(changed.sum())
            names.append(present.get(name, name))
            example = example or str(values[changed].iloc[0])
    if not count:
        return out, []
    note = (
        f"{count} dates carry a UTC offset or zone (e.g. {example!r}): read as the local time "
        "written, the offset dropped (not converted to UTC), so times of day stay as the CRM "
        "showed them"
    )
    return out, [(", ".join(names), note)]


def _parse_stated(
    columns: dict[str, pd.Series], date_format: str, path: str
) -> tuple[dict[str, pd.Series], str]:
    """The columns read with a stated format (a strftime pattern or a family's name), which
    is refused when it is neither."""
    if "%" in date_format:
        try:
            pd.to_datetime(pd.Series(["2026-01-05"]), format=date_format, errors="coerce")
        except ValueError as exc:
            raise CalibrationError(
                f"{path}: date format {date_format!r} is not a strftime pattern "
                f"({one_line(exc)}); e.g. '%d.%m.%Y %H:%M'"
            ) from None
        return {name: to_datetime(s, date_format) for name, s in columns.items()}, (
            f"{date_format} (stated)"
        )
    family = _FAMILY_ALIASES.get(str(date_format).lower())
    if family is None:
        raise CalibrationError(
            f"unknown date format {date_format!r}; use iso, dayfirst, monthfirst or a "
            "strftime pattern such as '%d.%m.%Y %H:%M'"
        )
    return {n: parse_family(s, family) for n, s in columns.items()}, f"{family} (stated)"


def _parse_detected(
    columns: dict[str, pd.Series], path: str, present: dict[str, str]
) -> tuple[dict[str, pd.Series], str, list[tuple[str, str]]] | None:
    """The columns read with the family that reads most of (a sample of) their values, how
    it was detected, and notes on values in another format; None when there are no dates."""
    values = pd.concat(list(columns.values()), ignore_index=True) if columns else None
    values = values[values != ""] if values is not None else pd.Series([], dtype=str)
    if values.empty:
        return None
    sample = values.sample(5000, random_state=0) if len(values) > 5000 else values
    reads = {f: parse_family(sample, f) for f in _DATE_FAMILIES}
    scores = {f: int(p.notna().sum()) for f, p in reads.items()}
    n = len(sample)
    best = max(scores.values())
    family = next(f for f, v in scores.items() if v == best)
    if best < DETECT_SHARE * n and n - best > UNREAD_SLACK:
        _refuse_undetected(sample, reads, scores, family, path)
    tied = [f for f, v in scores.items() if v == best and f != family]
    for other in tied:
        _refuse_ambiguous(sample, reads, family, other, best, path)
    parsed = {n_: parse_family(s, family) for n_, s in columns.items()}
    described = f"{family} (detected: {best} of {n} values read"
    if tied:
        described += f"; {' and '.join([family, *tied])} read them alike"
    described += ")"
    return parsed, described, _mixed_format_notes(columns, parsed, family, present)


def _refuse_undetected(
    sample: pd.Series, reads: dict[str, pd.Series], scores: dict[str, int], family: str, path: str
) -> None:
    """No family reads 90% of the dates: the read stops, with each family's share and an
    example the best one leaves unread."""
    n = len(sample)
    shares = ", ".join(f"{f} {v / n:.0%}" for f, v in scores.items())
    unread = sample[reads[family].isna()]
    both = pd.concat([p.notna() for p in reads.values()], axis=1).any(axis=1).mean()
    mixed = " (the file mixes date formats)" if both >= DETECT_SHARE else ""
    raise CalibrationError(
        f"{path}: no date format reads 90% of the dates{mixed}: of {n} values "
        f"{shares} (e.g. {unread.iloc[0]!r} is not {family}){_excel_hint(unread)}; "
        f"{_HINT}"
    )


def _refuse_ambiguous(
    sample: pd.Series,
    reads: dict[str, pd.Series],
    family: str,
    other: str,
    best: int,
    path: str,
) -> None:
    """Two families read every value, and some differently (3/4 is 3 April or 4 March): a
    guess would move dates by months, so the order must be stated."""
    a, b = reads[family], reads[other]
    differ = a.notna() & b.notna() & (a != b)
    if differ.any():
        v, x, y = sample[differ].iloc[0], a[differ].iloc[0], b[differ].iloc[0]
        raise CalibrationError(
            f"{path}: the dates are ambiguous: {family} and {other} both read all "
            f"{best} values, and {v!r} is {x.day} {x:%B %Y} or {y.day} {y:%B %Y}; "
            "state date_format='dayfirst' or 'monthfirst' (--date-format)"
        )


def _mixed_format_notes(
    columns: dict[str, pd.Series],
    parsed: dict[str, pd.Series],
    family: str,
    present: dict[str, str],
) -> list[tuple[str, str]]:
    """Notes on values another family reads: a file mixing formats (those rows are excluded
    as unparseable, and the note says why)."""
    notes: list[tuple[str, str]] = []
    for name, s in columns.items():
        unread = (s != "") & parsed[name].isna()
        if unread.any():
            others = [
                f
                for f in _DATE_FAMILIES
                if f != family and parse_family(s[unread], f).notna().any()
            ]
            if others:
                notes.append(
                    (
                        present.get(name, name),
                        f"{int(unread.sum())} dates in another format ({', '.join(others)}) "
                        f"than the {family} of the rest: excluded",
                    )
                )
    return notes


def _refuse_unread(
    columns: dict[str, pd.Series],
    parsed: dict[str, pd.Series],
    described: str,
    date_format: str | None,
    path: str,
    present: dict[str, str],
) -> None:
    """A column whose dates the chosen format leaves unread in more than 20% (and more than
    two values) stops the read: excluding those rows would drop them silently in bulk."""
    for name, s in columns.items():
        nonempty = int((s != "").sum())
        unread = (s != "") & parsed[name].isna()
        k = int(unread.sum())
        if date_format is not None and k >= SWAPPED_MIN and k > MAX_UNREAD * nonempty:
            _refuse_swapped(s[unread], date_format, nonempty, path, present.get(name, name))
        if k > UNREAD_SLACK and k > MAX_UNREAD * nonempty:
            column = present.get(name, name)
            example = s[unread].iloc[0]
            raise CalibrationError(
                f"{path}: column '{column}': {k} of {nonempty} dates do not read as "
                f"{described.split(' (')[0]} (e.g. {example!r}){_excel_hint(s[unread])}; "
                f"{_HINT}"
            )


def _other_order(date_format: str) -> tuple[str, str] | None:
    """The stated format with day and month the other way round, as (what to state, its
    description); None when it has no such order (ISO, a pattern without both)."""
    family = _FAMILY_ALIASES.get(date_format.lower())
    if family == "day-first":
        return "monthfirst", "month-first"
    if family == "month-first":
        return "dayfirst", "day-first"
    if family is None and "%d" in date_format and "%m" in date_format:
        swapped = date_format.replace("%d", "%\x00").replace("%m", "%d").replace("%\x00", "%m")
        return swapped, swapped
    return None


def _refuse_swapped(
    unread: pd.Series, date_format: str, nonempty: int, path: str, column: str
) -> None:
    """A stated day/month order that leaves many dates unread where the other order reads
    them: the order is wrong, and the dates it did read have day and month swapped, so the
    read stops (one line) rather than keep a third of the rows with wrong dates."""
    other = _other_order(date_format)
    if other is None:
        return
    stated, described = other
    family = _FAMILY_ALIASES.get(stated)
    again = parse_family(unread, family) if family else to_datetime(unread, stated)
    if again.notna().mean() < DETECT_SHARE:
        return  # not a swap: the generic check (dates that no format reads) says more
    mine = _FAMILY_ALIASES.get(date_format.lower(), date_format)
    option = stated if family else f"'{stated}'"
    raise CalibrationError(
        f"{path}: column '{column}': {len(unread)} of {nonempty} dates do not read as {mine} "
        f"(e.g. {unread.iloc[0]!r}) but read as {described}: day and month are the other way "
        f"round; state --date-format {option} (date_format={stated!r})"
    )


# --------------------------------------------------------------------------- placeholders


def plausible_window(stamps: pd.Series) -> tuple[pd.Timestamp, pd.Timestamp] | None:
    """The span of the bulk of the dates: from the median outwards, up to the first gap of
    more than a year on either side (a date beyond such a gap is a placeholder); None when
    there are no dates."""
    v = np.sort(stamps.dropna().to_numpy(dtype="datetime64[ns]"))
    if not len(v):
        return None
    gaps = np.flatnonzero(np.diff(v) > PLACEHOLDER_GAP.to_timedelta64())
    mid = len(v) // 2
    upper, lower = gaps[gaps >= mid], gaps[gaps < mid]
    hi = v[upper[0]] if len(upper) else v[-1]
    lo = v[lower[-1] + 1] if len(lower) else v[0]
    return pd.Timestamp(lo), pd.Timestamp(hi)


def _tail_gap(v: np.ndarray, most: int) -> int | None:
    """The index after which the last few dates of ``v`` (sorted, in ns) stand alone: the
    first of the last ``most`` gaps that is at least ``STRAY_GAP`` and ``STRAY_RATIO`` times
    every gap before it (but the first ``most``, which may lead to strays at the other end);
    None when there is no such gap."""
    gaps = np.diff(v)
    if len(gaps) <= 3 * most:
        return None
    for j in range(len(gaps) - most, len(gaps)):
        if gaps[j] >= STRAY_GAP.value and gaps[j] >= STRAY_RATIO * gaps[most:j].max():
            return j
    return None


def stray_bounds(stamps: pd.Series) -> tuple[pd.Timestamp, pd.Timestamp] | None:
    """The span of the dates without strays: a few dates (at most ``STRAY_MOST``, and 1%)
    beyond a gap of at least eight weeks with nothing in it, at either end, where the rest of
    the data has no gap a quarter as long. One typo (2027 for 2026) would otherwise stretch
    the data period and dilute every rate. None when there are too few dates to tell."""
    v = np.sort(stamps.dropna().to_numpy(dtype="datetime64[ns]").view("int64"))
    if len(v) < 20:
        return None
    n = len(v)
    most = max(1, min(STRAY_MOST, n // 100))
    lo, hi = 0, n  # the dates kept: v[lo:hi]
    while n - hi < most and (j := _tail_gap(v[lo:hi], most - (n - hi))) is not None:
        hi = lo + j + 1
    while lo < most and (j := _tail_gap(-v[lo:hi][::-1], most - lo)) is not None:
        lo = hi - (j + 1)
    return pd.Timestamp(v[lo]), pd.Timestamp(v[hi - 1])


@dataclass(frozen=True)
class PlaceholderRule:
    """When a date is a placeholder (``2099-12-31``, ``1900-01-01``) rather than a record:
    beyond a gap of a year from the bulk of the dates (``window``), over a year after a stated
    ``as_of``, or over two years after ``now``; and a stray date, alone beyond a gap of weeks
    with nothing (``bulk``: the span without strays, :func:`stray_bounds`)."""

    now: pd.Timestamp
    as_of: pd.Timestamp | None
    window: tuple[pd.Timestamp, pd.Timestamp] | None
    bulk: tuple[pd.Timestamp, pd.Timestamp] | None = None

    @property
    def limit(self) -> pd.Timestamp:
        """The latest date an export can hold: two years after today."""
        return self.now + FUTURE_LIMIT

    def reasons(self, values: pd.Series, early: bool = True) -> pd.Series:
        """Why each date is a placeholder or a stray (None where it is neither): the problem
        the report gives, ``placeholder date: ...`` or ``stray date: ...``. ``early``: flag
        strays before the rest too (only a lead's creation sets the start of the period)."""
        out = pd.Series(None, index=values.index, dtype=object)
        if self.bulk is not None:
            lo, hi = self.bulk
            after, before = values > hi, (values < lo) & early
            out[after] = (values[after] - hi).dt.days.astype(
                str
            ) + f" days after the rest of the data (to {hi:%Y-%m-%d}), with nothing between"
            out[before] = (lo - values[before]).dt.days.astype(
                str
            ) + f" days before the rest of the data (from {lo:%Y-%m-%d}), with nothing between"
            out = "stray date: " + out
        placeholder = pd.Series(None, index=values.index, dtype=object)
        if self.window is not None:
            lo, hi = self.window
            placeholder[values < lo] = (
                f"more than a year before the rest of the data (from {lo:%Y-%m-%d})"
            )
            placeholder[values > hi] = (
                f"more than a year after the rest of the data (to {hi:%Y-%m-%d})"
            )
        if self.as_of is not None:
            placeholder[values > self.as_of + PLACEHOLDER_GAP] = (
                f"more than a year after the as-of date {self.as_of:%Y-%m-%d}"
            )
        placeholder[values > self.limit] = f"more than two years after today ({self.now:%Y-%m-%d})"
        return ("placeholder date: " + placeholder).where(placeholder.notna(), out)
