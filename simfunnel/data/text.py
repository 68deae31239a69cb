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
from pathlib import Path

import pandas as pd

from ..base.files import restore
from ..base.formatting import one_line
from ..base.textfiles import bom_codec, looks_utf16
from .limits import CalibrationError

__all__ = ["CONTROL_CHARS", "one_line", "read_csv_text", "read_text", "sniff_sep"]

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
    """The text of an export, read safely: one line naming the file for a directory, a missing
    or unreadable file, an empty one, a binary one (a workbook, an archive, NUL bytes) or bytes
    that are not in the encoding.

    ``encoding``: as stated, else detected: a byte-order mark says UTF-8, UTF-16 or UTF-32;
    without one the file must be UTF-8 (a file in another encoding is refused, naming the
    byte and line, until its encoding is stated, e.g. ``encoding="cp1252"``).
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
    return text


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


def read_csv_text(
    path: str | Path, sep: str | None = None, encoding: str | None = None, what: str = "CSV file"
) -> pd.DataFrame:
    """A CSV export as a frame of strings (blank = ""), read safely (:func:`read_text`); an
    empty or header-only file is refused with one line. ``sep``: stated, or sniffed from the
    header line (, ; tab or |)."""
    text = read_text(path, encoding, what)
    if sep is None:
        sep = sniff_sep(text.lstrip("\r\n").splitlines()[0])
    try:
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
    return raw.fillna("")
