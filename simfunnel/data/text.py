"""From the bytes of an export to text and to a frame of strings: refusing what is not text
(a directory, an empty file, a workbook, NUL bytes, bytes that are not in the encoding), the
encoding from a byte-order mark, the CSV separator sniffed from the header, and the cleaning
of column names. Every refusal is one line naming the file.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ..base.files import restore
from ..base.formatting import one_line
from ..base.textfiles import bom_codec, looks_utf16
from .limits import CalibrationError

__all__ = [
    "CONTROL_CHARS",
    "CsvTable",
    "one_line",
    "read_csv_table",
    "read_csv_text",
    "read_text",
    "sniff_sep",
]

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


def _line_of(raw: bytes, offset: int) -> int:
    """The line number of a byte, to name where a file stops being text."""
    return raw[:offset].count(b"\n") + 1


def _read_bytes(p: Path, what: str) -> bytes:
    """The bytes of a file that may be text: refused when it is a directory, missing,
    unreadable, empty, or starts like a workbook, an archive or an image."""
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
    return raw


def _encoding_of(p: Path, raw: bytes, encoding: str | None, what: str) -> tuple[str, bool]:
    """The encoding to decode with and whether it was stated (by the caller or a byte-order
    mark); without either the file must be UTF-8, and UTF-16 or NUL bytes are refused."""
    if encoding is not None:
        try:
            codecs.lookup(encoding)
        except LookupError:
            raise CalibrationError(f"{p}: unknown encoding {encoding!r}") from None
        return encoding, True
    found = bom_codec(raw)
    if found:
        return found[0], True  # stated by its byte-order mark
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
    return "utf-8", False


def read_text(path: str | Path, encoding: str | None = None, what: str = "CSV file") -> str:
    """The text of an export (:func:`decode_text`, without its warnings)."""
    return decode_text(path, encoding, what)[0]


def decode_text(
    path: str | Path, encoding: str | None = None, what: str = "CSV file"
) -> tuple[str, list[str]]:
    """The text of an export, read safely: one line naming the file for a directory, a missing
    or unreadable file, an empty one, a binary one (a workbook, an archive, NUL bytes) or bytes
    that are not in the encoding.

    ``encoding``: as stated, else detected: a byte-order mark says UTF-8, UTF-16 or UTF-32;
    without one the file must be UTF-8 (a file in another encoding is refused, naming the
    byte and line, until its encoding is stated, e.g. ``encoding="cp1252"``). Also warnings:
    a stated encoding that garbles a file which reads as UTF-8 (:func:`_mojibake`).
    """
    p = Path(path)
    raw = _read_bytes(p, what)
    encoding, stated = _encoding_of(p, raw, encoding, what)
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
    said = _mojibake(raw, encoding, text) if stated else None
    return text, [said] if said else []


# UTF-8 read as a one-byte code page: 'é' shows as 'Ã©', '’' as 'â€™', a no-break space as 'Â '.
_MOJIBAKE = re.compile(
    "[\u00c2\u00c3][\u00a0-\u00bf\u0152\u0153\u0160\u0161\u0178\u017d"
    "\u017e\u0192\u02c6\u02dc\u2013-\u203a\u20ac\u2122]|\u00e2\u20ac"
)
_CELL_END = re.compile(r'[,;\t|"\r\n]')


def _mojibake(raw: bytes, encoding: str, text: str) -> str | None:
    """A warning when a stated one-byte encoding garbles a file that is valid UTF-8 ('société'
    read as 'sociÃ©tÃ©'): text in cp1252 with accents almost never decodes as UTF-8, so a
    file that does, and reads with the telltale pairs, was UTF-8."""
    if codecs.lookup(encoding).name.startswith("utf") or raw.isascii():
        return None
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        return None
    hit = _MOJIBAKE.search(text)
    if hit is None:
        return None
    before = [m.end() for m in _CELL_END.finditer(text, max(0, hit.start() - 200), hit.start())]
    after = _CELL_END.search(text, hit.end())
    garbled = text[before[-1] if before else 0 : after.start() if after else len(text)].strip()
    try:
        right = garbled.encode(encoding).decode("utf-8")
    except UnicodeError:
        right = "?"
    return (
        f"the file reads as UTF-8, and as {encoding} its accents are garbled (e.g. {garbled!r}, "
        f"in UTF-8 {right!r}): is the encoding right? Leave out encoding= (--encoding) to read "
        "it as UTF-8"
    )


def sniff_sep(header: str) -> str:
    """The separator of a CSV from its header line: the commonest of , ; tab | outside quotes
    (a comma on a tie or when there is none)."""
    bare = re.sub(r'"[^"]*"', "", header)
    counts = {sep: bare.count(sep) for sep in (",", ";", "\t", "|")}
    best = max(counts, key=lambda k: (counts[k], k == ","))
    return best if counts[best] else ","


def _unique_names(columns: pd.Index) -> list[str]:
    """Column names as shown (control characters replaced), made unique the way pandas
    numbers exact repeats (X, X.1), so that a cleaned name cannot collide with another."""
    names: list[str] = []
    for c in columns:
        name = CONTROL_CHARS.sub(" ", str(c)).strip()
        k, unique = 0, name
        while unique in names:
            k += 1
            unique = f"{name}.{k}"
        names.append(unique)
    return names


# Separators as a shell passes them: a typed backslash-t, or a name.
_SEP_NAMES = {"\\t": "\t", "tab": "\t", "comma": ",", "semicolon": ";", "pipe": "|"}


def _separator(sep: str | None, text: str, path: str | Path) -> str:
    """The separator: stated (``\\t`` or ``tab`` for a tab) or sniffed from the header; a
    stated one must be one character (pandas would read a longer one as a regex, warning)."""
    if sep is None:
        return sniff_sep(text.lstrip("\r\n").splitlines()[0])
    sep = _SEP_NAMES.get(sep.lower() if len(sep) > 1 else sep, sep)
    if len(sep) != 1 or sep in '"\r\n':
        raise CalibrationError(
            f"{path}: separator {sep!r} is not one character: state sep=',' ';' '|' or a tab "
            "(--sep '\\t' or --sep tab)"
        )
    return sep


def _record_lines(text: str, sep: str, rows: int) -> np.ndarray:
    """The file line each data row starts on (header = the first line that is not blank):
    blank lines, which the CSV reader skips, and line breaks inside quoted cells count, so a
    report names the line an editor shows. Header + 2 onwards when the count disagrees."""
    lines: list[int] = []
    last = 0
    try:
        reader = csv.reader(io.StringIO(text, newline=""), delimiter=sep, skipinitialspace=True)
        for record in reader:
            if record:
                lines.append(last + 1)
            last = reader.line_num
    except csv.Error:
        lines = []
    if len(lines) != rows + 1:
        return np.arange(rows) + 2
    return np.asarray(lines[1:], dtype=int)


@dataclass(frozen=True, eq=False)
class CsvTable:
    """A CSV export as text cells: the frame (blank = ""), the file line of each row, the
    separator used and warnings about the text (an encoding that garbles it)."""

    frame: pd.DataFrame
    lines: np.ndarray
    sep: str
    warnings: list[str] = field(default_factory=list)


def read_csv_table(
    path: str | Path, sep: str | None = None, encoding: str | None = None, what: str = "CSV file"
) -> CsvTable:
    """A CSV export as a frame of strings with each row's file line, read safely
    (:func:`decode_text`); an empty or header-only file is refused with one line. ``sep``:
    stated, or sniffed from the header line (, ; tab or |)."""
    text, said = decode_text(path, encoding, what)
    sep = _separator(sep, text, path)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", pd.errors.ParserWarning)
            raw = pd.read_csv(
                io.StringIO(text), dtype=str, keep_default_na=False, sep=sep, skipinitialspace=True
            )
    except pd.errors.EmptyDataError:
        raise CalibrationError(f"{path}: empty file (no header, no rows)") from None
    except (pd.errors.ParserError, ValueError, csv.Error) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise CalibrationError(f"{path}: not a readable CSV ({first})") from None
    raw.columns = _unique_names(raw.columns)
    raw = restore(raw)  # a cell simfunnel neutralised for spreadsheets ('=x) reads back as =x
    if raw.empty:
        found = ", ".join(f"'{c}'" for c in raw.columns[:6])
        raise CalibrationError(f"{path}: header only, no data rows (columns {found})")
    return CsvTable(raw.fillna(""), _record_lines(text, sep, len(raw)), sep, said)


def read_csv_text(
    path: str | Path, sep: str | None = None, encoding: str | None = None, what: str = "CSV file"
) -> pd.DataFrame:
    """A CSV export as a frame of strings (blank = ""), read safely (:func:`read_csv_table`)."""
    return read_csv_table(path, sep, encoding, what).frame
