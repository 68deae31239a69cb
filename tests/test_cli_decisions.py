"""The decision commands: thresholds, size, waterfall, diagnose (and their bad input)."""

from __future__ import annotations

import copy

import matplotlib
import pytest
import yaml
from conftest import TINY

from simfunnel.cli import main

matplotlib.use("Agg")


@pytest.fixture
def small(tmp_path):
    data = copy.deepcopy(TINY)
    data |= {"horizon": "3 weeks", "calendar": "24/7"}
    data["sources"] = [{"name": "web", "rate_per_week": 200, "score": {"mean": 60, "sd": 15}}]
    path = tmp_path / "small.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def test_thresholds_prints_a_verdict_and_writes_tables_and_plots(small, tmp_path, capsys) -> None:
    out = tmp_path / "th"
    args = ["thresholds", str(small), "--values", "50,70", "--reps", "3", "--workers", "1"]
    assert main([*args, "--cost", "sdr=90000", "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert text.startswith("Recommended threshold:") or text.startswith("No threshold")
    assert "valid_opportunities" in text and "cost_per_valid" in text
    for name in ("thresholds.csv", "overview.csv", "valid_opportunities.png", "tradeoff.png"):
        assert (out / name).stat().st_size > 0


def test_size_finds_a_headcount_and_shows_one_fewer(small, capsys) -> None:
    args = ["size", str(small), "--target", "sdr_utilisation<=0.1", "--reps", "3"]
    assert main([*args, "--workers", "1"]) == 0
    text = capsys.readouterr().out
    assert text.startswith("You need ") and "with " in text and "in only" in text


def test_forecast_prints_the_verdict_and_writes_bands_and_fan_charts(
    small, tmp_path, capsys
) -> None:
    out = tmp_path / "fc"
    args = ["forecast", str(small), "--weeks", "2", "--reps", "4", "--workers", "1"]
    assert main([*args, "--out", str(out)]) == 0
    assert capsys.readouterr().out.startswith("Over the next 2 weeks")
    for name in ("bands.csv", "cumulative.csv", "valid_opportunities.png", "pipeline_value.png"):
        assert (out / name).stat().st_size > 0


def test_hire_and_explain_print_their_answers(small, tmp_path, capsys) -> None:
    out = tmp_path / "hire"
    args = ["hire", str(small), "--volume", "2026-01=1.5", "--target", "sdr_utilisation<=0.3"]
    assert main([*args, "--reps", "2", "--workers", "1", "--out", str(out)]) == 0
    assert capsys.readouterr().out.startswith("Hire ")
    assert (out / "hiring_plan.png").stat().st_size > 0
    assert main(["explain", str(small), "--reps", "3", "--workers", "1"]) == 0
    assert capsys.readouterr().out.startswith("A spreadsheet expects")


def test_report_commands_write_self_contained_html(small, tmp_path, capsys) -> None:
    page = tmp_path / "run.html"
    assert main(["report", str(small), "--seed", "3", "--out", str(page)]) == 0
    text = page.read_text()
    assert text.startswith("<!DOCTYPE html>") and "data:image/png;base64," in text
    th = tmp_path / "th.html"
    args = ["thresholds", str(small), "--values", "70", "--reps", "2", "--workers", "1"]
    assert main([*args, "--no-explain", "--report", str(th)]) == 0
    assert 'id="verdict"' in th.read_text()


def test_waterfall_and_diagnose_print_their_tables(small, capsys) -> None:
    assert main(["waterfall", str(small), "--revenue", "500000"]) == 0
    text = capsys.readouterr().out
    assert "valid_opportunities" in text and "SDR load" in text
    assert main(["diagnose", str(small), "--seed", "2"]) == 0
    assert "MQL -> SAL" in capsys.readouterr().out


@pytest.mark.parametrize(
    "args, message",
    [
        (["thresholds", "{f}", "--values", "fifty"], "--values 'fifty': write numbers"),
        (["thresholds", "{f}", "--values", "50", "--cost", "cfo=1"], "the role is one of"),
        (["size", "{f}", "--target", "fast"], "write METRIC>=VALUE"),
        (["size", "{f}", "--role", "bdr", "--target", "bdr_utilisation<=0.8"], "outbound"),
        (["waterfall", "{f}", "--revenue", "-5"], "revenue"),
        (["forecast", "{f}", "--reps", "1"], "reps"),
        (["hire", "{f}", "--volume", "April=2", "--target", "sdr_utilisation<=0.5"], "YYYY-MM"),
        (["hire", "{f}", "--volume", "2031-01=2", "--target", "sdr_utilisation<=0.5"], "outside"),
    ],
)
def test_bad_decision_input_is_one_line_and_exit_2(small, capsys, args, message) -> None:
    argv = [a.format(f=small) for a in args]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0], err
