"""The decision commands: thresholds, size, waterfall, diagnose (and their bad input)."""

from __future__ import annotations

import copy
import re

import matplotlib
import pandas as pd
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
    costs = ["--cost", "sdr=90000", "--cost", "ae_per_hour=100", "--cost", "per_lead.web=20"]
    assert main([*args, *costs, "--min-valid-rate", "0.5", "--out", str(out)]) == 0
    text = capsys.readouterr().out
    verdict = text.split("\n", 1)[0]
    assert verdict.startswith("Do: ") and "Why: " in verdict and "Rule: " in verdict
    assert "SQL to valid opportunity >= 50%" in verdict and "Assumptions" in verdict
    assert "valid opportunities" in text and "cost per valid opportunity" in text
    assert "objective (value minus cost)" in text and "(today)" in text
    assert "Spreadsheet against simulation at MQL 60: A spreadsheet expects" in text
    for name in (
        "thresholds.csv",
        "overview.csv",
        "valid_opportunities.png",
        "objective.png",
        "tradeoff.png",
    ):
        assert (out / name).stat().st_size > 0
    # The option the verdict names is the one the documented rule picks from the written table.
    o = pd.read_csv(out / "overview.csv", keep_default_na=False).set_index("option")
    ok = (o["within_1h"] >= 0.5) & (o["valid_rate"] >= 0.5)
    best = o.loc[ok, "objective"].idxmax() if ok.any() else None
    current = "MQL 60"
    pick = best
    if best is not None and ok[current] and best != current:
        pick = best if o.loc[best, "objective_diff_low"] > 0 else current
    found = re.search(r"Do: (?:keep|move from .+? to) (.+?)\. Why: ", verdict)
    assert (found.group(1) if found else None) == pick


def test_thresholds_runs_an_mql_by_sql_grid(small, capsys) -> None:
    args = ["thresholds", str(small), "--values", "50", "--sql-require", "0,3"]
    assert main([*args, "--reps", "2", "--workers", "1", "--no-explain"]) == 0
    text = capsys.readouterr().out
    assert text.startswith("WARNING: NO COSTS")  # the small scenario has no costs section
    header = next(line for line in text.splitlines() if "(today)" in line)
    for label in ("MQL 50 / SQL 0 of 4", "MQL 50 / SQL 3 of 4", "MQL 60 / SQL 3 of 4"):
        assert label in header


def test_size_finds_a_headcount_and_shows_one_fewer(small, capsys) -> None:
    args = ["size", str(small), "--target", "sdr_utilisation<=0.1", "--reps", "3"]
    assert main([*args, "--workers", "1", "--no-explain"]) == 0
    text = capsys.readouterr().out
    assert text.startswith("You have 1 SDR, you need ") and "with " in text and "in only" in text
    assert "What the answer pays for" not in text  # --no-explain
    header = next(line for line in text.splitlines() if line.strip().startswith("headcount"))
    assert header.split()[:2] == ["headcount", "target"]


def test_forecast_prints_the_verdict_and_writes_bands_and_fan_charts(
    small, tmp_path, capsys
) -> None:
    out = tmp_path / "fc"
    args = ["forecast", str(small), "--weeks", "2", "--reps", "4", "--workers", "1"]
    assert main([*args, "--out", str(out)]) == 0
    text = capsys.readouterr().out
    # TINY's fixed 30-day sales cycle: a warm-up of ceil(30 / 7) + 4 = 9 weeks by default.
    assert text.startswith("Over the next 2 weeks") and "after a 9-week warm-up" in text
    for name in ("bands.csv", "cumulative.csv", "valid_opportunities.png", "pipeline_value.png"):
        assert (out / name).stat().st_size > 0
    assert main([*args, "--warm-up", "0"]) == 0
    assert capsys.readouterr().out.startswith("WARNING: this forecast starts from an EMPTY funnel")


def test_hire_and_explain_print_their_answers(small, tmp_path, capsys) -> None:
    out = tmp_path / "hire"
    args = ["hire", str(small), "--volume", "2026-01=1.5", "--target", "sdr_utilisation<=0.3"]
    assert main([*args, "--reps", "2", "--workers", "1", "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert text.startswith("You have 1 SDR, you need up to ") and "Hire " in text
    assert "shortfall" in text and "today_team" in text
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
    assert "valid opportunities" in text and "SDR load" in text
    # $500,000 at a mean deal of $10,000 is 50 wins: whole counts, the revenue in its currency.
    assert "$500,000" in text and re.search(r"\n\s+won\s+revenue\s+50\s", text)
    assert main(["diagnose", str(small), "--seed", "2", "--no-levers"]) == 0
    text = capsys.readouterr().out
    assert "MQL -> reached" in text and "What one more unit" not in text
    args = ["diagnose", str(small), "--phase", "launch", "--reps", "3", "--workers", "1"]
    assert main(args) == 0
    text = capsys.readouterr().out
    assert text.startswith("Launch phase (as stated)") and "one more SDR" in text


@pytest.mark.parametrize(
    "args, message",
    [
        (["thresholds", "{f}", "--values", "fifty"], "--values 'fifty': write numbers"),
        (["thresholds", "{f}", "--values", "50", "--cost", "cfo=1"], "the role is one of"),
        (["thresholds", "{f}", "--values", "50", "--cost", "per_lead.tv=1"], "not a source"),
        (["thresholds", "{f}", "--sql-require", "9"], "a whole number from 0 to 4"),
        (["thresholds", "{f}", "--sql-require", "two"], "--sql-require 'two': write numbers"),
        (["thresholds", "{f}"], "give --values"),
        (["size", "{f}", "--target", "fast"], "write METRIC>=VALUE"),
        (["size", "{f}", "--role", "bdr", "--target", "bdr_utilisation<=0.8"], "outbound"),
        (["waterfall", "{f}", "--revenue", "-5"], "revenue"),
        (["forecast", "{f}", "--reps", "1"], "reps"),
        (["forecast", "{f}", "--warm-up", "-1"], "warm_up must be a whole number"),
        (["hire", "{f}", "--volume", "April=2", "--target", "sdr_utilisation<=0.5"], "YYYY-MM"),
        (["hire", "{f}", "--volume", "2031-01=2", "--target", "sdr_utilisation<=0.5"], "outside"),
    ],
)
def test_bad_decision_input_is_one_line_and_exit_2(small, capsys, args, message) -> None:
    argv = [a.format(f=small) for a in args]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0], err


def test_no_answer_exits_1_for_thresholds_size_and_hire_alike(small, monkeypatch) -> None:
    """No option, no headcount: an answer that is 'none', not a bad input. thresholds exited
    0 and hire 2 (the bad-input code) where size exited 1."""
    from conftest import run_cli

    import simfunnel.decisions
    from simfunnel.decisions import NoHeadcount

    quick = ["--reps", "2", "--no-explain", "--workers", "1", "-q"]
    code, out, _ = run_cli(
        ["thresholds", str(small), "--values", "40", "--min-valid-per-week", "1e9", *quick]
    )
    assert "no option is recommended" in out and code == 1

    def none(*args, **kwargs):
        raise NoHeadcount("at volume x1 no headcount meets the targets: ...")

    monkeypatch.setattr(simfunnel.decisions, "hiring_plan", none)
    code, out, err = run_cli(["hire", str(small), "--target", "speed_to_lead_1h>=0.99", "-q"])
    assert code == 1 and out == ""
    assert err.strip() == f"{small}: at volume x1 no headcount meets the targets: ..."


def test_a_snapshot_with_a_warm_up_scenario_names_the_key_and_warm_up_0_runs(
    small, tmp_path
) -> None:
    """A fitted scenario always has a warm_up: the refusal blamed the CSV, and --warm-up 0,
    the way out a user would try, did not help."""
    from conftest import run_cli

    import simfunnel
    from simfunnel.scenario import scenario_from_dict

    data = yaml.safe_load(small.read_text())
    before = data | {"start_date": "2025-12-15"}  # three weeks before: the funnel at the start
    plain = simfunnel.simulate(scenario_from_dict(before), seed=1)
    snap = tmp_path / "open.csv"
    plain.leads.to_csv(snap, index=False)
    data["warm_up"] = "2 weeks"
    warm = tmp_path / "warm.yaml"
    warm.write_text(yaml.safe_dump(data))
    base = ["forecast", str(warm), "--snapshot", str(snap), "--reps", "2", "--workers", "1", "-q"]
    code, _, err = run_cli(base)
    assert code == 2 and "the scenario sets warm_up (2 weeks)" in err and "--warm-up 0" in err
    code, out, err = run_cli([*base, "--warm-up", "0"])
    assert code == 0, err
    assert "starting from today's funnel" in out
