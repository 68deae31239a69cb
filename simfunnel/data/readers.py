"""The readers of CRM exports: ``read_leads``, ``read_calls`` and ``read_opportunities`` read
one export each into canonical columns, by the style's column mapping (overridden by a
mapping given as a dict or a plain YAML/JSON file), field by field (ids, numbers, text,
dates), then the checks of each table on its own (stage dates in order, call outcomes, won
flags, duplicate ids). Every bad row is reported with its line, never dropped silently.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from ..base.formatting import one_line
from .dates import choose_dates
from .formats import CALL_OUTCOMES, STYLES
from .limits import CalibrationError
from .names import mapped_statuses, one_spelling
from .numbers import number_mark, read_number
from .tables import (
    LEAD_STAGES,
    SCHEMAS,
    STAGE_LABEL,
    ExportTable,
    add_problem,
    report_frame,
)
from .text import CONTROL_CHARS, CsvTable, read_csv_table, read_text, sniff_sep

__all__ = ["read_calls", "read_leads", "read_opportunities"]

_TRUE = {"true", "1", "yes", "y", "won", "closed won", "closedwon", "t"}
_FALSE = {"false", "0", "no", "n", "lost", "closed lost", "closedlost", "f"}
# A deal stage read as won or lost by its words: 'won' and 'lost' as words ('Closed Won',
# 'closed_lost'), and a lost stage first, since 'Closed - Not Won' names 'won' too.
_LOST_STAGE = r"(?<![a-z])(?:lost|(?:not|non|no)[\s_-]*won|unwon)(?![a-z])"
_WON_STAGE = r"(?<![a-z])won(?![a-z])"
# Mapping keys that are not columns but a CRM's own words: call outcomes and lead statuses.
_WORD_MAPS = ("outcomes", "statuses")
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


# --------------------------------------------------------------------------- mappings


def _mapping_file(path: Path) -> dict[str, Any]:
    """A mapping file read as plain YAML (``yaml.safe_load``: a ``!!python/...`` tag is
    refused) or JSON, with one line naming the file for anything it cannot use."""
    text = read_text(path, what="mapping file (YAML or JSON)")
    try:
        loaded = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    except json.JSONDecodeError as exc:
        raise CalibrationError(f"{path}: line {exc.lineno}: not valid JSON ({exc.msg})") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}: " if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        if "!!python" in str(exc) or "tag" in str(problem):
            problem = f"{problem}; a mapping file is plain YAML, without tags"
        raise CalibrationError(
            f"{path}: {where}not a plain YAML mapping ({one_line(problem)})"
        ) from None
    if not isinstance(loaded, dict):
        raise CalibrationError(f"{path}: a mapping file holds a mapping of table -> columns")
    return loaded


def _load_mapping(mapping: Any, kind: str) -> dict[str, Any]:
    """A mapping argument as a dict: canonical -> column for ``kind`` (plus ``outcomes``),
    from a dict or a file (:func:`_mapping_file`), per table or flat."""
    if mapping is None:
        return {}
    if isinstance(mapping, str | Path):
        mapping = _mapping_file(Path(mapping))
    if not isinstance(mapping, Mapping):
        raise CalibrationError(
            f"mapping: a dict of field -> column or a YAML/JSON file (got {type(mapping).__name__})"
        )
    mapping = dict(mapping)
    words = {k: mapping[k] for k in _WORD_MAPS if k in mapping}  # for every table
    if kind in mapping and isinstance(mapping[kind], Mapping):
        out = words | dict(mapping[kind])
    elif any(isinstance(v, Mapping) for k, v in mapping.items() if k not in _WORD_MAPS):
        out = words
    else:
        out = mapping
    for name, column in out.items():
        if name not in _WORD_MAPS and not isinstance(column, str):
            raise CalibrationError(
                f"mapping for {kind}: {name} must name one column (got {column!r})"
            )
    outcomes = out.get("outcomes")
    if outcomes is not None and not isinstance(outcomes, Mapping):
        raise CalibrationError(
            "mapping outcomes: a mapping of outcome -> values, e.g. {contact: [Talked]}"
        )
    return out


def _columns_for(kind: str, style: str, mapping: Any) -> tuple[dict[str, str], Any, set[str]]:
    """Canonical field -> column of a table: the style's, overridden by the mapping; the
    mapping's own words for call outcomes and lead statuses (``outcomes``, ``statuses``: None
    without); and the fields the mapping names."""
    if style not in STYLES:
        raise CalibrationError(f"unknown export style {style!r}; use one of {', '.join(STYLES)}")
    cols = dict(STYLES[style][kind])
    extra = _load_mapping(mapping, kind)
    outcome_words = {k: extra.pop(k, None) for k in _WORD_MAPS}
    unknown = set(extra) - {name for name, _, _ in SCHEMAS[kind]}
    if unknown:
        known = ", ".join(name for name, _, _ in SCHEMAS[kind])
        raise CalibrationError(
            f"mapping for {kind}: unknown field(s) {', '.join(sorted(unknown))}; use {known}"
        )
    cols.update(extra)
    return cols, outcome_words, set(extra)


def _refuse_mapped_missing(
    raw: pd.DataFrame, cols: dict[str, str], mapped: set[str], kind: str, path: str
) -> None:
    """A column the mapping names must be in the file: a typo in a mapping would otherwise
    read the field as blank (and fit a default in its place) with only a note."""
    gone = [f"'{cols[name]}' ({name})" for name in sorted(mapped) if cols[name] not in raw.columns]
    if gone:
        found = ", ".join(f"'{c}'" for c in raw.columns[:12])
        raise CalibrationError(
            f"{path}: the mapping names column {', '.join(gone)} for the {kind} table, but the "
            f"file has no such column; found {found}; correct the mapping, or leave the field "
            "out of it to read the file without that column"
        )


def _require_columns(
    raw: pd.DataFrame, cols: dict[str, str], kind: str, style: str, path: str
) -> None:
    """Every required column present, else one line naming the missing ones, those found and,
    for a file read as one column, the separator it likely uses."""
    missing = [
        f"'{cols[name]}' ({name})"
        for name, _, required in SCHEMAS[kind]
        if required and cols.get(name) not in raw.columns
    ]
    if missing:
        found = ", ".join(f"'{c}'" for c in raw.columns[:12])
        other = ""
        if len(raw.columns) == 1 and any(c in str(raw.columns[0]) for c in ",;\t|"):
            guess = sniff_sep(str(raw.columns[0]))
            other = f"; one column only: is the separator {guess!r}? state sep="
        raise CalibrationError(
            f"{path}: missing column {', '.join(missing)} for the {kind} table ({style} style); "
            f"found {found}; give a mapping to name the columns{other}"
        )


# --------------------------------------------------------------------------- fields


@dataclass
class _Fields:
    """A table's fields as read so far: canonical columns by line, the rows to exclude, the
    column each field was read from, and the date columns still to parse (as text)."""

    data: pd.DataFrame
    bad: pd.Series
    line: pd.Series
    present: dict[str, str] = field(default_factory=dict)
    dates: dict[str, pd.Series] = field(default_factory=dict)


def _clean_text(
    values: pd.Series, column: str, line: pd.Series, path: str, problems: list[dict[str, Any]]
) -> pd.Series:
    """A text column with control characters (a line break in a cell) replaced by spaces,
    each cell cleaned reported."""
    control = values.str.contains(CONTROL_CHARS)
    for i in values.index[control]:
        what = "control characters (a line break?) replaced by spaces"
        add_problem(problems, path, line[i], column, what, values[i], "cleaned")
    if control.any():
        values = values.where(~control, values.str.replace(CONTROL_CHARS, " ", regex=True))
        values = values.str.split().str.join(" ")
    return values


def _read_fields(
    table: CsvTable,
    cols: dict[str, str],
    kind: str,
    path: str,
    problems: list[dict[str, Any]],
    decimal: str | None = None,
) -> _Fields:
    """Every field of the table from its column: numbers and text read, date columns kept as
    text for :func:`_read_dates`; a field without a column is blank (of its type) and noted,
    a blank required text excludes its row. Lines are the file's (blank lines counted)."""
    raw = table.frame
    line = pd.Series(table.lines, index=raw.index)
    marks = number_mark(raw, cols, kind, table.sep, path, problems, decimal)
    out = _Fields(pd.DataFrame({"line": line}), pd.Series(False, index=raw.index), line)
    for name, kind_, required in SCHEMAS[kind]:
        column = cols.get(name)
        if column is None or column not in raw.columns:
            add_problem(problems, path, None, str(column), f"no column for {name}", None, "note")
            # Blank of the column's own type: a missing number column is NaN (float), so
            # the fit and the backtest can treat it as numbers that were all left blank.
            if kind_ == "date":
                out.data[name] = pd.NaT
            elif kind_ == "number":
                out.data[name] = np.nan
            else:
                out.data[name] = pd.NA
            continue
        out.present[name] = column
        values = raw[column].astype(str).str.strip()
        if kind_ == "date":
            out.dates[name] = values
        elif kind_ == "number":
            out.data[name] = read_number(values, name, column, line, path, problems, marks[column])
        else:
            values = _clean_text(values, column, line, path, problems)
            out.data[name] = values.where(values != "", None)
            if required:
                blank = values == ""
                for i in raw.index[blank]:
                    add_problem(problems, path, line[i], column, "blank", "", "excluded")
                out.bad |= blank
    return out


def _read_dates(
    fields: _Fields, kind: str, date_format: str | None, path: str, problems: list[dict[str, Any]]
) -> str:
    """The date columns parsed with one format (:func:`choose_dates`): an unreadable date or a
    blank required one excludes its row. Returns how the format was chosen."""
    parsed, described, date_notes = choose_dates(fields.dates, date_format, path, fields.present)
    for column, note in date_notes:
        add_problem(problems, path, None, column, note, None, "note")
    line = fields.line
    for name, values in fields.dates.items():
        column = fields.present[name]
        p = parsed[name]
        unreadable = (values != "") & p.isna()
        for i in values.index[unreadable]:
            add_problem(problems, path, line[i], column, "unparseable date", values[i], "excluded")
        fields.bad |= unreadable
        required = next(r for nm, _, r in SCHEMAS[kind] if nm == name)
        if required:
            blank = values == ""
            for i in values.index[blank]:
                add_problem(problems, path, line[i], column, "blank", "", "excluded")
            fields.bad |= blank
        fields.data[name] = p
    return described


DUPLICATES_WARNED = 0.01  # this share of rows repeating an id is a fault of the export
_ROUNDED_ID = r"^\d(?:[.,]\d+)?[eE]\+?\d+$"  # 3.01235E+14: a long id a spreadsheet rounded


def _duplicate_ids(fields: _Fields, kind: str, path: str, problems: list[dict[str, Any]]) -> None:
    """Rows that repeat a lead or opportunity id (among rows kept): the fullest row is kept
    (most fields filled; of equals, the first), the others excluded. An empty stub before a
    lead's real row once made every won lead a blank and the win rate 0. Duplicates in over
    DUPLICATES_WARNED of the rows are a WARNING, naming ids a spreadsheet rounded."""
    key = {"leads": "lead_id", "opportunities": "opportunity_id"}.get(kind)
    if key is None or key not in fields.present:
        return
    data = fields.data
    ids = data[key]
    live = ids.notna() & ~fields.bad
    if not ids[live].duplicated().any():
        return
    rank = pd.DataFrame({"id": ids, "filled": data.notna().sum(axis=1), "row": range(len(data))})
    rank = rank[live].sort_values(["filled", "row"], ascending=[False, True], kind="stable")
    kept = rank.drop_duplicates("id")
    line_of = pd.Series(fields.line[kept.index].to_numpy(), index=kept["id"].to_numpy())
    dup = live & ~data.index.isin(kept.index)
    for i in data.index[dup]:
        line = int(line_of[ids[i]])
        where = f"first on line {line}" if line < fields.line[i] else f"a fuller row on line {line}"
        what = f"duplicate id ({where})"
        add_problem(problems, path, fields.line[i], fields.present[key], what, ids[i], "excluded")
    fields.bad |= dup
    if dup.sum() >= DUPLICATES_WARNED * len(data):
        rounded = ids[dup].astype(str).str.match(_ROUNDED_ID).mean() > 0.5
        hint = (
            ": ids like "
            f"{ids[dup].iloc[0]!r} are long numbers a spreadsheet rounded; export ids as text"
            if rounded
            else ""
        )
        add_problem(
            problems,
            path,
            None,
            fields.present[key],
            f"{int(dup.sum()):,} rows ({dup.mean():.0%}) repeat an id and are excluded{hint}",
            None,
            "warning",
        )


def _read(
    kind: str,
    path: str | Path,
    style: str,
    mapping: Any,
    date_format: str | None,
    sep: str | None,
    encoding: str | None = None,
    decimal: str | None = None,
) -> ExportTable:
    """One export read into canonical columns, field by field, then the table's own checks;
    every row excluded and every value blanked is reported."""
    cols, outcome_words, mapped = _columns_for(kind, style, mapping)
    path = str(path)
    table = read_csv_table(path, sep=sep, encoding=encoding, what=f"CSV file ({kind})")
    raw = table.frame
    _refuse_mapped_missing(raw, cols, mapped, kind, path)
    _require_columns(raw, cols, kind, style, path)
    problems: list[dict[str, Any]] = []
    for said in table.warnings:
        add_problem(problems, path, None, "", said, None, "warning")
    fields = _read_fields(table, cols, kind, path, problems, decimal)
    described = _read_dates(fields, kind, date_format, path, problems)
    data, present = fields.data, fields.present
    if kind == "leads":
        fields.bad |= _check_leads(data, present, path, problems, outcome_words["statuses"])
    elif kind == "calls":
        fields.bad |= _check_calls(data, present, path, problems, outcome_words["outcomes"])
    else:
        fields.bad |= _check_opportunities(data, present, path, problems)
    _duplicate_ids(fields, kind, path, problems)
    for name in ("rep", "owner", "source"):
        if name in present:
            data[name], merged = one_spelling(data[name])
            if merged:
                shown = ", ".join(f"{a!r} as {b!r}" for a, b in list(merged.items())[:3])
                what = (
                    f"{len(merged)} names differ from another only in case or spacing: read as one"
                )
                add_problem(problems, path, None, present[name], f"{what} ({shown})", None, "note")
    report = report_frame(problems)
    report = report.sort_values(["line", "column"], na_position="first", kind="stable")
    bad = fields.bad
    return ExportTable(
        kind=kind,
        path=path,
        data=data[~bad].reset_index(drop=True),
        report=report.reset_index(drop=True),
        date_format=described,
        rows_read=len(raw),
        columns=present,
        dropped=data[bad].reset_index(drop=True),
    )


# --------------------------------------------------------------------------- per table


def _check_leads(
    data: pd.DataFrame,
    present: dict[str, str],
    path: str,
    problems: list[dict[str, Any]],
    statuses: Any,
) -> pd.Series:
    """Stage dates out of order, or a lead both won and lost: excluded, since one of its dates
    is wrong and the fit cannot tell which. Statuses are read as one word in lower case
    ('No Prospect', 'no-prospect' and 'no_prospect' alike), as the model names them, and a
    CRM's own labels as the mapping's ``statuses`` say (noted)."""
    if "status" in data:
        data["status"], mapped = mapped_statuses(data["status"], statuses)
        if mapped:
            said = ", ".join(f"{k} ({n:,})" for k, n in mapped.items())
            add_problem(
                problems, path, None, present["status"], f"statuses read: {said}", None, "note"
            )
    bad = pd.Series(False, index=data.index)
    chain = [s for s in (*LEAD_STAGES, "won_date", "lost_date") if s in present]
    for i, later in enumerate(chain):
        for earlier in chain[:i]:
            if {earlier, later} == {"won_date", "lost_date"}:
                continue
            wrong = (data[later] < data[earlier]) & ~bad
            for j in data.index[wrong]:
                add_problem(
                    problems,
                    path,
                    data.at[j, "line"],
                    present[later],
                    f"stage dates out of order: {STAGE_LABEL[later]} before {STAGE_LABEL[earlier]}",
                    f"{data[later].at[j]} < {data[earlier].at[j]}",
                    "excluded",
                )
            bad |= wrong
    if not {"won_date", "lost_date"} - set(present):
        both = data["won_date"].notna() & data["lost_date"].notna() & ~bad
        for j in data.index[both]:
            line = data.at[j, "line"]
            add_problem(
                problems, path, line, present["won_date"], "both won and lost dates", "", "excluded"
            )
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
        add_problem(
            problems,
            path,
            data.at[j, "line"],
            present["outcome"],
            "unknown call outcome (map it with outcomes: in the mapping)",
            raw[j],
            "excluded",
        )
    data["outcome"] = mapped
    if wrong.any():
        add_problem(
            problems,
            path,
            None,
            present["outcome"],
            _unknown_outcomes(raw[wrong], lookup),
            None,
            "warning",
        )
    return wrong


def _unknown_outcomes(words: pd.Series, lookup: dict[str, str]) -> str:
    """One line on the calls whose outcome is no known word: how many, the words (commonest
    first), the words known, and how to map them; left out, they would bias every call rate."""
    counts = words.value_counts()
    shown = ", ".join(f"{w!r} ({n})" for w, n in counts.head(5).items())
    more = f" and {len(counts) - 5} other words" if len(counts) > 5 else ""
    known = "; ".join(
        f"{kind}: {', '.join(sorted(w for w, k in lookup.items() if k == kind))}"
        for kind in ("no_answer", "connect", "contact")
    )
    first = str(counts.index[0])
    return (
        f"{len(words)} calls with an unknown outcome {shown}{more} are excluded, which biases "
        f"the connect and contact rates; the words known (any case) are {known}; map the others "
        f"with outcomes: in the mapping, e.g. outcomes: {{contact: [{first}]}}"
    )


def _check_opportunities(
    data: pd.DataFrame, present: dict[str, str], path: str, problems: list[dict[str, Any]]
) -> pd.Series:
    """The won flag from its column, else from the stage; a close before creation excluded."""
    flag = data["won"].fillna("").str.lower()
    won = pd.Series(pd.NA, index=data.index, dtype="boolean")
    number = pd.to_numeric(flag.where(flag != ""), errors="coerce")  # 1.0 / 0.0 from a sheet
    won[flag.isin(_TRUE) | (number == 1)] = True
    won[flag.isin(_FALSE) | (number == 0)] = False
    stage = data["stage"].fillna("").str.lower()
    lost_stage = stage.str.contains(_LOST_STAGE) | stage.isin(_FALSE)
    from_stage = (stage.str.contains(_WON_STAGE) & ~lost_stage) | stage.isin(_TRUE)
    won = won.mask(won.isna() & from_stage, True).mask(won.isna() & lost_stage, False)
    odd = flag.ne("") & won.isna()
    for j in data.index[odd]:
        what = "won flag not understood; read from the stage"
        add_problem(
            problems, path, data.at[j, "line"], present.get("won", "won"), what, flag[j], "note"
        )
    data["won"] = won
    bad = pd.Series(False, index=data.index)
    if "close_date" in present:
        wrong = data["close_date"] < data["created"]
        for j in data.index[wrong]:
            add_problem(
                problems,
                path,
                data.at[j, "line"],
                present["close_date"],
                "stage dates out of order: close date before created date",
                f"{data['close_date'].at[j]} < {data['created'].at[j]}",
                "excluded",
            )
        bad |= wrong
        closed_no_flag = data["close_date"].notna() & won.isna() & ~bad
        for j in data.index[closed_no_flag]:
            what = "closed, but neither won nor lost; treated as open"
            add_problem(
                problems, path, data.at[j, "line"], present.get("stage", "stage"), what, "", "note"
            )
    return bad


# --------------------------------------------------------------------------- readers


def read_leads(
    path: str | Path,
    style: str = "hubspot",
    mapping: Any = None,
    date_format: str | None = None,
    sep: str | None = None,
    encoding: str | None = None,
    decimal: str | None = None,
) -> ExportTable:
    """Read a lead lifecycle export (one row per lead, a date per stage reached).

    ``mapping``: canonical name -> column, overriding the style's defaults (``STYLES`` in
    simfunnel.data.formats), as a dict or a YAML/JSON file (``{leads: {...}, calls: {...}}`` or a
    flat mapping for this table). ``date_format``: ``iso``, ``dayfirst``, ``monthfirst`` or a
    strftime pattern; detected when not given (``.date_format`` says which). ``sep``: the
    separator, sniffed from the header when not given. ``encoding``: detected from a
    byte-order mark, else UTF-8; state it for a file in another encoding (``"cp1252"``).
    ``decimal``: the decimal mark of numbers, ``.`` or ``,``; detected when not given
    (:func:`simfunnel.data.numbers.decimal_mark`).
    """
    return _read("leads", path, style, mapping, date_format, sep, encoding, decimal)


def read_calls(
    path: str | Path,
    style: str = "hubspot",
    mapping: Any = None,
    date_format: str | None = None,
    sep: str | None = None,
    encoding: str | None = None,
    decimal: str | None = None,
) -> ExportTable:
    """Read a call activity log (one row per dial). Outcomes are read as no_answer, connect
    (reached the company) or contact (reached the person); other words can be mapped with
    ``outcomes: {contact: [...], ...}`` in the mapping."""
    return _read("calls", path, style, mapping, date_format, sep, encoding, decimal)


def read_opportunities(
    path: str | Path,
    style: str = "hubspot",
    mapping: Any = None,
    date_format: str | None = None,
    sep: str | None = None,
    encoding: str | None = None,
    decimal: str | None = None,
) -> ExportTable:
    """Read an opportunities export (one row per deal); the won flag is read from its column
    or, without one, from the stage name (containing 'won' or 'lost')."""
    return _read("opportunities", path, style, mapping, date_format, sep, encoding, decimal)
