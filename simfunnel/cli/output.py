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
import re
import sys
import threading
import time
import warnings
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..base.units import format_duration
from .common import flush, note, progress
from .options import FILE_OUT
from .tables import csv_text, shape

__all__ = [
    "Interrupts",
    "complete",
    "deliver",
    "experiments_of",
    "interrupted_line",
    "noticing_interrupts",
    "print_json",
    "show",
    "ticking",
    "write_files",
]

TICK_AFTER = 3.0  # seconds before a step with no progress bar shows its elapsed time


def print_json(data: Any) -> None:
    print(json.dumps(data, indent=2, allow_nan=False, ensure_ascii=False))


def experiments_of(answer: Any) -> list[Any]:
    """Every experiment an answer holds: its own, the one without parameter draws (forecast),
    each headcount's and each mechanism's (size), the gap explanation's (thresholds)."""
    found = [getattr(answer, name, None) for name in ("experiment", "process_only")]
    for name in ("experiments", "explained"):
        found += list((getattr(answer, name, None) or {}).values())
    gap = getattr(answer, "gap", None)
    if gap is not None:
        found += experiments_of(gap)
    return [e for e in found if e is not None and hasattr(e, "interrupted")]


def interrupted_line(answer: Any, cut: Interrupts | None = None) -> str:
    """ "INTERRUPTED after N of M replications ..." when Ctrl-C cut the answer's runs short
    (its experiments say so, or ``cut`` saw the runner say it), else "": a partial answer
    must not read as a firm one."""
    from ..experiments.readout import replication_counts

    counts = [replication_counts(e) for e in experiments_of(answer) if e.interrupted]
    if counts:
        done, asked = sum(c[0] for c in counts), sum(c[1] for c in counts)
    elif cut is not None and cut.seen:
        done, asked = cut.done, cut.asked
    else:
        return ""
    return (
        f"INTERRUPTED after {done} of {asked} replications: the figures below are partial; "
        "rerun to finish"
    )


def complete(answer: Any, interrupted: str = "") -> bool:
    """Whether every replication the answer asked for finished: nothing interrupted, none
    failed (``complete`` in the JSON of every decision)."""
    return not interrupted and all(e.complete for e in experiments_of(answer))


def show(
    args: argparse.Namespace,
    answer: Any,
    *,
    text: str | None = None,
    summary: bool = True,
    extra: Mapping[str, Any] | None = None,
    first: str = "",
) -> None:
    """Print the answer in ``args.format``: ``text`` (default: ``answer.text()``), the JSON
    shape (with ``summary`` records and the command's ``extra`` keys), or its table as CSV.
    ``first``: a line the verdict must start with (an interrupted run), in text and JSON."""
    kind = getattr(args, "format", "text")
    if kind == "json":
        data = shape(args.command, answer, summary=summary, extra=extra)
        if first:
            data["verdict"] = f"{first}. {data['verdict']}"
        print_json(data)
    elif kind == "csv":
        print(csv_text(answer.table), end="")
    else:
        body = answer.text() if text is None else text
        print(f"{first}\n\n{body}" if first else body)
    scenario = getattr(answer, "scenario", None)
    if kind != "json" and getattr(scenario, "currency_assumed", False):
        code = scenario.currency.code  # type: ignore[union-attr]
        note(args, f"note: money is in {code}, assumed: the scenario names no currency")


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
    first: str = "",
) -> None:
    """Print the answer (:func:`show`), then write its files: what was printed stays printed
    when a file cannot be written."""
    show(args, answer, text=text, summary=summary, extra=extra, first=first)
    flush()
    write_files(args, answer)


_CUT = re.compile(r"interrupted: (\d+) of (\d+) replications")  # the runner's warning


@dataclass
class Interrupts:
    """What the replication runner said about Ctrl-C while a decision ran: whether a batch
    was cut short, and how many of its replications had finished. For answers that keep no
    experiment of their own (a hiring plan), this is the only sign of it."""

    seen: bool = False
    done: int = 0
    asked: int = 0


@contextmanager
def noticing_interrupts() -> Iterator[Interrupts]:
    """Note the runner's "interrupted: N of M replications" warnings while the block runs;
    every other warning is shown as it would have been."""
    cut = Interrupts()
    caught: list[warnings.WarningMessage] = []
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", UserWarning)
            yield cut
    finally:
        for w in caught:  # shown once the recording has ended
            found = _CUT.match(str(w.message))
            if found is not None and issubclass(w.category, UserWarning):
                cut.seen = True
                cut.done += int(found.group(1))
                cut.asked += int(found.group(2))
            else:
                warnings.showwarning(w.message, w.category, w.filename, w.lineno)


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
