"""Reading CRM exports: the lead, call and opportunity tables, read safely and checked.

``read_leads``, ``read_calls`` and ``read_opportunities`` read one export each into canonical
columns (a documented column mapping per style, dates in any common format); every bad row is
reported with its line, column, problem and action, never dropped silently. ``check_exports``
checks the tables against each other (calls before their lead, for unknown leads, activity
after the export date, placeholder dates). A file that cannot be read at all, or whose dates or
columns cannot be trusted, raises :class:`CalibrationError` with one line naming the file.
``simfunnel.calibration.fitting`` imports these names back; docs/calibration.md says what is refused
and why.
"""

from __future__ import annotations

import codecs
import csv
import dataclasses
import io
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from ..base.files import restore
from ..base.textfiles import bom_codec, looks_utf16
from .formats import CALL_OUTCOMES, STYLES

# Canonical columns of each table: (name, kind, required). Kinds: id, date, number, text.
SCHEMAS: dict[str, tuple[tuple[str, str, bool], ...]] = {
    "leads": (
        ("lead_id", "id", True),
        ("created", "date", True),
        ("source", "text", False),
        ("score", "number", False),
        ("mql_date", "date", False),
        ("sql_date", "date", False),
        ("opportunity_date", "date", False),
        ("won_date", "date", False),
        ("lost_date", "date", False),
        ("amount", "number", False),
        ("status", "text", False),
    ),
    "calls": (
        ("lead_id", "id", True),
        ("timestamp", "date", True),
        ("outcome", "text", True),
        ("duration_s", "number", False),
        ("rep", "text", False),
    ),
    "opportunities": (
        ("opportunity_id", "id", True),
        ("lead_id", "id", False),
        ("created", "date", True),
        ("close_date", "date", False),
        ("stage", "text", False),
        ("amount", "number", False),
        ("won", "text", False),
        ("owner", "text", False),
    ),
}
# Stage dates of a lead, in the order a lead reaches them (won and lost are alternatives).
LEAD_STAGES = ("created", "mql_date", "sql_date", "opportunity_date")
_STAGE_LABEL = {
    "created": "created date",
    "mql_date": "MQL date",
    "sql_date": "SQL date",
    "opportunity_date": "opportunity date",
    "won_date": "won date",
    "lost_date": "lost date",
    "close_date": "close date",
}

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
# Numbers that cannot be negative: field -> what it is, for the report.
_NON_NEGATIVE = {"amount": "amount", "duration_s": "duration"}
_TRUE = {"true", "1", "yes", "y", "won", "closed won", "closedwon", "t"}
_FALSE = {"false", "0", "no", "n", "lost", "closed lost", "closedlost", "f"}
# Call outcome values (lower case) -> canonical; the styles' own values are added below.
_OUTCOME_WORDS: dict[str, str] = {
    "no_answer": "no_answer",
    "no answer": "no_answer",
    "no_connect": "no_answer",
    "busy": "no_answer",
    "voicemail": "no_answer",
    "left voicemail": "no_answer",
    "wrong number": "no_answer",
    "connect": "connect",
    "gatekeeper": "connect",
    "contact": "contact",
    "connected": "contact",
}
for _values in CALL_OUTCOMES.values():
    _OUTCOME_WORDS.update({v.lower(): k for k, v in _values.items()})


# What the readers and the fit refuse, and where they draw the line (docs/calibration.md,
# "What is refused, and why").
DETECT_SHARE = 0.9  # a detected date format must read 90% of a table's non-empty date values
MAX_UNREAD = 0.2  # a date column with more than 20% of its values unread stops the read ...
UNREAD_SLACK = 2  # ... unless no more than 2 values are unread (small files)
SWAPPED_MIN = 10  # a stated day/month order this many values (and 20%) misread, the other reads
PLACEHOLDER_GAP = pd.Timedelta(days=365)  # a date this far from all the others is a placeholder
FUTURE_LIMIT = pd.Timedelta(days=730)  # no export holds dates over two years after today
EARLY_CALL = pd.Timedelta(days=1)  # calls this much before their lead (time zones) are kept
MAX_CALL_SECONDS = 86400.0  # a call longer than a day is a wrong duration
UNKNOWN_CALLS_SHARE = 0.5  # more leads called than this unknown: the wrong id column
# Control characters (a line break in a source name ends a YAML comment early), replaced.
CONTROL_CHARS = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]+")
# Files that are not text, by their first bytes.
_MAGIC = {
    b"PK\x03\x04": "a zip archive (an .xlsx workbook?)",
    b"\xd0\xcf\x11\xe0": "an Office file (an .xls workbook?)",
    b"%PDF": "a PDF",
    b"\x1f\x8b": "a gzip archive",
    b"\x89PNG": "a PNG image",
    b"SQLite format 3": "an SQLite database",
}


class CalibrationError(Exception):
    """Exports that cannot be used as they are (no file, not text, a missing column, dates
    that no format reads, too few rows to fit): one line, naming the file and the column."""


# --------------------------------------------------------------------------- files


def _line_of(raw: bytes, offset: int) -> int:
    return raw[:offset].count(b"\n") + 1


def read_text(path: str | Path, encoding: str | None = None, what: str = "CSV file") -> str:
    """The text of an export, read safely: one line naming the file for a directory, a missing
    or unreadable file, an empty one, a binary one (a workbook, an archive, NUL bytes) or bytes
    that are not in the encoding.

    ``encoding``: as stated, else detected: a byte-order mark says UTF-8, UTF-16 or UTF-32;
    without one the file must be UTF-8 (a file in another encoding is refused, naming the
    byte and line, until its encoding is stated, e.g. ``encoding="cp1252"``).
    """
    p = Path(path)
    if p.is_dir():
        raise CalibrationError(f"{p}: a directory, not a {what}")
    try:
        raw = p.read_bytes()
    except FileNotFoundError:
        raise CalibrationError(f"{p}: no such file") from None
    except PermissionError:
        raise CalibrationError(f"{p}: cannot read it (permission denied)") from None
    except OSError as exc:
        raise CalibrationError(f"{p}: cannot read it ({exc.strerror or exc})") from None
    if not raw.strip():
        raise CalibrationError(f"{p}: empty file (no header, no rows)")
    for magic, kind in _MAGIC.items():
        if raw.startswith(magic):
            raise CalibrationError(f"{p}: {kind}, not a {what}; save it as CSV (UTF-8)")
    if encoding is None:
        found = bom_codec(raw)
        encoding = found[0] if found else None
        if encoding is None:
            sample = raw[:8192]
            order = looks_utf16(sample)
            if order:
                raise CalibrationError(
                    f"{p}: looks like UTF-16 text without a byte-order mark; state "
                    f"encoding='utf-16-{order}'"
                )
            if b"\x00" in sample:
                at = sample.index(b"\x00")
                raise CalibrationError(
                    f"{p}: binary data (a NUL byte on line {_line_of(raw, at)}), not a {what}"
                )
            encoding = "utf-8"
            stated = False
        else:
            stated = True  # by its byte-order mark
    else:
        stated = True
        try:
            codecs.lookup(encoding)
        except LookupError:
            raise CalibrationError(f"{p}: unknown encoding {encoding!r}") from None
    try:
        text = raw.decode(encoding)
    except UnicodeDecodeError as exc:
        where = f"byte 0x{raw[exc.start]:02x} on line {_line_of(raw, exc.start)}"
        if stated:
            raise CalibrationError(f"{p}: not {encoding} text ({where})") from None
        raise CalibrationError(
            f"{p}: not UTF-8 text ({where}); save it as UTF-8 or state its encoding, e.g. "
            "encoding='cp1252'"
        ) from None
    text = text.removeprefix("\ufeff")
    if "\x00" in text:
        line = text[: text.index("\x00")].count("\n") + 1
        raise CalibrationError(f"{p}: binary data (a NUL character on line {line}), not a {what}")
    if not text.strip():
        raise CalibrationError(f"{p}: empty file (no header, no rows)")
    return text


def _sniff_sep(header: str) -> str:
    """The separator of a CSV from its header line: the commonest of , ; tab | outside quotes
    (a comma on a tie or when there is none)."""
    bare = re.sub(r'"[^"]*"', "", header)
    counts = {sep: bare.count(sep) for sep in (",", ";", "\t", "|")}
    best = max(counts, key=lambda k: (counts[k], k == ","))
    return best if counts[best] else ","


def read_csv_text(
    path: str | Path, sep: str | None = None, encoding: str | None = None, what: str = "CSV file"
) -> pd.DataFrame:
    """A CSV export as a frame of strings (blank = ""), read safely (:func:`read_text`); an
    empty or header-only file is refused with one line. ``sep``: stated, or sniffed from the
    header line (, ; tab or |)."""
    text = read_text(path, encoding, what)
    if sep is None:
        sep = _sniff_sep(text.lstrip("\r\n").splitlines()[0])
    try:
        raw = pd.read_csv(
            io.StringIO(text), dtype=str, keep_default_na=False, sep=sep, skipinitialspace=True
        )
    except pd.errors.EmptyDataError:
        raise CalibrationError(f"{path}: empty file (no header, no rows)") from None
    except (pd.errors.ParserError, ValueError, csv.Error) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise CalibrationError(f"{path}: not a readable CSV ({first})") from None
    names: list[str] = []
    for c in raw.columns:  # names as shown, unique (pandas numbers exact repeats: X, X.1)
        name = CONTROL_CHARS.sub(" ", str(c)).strip()
        k, unique = 0, name
        while unique in names:
            k += 1
            unique = f"{name}.{k}"
        names.append(unique)
    raw.columns = names
    raw = restore(raw)  # a cell simfunnel neutralised for spreadsheets ('=x) reads back as =x
    if raw.empty:
        found = ", ".join(f"'{c}'" for c in raw.columns[:6])
        raise CalibrationError(f"{path}: header only, no data rows (columns {found})")
    return raw.fillna("")


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
    if stamp.tzinfo is not None:
        stamp = stamp.tz_convert(None)
    return stamp.as_unit("ns")


# --------------------------------------------------------------------------- reading


@dataclass(frozen=True, eq=False)
class ExportTable:
    """One export read into canonical columns.

    ``data``: the rows kept, canonical columns plus ``line`` (the file's line number, header
    = line 1). ``report``: one row per problem found (``file, line, column, problem, value,
    action``; action is ``excluded``, ``blanked``, ``cleaned`` or ``note``): nothing is
    dropped silently. ``dropped``: the rows excluded, as read (for the reasons, see
    ``report``). ``date_format``: the date format used, and whether it was stated or detected.
    """

    kind: str
    path: str
    data: pd.DataFrame
    report: pd.DataFrame
    date_format: str
    rows_read: int
    columns: dict[str, str] = field(default_factory=dict)
    dropped: pd.DataFrame = field(default_factory=pd.DataFrame)

    @property
    def excluded(self) -> int:
        """Rows left out of ``data`` (each with its reasons in ``report``)."""
        return self.rows_read - len(self.data)

    def summary(self) -> pd.DataFrame:
        """Problems counted by column, problem and action."""
        if self.report.empty:
            return pd.DataFrame(columns=["column", "problem", "action", "rows"])
        return (
            self.report.groupby(["column", "problem", "action"], dropna=False)
            .size()
            .rename("rows")
            .reset_index()
        )

    def __repr__(self) -> str:
        return (
            f"ExportTable({self.kind}, {self.path!r}: {self.rows_read} rows read, "
            f"{len(self.data)} kept, {self.excluded} excluded; dates {self.date_format})"
        )


def _load_mapping(mapping: Any, kind: str) -> dict[str, Any]:
    """A mapping argument as a dict: canonical -> column for ``kind`` (plus ``outcomes``).

    A mapping file is read as plain YAML (``yaml.safe_load``: a ``!!python/...`` tag is
    refused) or JSON, with one line naming the file for anything it cannot use."""
    if mapping is None:
        return {}
    if isinstance(mapping, str | Path):
        path = Path(mapping)
        text = read_text(path, what="mapping file (YAML or JSON)")
        try:
            loaded = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
        except json.JSONDecodeError as exc:
            raise CalibrationError(
                f"{path}: line {exc.lineno}: not valid JSON ({exc.msg})"
            ) from None
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            where = f"line {mark.line + 1}: " if mark is not None else ""
            problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
            if "!!python" in str(exc) or "tag" in str(problem):
                problem = f"{problem}; a mapping file is plain YAML, without tags"
            raise CalibrationError(
                f"{path}: {where}not a plain YAML mapping ({_one_line(problem)})"
            ) from None
        if not isinstance(loaded, dict):
            raise CalibrationError(f"{path}: a mapping file holds a mapping of table -> columns")
        mapping = loaded
    if not isinstance(mapping, Mapping):
        raise CalibrationError(
            f"mapping: a dict of field -> column or a YAML/JSON file (got {type(mapping).__name__})"
        )
    mapping = dict(mapping)
    if kind in mapping and isinstance(mapping[kind], Mapping):
        out = dict(mapping[kind])
        if "outcomes" in mapping:
            out.setdefault("outcomes", mapping["outcomes"])
    elif any(isinstance(v, Mapping) for k, v in mapping.items() if k != "outcomes"):
        out = {"outcomes": mapping["outcomes"]} if "outcomes" in mapping else {}
    else:
        out = mapping
    for name, column in out.items():
        if name != "outcomes" and not isinstance(column, str):
            raise CalibrationError(
                f"mapping for {kind}: {name} must name one column (got {column!r})"
            )
    outcomes = out.get("outcomes")
    if outcomes is not None and not isinstance(outcomes, Mapping):
        raise CalibrationError(
            "mapping outcomes: a mapping of outcome -> values, e.g. {contact: [Talked]}"
        )
    return out


def _one_line(text: Any) -> str:
    return " ".join(str(text).split())


def parse_family(values: pd.Series, family: str) -> pd.Series:
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
    number = pd.to_numeric(values, errors="coerce")
    if len(number) and number.between(20000, 80000).mean() > 0.5:
        return " (numbers like 46000 are Excel serial days: export the dates as text)"
    return ""


def _choose_dates(
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
    notes: list[tuple[str, str]] = []
    hint = "state it with date_format= (--date-format): iso, dayfirst, monthfirst or a pattern"
    if date_format is not None and "%" in date_format:
        try:
            pd.to_datetime(pd.Series(["2026-01-05"]), format=date_format, errors="coerce")
        except ValueError as exc:
            raise CalibrationError(
                f"{path}: date format {date_format!r} is not a strftime pattern "
                f"({_one_line(exc)}); e.g. '%d.%m.%Y %H:%M'"
            ) from None
        parsed = {name: to_datetime(s, date_format) for name, s in columns.items()}
        described = f"{date_format} (stated)"
    elif date_format is not None:
        family = _FAMILY_ALIASES.get(str(date_format).lower())
        if family is None:
            raise CalibrationError(
                f"unknown date format {date_format!r}; use iso, dayfirst, monthfirst or a "
                "strftime pattern such as '%d.%m.%Y %H:%M'"
            )
        parsed = {n: parse_family(s, family) for n, s in columns.items()}
        described = f"{family} (stated)"
    else:
        values = pd.concat(list(columns.values()), ignore_index=True) if columns else None
        values = values[values != ""] if values is not None else pd.Series([], dtype=str)
        if values.empty:
            empty = {n: pd.Series(pd.NaT, index=s.index) for n, s in columns.items()}
            return empty, "none", notes
        sample = values.sample(5000, random_state=0) if len(values) > 5000 else values
        reads = {f: parse_family(sample, f) for f in _DATE_FAMILIES}
        scores = {f: int(p.notna().sum()) for f, p in reads.items()}
        n = len(sample)
        best = max(scores.values())
        family = next(f for f, v in scores.items() if v == best)
        shares = ", ".join(f"{f} {v / n:.0%}" for f, v in scores.items())
        if best < DETECT_SHARE * n and n - best > UNREAD_SLACK:
            unread = sample[reads[family].isna()]
            both = pd.concat([p.notna() for p in reads.values()], axis=1).any(axis=1).mean()
            mixed = " (the file mixes date formats)" if both >= DETECT_SHARE else ""
            raise CalibrationError(
                f"{path}: no date format reads 90% of the dates{mixed}: of {n} values "
                f"{shares} (e.g. {unread.iloc[0]!r} is not {family}){_excel_hint(unread)}; "
                f"{hint}"
            )
        tied = [f for f, v in scores.items() if v == best and f != family]
        for other in tied:
            a, b = reads[family], reads[other]
            differ = a.notna() & b.notna() & (a != b)
            if differ.any():
                v, x, y = sample[differ].iloc[0], a[differ].iloc[0], b[differ].iloc[0]
                raise CalibrationError(
                    f"{path}: the dates are ambiguous: {family} and {other} both read all "
                    f"{best} values, and {v!r} is {x.day} {x:%B %Y} or {y.day} {y:%B %Y}; "
                    "state date_format='dayfirst' or 'monthfirst' (--date-format)"
                )
        parsed = {n_: parse_family(s, family) for n_, s in columns.items()}
        described = f"{family} (detected: {best} of {n} values read"
        if tied:
            described += f"; {' and '.join([family, *tied])} read them alike"
        described += ")"
        # Values another format reads: a file mixing formats (those rows are excluded).
        for name, s in columns.items():
            unread = (s != "") & parsed[name].isna()
            if unread.any():
                others = [
                    f for f in _DATE_FAMILIES if f != family
                    and parse_family(s[unread], f).notna().any()
                ]  # fmt: skip
                if others:
                    notes.append(
                        (
                            present.get(name, name),
                            f"{int(unread.sum())} dates in another format ({', '.join(others)}) "
                            f"than the {family} of the rest: excluded",
                        )
                    )
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
                f"{described.split(' (')[0]} (e.g. {example!r}){_excel_hint(s[unread])}; {hint}"
            )
    return parsed, described, notes


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


def _problem(
    rows: list[dict[str, Any]], path: str, line: Any, column: str, problem: str, value: Any,
    action: str,
) -> None:  # fmt: skip
    rows.append(
        {
            "file": path,
            "line": line,
            "column": column,
            "problem": problem,
            "value": value,
            "action": action,
        }
    )


def _read(
    kind: str,
    path: str | Path,
    style: str,
    mapping: Any,
    date_format: str | None,
    sep: str | None,
    encoding: str | None = None,
) -> ExportTable:
    if style not in STYLES:
        raise CalibrationError(f"unknown export style {style!r}; use one of {', '.join(STYLES)}")
    path = str(path)
    cols = dict(STYLES[style][kind])
    extra = _load_mapping(mapping, kind)
    outcome_words = extra.pop("outcomes", None)
    unknown = set(extra) - {name for name, _, _ in SCHEMAS[kind]}
    if unknown:
        known = ", ".join(name for name, _, _ in SCHEMAS[kind])
        raise CalibrationError(
            f"mapping for {kind}: unknown field(s) {', '.join(sorted(unknown))}; use {known}"
        )
    cols.update(extra)
    raw = read_csv_text(path, sep=sep, encoding=encoding, what=f"CSV file ({kind})")
    missing = [
        f"'{cols[name]}' ({name})"
        for name, _, required in SCHEMAS[kind]
        if required and cols.get(name) not in raw.columns
    ]
    if missing:
        found = ", ".join(f"'{c}'" for c in raw.columns[:12])
        other = ""
        if len(raw.columns) == 1 and any(c in str(raw.columns[0]) for c in ",;\t|"):
            guess = _sniff_sep(str(raw.columns[0]))
            other = f"; one column only: is the separator {guess!r}? state sep="
        raise CalibrationError(
            f"{path}: missing column {', '.join(missing)} for the {kind} table ({style} style); "
            f"found {found}; give a mapping to name the columns{other}"
        )
    problems: list[dict[str, Any]] = []
    n = len(raw)
    line = pd.Series(np.arange(n) + 2, index=raw.index)
    data = pd.DataFrame({"line": line})
    bad = pd.Series(False, index=raw.index)
    present: dict[str, str] = {}
    dates: dict[str, pd.Series] = {}
    for name, kind_, required in SCHEMAS[kind]:
        column = cols.get(name)
        if column not in raw.columns:
            _problem(problems, path, None, str(column), f"no column for {name}", None, "note")
            # Blank of the column's own type: a missing number column is NaN (float), so
            # the fit and the backtest can treat it as numbers that were all left blank.
            data[name] = {"date": pd.NaT, "number": np.nan}.get(kind_, pd.NA)
            continue
        present[name] = column
        values = raw[column].astype(str).str.strip()
        if kind_ == "date":
            dates[name] = values
        elif kind_ == "number":
            number = pd.to_numeric(values.str.replace(",", "", regex=False), errors="coerce")
            wrong = (values != "") & number.isna()
            for i in raw.index[wrong]:
                _problem(problems, path, line[i], column, "not a number", values[i], "blanked")
            infinite = np.isinf(number)
            for i in raw.index[infinite]:
                _problem(problems, path, line[i], column, "not a finite number", values[i],
                         "blanked")  # fmt: skip
            number = number.where(~infinite)
            if name in _NON_NEGATIVE:
                negative = number < 0
                for i in raw.index[negative]:
                    _problem(problems, path, line[i], column, f"negative {_NON_NEGATIVE[name]}",
                             values[i], "blanked")  # fmt: skip
                number = number.where(~negative)
            if name == "duration_s":
                long = number > MAX_CALL_SECONDS
                for i in raw.index[long]:
                    _problem(problems, path, line[i], column, "a call longer than a day",
                             values[i], "blanked")  # fmt: skip
                number = number.where(~long)
            data[name] = number
        else:
            control = values.str.contains(CONTROL_CHARS)
            for i in raw.index[control]:
                _problem(problems, path, line[i], column,
                         "control characters (a line break?) replaced by spaces",
                         values[i], "cleaned")  # fmt: skip
            if control.any():
                values = values.where(~control, values.str.replace(CONTROL_CHARS, " ", regex=True))
                values = values.str.split().str.join(" ")
            data[name] = values.where(values != "", None)
            if required or kind_ == "id":
                blank = values == ""
                if required:
                    for i in raw.index[blank]:
                        _problem(problems, path, line[i], column, "blank", "", "excluded")
                    bad |= blank
    parsed, described, date_notes = _choose_dates(dates, date_format, path, present)
    for column, note in date_notes:
        _problem(problems, path, None, column, note, None, "note")
    for name, values in dates.items():
        column = present[name]
        p = parsed[name]
        unreadable = (values != "") & p.isna()
        for i in raw.index[unreadable]:
            _problem(problems, path, line[i], column, "unparseable date", values[i], "excluded")
        bad |= unreadable
        required = next(r for nm, _, r in SCHEMAS[kind] if nm == name)
        if required:
            blank = values == ""
            for i in raw.index[blank]:
                _problem(problems, path, line[i], column, "blank", "", "excluded")
            bad |= blank
        data[name] = p
    if kind == "leads":
        bad |= _check_leads(data, present, path, problems)
    elif kind == "calls":
        bad |= _check_calls(data, present, path, problems, outcome_words)
    else:
        bad |= _check_opportunities(data, present, path, problems)
    key = {"leads": "lead_id", "opportunities": "opportunity_id"}.get(kind)
    if key in present:
        ids = data[key]
        dup = ids.notna() & ids.duplicated(keep="first") & ~bad
        first = data.loc[~ids.duplicated(keep="first")].set_index(key)["line"]
        for i in raw.index[dup]:
            _problem(
                problems, path, line[i], present.get(key, key),
                f"duplicate id (first on line {int(first[ids[i]])})", ids[i], "excluded",
            )  # fmt: skip
        bad |= dup
    report = pd.DataFrame(
        problems, columns=["file", "line", "column", "problem", "value", "action"]
    ).astype({"line": "Int64"})
    report = report.sort_values(["line", "column"], na_position="first", kind="stable")
    return ExportTable(
        kind=kind,
        path=path,
        data=data[~bad].reset_index(drop=True),
        report=report.reset_index(drop=True),
        date_format=described,
        rows_read=n,
        columns=present,
        dropped=data[bad].reset_index(drop=True),
    )


def _check_leads(
    data: pd.DataFrame, present: dict[str, str], path: str, problems: list[dict[str, Any]]
) -> pd.Series:
    """Stage dates out of order, or a lead both won and lost: excluded, since one of its dates
    is wrong and the fit cannot tell which."""
    bad = pd.Series(False, index=data.index)
    chain = [s for s in (*LEAD_STAGES, "won_date", "lost_date") if s in present]
    for i, later in enumerate(chain):
        for earlier in chain[:i]:
            if {earlier, later} == {"won_date", "lost_date"}:
                continue
            wrong = (data[later] < data[earlier]) & ~bad
            for j in data.index[wrong]:
                _problem(
                    problems, path, data.at[j, "line"], present[later],
                    f"stage dates out of order: {_STAGE_LABEL[later]} before "
                    f"{_STAGE_LABEL[earlier]}",
                    f"{data.at[j, later]} < {data.at[j, earlier]}", "excluded",
                )  # fmt: skip
            bad |= wrong
    if not {"won_date", "lost_date"} - set(present):
        both = data["won_date"].notna() & data["lost_date"].notna() & ~bad
        for j in data.index[both]:
            _problem(
                problems, path, data.at[j, "line"], present["won_date"],
                "both won and lost dates", "", "excluded",
            )  # fmt: skip
        bad |= both
    return bad


def _check_calls(
    data: pd.DataFrame,
    present: dict[str, str],
    path: str,
    problems: list[dict[str, Any]],
    words: Any,
) -> pd.Series:
    """Outcome values mapped to no_answer / connect / contact; an unknown value is excluded."""
    lookup = dict(_OUTCOME_WORDS)
    for canonical, values in dict(words or {}).items():
        if canonical not in ("no_answer", "connect", "contact"):
            raise CalibrationError(
                f"mapping outcomes: unknown outcome {canonical!r}; use no_answer, connect, contact"
            )
        for v in [values] if isinstance(values, str) else values:
            lookup[str(v).strip().lower()] = canonical
    raw = data["outcome"].fillna("")
    mapped = raw.str.lower().map(lookup)
    wrong = raw.ne("") & mapped.isna()
    for j in data.index[wrong]:
        _problem(
            problems, path, data.at[j, "line"], present["outcome"],
            "unknown call outcome (map it with outcomes: in the mapping)", raw[j], "excluded",
        )  # fmt: skip
    data["outcome"] = mapped
    return wrong


def _check_opportunities(
    data: pd.DataFrame, present: dict[str, str], path: str, problems: list[dict[str, Any]]
) -> pd.Series:
    """The won flag from its column, else from the stage; a close before creation excluded."""
    flag = data["won"].fillna("").str.lower()
    won = pd.Series(pd.NA, index=data.index, dtype="boolean")
    won[flag.isin(_TRUE)] = True
    won[flag.isin(_FALSE)] = False
    stage = data["stage"].fillna("").str.lower()
    from_stage = stage.str.contains("won") | stage.isin(_TRUE)
    lost_stage = stage.str.contains("lost") | stage.isin(_FALSE)
    won = won.mask(won.isna() & from_stage, True).mask(won.isna() & lost_stage, False)
    odd = flag.ne("") & ~flag.isin(_TRUE | _FALSE)
    for j in data.index[odd]:
        _problem(problems, path, data.at[j, "line"], present.get("won", "won"),
                 "won flag not understood; read from the stage", flag[j], "note")  # fmt: skip
    data["won"] = won
    bad = pd.Series(False, index=data.index)
    if "close_date" in present:
        wrong = data["close_date"] < data["created"]
        for j in data.index[wrong]:
            _problem(
                problems, path, data.at[j, "line"], present["close_date"],
                "stage dates out of order: close date before created date",
                f"{data.at[j, 'close_date']} < {data.at[j, 'created']}", "excluded",
            )  # fmt: skip
        bad |= wrong
        closed_no_flag = data["close_date"].notna() & won.isna() & ~bad
        for j in data.index[closed_no_flag]:
            _problem(problems, path, data.at[j, "line"], present.get("stage", "stage"),
                     "closed, but neither won nor lost; treated as open", "", "note")  # fmt: skip
    return bad


def read_leads(
    path: str | Path,
    style: str = "hubspot",
    mapping: Any = None,
    date_format: str | None = None,
    sep: str | None = None,
    encoding: str | None = None,
) -> ExportTable:
    """Read a lead lifecycle export (one row per lead, a date per stage reached).

    ``mapping``: canonical name -> column, overriding the style's defaults (``STYLES`` in
    simfunnel.results.exports), as a dict or a YAML/JSON file (``{leads: {...}, calls: {...}}`` or a
    flat mapping for this table). ``date_format``: ``iso``, ``dayfirst``, ``monthfirst`` or a
    strftime pattern; detected when not given (``.date_format`` says which). ``sep``: the
    separator, sniffed from the header when not given. ``encoding``: detected from a
    byte-order mark, else UTF-8; state it for a file in another encoding (``"cp1252"``).
    """
    return _read("leads", path, style, mapping, date_format, sep, encoding)


def read_calls(
    path: str | Path,
    style: str = "hubspot",
    mapping: Any = None,
    date_format: str | None = None,
    sep: str | None = None,
    encoding: str | None = None,
) -> ExportTable:
    """Read a call activity log (one row per dial). Outcomes are read as no_answer, connect
    (reached the company) or contact (reached the person); other words can be mapped with
    ``outcomes: {contact: [...], ...}`` in the mapping."""
    return _read("calls", path, style, mapping, date_format, sep, encoding)


def read_opportunities(
    path: str | Path,
    style: str = "hubspot",
    mapping: Any = None,
    date_format: str | None = None,
    sep: str | None = None,
    encoding: str | None = None,
) -> ExportTable:
    """Read an opportunities export (one row per deal); the won flag is read from its column
    or, without one, from the stage name (containing 'won' or 'lost')."""
    return _read("opportunities", path, style, mapping, date_format, sep, encoding)


# --------------------------------------------------------------------------- across tables


def _plausible_window(stamps: pd.Series) -> tuple[pd.Timestamp, pd.Timestamp]:
    """The span of the bulk of the dates: from the median outwards, up to the first gap of
    more than a year on either side (a date beyond such a gap is a placeholder)."""
    v = np.sort(stamps.dropna().to_numpy(dtype="datetime64[ns]"))
    if not len(v):
        return pd.NaT, pd.NaT
    gaps = np.flatnonzero(np.diff(v) > PLACEHOLDER_GAP.to_timedelta64())
    mid = len(v) // 2
    upper, lower = gaps[gaps >= mid], gaps[gaps < mid]
    hi = v[upper[0]] if len(upper) else v[-1]
    lo = v[lower[-1] + 1] if len(lower) else v[0]
    return pd.Timestamp(lo), pd.Timestamp(hi)


def _with(
    table: ExportTable, data: pd.DataFrame, bad: pd.Series, problems: list[dict[str, Any]]
) -> ExportTable:
    """The table with rows ``bad`` moved to ``dropped`` and the new problems reported."""
    if not problems and not bad.any():
        return dataclasses.replace(table, data=data.reset_index(drop=True))
    new = pd.DataFrame(problems, columns=["file", "line", "column", "problem", "value", "action"])
    frames = [f for f in (table.report, new.astype({"line": "Int64"})) if not f.empty]
    report = pd.concat(frames, ignore_index=True) if frames else table.report
    report = report.sort_values(["line", "column"], na_position="first", kind="stable")
    dropped = [f for f in (table.dropped, data[bad]) if not f.empty]
    return dataclasses.replace(
        table,
        data=data[~bad].reset_index(drop=True),
        report=report.reset_index(drop=True),
        dropped=pd.concat(dropped, ignore_index=True) if dropped else table.dropped,
    )


def check_exports(
    leads: ExportTable,
    calls: ExportTable | None = None,
    opportunities: ExportTable | None = None,
    *,
    as_of: Any = None,
    today: Any = None,
) -> tuple[ExportTable, ExportTable | None, ExportTable | None, pd.Timestamp]:
    """The tables checked against each other and against the export date; returns them with
    the rows that cannot be true excluded (or their dates blanked) and reported with line,
    column, problem and action, and the as-of date.

    ``as_of``: when the extract was taken; by default the latest plausible date in the tables
    (not today's date: synthetic exports of a simulated future read too). Checked:

    - placeholder dates: more than two years after ``today`` (default: the clock's date), more
      than a year after ``as_of``, or beyond a gap of more than a year from the bulk of the
      dates (``2099-12-31``, ``1900-01-01``): the row is excluded;
    - with ``as_of`` stated: a lead, call or opportunity created after it is excluded; a stage
      date or close after it is blanked (not reached at ``as_of``; the lead's status with it);
    - calls for leads the lead table does not hold (or excluded) are excluded; when they are
      more than half of the calls the read stops (the id columns do not match); calls more
      than a day before their lead was created are excluded (less than a day: time zones,
      kept with a note); opportunities created more than a day before their lead, excluded.
    """
    now = parse_timestamp(today, "today") if today is not None else pd.Timestamp.now().normalize()
    limit = now + FUTURE_LIMIT
    stated = as_of is not None
    if stated:
        as_of = parse_timestamp(as_of, "as_of")
        if as_of > limit:
            raise CalibrationError(
                f"as_of {as_of:%Y-%m-%d} is more than two years after today ({now:%Y-%m-%d})"
            )
    L = leads.data.copy()
    C = calls.data.copy() if calls is not None else None
    O = opportunities.data.copy() if opportunities is not None else None  # noqa: E741
    lead_dates = [c for c in (*LEAD_STAGES, "won_date", "lost_date") if c in L]
    closed = O["won"].notna() if O is not None else None
    pool = [L[c] for c in lead_dates]
    if C is not None:
        pool.append(C["timestamp"])
    if O is not None:
        pool += [O["created"], O["close_date"].where(closed)]
    stamps = pd.concat(pool, ignore_index=True).dropna() if pool else pd.Series([], "M8[ns]")
    lo, hi = _plausible_window(stamps[stamps <= limit])

    def far(values: pd.Series) -> pd.Series:
        """Why each date is a placeholder (None where it is not)."""
        out = pd.Series(None, index=values.index, dtype=object)
        if pd.notna(lo):
            out[values < lo] = f"more than a year before the rest of the data (from {lo:%Y-%m-%d})"
            out[values > hi] = f"more than a year after the rest of the data (to {hi:%Y-%m-%d})"
        if stated:
            out[values > as_of + PLACEHOLDER_GAP] = (
                f"more than a year after the as-of date {as_of:%Y-%m-%d}"
            )
        out[values > limit] = f"more than two years after today ({now:%Y-%m-%d})"
        return out

    def placeholders(
        table: ExportTable, data: pd.DataFrame, fields: list[str], bad: pd.Series,
        problems: list[dict[str, Any]], only: pd.Series | None = None,
    ) -> pd.Series:  # fmt: skip
        """Rows with a placeholder date in one of ``fields``, reported (excluded)."""
        out = bad.copy()
        for name in fields:
            why = far(data[name])
            hit = why.notna() & ~out
            if only is not None:
                hit &= only
            for j in data.index[hit]:
                _problem(problems, table.path, data.at[j, "line"], table.columns.get(name, name),
                         f"placeholder date: {why[j]}", f"{data.at[j, name]:%Y-%m-%d %H:%M}",
                         "excluded")  # fmt: skip
            out |= hit
        return out

    # Leads.
    problems: list[dict[str, Any]] = []
    bad = pd.Series(False, index=L.index)
    bad = placeholders(leads, L, lead_dates, bad, problems)
    if stated:
        later = (L["created"] > as_of) & ~bad
        for j in L.index[later]:
            _problem(problems, leads.path, L.at[j, "line"], leads.columns.get("created", "created"),
                     f"created after the as-of date {as_of:%Y-%m-%d %H:%M}",
                     f"{L.at[j, 'created']:%Y-%m-%d %H:%M}", "excluded")  # fmt: skip
        bad |= later
        moved = pd.Series(False, index=L.index)
        for name in lead_dates[1:]:
            after = (L[name] > as_of) & ~bad
            for j in L.index[after]:
                _problem(problems, leads.path, L.at[j, "line"], leads.columns.get(name, name),
                         f"after the as-of date {as_of:%Y-%m-%d %H:%M}: not reached then "
                         "(the lead's status blanked too)", f"{L.at[j, name]:%Y-%m-%d %H:%M}",
                         "blanked")  # fmt: skip
            L[name] = L[name].where(~after)
            moved |= after
        if "status" in L:
            L["status"] = L["status"].where(~moved)
    kept = L[~bad]
    if kept.empty:
        _no_leads(leads, problems, as_of if stated else None)
    checked_leads = _with(leads, L, bad, problems)
    known = kept.drop_duplicates("lead_id").set_index("lead_id")
    lead_file = Path(leads.path).name  # in problems; the report's file column has the path
    gone = checked_leads.dropped
    dropped_ids = set(gone["lead_id"].dropna()) if "lead_id" in gone else set()

    # Calls.
    checked_calls = None
    if C is not None and calls is not None:
        problems, bad = [], pd.Series(False, index=C.index)
        column = calls.columns.get("lead_id", "lead_id")
        unknown = ~C["lead_id"].isin(known.index)
        stranger = unknown & ~C["lead_id"].isin(dropped_ids)
        ids, strangers = C["lead_id"].nunique(), C.loc[stranger, "lead_id"].nunique()
        if ids and strangers > UNKNOWN_CALLS_SHARE * ids:
            example = C.loc[stranger, "lead_id"].iloc[0]
            raise CalibrationError(
                f"{calls.path}: {strangers} of the {ids} leads called are not in {leads.path} "
                f"(column '{column}' against '{leads.columns.get('lead_id')}', e.g. "
                f"{example!r}): do the two id columns match?"
            )
        for j in C.index[unknown]:
            why = (
                f"call for a lead excluded from the lead table ({lead_file})"
                if C.at[j, "lead_id"] in dropped_ids
                else f"call for a lead not in the lead table ({lead_file})"
            )
            _problem(problems, calls.path, C.at[j, "line"], column, why, C.at[j, "lead_id"],
                     "excluded")  # fmt: skip
        bad |= unknown
        bad = placeholders(calls, C, ["timestamp"], bad, problems)
        ts_column = calls.columns.get("timestamp", "timestamp")
        if stated:
            later = (C["timestamp"] > as_of) & ~bad
            for j in C.index[later]:
                _problem(problems, calls.path, C.at[j, "line"], ts_column,
                         f"after the as-of date {as_of:%Y-%m-%d %H:%M}",
                         f"{C.at[j, 'timestamp']:%Y-%m-%d %H:%M}", "excluded")  # fmt: skip
            bad |= later
        created = C["lead_id"].map(known["created"])
        early = (C["timestamp"] < created) & ~bad
        too_early = early & (C["timestamp"] < created - EARLY_CALL)
        for j in C.index[early]:
            line = int(known.at[C.at[j, "lead_id"], "line"])
            why = (
                f"call before its lead was created ({lead_file})"
                if too_early[j]
                else f"call less than a day before its lead was created ({lead_file}): time "
                "zones? kept"
            )
            _problem(problems, calls.path, C.at[j, "line"], ts_column, why,
                     f"{C.at[j, 'timestamp']:%Y-%m-%d %H:%M} < {created[j]:%Y-%m-%d %H:%M} "
                     f"(line {line})", "excluded" if too_early[j] else "note")  # fmt: skip
        bad |= too_early
        checked_calls = _with(calls, C, bad, problems)

    # Opportunities.
    checked_opps = None
    if O is not None and opportunities is not None:
        problems, bad = [], pd.Series(False, index=O.index)
        bad = placeholders(opportunities, O, ["created"], bad, problems)
        bad = placeholders(opportunities, O, ["close_date"], bad, problems, only=closed)
        cols = opportunities.columns
        if stated:
            later = (O["created"] > as_of) & ~bad
            for j in O.index[later]:
                _problem(problems, opportunities.path, O.at[j, "line"],
                         cols.get("created", "created"),
                         f"created after the as-of date {as_of:%Y-%m-%d %H:%M}",
                         f"{O.at[j, 'created']:%Y-%m-%d %H:%M}", "excluded")  # fmt: skip
            bad |= later
            shut = (O["close_date"] > as_of) & O["won"].notna() & ~bad
            for j in O.index[shut]:
                _problem(problems, opportunities.path, O.at[j, "line"],
                         cols.get("close_date", "close_date"),
                         f"closed after the as-of date {as_of:%Y-%m-%d %H:%M}: open then "
                         "(won/lost blanked too)", f"{O.at[j, 'close_date']:%Y-%m-%d %H:%M}",
                         "blanked")  # fmt: skip
            O["close_date"] = O["close_date"].where(~shut)
            O["won"] = O["won"].where(~shut)
        if "lead_id" in cols:
            named = O["lead_id"].notna()
            lead_created = O["lead_id"].map(known["created"])
            early = named & (O["created"] < lead_created - EARLY_CALL) & ~bad
            for j in O.index[early]:
                line = int(known.at[O.at[j, "lead_id"], "line"])
                _problem(problems, opportunities.path, O.at[j, "line"],
                         cols.get("created", "created"),
                         f"opportunity created before its lead ({lead_file})",
                         f"{O.at[j, 'created']:%Y-%m-%d %H:%M} < "
                         f"{lead_created[j]:%Y-%m-%d %H:%M} (line {line})", "excluded")  # fmt: skip
            bad |= early
            strange = named & ~O["lead_id"].isin(known.index) & ~bad
            if strange.any():
                _problem(problems, opportunities.path, None, cols["lead_id"],
                         f"{int(strange.sum())} opportunities name a lead not among the leads "
                         f"kept from {lead_file}: kept, as deals on their own", None,
                         "note")  # fmt: skip
        checked_opps = _with(opportunities, O, bad, problems)

    if not stated:
        latest = [checked_leads.data[c].max() for c in lead_dates]
        if checked_calls is not None:
            latest.append(checked_calls.data["timestamp"].max())
        if checked_opps is not None:
            o = checked_opps.data
            latest += [o["created"].max(), o["close_date"].where(o["won"].notna()).max()]
        as_of = max(x for x in latest if pd.notna(x))
    return checked_leads, checked_calls, checked_opps, pd.Timestamp(as_of)


def _no_leads(leads: ExportTable, problems: list[dict[str, Any]], as_of: Any) -> None:
    """Every lead excluded: one line saying why, with the first reason."""
    first = leads.data["created"].min() if len(leads.data) else pd.NaT
    if as_of is not None and pd.notna(first) and first > as_of:
        raise CalibrationError(
            f"{leads.path}: no lead created on or before the as-of date {as_of:%Y-%m-%d} (the "
            f"first was created {first:%Y-%m-%d})"
        )
    rows = [p for p in problems if p["action"] == "excluded"]
    if not rows and not leads.report.empty:
        rows = leads.report[leads.report["action"] == "excluded"].to_dict("records")
    why = (
        f"; e.g. line {rows[0]['line']}: '{rows[0]['column']}': {rows[0]['problem']}"
        if rows
        else ""
    )
    raise CalibrationError(
        f"{leads.path}: no usable lead rows ({leads.rows_read} read, all excluded{why})"
    )
