"""The conventions every command follows: --out DIR, --report FILE, --excel FILE, --quiet, no
progress bar off a terminal, and `simfunnel app` (docs/cli.md)."""

from __future__ import annotations

import argparse
import importlib.machinery
import io
import re
import shlex
import sys
import types
from pathlib import Path
from typing import Any

import matplotlib
import pytest
from conftest import ROOT, run_cli

import simfunnel.decisions
from simfunnel.cli import EXIT_BAD_INPUT, build_parser
from simfunnel.cli.common import progress
from simfunnel.cli.output import ticking

matplotlib.use("Agg")

QUICK = ["--reps", "2", "--workers", "1"]


def never(*args: Any, **kwargs: Any) -> Any:
    raise AssertionError("ran before its outputs were checked")


def test_quiet_drops_the_messages_but_not_the_answer(small: str, tmp_path: Path) -> None:
    args = ["thresholds", small, "--values", "40", *QUICK, "--no-explain"]
    code, out, err = run_cli([*args, "--out", str(tmp_path / "loud")])
    assert code == 0 and out.startswith("WARNING: NO COSTS")
    assert err.startswith("wrote ") and "loud" in err
    code, quiet_out, err = run_cli([*args, "--out", str(tmp_path / "quiet"), "--quiet"])
    assert code == 0 and err == "" and quiet_out == out
    assert (tmp_path / "quiet" / "verdict.txt").stat().st_size > 0


def test_explain_and_diagnose_write_their_answer_to_out_and_report(
    small: str, tmp_path: Path
) -> None:
    for command, more in (("explain", QUICK), ("diagnose", ["--no-levers"])):
        out, report = tmp_path / command, tmp_path / f"{command}.html"
        code, _, err = run_cli([command, small, *more, "--out", str(out), "--report", str(report)])
        assert code == 0, err
        assert (out / "verdict.txt").stat().st_size > 0
        assert report.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")


def test_run_writes_a_report(small: str, tmp_path: Path) -> None:
    report = tmp_path / "run.html"
    assert run_cli(["run", small, "--report", str(report), "-q"])[0] == 0
    assert report.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")


def test_excel_writes_a_workbook(small: str, tmp_path: Path) -> None:
    pytest.importorskip("openpyxl", reason="--excel needs the excel extra")
    present = pytest.importorskip("simfunnel.present")
    if not hasattr(present, "write_workbook"):
        pytest.skip("simfunnel.present has no workbook writer in this version")
    book = tmp_path / "answer.xlsx"
    code, _, err = run_cli(
        ["size", small, "--target", "sdr_utilisation<=0.8", *QUICK, "--excel", str(book)]
    )
    assert code == 0, err
    assert book.read_bytes()[:2] == b"PK"  # an .xlsx is a zip file


def test_excel_without_its_extra_is_one_line_before_any_work(
    small: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "openpyxl", None)  # as if not installed
    monkeypatch.setattr(simfunnel.decisions, "compare_thresholds", never)
    argv = ["thresholds", small, "--values", "40", "--excel", str(tmp_path / "a.xlsx")]
    code, out, err = run_cli(argv)
    assert code == EXIT_BAD_INPUT and out == ""
    (line,) = err.strip().splitlines()
    assert "pip install simfunnel[excel]" in line


def test_no_progress_off_a_terminal_or_when_quiet(monkeypatch: pytest.MonkeyPatch) -> None:
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    monkeypatch.setattr(sys, "stderr", io.StringIO())
    assert not progress(argparse.Namespace(quiet=False))
    with ticking(argparse.Namespace(quiet=False, command="run"), "simulating"):
        pass
    assert sys.stderr.getvalue() == ""
    monkeypatch.setattr(sys, "stderr", Terminal())
    assert progress(argparse.Namespace(quiet=False))
    assert not progress(argparse.Namespace(quiet=True))


def test_app_without_its_extra_is_one_line_and_exit_2(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "streamlit", None)  # as if not installed
    code, out, err = run_cli(["app", "--no-browser"])
    assert code == EXIT_BAD_INPUT and out == ""
    (line,) = err.strip().splitlines()
    assert "streamlit" in line and "pip install simfunnel[app]" in line


def test_app_without_the_app_module_is_one_line_and_exit_2(monkeypatch: pytest.MonkeyPatch) -> None:
    _fake_streamlit(monkeypatch)
    monkeypatch.setitem(sys.modules, "simfunnel.app", None)
    code, _, err = run_cli(["app"])
    assert code == EXIT_BAD_INPUT
    (line,) = err.strip().splitlines()
    assert "pip install simfunnel[app]" in line


def test_app_starts_the_page_with_the_options_given(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[Any, ...]] = []

    def launch(scenario: str | None, *, host: str, port: int, open_browser: bool) -> int:
        calls.append((scenario, host, port, open_browser))
        return 0

    _fake_streamlit(monkeypatch)
    fake = types.ModuleType("simfunnel.app")
    fake.launch = launch  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "simfunnel.app", fake)
    assert run_cli(["app", "s.yaml", "--port", "8600", "--no-browser"])[0] == 0
    assert run_cli(["app", "--host", "0.0.0.0"])[0] == 0
    assert calls == [("s.yaml", "127.0.0.1", 8600, False), (None, "0.0.0.0", 8501, True)]
    assert run_cli(["app", "--port", "70000"])[0] == EXIT_BAD_INPUT
    assert len(calls) == 2


def _fake_streamlit(monkeypatch: pytest.MonkeyPatch) -> None:
    """Streamlit as if installed (the tests never start it)."""
    module = types.ModuleType("streamlit")
    module.__spec__ = importlib.machinery.ModuleSpec("streamlit", None)
    monkeypatch.setitem(sys.modules, "streamlit", module)


def test_the_command_lines_of_the_cli_page_parse() -> None:
    """Every `simfunnel ...` line of docs/cli.md's shell blocks is a valid command line."""
    page = (ROOT / "docs" / "cli.md").read_text(encoding="utf-8")
    lines = [
        line.split("#")[0].split(">")[0].strip()
        for block in re.findall(r"```sh\n(.*?)```", page, re.S)
        for line in block.splitlines()
        if line.strip().startswith("simfunnel ")
    ]
    assert len(lines) >= 4
    for line in lines:
        build_parser().parse_args(shlex.split(line)[1:])
