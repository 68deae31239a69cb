"""The command line's option checks: value types for argparse and output-path checks.

Each ``type=`` function here turns a bad value into one line naming the option, what was given
and what is expected (``simfunnel run: error: argument --seed: needs a whole number >= 0 (got
'-1')``), exit code 2, before any work; :func:`check_outputs` does the same for every output
path of a command (see :mod:`simfunnel.base.files`).
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib.util
import math
import os
import re
import sys
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any, NoReturn

__all__ = [
    "DATE_FAMILIES",
    "FILE_OUT",
    "OUT_KINDS",
    "GuardedStdout",
    "OneLineParser",
    "check_outputs",
    "date",
    "date_format",
    "finite",
    "horizon",
    "memory_size",
    "not_finite",
    "os_error",
    "seed",
    "settings",
    "share",
    "stdout_gone",
    "targets",
    "whole",
]

DATE_FAMILIES = ("iso", "dayfirst", "day-first", "monthfirst", "month-first")
# strftime directives that say something about the date; a format needs at least one.
_DATE_DIRECTIVES = set("aAbBcdjmUWxyYGuVF")
_SAMPLE = dt.datetime(2026, 11, 23, 17, 45, 30)  # day > 12, so day and month cannot swap
_HORIZON = re.compile(r"\s*(\d+)\s*(w|wk|wks|weeks?|m|mo|mos|months?)?\s*", re.IGNORECASE)
_SIZE = re.compile(r"\s*(\d+(?:\.\d*)?|\.\d+)\s*([kmgt]?i?b?)\s*", re.IGNORECASE)
# The kind of output each command's --out directory holds (simfunnel.base.files.KINDS names
# the first ones): a directory that holds another kind is refused unless --force.
OUT_KINDS = {
    "sweep": "an experiment (run --reps, sweep)",
    "export": "CRM exports (export)",
    "thresholds": "a threshold comparison (thresholds)",
    "size": "a team sizing (size)",
    "forecast": "a forecast (forecast)",
    "hire": "a hiring plan (hire)",
    "backtest": "a backtest (backtest)",
    "explain": "a gap explanation (explain)",
    "diagnose": "a diagnosis (diagnose)",
    "outlook": "a cohort outlook (outlook)",
}
# The two commands whose --out is one file: the fitted scenario (YAML), the HTML report.
FILE_OUT = ("fit", "report")
EXCEL_EXTRA = "pip install simfunnel[excel]"


class OneLineParser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are one line on standard error (no usage block)."""

    def error(self, message: str) -> NoReturn:
        text = " ".join(message.split())
        self.exit(2, f"{self.prog}: error: {text} (see {self.prog} --help)\n")


def _fail(text: str, expected: str) -> NoReturn:
    raise argparse.ArgumentTypeError(f"{expected} (got {text!r})")


_SUFFIX = {"": 1, "k": 10**3, "m": 10**6, "b": 10**9}
FORECAST_METRICS = (  # what a forecast target may name (simfunnel.decisions.METRICS)
    "leads",
    "mqls",
    "sqls",
    "valid_opportunities",
    "won",
    "lost",
    "pipeline_value",
    "won_value",
    "open_opportunities",
)


def forecast_target(text: str) -> tuple[str, float]:
    """``METRIC=VALUE`` with an optional K, M or B suffix: ``won_value=2M`` -> (won_value, 2e6)."""
    metric, sep, value = text.partition("=")
    metric = metric.strip()
    found = re.fullmatch(r"\s*([0-9][0-9,]*\.?[0-9]*)\s*([kKmMbB]?)\s*", value)
    if not sep or metric not in FORECAST_METRICS or found is None:
        raise argparse.ArgumentTypeError(
            f"write METRIC=VALUE, e.g. won_value=2M or valid_opportunities=800, with METRIC one "
            f"of {', '.join(FORECAST_METRICS)} (got {text!r})"
        )
    # In decimal, so that 1.1K is 1100 and not 1100.0000000000002, which 1,100 would miss.
    number = float(Decimal(found.group(1).replace(",", "")) * _SUFFIX[found.group(2).lower()])
    if not number > 0:
        raise argparse.ArgumentTypeError(f"a target must be above 0 (got {text!r})")
    return metric, number


def append_once(key: Callable[[Any], str], what: str) -> type[argparse.Action]:
    """An argparse action that appends like ``action="append"`` but refuses a value whose
    ``key`` was given before (one line, exit code 2): a repeated --cost, --target or --volume
    would otherwise keep its last value without a word. ``what``: how to give it instead."""

    class AppendOnce(argparse.Action):
        def __call__(
            self,
            parser: argparse.ArgumentParser,
            namespace: argparse.Namespace,
            values: Any,
            option_string: str | None = None,
        ) -> None:
            given = list(getattr(namespace, self.dest, None) or [])
            name = key(values)
            if any(key(v) == name for v in given):
                raise argparse.ArgumentError(self, f"{name} is given twice; {what}")
            setattr(namespace, self.dest, [*given, values])

    return AppendOnce


def key_of(text: str) -> str:
    """The key of a ``KEY=VALUE`` option, as the option compares it."""
    return text.partition("=")[0].strip()


def cost_key(text: str) -> str:
    """The key of a --cost: ``sdr`` and ``sdr_per_year`` name the same cost."""
    return key_of(text).removesuffix("_per_year")


def whole(minimum: int, why: str = "") -> Any:
    """An argparse type: a whole number >= ``minimum`` (``why`` explains the minimum)."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = None
        if value is None or value < minimum:
            _fail(text, f"needs a whole number >= {minimum}{why}")
        return value

    parse.__name__ = f"whole number >= {minimum}"
    return parse


seed = whole(0)
seed.__name__ = "seed"


def finite(*, above: float | None = None, at_least: float | None = None) -> Any:
    """An argparse type: a finite number, above ``above`` or at least ``at_least``."""

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            value = math.nan
        low_ok = (above is None or value > above) and (at_least is None or value >= at_least)
        if not math.isfinite(value) or not low_ok:
            bound = f" > {above:g}" if above is not None else ""
            bound += f" >= {at_least:g}" if at_least is not None else ""
            _fail(text, f"needs a finite number{bound}")
        return value

    parse.__name__ = "number"
    return parse


def share(*, zero: str | None = None, one: bool = True) -> Any:
    """An argparse type: a share in (0, 1] (``one=False``: (0, 1)); ``zero`` allows 0 and says
    what it means."""

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            value = math.nan
        ok = (0 < value <= 1) if one else (0 < value < 1)
        if not ok and not (zero is not None and value == 0):
            interval = "(0, 1]" if one else "(0, 1)"
            extra = f"; 0: {zero}" if zero is not None else ""
            _fail(text, f"needs a share in {interval}, e.g. 0.8{extra}")
        return value

    parse.__name__ = "share"
    return parse


def date(text: str) -> str:
    """An argparse type: a date, ``YYYY-MM-DD`` or ``YYYY-MM-DD HH:MM`` (no time zone)."""
    expected = "write YYYY-MM-DD or 'YYYY-MM-DD HH:MM'"
    try:
        value = dt.datetime.fromisoformat(text.strip())
    except ValueError as exc:
        reason = str(exc) if "range" in str(exc) else "not a date"
        raise argparse.ArgumentTypeError(f"{text!r}: {reason}; {expected}") from None
    if value.tzinfo is not None:
        raise argparse.ArgumentTypeError(
            f"{text!r}: a local time without a time zone is expected; {expected}"
        )
    return text.strip()


def date_format(text: str) -> str:
    """An argparse type: ``iso``, ``dayfirst``, ``monthfirst`` or a strftime pattern that has a
    date directive and reads back a sample date it wrote."""
    if text.strip().lower() in DATE_FAMILIES:
        return text.strip()
    expected = "use iso, dayfirst, monthfirst or a strftime pattern such as '%d.%m.%Y %H:%M'"
    directives = re.findall(r"%[-#^0_]?(.)", text.replace("%%", ""))
    if not directives or not _DATE_DIRECTIVES.intersection(directives):
        raise argparse.ArgumentTypeError(
            f"{text!r} has no valid date directive (%d, %m, %Y...); {expected}"
        )
    try:
        written = _SAMPLE.strftime(text)
        dt.datetime.strptime(written, text)
        import pandas as pd

        pd.to_datetime(pd.Series([written]), format=text)
    except (ValueError, TypeError) as exc:
        reason = " ".join(str(exc).split())
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a usable date format ({reason}); {expected}"
        ) from None
    return text


def horizon(text: str) -> tuple[int, str]:
    """An argparse type: a horizon in weeks (``13``, ``13weeks``) or calendar months
    (``3months``, ``3 m``), as ``(number, "weeks" | "months")``; a bare number is weeks, as
    the option always read it."""
    match = _HORIZON.fullmatch(text)
    if match is None or int(match.group(1)) < 1:
        _fail(text, "needs a whole number >= 1 of weeks (13, 13weeks) or months (3months)")
    unit = (match.group(2) or "w").lower()
    return int(match.group(1)), "months" if unit.startswith("m") else "weeks"


def settings(texts: list[str] | None) -> dict[str, Any]:
    """``--set PATH=VALUE`` options (each value read as YAML, as in a scenario file) as a
    dict of overrides; one line (ScenarioError) for a setting that is not PATH=VALUE, a path
    given twice or a value that is NaN or infinite. The path and value are checked where they
    are used (``fit``, ``backtest``)."""
    import yaml

    from ..scenario import ScenarioError

    out: dict[str, Any] = {}
    for setting in texts or []:
        path, sep, text = setting.partition("=")
        path = path.strip()
        if not sep or not path or not text.strip():
            raise ScenarioError([f"--set {setting!r}: write PATH=VALUE, e.g. sdr.headcount=12"])
        if path in out:
            raise ScenarioError([f"--set {path}: given twice"])
        try:
            value = yaml.safe_load(text)
        except yaml.YAMLError:
            raise ScenarioError([f"--set {path}: cannot read the value {text!r}"]) from None
        if not_finite(value):
            raise ScenarioError([f"--set {path}: the value {text.strip()!r} is not finite"])
        out[path] = value
    return out


def memory_size(text: str) -> str:
    """An argparse type: a memory size such as ``16GiB``, ``500MB``, ``2G``, bytes without a
    unit, or ``unlimited``; checked by the reader of ``SIMFUNNEL_MAX_MEMORY``
    (:func:`simfunnel.scenario.limits.parse_size`) and returned as given, without surrounding spaces."""
    try:
        from ..scenario import ScenarioError, parse_size
    except ImportError:  # pragma: no cover - the limits module not there: the form alone
        match = _SIZE.fullmatch(text)
        if match is None or float(match.group(1)) <= 0:
            _fail(text, "needs a size such as 16GiB, 512MiB or 2GB")
        return text.strip()
    try:
        parse_size(text, "--max-memory")
    except ScenarioError:
        _fail(text, "needs a size above 0 such as 16GiB, 500MB or unlimited")
    return text.strip()


def check_outputs(args: argparse.Namespace) -> None:
    """Check every output path of a parsed command line before any work (``OutputError``):
    each can be written, a directory holds no other kind of output (unless --force), no file
    lies in or is a directory output, and --excel's writer is installed."""
    paths: dict[str, Path] = {}
    for option in ("--out", "--tables", "--report", "--excel", "--snapshot-out"):
        path = getattr(args, option.strip("-").replace("-", "_"), None)
        if path is not None:
            paths[option] = path
    if not paths:
        return  # nothing to write: the file layer (and pandas) stays unloaded
    from ..base.files import OutputError, check_output_dir, check_output_file

    command = args.command
    force = bool(getattr(args, "force", False))
    kinds = dict(OUT_KINDS)
    if command == "run":
        kinds["run"] = (
            "an experiment (run --reps, sweep)" if args.reps > 1 else "a single run (run --out)"
        )
    files = {o: p for o, p in paths.items() if o in ("--report", "--excel", "--snapshot-out")}
    folders = {o: p for o, p in paths.items() if o in ("--out", "--tables")}
    if command in FILE_OUT and "--out" in folders:
        files["--out"] = folders.pop("--out")
    seen: dict[Path, str] = {}
    for option, path in files.items():
        check_output_file(path, option)
        if Path(path).absolute() in seen:  # fit --out and --snapshot-out, say
            raise OutputError(
                f"{path}: {seen[Path(path).absolute()]} and {option} need different paths"
            )
        seen[Path(path).absolute()] = option
    if "--excel" in files:
        excel_name(files["--excel"])
    for option, path in folders.items():
        kind = "fitted tables (fit --tables)" if option == "--tables" else kinds.get(command)
        check_output_dir(path, option, kind=kind, force=force)
    # A file output where a directory output goes, or inside it the other way round.
    for file_option, file in files.items():
        for folder_option, folder in folders.items():
            a, b = Path(file).absolute(), Path(folder).absolute()
            if a == b or a in b.parents:
                raise OutputError(
                    f"{file}: {file_option} and {folder_option} {folder} need different paths"
                )
    if "--excel" in files:
        excel_ready()


def excel_name(path: Path) -> None:
    """Refuse before any work an --excel path that is not an .xlsx file name: the workbook
    writer would refuse it only after the simulation (a device such as /dev/full included)."""
    from ..base.files import OutputError

    if Path(path).suffix.lower() != ".xlsx":
        raise OutputError(
            f"{path}: --excel writes an Excel workbook; give a file name ending in .xlsx"
        )


def excel_ready() -> None:
    """Refuse --excel before any work when the workbook writer or openpyxl is missing."""
    from ..base.files import OutputError

    if importlib.util.find_spec("openpyxl") is None:
        raise OutputError(f"--excel needs openpyxl, an optional extra: {EXCEL_EXTRA}")
    try:
        from ..present import write_workbook  # noqa: F401 - there, or this simfunnel has none
    except ImportError:
        raise OutputError("--excel: this version of simfunnel cannot write workbooks") from None


def stdout_gone() -> None:
    """After a BrokenPipeError (``simfunnel ... | head``): send what is left of standard output
    to devnull, so that Python's own flush at exit does not raise again (as the Python docs on
    SIGPIPE advise)."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):
        pass  # not a real file (a test's capture): nothing to flush at exit


class GuardedStdout:
    """Standard output whose reader may go away (``| head``): the first BrokenPipeError sends
    the rest to devnull and sets ``closed``, and the command goes on (its files are written)."""

    def __init__(self, stream: Any) -> None:
        self.stream = stream
        self.closed = False

    def _gone(self) -> None:
        self.closed = True
        stdout_gone()

    def write(self, text: str) -> int:
        if self.closed:
            return len(text)
        try:
            return self.stream.write(text)
        except BrokenPipeError:
            self._gone()
            return len(text)

    def flush(self) -> None:
        if self.closed:
            return
        try:
            self.stream.flush()
        except BrokenPipeError:
            self._gone()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.stream, name)


def targets(texts: list[str]) -> list[str]:
    """``--target`` texts, refused (ScenarioError, one line) when a value is NaN or infinite;
    the rest of the grammar is size_team's to check."""
    from ..scenario import ScenarioError

    for text in texts:
        value = re.split(r">=|<=|>|<", text, maxsplit=1)[-1].strip()
        try:
            number = float(value)
        except ValueError:
            continue  # not a number at all: size_team says how to write a target
        if not math.isfinite(number):
            raise ScenarioError([f"--target {text!r}: the value must be a finite number"])
    return texts


def not_finite(value: Any) -> bool:
    """NaN or infinity, as a number or as text a field would read as one (``nan``, ``-inf``)."""
    if isinstance(value, str):
        text = value.strip().lower().lstrip("+-")
        return text in ("nan", "inf", "infinity")
    return isinstance(value, float) and not math.isfinite(value)


def os_error(exc: OSError) -> str:
    """``path: reason`` for an OSError, naming the file meant rather than its temporary name."""
    from ..base.files import TEMP_PREFIX

    names = [n for n in (exc.filename2, exc.filename) if n is not None]
    if not names:
        return f"cannot write or read a file: {exc}"
    path = Path(os.fsdecode(names[0]))
    if path.name.startswith(TEMP_PREFIX):  # .tmp-<token>-<name>: the file being written
        path = path.with_name(path.name[len(TEMP_PREFIX) :].partition("-")[2])
    return f"{path}: {exc.strerror or exc}"
