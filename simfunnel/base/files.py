"""Writing files safely: whole or not at all, to the right kind of path, with inert CSV cells.

Every file simfunnel writes goes through here:

- **Atomic replace.** :func:`replacing` gives a temporary name in the target's own folder; the
  writer writes there, the data is flushed to disk, and only then is the temporary file renamed
  over the target (``os.replace``, atomic on POSIX and Windows). A run that is interrupted, killed
  or out of space leaves the previous file or none, never half a file. :func:`write_text`,
  :func:`write_json`, :func:`write_csv`, :func:`write_parquet` and :func:`save_figure` use it.
- **Formula injection.** CSV files are opened in spreadsheets, which run a cell that starts
  with ``=``, ``+``, ``-`` or ``@`` (or a tab or carriage return) as a formula: a source named
  ``=HYPERLINK(...)`` would become a live link in every row of ``leads.csv``. :func:`write_csv`
  prefixes such text cells (and column names) with a single quote ``'``, the usual way to mark
  a cell as text; numbers, including negative ones, stay numbers, and so does text that is a
  plain number (``-5``, ``+1.5e3``). A text cell that itself starts with ``'`` gets one more, so
  :func:`restore_cell` undoes the change exactly for whoever reads the file back.
- **Checks before work.** :func:`check_output_dir` and :func:`check_output_file` refuse, with
  one line (:class:`OutputError`), a path that cannot be written: its folder is a file, a file
  path is a folder or the reverse, the folder is not writable, or (for a directory) it already
  holds another kind of simfunnel output. The command line runs them before any simulation.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, cast

import pandas as pd

__all__ = [
    "KINDS",
    "OutputError",
    "check_output_dir",
    "check_output_file",
    "neutralise",
    "neutralise_cell",
    "replacing",
    "restore",
    "restore_cell",
    "save_figure",
    "write_csv",
    "write_json",
    "write_parquet",
    "write_text",
]

TEMP_PREFIX = ".tmp-"  # temporary files: .tmp-<random>-<name>, in the target's folder
_TRIGGERS = ("=", "+", "-", "@", "\t", "\r", "'")  # "'" too, so that restore_cell is exact
_PLAIN_NUMBER = re.compile(r"[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?")

# What marks a directory as holding one kind of simfunnel output: all of these files.
KINDS: dict[str, tuple[str, ...]] = {
    "an experiment (run --reps, sweep)": ("manifest.json",),
    "a single run (run --out)": ("kpis.json", "leads.csv"),
    "CRM exports (export)": ("export.txt",),
    "a threshold comparison (thresholds)": ("thresholds.csv", "overview.csv"),
    "a team sizing (size)": ("sizing.csv",),
    "a forecast (forecast)": ("bands.csv", "cumulative.csv"),
    "a hiring plan (hire)": ("hiring_plan.csv",),
    "a backtest (backtest)": ("periods.csv",),
    "fitted tables (fit --tables)": ("parameters.csv", "conversion.csv"),
}


class OutputError(Exception):
    """An output path that cannot be written; the message is one line naming it."""


# --------------------------------------------------------------------------- atomic writes


def _temporary(path: Path) -> Path:
    return path.with_name(f"{TEMP_PREFIX}{secrets.token_hex(4)}-{path.name}")


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDWR if os.name == "nt" else os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextlib.contextmanager
def replacing(path: str | Path, *, durable: bool = True) -> Iterator[Path]:
    """A temporary path, in ``path``'s folder, to write to; renamed over ``path`` when the
    block ends without an error, removed when it raises.

    The temporary name ends with the target's name, so writers that go by the suffix
    (matplotlib, pandas' compression) see the right one. ``durable``: flush the file to disk
    before the rename, so that a power cut does not leave an empty file either. A symbolic
    link is followed (the file it names is replaced, the link kept); a target that exists but
    is not a regular file (``/dev/stdout``, a named pipe) is written in place.
    """
    target = Path(path)
    if target.is_symlink():  # replace what the link points to, and keep the link
        target = Path(os.path.realpath(target))
    if target.exists() and not target.is_file():  # /dev/stdout, a named pipe: write in place
        with _naming(target):
            yield target
        return
    temp = _temporary(target)
    try:
        with _naming(target):
            yield temp
            if durable:
                _fsync(temp)
            os.replace(temp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            temp.unlink()
        raise


@contextlib.contextmanager
def _naming(target: Path) -> Iterator[None]:
    """An OSError that names no file (a full disk, met at a flush) names ``target``."""
    try:
        yield
    except OSError as exc:
        if exc.filename is None:
            exc.filename = str(target)
        raise


def write_text(path: str | Path, text: str, *, encoding: str = "utf-8") -> Path:
    """Write ``text`` to ``path`` atomically; return the path."""
    target = Path(path)
    with replacing(target) as temp:
        temp.write_text(text, encoding=encoding)
    return target


def write_json(path: str | Path, data: Any, **options: Any) -> Path:
    """Write ``data`` as JSON (``json.dumps`` options, default ``indent=2``) atomically."""
    options.setdefault("indent", 2)
    return write_text(path, json.dumps(data, **options) + "\n")


def write_csv(
    frame: pd.DataFrame, path: str | Path, *, index: bool = False, **options: Any
) -> Path:
    """Write ``frame`` as CSV atomically, its text cells made inert (:func:`neutralise`)."""
    target = Path(path)
    safe = neutralise(frame, index=index)
    with replacing(target) as temp:
        safe.to_csv(temp, index=index, **options)
    return target


def write_parquet(frame: pd.DataFrame, path: str | Path, **options: Any) -> Path:
    """Write ``frame`` as Parquet atomically (cells unchanged: no spreadsheet opens Parquet)."""
    target = Path(path)
    options.setdefault("index", False)
    with replacing(target) as temp:
        frame.to_parquet(temp, **options)
    return target


def save_figure(figure: Any, path: str | Path, **options: Any) -> Path:
    """``figure.savefig(path, **options)`` atomically; the format from the path's suffix."""
    target = Path(path)
    options.setdefault("format", target.suffix.lstrip(".").lower() or "png")
    with replacing(target) as temp:
        figure.savefig(temp, **options)
    return target


# --------------------------------------------------------------------------- formula injection


def neutralise_cell(value: Any) -> Any:
    """``value`` with a ``'`` in front when it is text a spreadsheet would run as a formula
    (it starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return) or that starts with
    ``'`` itself; anything else, numbers and plain-number text included, unchanged."""
    if (
        isinstance(value, str)
        and value.startswith(_TRIGGERS)
        and not _PLAIN_NUMBER.fullmatch(value)
    ):
        return "'" + value
    return value


def restore_cell(value: Any) -> Any:
    """The inverse of :func:`neutralise_cell`, for text read back from a file simfunnel wrote:
    only a quote that neutralise_cell would have added is taken off, so text from other tools
    that happens to start with a quote is left as it is."""
    if (
        isinstance(value, str)
        and value.startswith("'")
        and value[1:].startswith(_TRIGGERS)
        and not _PLAIN_NUMBER.fullmatch(value[1:])
    ):
        return value[1:]
    return value


def _text_like(series: pd.Series) -> bool:
    dtype = series.dtype
    return (
        isinstance(dtype, pd.CategoricalDtype)
        or pd.api.types.is_object_dtype(dtype)
        or pd.api.types.is_string_dtype(dtype)
    )


def _cells(series: pd.Series, change: Any) -> pd.Series:
    """``change`` applied to the text cells of a column (categories changed once each)."""
    if isinstance(series.dtype, pd.CategoricalDtype):
        categories = series.cat.categories
        if not any(isinstance(c, str) for c in categories):
            return series
        return series.cat.rename_categories([change(c) for c in categories])
    if not _text_like(series):
        return series
    return series.map(change, na_action="ignore")


def _labels(labels: pd.Index, change: Any) -> pd.Index:
    if isinstance(labels, pd.MultiIndex):
        levels: list[Any] = [_labels(level, change) for level in labels.levels]
        return labels.set_levels(levels)
    if any(isinstance(v, str) for v in labels):
        return pd.Index([change(v) for v in labels], name=labels.name)
    return labels


def neutralise(frame: pd.DataFrame, *, index: bool = False) -> pd.DataFrame:
    """A copy of ``frame`` with :func:`neutralise_cell` applied to every text column, to the
    column names, and (``index=True``) to the index; numeric columns untouched."""
    out = frame.copy(deep=False)
    for position in range(out.shape[1]):
        column = out.iloc[:, position]
        if _text_like(column):
            # a Series keeps the column's dtype (categories too); the stubs leave Series out
            out.isetitem(position, cast(Any, _cells(column, neutralise_cell)))
    out.columns = _labels(out.columns, neutralise_cell)
    if index:
        out.index = _labels(out.index, neutralise_cell)
    return out


def restore(frame: pd.DataFrame, columns: Sequence[str] | None = None) -> pd.DataFrame:
    """The inverse of :func:`neutralise` on the given text columns (default: every text column
    and the column names) of a table read back from a CSV file simfunnel wrote."""
    out = frame.copy(deep=False)
    names = list(columns) if columns is not None else None
    for position, name in enumerate(out.columns):
        if names is not None and name not in names:
            continue
        column = out.iloc[:, position]
        if _text_like(column):
            out.isetitem(position, cast(Any, _cells(column, restore_cell)))  # as above
    if names is None:
        out.columns = _labels(out.columns, restore_cell)
    return out


# --------------------------------------------------------------------------- checks before work


def _first_existing(path: Path) -> Path:
    """``path`` or its nearest ancestor that exists (as given: relative stays relative)."""
    for here in (path, *path.parents):
        if here.exists():
            return here
    return Path(path.absolute().anchor)


def _writable_folder(folder: Path, shown: Path, what: str) -> None:
    """Refuse ``folder`` (an existing ancestor of an output) unless a file can be made in it."""
    if not folder.is_dir():
        raise OutputError(f"{shown}: {folder} is a file, not a folder; {what}")
    try:
        fd, probe = _probe(folder)
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise OutputError(f"{shown}: cannot write in {folder} ({reason}); {what}") from None
    os.close(fd)
    with contextlib.suppress(OSError):
        os.unlink(probe)


def _probe(folder: Path) -> tuple[int, str]:
    name = os.path.join(folder, f"{TEMP_PREFIX}{secrets.token_hex(4)}-probe")
    return os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), name


def kinds_in(directory: Path) -> list[str]:
    """The kinds of simfunnel output (keys of :data:`KINDS`) a directory holds."""
    if not directory.is_dir():
        return []
    return [kind for kind, marks in KINDS.items() if all((directory / m).is_file() for m in marks)]


def check_output_dir(
    path: str | Path, option: str, *, kind: str | None = None, force: bool = False
) -> None:
    """Refuse (:class:`OutputError`, one line) a directory output ``path`` given as ``option``
    that cannot be written: it is a file, a file is where a folder must be made, its nearest
    existing folder is not writable, or it already holds another kind of output than ``kind``
    (a key of :data:`KINDS`) and ``force`` is false. Creates nothing."""
    path = Path(path)
    what = f"{option} needs a directory"
    if path.exists() and not path.is_dir():
        raise OutputError(f"{path}: is a file, not a directory; {what}")
    _writable_folder(_first_existing(path), path, f"give {option} another directory")
    if kind is not None and not force:
        others = [k for k in kinds_in(path) if k != kind]
        if others:
            raise OutputError(
                f"{path}: already holds {others[0]}, which {kind.split(' (')[0]} would mix with or "
                f"overwrite; give {option} another directory, or --force"
            )


def check_output_file(path: str | Path, option: str) -> None:
    """Refuse (:class:`OutputError`, one line) a file output ``path`` given as ``option`` that
    cannot be written: it is a directory, a file is where a folder must be made, or its nearest
    existing folder is not writable. Creates nothing."""
    path = Path(path)
    if path.is_dir():
        raise OutputError(f"{path}: is a directory; {option} needs a file path")
    if path.name in ("", ".", ".."):
        raise OutputError(f"{path}: {option} needs a file name")
    real = Path(os.path.realpath(path)) if path.is_symlink() else path
    if real.exists() and not real.is_file():  # /dev/stdout, a named pipe: written in place
        if not os.access(real, os.W_OK):
            raise OutputError(f"{path}: cannot write to it (permission denied); {option}")
        return
    _writable_folder(_first_existing(real.parent), path, f"give {option} another path")
