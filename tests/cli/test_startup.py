"""`simfunnel --help` answers at once: the parser loads no heavy library (a structural check;
benchmarks/bench_startup.py measures the time), and the command line's conventions hold for
every command: --format, --out, --report, --excel and --quiet where the docs say."""

from __future__ import annotations

import argparse
import subprocess
import sys

import pytest
from conftest import ROOT

from simfunnel.cli import build_parser
from simfunnel.cli.common import STYLE_NAMES
from simfunnel.data import STYLES

HEAVY = ("pandas", "numpy", "scipy", "simpy", "matplotlib", "statsmodels")
# What the scenario layer itself needs to validate a file: numpy (its distributions), pydantic.
SCENARIO_LAYER = ("numpy",)
PROBE = """
import contextlib, io, sys
from simfunnel.cli import main
with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
    code = main(sys.argv[1:])
print(code, *sorted({m.split(".")[0] for m in sys.modules} & set(sys.argv[0].split(","))))
"""


def loaded(*argv: str) -> tuple[int, set[str]]:
    """Run the command line in a fresh interpreter: its exit code, and which HEAVY libraries
    were imported by the time it ended."""
    done = subprocess.run(
        [sys.executable, "-c", PROBE.replace("sys.argv[0]", repr(",".join(HEAVY))), *argv],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=True,
    )
    code, *names = done.stdout.split()
    return int(code), set(names)


@pytest.mark.parametrize("argv", [["--help"], ["run", "--help"], ["thresholds", "--help"]])
def test_help_loads_no_heavy_library(argv: list[str]) -> None:
    assert loaded(*argv) == (0, set())


def test_a_bad_option_loads_no_heavy_library() -> None:
    assert loaded("run", "scenario.yaml", "--seed", "-1") == (2, set())


def test_validate_loads_only_what_the_scenario_layer_needs() -> None:
    code, names = loaded("validate", "scenarios/inbound_saas.yaml")
    assert code == 0 and names <= set(SCENARIO_LAYER)


def test_the_style_names_are_the_data_layer_s() -> None:
    assert tuple(STYLES) == STYLE_NAMES


def _subparsers() -> dict[str, argparse.ArgumentParser]:
    parser = build_parser()
    (action,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    return dict(action.choices)


def _options(parser: argparse.ArgumentParser) -> dict[str, argparse.Action]:
    return {o: a for a in parser._actions for o in a.option_strings}


RESULTS = [
    "run",
    "sweep",
    "thresholds",
    "size",
    "forecast",
    "hire",
    "explain",
    "waterfall",
    "diagnose",
    "fit",
    "outlook",
    "backtest",
]
REPORTS = [
    "run",
    "sweep",
    "thresholds",
    "size",
    "forecast",
    "hire",
    "explain",
    "diagnose",
    "fit",
    "outlook",
    "backtest",
]
EXCEL = ["thresholds", "size", "forecast", "hire", "explain", "diagnose", "outlook", "backtest"]
OUT_DIRS = [
    "run",
    "sweep",
    "export",
    "thresholds",
    "size",
    "forecast",
    "hire",
    "explain",
    "diagnose",
    "outlook",
    "backtest",
]


def test_every_results_command_takes_format_report_excel_and_out_as_documented() -> None:
    commands = _subparsers()
    for name in RESULTS:
        fmt = _options(commands[name])["--format"]
        assert fmt.default == "text" and {"text", "json", "csv"} <= set(fmt.choices or ()), name
    for name in REPORTS:
        assert _options(commands[name])["--report"].metavar == "FILE", name
    for name in EXCEL:
        assert _options(commands[name])["--excel"].metavar == "FILE", name
    for name in OUT_DIRS:
        assert _options(commands[name])["--out"].metavar == "DIR", name
    for name in ("fit", "report"):  # the two whose --out is one file
        out = _options(commands[name])["--out"]
        assert out.metavar == "FILE" and "not a directory" in (out.help or ""), name


def test_every_command_takes_quiet_before_or_after_it() -> None:
    parser = build_parser()
    for name, sub in _subparsers().items():
        assert "--quiet" in _options(sub), name
    assert parser.parse_args(["-q", "validate", "x.yaml"]).quiet is True
    assert parser.parse_args(["validate", "x.yaml", "--quiet"]).quiet is True
    assert parser.parse_args(["validate", "x.yaml"]).quiet is False
