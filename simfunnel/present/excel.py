"""An Excel workbook of any answer, for the people who plan in spreadsheets.

:func:`write_workbook` asks an answer only what every answer offers (``verdict``, ``table``,
``summary()``, the tables it saves, ``report()``: :mod:`simfunnel.results.answer`), so it works
for every run, decision, fit and backtest without knowing which it is: a "Verdict" sheet first,
one sheet per table (a formatted copy of another is not repeated), the scenario as YAML last.
Numbers stay numbers with a format (counts ``#,##0``, shares ``0.0%``, money ``#,##0`` with the
currency in the header), dates are dates, missing values empty cells; nothing is a formula.
openpyxl is an optional extra (``pip install 'simfunnel[excel]'``), loaded only when needed.
"""

from __future__ import annotations

import datetime as dt
import io
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..base.files import replacing
from ..base.formatting import fmt, value_text
from ..base.units import duration_text
from ..base.version import __version__
from ..results import Unit, find_kpi
from ..results.answer import Report
from ..scenario import Scenario
from .page import scenario_yaml

__all__ = [
    "EXCEL_MISSING",
    "ExcelUnavailable",
    "Sheet",
    "answer_sheets",
    "scenario_assumptions",
    "write_workbook",
]

EXCEL_MISSING = "writing Excel needs openpyxl: pip install 'simfunnel[excel]'"
MAX_SHEET_NAME = 31  # Excel's limit
MAX_ROWS = 1_048_576  # rows of a sheet, its header included
MAX_TEXT = 32_767  # characters of a cell
TEXT_WIDTH = 100  # characters of a paragraph line on the Verdict sheet
MAX_WIDTH, MIN_WIDTH = 60, 6  # column widths, in characters
WIDTH_SAMPLE = 2_000  # rows read to fit a column's width
SHARE_FORMAT, WHOLE_FORMAT = "0.0%", "#,##0"
DATE_FORMAT, DATETIME_FORMAT = "yyyy-mm-dd", "yyyy-mm-dd hh:mm"

# Words in a column's name that make it a share (shown as a percent when it lies in 0 to 1),
# and names of money columns (shown whole, with the currency in the header).
_SHARE_WORDS = frozenset(
    {"rate", "share", "utilisation", "utilization", "occupancy", "coverage", "conversion"}
    | {"mape", "ape", "within", "met", "nominal", "survival", "probability", "attainment"}
    | {"1h", "24h"}
)
_MONEY = re.compile(
    r"(^|[^a-z])(costs?|revenue|amount|bookings)([^a-z]|$)"
    r"|(pipeline|won|open|serve|deal|lost|closed)_value"
)
# Bounds: a bare one takes the kind of the column before it, connect_low that of connect_rate.
_BOUNDS = ("ci_low", "ci_high", "low", "high", "p10", "p50", "p90")
_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")  # control characters XML refuses
_NUMBER_TEXT = re.compile(r"([+-]?)(0|[1-9]\d{0,2}(?:,\d{3})+|[1-9]\d*)(?:\.(\d+))?(%?)")
_RESERVED = {"verdict", "scenario", "history"}  # Excel keeps "History" for itself


class ExcelUnavailable(ImportError):
    """openpyxl, which writes the workbook, is not installed; the message says how to get it."""


@dataclass(frozen=True)
class Sheet:
    """One table sheet: its name in the workbook, what it holds, and the table."""

    name: str
    note: str
    frame: pd.DataFrame


@dataclass(frozen=True)
class Column:
    """How one column is written: its header, and the number format of each of its cells."""

    header: str
    kind: str | None  # "share", "money" or None: a figure shown by its size
    row_kinds: Sequence[str | None] | None = None  # a long table: each row's, where none is

    def number_format(self, row: int, value: Any) -> str | None:
        kind = self.kind if self.row_kinds is None else self.row_kinds[row]
        return _kind_format(kind, value)


# --------------------------------------------------------------------------- the tables


def _flat(frame: pd.DataFrame) -> pd.DataFrame:
    """The table as plain columns: a meaningful index becomes columns, names become unique text."""
    index = frame.index
    plain = isinstance(index, pd.RangeIndex) and index.start == 0 and index.step == 1
    out = frame if plain and index.name is None else frame.reset_index(allow_duplicates=True)
    names: list[str] = []
    for column in out.columns:
        parts = column if isinstance(column, tuple) else (column,)
        name = base = _clean(" ".join(str(p) for p in parts if str(p))) or "column"
        while name.lower() in (n.lower() for n in names):
            name = f"{base} ({len(names) + 1})"
        names.append(name)
    return out.set_axis(names, axis=1)


def _numeric(series: pd.Series) -> bool:
    """A column of numbers (booleans are yes/no, not numbers)."""
    dtype = series.dtype
    return pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype)


def _floats(series: pd.Series) -> np.ndarray:  # NaN for a missing value
    return np.asarray(pd.to_numeric(series, errors="coerce").astype("float64"), dtype=float)


def _same_table(a: pd.DataFrame, b: pd.DataFrame) -> bool:
    """Whether ``b`` is ``a`` again, perhaps formatted for reading: the same columns and rows,
    and every column that holds numbers (or yes/no, or text) in both the same."""
    if list(a.columns) != list(b.columns) or len(a) != len(b):
        return False
    for name in a.columns:
        x, y = a[name], b[name]
        kind = _numeric(x), pd.api.types.is_bool_dtype(x.dtype)
        if kind != (_numeric(y), pd.api.types.is_bool_dtype(y.dtype)):
            continue  # figures against their text: a formatted copy
        if kind[0] and not np.allclose(_floats(x), _floats(y), rtol=1e-12, equal_nan=True):
            return False
        if not kind[0] and [str(_cell(v)) for v in x] != [str(_cell(v)) for v in y]:
            return False
    return True


def _sheet_name(wanted: str, taken: set[str]) -> str:
    """A sheet name Excel accepts: no ``[]:*?/\\``, at most 31 characters, unique (Excel
    ignores case)."""
    base = " ".join(re.sub(r"[\[\]:*?/\\]", " ", wanted.replace("_", " ")).split())
    base = base[:MAX_SHEET_NAME].strip(" '") or "table"  # nor may it start or end with '
    name, n = base, 1
    while name.lower() in taken or name.lower() in _RESERVED:
        n += 1
        suffix = f" ({n})"
        name = base[: MAX_SHEET_NAME - len(suffix)] + suffix
    taken.add(name.lower())
    return name


def answer_sheets(answer: Any, report: Report) -> list[Sheet]:
    """The tables of an answer, each once, in reading order: its table, its summary, the
    tables it saves, the report's further tables, and the report's details."""
    saved = getattr(answer, "tables", None)
    tables: Mapping[str, pd.DataFrame] = saved() if callable(saved) else {}
    candidates: list[tuple[str, str, pd.DataFrame]] = [
        ("table", "the table the verdict rests on", answer.table),
        ("summary", "the key figures as a tidy table", answer.summary()),
        *((name, "", frame) for name, frame in tables.items()),
        *((heading, note, frame) for heading, note, frame in report.tables),
    ]
    if report.details is not None:
        candidates.append(("details", "every figure of the report", report.details))
    kept: list[tuple[str, str, pd.DataFrame]] = []
    for name, note, frame in candidates:
        if not isinstance(frame, pd.DataFrame) or frame.columns.empty:
            continue
        flat = _flat(frame)
        if any(_same_table(other, flat) for _, _, other in kept):
            continue
        if name in ("table", "summary"):  # the answer's own, under the name it is saved as
            name = next((k for k, f in tables.items() if _same_table(_flat(f), flat)), name)
        kept.append((name, note, flat))
    taken = {"verdict", "scenario"}
    return [Sheet(_sheet_name(name, taken), note, frame) for name, note, frame in kept]


# --------------------------------------------------------------------------- cells


def _clean(text: str) -> str:
    return _ILLEGAL.sub("", text)[:MAX_TEXT]  # what XML cannot hold, and Excel's cell limit


def _cell(value: Any) -> Any:
    """A value as a cell holds it: numbers, yes/no, dates and text; None for a missing one."""
    if value is None or value is pd.NaT or value is pd.NA:
        return None
    if isinstance(value, str):
        return _clean(value) or None
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, int | np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        x = float(value)
        if math.isnan(x):
            return None
        return x if math.isfinite(x) else ("inf" if x > 0 else "-inf")  # Excel has no infinity
    if isinstance(value, np.datetime64 | pd.Timestamp):
        stamp = pd.Timestamp(value)
        return None if pd.isna(stamp) else stamp.tz_localize(None).to_pydatetime(warn=False)
    if isinstance(value, dt.datetime):
        return value.replace(tzinfo=None)  # Excel has no time zones: the wall-clock time
    if isinstance(value, dt.date):
        return value
    if isinstance(value, list | tuple | set | frozenset | np.ndarray):
        return _clean(", ".join(str(_cell(v)) for v in value))
    return _clean(str(value))


def _magnitude_format(value: float) -> str:
    """Decimals as :func:`~simfunnel.base.formatting.fmt` writes them: 1,234 / 12.5 / 1.25 /
    0.042, never in scientific notation."""
    size = abs(value)
    if float(value).is_integer() or size >= 100:
        return WHOLE_FORMAT
    if size >= 10:
        return "#,##0.0"
    if size >= 1:
        return "#,##0.00"
    return "0.00##"


def _kind_format(kind: str | None, value: Any) -> str | None:
    """The number format of one cell of the given kind ("share", "money" or None)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, dt.datetime):
        return DATE_FORMAT if value.time() == dt.time() else DATETIME_FORMAT
    if isinstance(value, dt.date):
        return DATE_FORMAT
    if not isinstance(value, int | float):
        return None
    if kind == "share" and -1 <= value <= 1:
        return SHARE_FORMAT
    if kind == "money":
        return WHOLE_FORMAT
    return _magnitude_format(value)


def _name_kind(name: str) -> str | None:
    """What a name says a figure is: money, a share, or nothing known."""
    lower = name.lower()
    if _MONEY.search(lower):
        return "money"
    words = set(re.split(r"[^a-z0-9]+", lower))
    if words & _SHARE_WORDS and "per" not in words:
        return "share"
    return None


def _column_kinds(frame: pd.DataFrame) -> dict[str, str | None]:
    """Each numeric column's kind by its name (a share only if it lies in 0 to 1); a bound
    (low, p90...) takes the kind of the column it bounds."""
    kinds: dict[str, str | None] = {}
    previous: str | None = None
    for name in frame.columns:
        series = frame[name]
        if not _numeric(series):
            kinds[name] = None
            continue
        kind = _name_kind(name)
        stem = next((name[: -len(b)].rstrip("_ ") for b in _BOUNDS if name.endswith(b)), None)
        if kind is None and stem is not None:
            if stem:
                related = [c for c in frame.columns if c != name and c.startswith(stem)]
                kind = next((kinds[c] for c in related if kinds.get(c)), None)
            elif previous is not None:
                kind = kinds.get(previous)
        x = _floats(series)
        if kind == "share" and not np.all(np.isnan(x) | ((x >= 0) & (x <= 1))):
            kind = None  # a share lies in 0 to 1
        kinds[name] = kind
        if stem is None:
            previous = name
    return kinds


_UNIT_KINDS = {Unit.SHARE.value: "share", Unit.MONEY.value: "money"}


def _row_kinds(frame: pd.DataFrame) -> tuple[list[str | None], set[str]] | None:
    """For a long table (one figure per row): each row's kind, from its ``unit`` column or
    the KPI registry (else the name) of its ``metric``, and the columns holding the figure (the
    fractional ones after the metric's); None for a wide table."""
    fractional = [c for c in frame.columns if pd.api.types.is_float_dtype(frame[c].dtype)]
    if "unit" in frame.columns:
        return [_UNIT_KINDS.get(str(u)) for u in frame["unit"]], set(fractional)
    key = next((c for c in ("metric", "kpi", "measure") if c in frame.columns), None)
    if key is None:
        return None
    after = list(frame.columns)[list(frame.columns).index(key) + 1 :]
    sections = frame["section"] if "section" in frame.columns else [None] * len(frame)
    kinds: list[str | None] = []
    for metric, section in zip(frame[key], sections, strict=True):
        entry = find_kpi(str(metric), None if section is None else str(section))
        unit = None if entry is None else _UNIT_KINDS.get(entry.unit.value)
        kinds.append(unit if entry is not None else _name_kind(str(metric)))
    return kinds, set(fractional) & set(after)


def _columns(frame: pd.DataFrame, currency: str | None) -> list[Column]:
    """How each column is written: a column's own kind first, else its row's; money columns
    name the currency in their header."""
    by_column = _column_kinds(frame)
    by_row, figures = _row_kinds(frame) or (None, set())
    out = []
    for name in frame.columns:
        kind = by_column[name]
        header = f"{name} ({currency})" if kind == "money" and currency else name
        out.append(Column(header, kind, by_row if kind is None and name in figures else None))
    return out


def _width(value: Any) -> int:
    """Characters a cell shows, near enough to size its column."""
    if value is None:
        return 0
    if isinstance(value, dt.datetime):
        return 16
    if isinstance(value, dt.date):
        return 10
    if isinstance(value, float):
        return len(fmt(value)) + 1
    return max((len(line) for line in str(value).split("\n")), default=0)


def _letter(column: int) -> str:
    """The letters of a 1-based column: 1 -> A, 27 -> AA."""
    letters = ""
    while column:
        column, rest = divmod(column - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def _put(ws: Any, row: int, column: int, value: Any, number_format: str | None = None) -> Any:
    """Write one cell; text that starts with "=" stays text, never a formula."""
    cell = ws.cell(row=row, column=column, value=value)
    if isinstance(value, str) and value.startswith("="):
        cell.data_type = "s"
    if number_format is not None:
        cell.number_format = number_format
    return cell


def _number_text(text: str) -> tuple[float, str] | None:
    """A figure written as text ("1,234", "12.5", "42%") as a number and the format that shows
    it the same; None for any other text."""
    match = _NUMBER_TEXT.fullmatch(text.strip())
    if match is None:
        return None
    sign, whole, decimals, percent = match.groups()
    value = float(f"{sign}{whole.replace(',', '')}.{decimals or 0}")
    places = "." + "0" * len(decimals) if decimals else ""
    whole_format = "#,##0" if "," in whole else "0"  # "2026" stays 2026, "1,234" 1,234
    return (value / 100, f"0{places}%") if percent else (value, f"{whole_format}{places}")


def _write_table(
    ws: Any, frame: pd.DataFrame, columns: Sequence[Column], top: int, bold: Any, figures: bool
) -> None:
    """Write ``frame`` with its header at row ``top``. ``figures``: text that is a plain figure
    ("1,234", "42%", as the report's key figures are written) becomes a number."""
    for j, column in enumerate(columns, start=1):
        _put(ws, top, j, column.header).font = bold
    rows = min(len(frame), MAX_ROWS - top)
    for j, (name, column) in enumerate(zip(frame.columns, columns, strict=True), start=1):
        for i, raw in enumerate(frame[name].iloc[:rows].tolist()):
            value = _cell(raw)
            if value is None:
                continue  # a missing value is an empty cell
            parsed = _number_text(value) if figures and isinstance(value, str) else None
            if parsed is not None:
                _put(ws, top + 1 + i, j, *parsed)
            else:
                _put(ws, top + 1 + i, j, value, column.number_format(i, value))


def _widths(frame: pd.DataFrame, columns: Sequence[Column]) -> list[int]:
    """Each column's width in characters: its header (bold, with a filter button) or its
    widest cell among the first rows, whichever is wider, within bounds."""
    widths = []
    for name, column in zip(frame.columns, columns, strict=True):
        cells = (_width(_cell(v)) for v in frame[name].iloc[:WIDTH_SAMPLE].tolist())
        widest = max(len(column.header) + 3, *cells) if len(frame) else len(column.header) + 3
        widths.append(min(MAX_WIDTH, max(MIN_WIDTH, widest)))
    return widths


def _set_widths(ws: Any, widths: Sequence[int]) -> None:
    for j, width in enumerate(widths, start=1):
        ws.column_dimensions[_letter(j)].width = width


def _table_sheet(ws: Any, sheet: Sheet, style: Styles, currency: str | None) -> None:
    """A table on a sheet of its own: the header bold, frozen and filterable."""
    columns = _columns(sheet.frame, currency)
    _write_table(ws, sheet.frame, columns, 1, style.bold, figures=False)
    _set_widths(ws, _widths(sheet.frame, columns))
    ws.freeze_panes = "A2"
    if len(sheet.frame):
        ws.auto_filter.ref = f"A1:{_letter(len(columns))}{ws.max_row}"


# --------------------------------------------------------------------------- the Verdict sheet


@dataclass(frozen=True)
class Styles:
    """The fonts and alignment of the workbook (openpyxl objects, made once it is loaded)."""

    bold: Any
    title: Any
    heading: Any
    quiet: Any
    wrap: Any
    code: Any


def scenario_assumptions(scenario: Scenario) -> list[str]:
    """The scenario's main assumptions in a few lines a sales leader reads; the Scenario sheet
    holds every value."""
    s, ae = scenario, scenario.ae
    cal = s.calendar
    period = f"period: {s.period} from {s.start_date:%Y-%m-%d}"
    if s.warm_up:
        period += f", after a warm-up of {duration_text(s.warm_up)}"
    days = "around the clock" if cal.always_open else f"{', '.join(cal.days)}, {cal.hours}"
    sources = [f"{src.name} {fmt(float(src.rate_per_week))} a week" for src in s.sources]
    more = f" and {len(sources) - 6} more" if len(sources) > 6 else ""
    lines = [
        period,
        f"working hours: {days}",
        f"inbound leads: {', '.join(sources[:6])}{more}",
        f"MQL threshold: a score of {value_text(s.scoring.threshold)}",
        f"SDRs: {s.sdr.headcount} at the start, {fmt(s.sdr.shrinkage, True)} of their time off "
        "the phones",
        f"calls: up to {s.cadence.max_attempts} attempts a lead; "
        f"{fmt(s.cadence.connect_probability, True)} of dials connect, "
        f"{fmt(s.cadence.contact_probability, True)} of connects reach the person",
        "AEs: no limit on the deals they hold"
        if ae.team is None
        else f"AEs: {ae.team.headcount} at the start",
        f"AEs accept {fmt(ae.acceptance.probability, True)} of SQLs and win "
        f"{fmt(ae.win.probability, True)} of opportunities (before lead-quality effects)",
        f"deal value: {_money(s, float(ae.deal_value.mean))} on average; sales cycle: "
        f"{duration_text(ae.sales_cycle.mean)} on average",
    ]
    if s.outbound is not None:
        lines.insert(5, f"BDRs: {s.outbound.bdr.headcount} at the start")
    if (code := _currency(s)) is not None:
        assumed = getattr(s, "currency_assumed", False)  # not named: the default, said so
        lines.append(f"currency: {code}" + (" (assumed: the scenario names none)" * assumed))
    if s.uncertainty:
        lines.append(f"uncertain values: {len(s.uncertainty)}, drawn anew for each replication")
    return lines


def _money(scenario: Scenario, amount: float) -> str:
    """An amount in the scenario's currency ("$12,000"); a plain figure before currencies."""
    currency = getattr(scenario, "currency", None)
    return currency.format(amount, compact=False) if currency is not None else fmt(amount)


def _currency(scenario: Scenario | None) -> str | None:
    """The scenario's currency code, or None (no scenario, or one from before currencies)."""
    currency = getattr(scenario, "currency", None)
    code = getattr(currency, "code", None)
    return code if isinstance(code, str) and code else None


def _paragraph(
    ws: Any, row: int, text: str, style: Styles, span: Sequence[int], font: Any = None
) -> int:
    """One paragraph across the columns of ``span`` (their widths), wrapped; the next row."""
    cell = _put(ws, row, 1, _clean(text))
    cell.alignment = style.wrap
    if font is not None:
        cell.font = font
    if len(span) > 1:
        ws.merge_cells(start_row=row, start_column=1, end_row=row, end_column=len(span))
    width = sum(span)
    lines = sum(max(1, math.ceil(len(part) * 1.1 / width)) for part in text.split("\n"))
    if lines > 1:
        ws.row_dimensions[row].height = 15 * lines
    return row + 1


def _verdict_sheet(
    ws: Any, answer: Any, report: Report, sheets: list[Sheet], style: Styles
) -> None:
    """The first sheet: what to do, the key figures, what was assumed, what each sheet holds."""
    kpis = _flat(report.kpis)
    columns = _columns(kpis, _currency(report.scenario))
    widths = _widths(kpis, columns)
    while sum(widths) < TEXT_WIDTH:  # paragraphs span the key figures' columns, and more
        widths.append(12)
    span = widths[: next(k for k in range(1, len(widths) + 1) if sum(widths[:k]) >= TEXT_WIDTH)]
    _set_widths(ws, widths)
    row = _paragraph(ws, 1, report.title, style, span, style.title)
    row = _paragraph(ws, row, report.subtitle, style, span, style.quiet) + 1
    row = _paragraph(ws, row, "Verdict", style, span, style.heading)
    lines = [line for line in str(answer.verdict).split("\n") if line.strip()]
    said = " ".join(" ".join(lines).split())  # the verdict, then what the report says besides
    for line in lines + [p for p in report.verdict if " ".join(p.split()) not in said]:
        row = _paragraph(ws, row, line, style, span)
    row = _paragraph(ws, row + 1, "Key figures", style, span, style.heading)
    if report.kpi_note:
        row = _paragraph(ws, row, report.kpi_note, style, span, style.quiet)
    _write_table(ws, kpis, columns, row, style.bold, figures=True)
    row += len(kpis) + 2
    row = _paragraph(ws, row, "What was assumed", style, span, style.heading)
    assumed = list(report.notes)
    if report.scenario is not None:
        assumed += scenario_assumptions(report.scenario)
        assumed.append("every value of the scenario: the Scenario sheet")
    for note in assumed:
        row = _paragraph(ws, row, f"- {note}", style, span)
    row = _paragraph(ws, row + 1, "Sheets", style, span, style.heading)
    for sheet in sheets:
        size = f"{len(sheet.frame):,} row{'' if len(sheet.frame) == 1 else 's'}"
        if len(sheet.frame) > MAX_ROWS - 1:
            size = f"the first {MAX_ROWS - 1:,} of {len(sheet.frame):,} rows (Excel's limit)"
        note = f": {sheet.note}" if sheet.note else ""
        row = _paragraph(ws, row, f"{sheet.name}{note} ({size})", style, span)
    made = f"Written by simfunnel {__version__} on {dt.datetime.now():%Y-%m-%d %H:%M}."
    _paragraph(ws, row + 1, made, style, span, style.quiet)


def _scenario_sheet(ws: Any, scenario: Scenario, style: Styles) -> None:
    """The scenario as YAML, a line per row: copied out, ``load_scenario`` reads it back."""
    for i, line in enumerate(scenario_yaml(scenario).splitlines(), start=1):
        if line:
            _put(ws, i, 1, _clean(line)).font = style.code
    ws.column_dimensions["A"].width = TEXT_WIDTH


# --------------------------------------------------------------------------- the workbook


def write_workbook(answer: Any, path: str | Path) -> Path:
    """Write ``answer`` (any run, decision, fit or backtest) as an Excel workbook at ``path``
    (``.xlsx``); return the path. The file is written whole or not at all."""
    out = Path(path)
    if out.suffix.lower() != ".xlsx":
        raise ValueError(f"an Excel workbook is written as .xlsx: got {str(out)!r}")
    own = getattr(answer, "report", None)
    report = own() if callable(own) else None
    if not isinstance(report, Report):
        raise TypeError(
            "write_workbook takes a run, a decision, a fit or a backtest (an object with a "
            f"report() method); got {type(answer).__name__}"
        )
    # openpyxl is an optional extra, loaded on use: only a workbook needs it.
    try:
        import openpyxl  # type: ignore[import-untyped]  # openpyxl ships no type hints
        from openpyxl.styles import Alignment, Font  # type: ignore[import-untyped]
    except ImportError as exc:
        raise ExcelUnavailable(EXCEL_MISSING) from exc
    style = Styles(
        bold=Font(bold=True),
        title=Font(bold=True, size=14),
        heading=Font(bold=True, size=12),
        quiet=Font(italic=True, color="595959"),
        wrap=Alignment(wrap_text=True, vertical="top"),
        code=Font(name="Courier New"),
    )
    currency = _currency(report.scenario)
    sheets = answer_sheets(answer, report)
    book = openpyxl.Workbook()
    book.active.title = "Verdict"
    _verdict_sheet(book.active, answer, report, sheets, style)
    for sheet in sheets:
        _table_sheet(book.create_sheet(sheet.name), sheet, style, currency)
    if report.scenario is not None:
        _scenario_sheet(book.create_sheet("Scenario"), report.scenario, style)
    # Built in memory, then written in one go: openpyxl's zip writer, cut short by a full disk
    # or a device that refuses the bytes, would retry its close at exit and print a traceback.
    data = io.BytesIO()
    book.save(data)
    out.parent.mkdir(parents=True, exist_ok=True)
    with replacing(out) as temp:
        temp.write_bytes(data.getvalue())
    return out
