"""How a command's answer reaches the user: results on standard output, files, messages.

Results go to standard output in the ``--format`` asked for (the answer's own text, the JSON of
:func:`simfunnel.cli.tables.shape`, or its main table as CSV); then the files asked for are
written (``--report`` HTML, ``--excel`` workbook, ``--out`` directory), each named by one line
on standard error unless ``--quiet``. A long step with no progress bar of its own shows its
elapsed time on a terminal (:func:`ticking`).
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from ..base.units import format_duration
from .common import flush, note, progress
from .options import FILE_OUT
from .tables import csv_text, shape

__all__ = ["deliver", "print_json", "show", "ticking", "write_files"]

TICK_AFTER = 3.0  # seconds before a step with no progress bar shows its elapsed time


def print_json(data: Any) -> None:
    print(json.dumps(data, indent=2, allow_nan=False, ensure_ascii=False))


def show(
    args: argparse.Namespace,
    answer: Any,
    *,
    text: str | None = None,
    summary: bool = True,
    extra: Mapping[str, Any] | None = None,
) -> None:
    """Print the answer in ``args.format``: ``text`` (default: ``answer.text()``), the JSON
    shape (with ``summary`` records and the command's ``extra`` keys), or its table as CSV."""
    kind = getattr(args, "format", "text")
    if kind == "json":
        print_json(shape(args.command, answer, summary=summary, extra=extra))
    elif kind == "csv":
        print(csv_text(answer.table), end="")
    else:
        print(answer.text() if text is None else text)


def write_excel(answer: Any, path: Path) -> Path:
    """The answer as an Excel workbook; that it can be written (the writer and openpyxl are
    there) was checked before any work (:func:`simfunnel.cli.options.check_outputs`)."""
    from ..present import write_workbook

    written: Path = write_workbook(answer, path)
    return written


def write_files(args: argparse.Namespace, answer: Any) -> None:
    """Write the --report, --excel and --out files the command line asks for, in that order."""
    if getattr(args, "report", None) is not None:
        from ..present import write_report

        note(args, f"wrote {write_report(answer, args.report)}")
    if getattr(args, "excel", None) is not None:
        note(args, f"wrote {write_excel(answer, args.excel)}")
    out = getattr(args, "out", None)
    if out is not None and args.command not in FILE_OUT:  # fit's --out is its scenario file
        names = ", ".join(answer.save(out))
        note(args, f"wrote {names} to {out}")


def deliver(
    args: argparse.Namespace,
    answer: Any,
    *,
    text: str | None = None,
    summary: bool = True,
    extra: Mapping[str, Any] | None = None,
) -> None:
    """Print the answer (:func:`show`), then write its files: what was printed stays printed
    when a file cannot be written."""
    show(args, answer, text=text, summary=summary, extra=extra)
    flush()
    write_files(args, answer)


class _Ticker(threading.Thread):
    """Rewrites one line of standard error with the time elapsed, every second."""

    def __init__(self, what: str) -> None:
        super().__init__(daemon=True)
        self.what = what
        self.done = threading.Event()
        self.shown = False

    def run(self) -> None:
        start = time.monotonic()
        while not self.done.wait(1.0):
            elapsed = time.monotonic() - start
            if elapsed >= TICK_AFTER:
                sys.stderr.write(f"\r{self.what}: {format_duration(elapsed / 3600)} ")
                sys.stderr.flush()
                self.shown = True

    def stop(self) -> None:
        self.done.set()
        self.join()
        if self.shown:
            sys.stderr.write("\r\033[K")  # the line cleared for what is printed next
            sys.stderr.flush()


@contextmanager
def ticking(args: argparse.Namespace, what: str) -> Iterator[None]:
    """The elapsed time of a step that has no progress bar, after a few seconds: on a
    terminal only (as the progress bars), and not with --quiet."""
    if not progress(args):
        yield
        return
    ticker = _Ticker(what)
    ticker.start()
    try:
        yield
    finally:
        ticker.stop()
