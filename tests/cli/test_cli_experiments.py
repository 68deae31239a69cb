"""The command line for experiments: `run --reps` and `sweep`, their files, errors and exits."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from conftest import SMALL_YAML as SMALL

import simfunnel
from simfunnel.cli import EXIT_BAD_INPUT, EXIT_FAILED, EXIT_INTERRUPTED, main
from simfunnel.experiments import replicate as experiments
from simfunnel.results import kpi_text


@pytest.fixture
def small(tmp_path: Path) -> Path:
    path = tmp_path / "small.yaml"
    path.write_text(SMALL)
    return path


@pytest.fixture(scope="module")
def api() -> simfunnel.Experiment:
    scenario = simfunnel.scenario.parse_scenario(SMALL)
    return simfunnel.run(scenario, reps=3, seed=4, workers=1, progress=False)


def test_run_with_reps_prints_a_summary_with_intervals(small, api, capsys) -> None:
    assert main(["run", str(small), "--reps", "3", "--workers", "2", "--seed", "4"]) == 0
    out = capsys.readouterr().out
    assert "small team  (3 replications, seed 4" in out
    assert "95% CI of the mean" in out and "P10 to P90 of replications" in out
    leads = api.summary().query("section == 'totals' and metric == 'leads'").iloc[0]
    line = next(x for x in out.splitlines() if x.strip().startswith("leads "))
    shown = {
        k: kpi_text(leads[k], "leads", "totals").strip() for k in ("mean", "ci_low", "ci_high")
    }
    assert f" {shown['mean']} " in line  # each figure as the KPI registry writes a count
    assert f"{shown['ci_low']} to {shown['ci_high']}" in line  # leads: never cut at 0


def test_run_with_reps_as_json_and_csv(small, api, capsys) -> None:
    assert main(["run", str(small), "--reps", "3", "--seed", "4", "--format", "json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["reps"] == 3 and report["seed"] == 4 and report["complete"] is True
    assert report["failures"] == []
    summary = api.summary().set_index(["section", "metric"])
    assert report["summary"]["totals"]["mqls"]["mean"] == summary.loc[("totals", "mqls"), "mean"]
    assert set(report["summary"]["rates"]["connect_rate"]) == {
        "n",
        "mean",
        "sd",
        "ci_low",
        "ci_high",
        "p10",
        "p50",
        "p90",
    }
    assert main(["run", str(small), "--reps", "3", "--seed", "4", "--format", "csv"]) == 0
    table = pd.read_csv(pd.io.common.StringIO(capsys.readouterr().out))
    assert list(table.columns[:4]) == ["variant", "section", "metric", "n"]
    assert len(table) == len(api.summary())


def test_run_with_reps_and_out_streams_and_resumes(small, tmp_path, capsys) -> None:
    out = tmp_path / "out"
    args = ["run", str(small), "--reps", "3", "--out", str(out)]
    assert main(args) == 0
    first = capsys.readouterr().out
    assert {p.name for p in out.iterdir()} >= {
        "manifest.json",
        "replications",
        "summary.csv",
        "totals.csv",
        "weekly.csv",
        "variants.csv",
    }
    assert len(list((out / "replications").iterdir())) == 3
    assert main(args) == 0  # everything read back
    assert capsys.readouterr().out == first
    assert main([*args[:-2], "--seed", "9", "--out", str(out)]) == EXIT_BAD_INPUT
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert "holds another experiment, seed 0 (not 9)" in line


def test_sweep_writes_the_full_grid_as_tidy_tables(small, tmp_path, capsys) -> None:
    out = tmp_path / "grid"
    code = main(
        [
            "sweep",
            str(small),
            "--set",
            "sdr.headcount=1,3",
            "--set",
            "sources[0].rate_per_week=100,150,200",
            "--reps",
            "2",
            "--workers",
            "2",
            "--out",
            str(out),
        ]
    )
    assert code == 0
    printed = capsys.readouterr().out
    assert "6 variants x 2 replications" in printed
    variants = pd.read_csv(out / "variants.csv")
    assert len(variants) == 6
    assert set(variants["sdr.headcount"]) == {1, 3}
    assert set(variants["sources[0].rate_per_week"]) == {100, 150, 200}
    totals = pd.read_csv(out / "totals.csv")
    assert set(totals.groupby("variant")["replication"].nunique()) == {2}
    assert {"sdr.headcount", "sources[0].rate_per_week", "seed"} <= set(totals.columns)
    weekly = pd.read_csv(out / "weekly.csv")
    assert set(weekly["week"]) == {0, 1}
    comparison = pd.read_csv(out / "comparison.csv")
    assert set(comparison["baseline"]) == {variants["variant"][0]}
    assert len(pd.read_csv(out / "summary.csv").drop_duplicates("variant")) == 6


def test_sweep_without_reps_runs_each_point_until_its_difference_is_known(
    small, tmp_path, capsys
) -> None:
    """Without --reps: batches until each point's valid opportunities against the first
    point's are known to --precision of its level (or --max-reps); the header says so, and
    settled.csv says how far each point ran and why."""
    out = tmp_path / "grid"
    args = ["sweep", str(small), "--set", "sdr.headcount=1,2,3", "--precision", "0.1"]
    assert main([*args, "--max-reps", "12", "--workers", "2", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    settled = pd.read_csv(out / "settled.csv")
    counts = pd.read_csv(out / "totals.csv").groupby("variant")["replication"].nunique()
    assert counts.to_dict() == settled.set_index("variant")["replications"].to_dict()
    assert counts.max() <= 12 and counts.min() >= 4
    runs = f"{counts.min()}" if counts.min() == counts.max() else f"{counts.min()} to"
    assert f"3 variants x {runs}" in printed
    assert "known to +/-10% of its level (at most 12)" in printed
    for row in settled.itertuples():
        if row.status == "settled" and row.variant != settled["variant"].iloc[0]:
            assert row.why == "known to +/-10% of the first point's level"


@pytest.mark.parametrize(
    ("setting", "message"),
    [
        ("sdr.headcont=1,2", "--set: sdr.headcont: unknown key; did you mean 'headcount'?"),
        ("sdr.headcount=1,many", "--set: sdr.headcount: write a plain number"),
        ("sources[4].rate_per_week=1", "--set: sources[4]: sources has 2 item(s)"),
        ("cadence.gaps=[1 day, 2 parsecs]", "unknown time unit 'parsecs'"),
        ("sdr.headcount", "--set 'sdr.headcount': write PATH=VALUE[,VALUE...]"),
        ("sdr.headcount=", "write PATH=VALUE"),
        ("sdr.headcount=1,2,1", "--set sdr.headcount: the value '1' is given twice"),
    ],
)
def test_a_bad_setting_is_one_line_and_exit_2(small, tmp_path, capsys, setting, message) -> None:
    out = tmp_path / "never"
    code = main(["sweep", str(small), "--set", setting, "--reps", "2", "--out", str(out)])
    assert code == EXIT_BAD_INPUT
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert message in line
    assert not out.exists()  # nothing ran


def test_a_list_value_keeps_its_commas(small, tmp_path, capsys) -> None:
    out = tmp_path / "gaps"
    setting = "cadence.gaps=[1 day],[1 day, 2 days, 2 days, 3 days, 4 days]"
    assert main(["sweep", str(small), "--set", setting, "--reps", "1", "--out", str(out)]) == 0
    assert len(pd.read_csv(out / "variants.csv")) == 2


def test_sweep_refuses_a_directory_that_is_not_an_experiment(small, tmp_path, capsys) -> None:
    (tmp_path / "keep.txt").write_text("mine")
    code = main(["sweep", str(small), "--set", "sdr.headcount=1", "--out", str(tmp_path)])
    assert code == EXIT_BAD_INPUT
    assert "not an experiment directory" in capsys.readouterr().err


def broken(scenario, seed, snapshot=None):
    if seed.spawn_key == (1,):
        raise RuntimeError("boom")
    return simfunnel.simulate(scenario, seed=seed, snapshot=snapshot)


def interrupted(scenario, seed, snapshot=None):
    if seed.spawn_key == (2,):
        raise KeyboardInterrupt
    return simfunnel.simulate(scenario, seed=seed, snapshot=snapshot)


def test_a_failed_replication_exits_1_naming_its_seed(small, monkeypatch, capsys) -> None:
    monkeypatch.setattr(experiments, "_simulate", broken)
    assert main(["run", str(small), "--reps", "3", "--workers", "1", "--seed", "6"]) == EXIT_FAILED
    captured = capsys.readouterr()
    assert "(2 replications" in captured.out  # the others are reported
    (line,) = captured.err.strip().splitlines()
    assert "replication 1 of 'small team' failed: RuntimeError: boom" in line
    assert "SeedSequence(6, spawn_key=(1,))" in line


def test_ctrl_c_reports_what_finished_and_exits_130(small, monkeypatch, capsys) -> None:
    monkeypatch.setattr(experiments, "_simulate", interrupted)
    assert main(["run", str(small), "--reps", "5", "--workers", "1"]) == EXIT_INTERRUPTED
    captured = capsys.readouterr()
    assert "(2 replications" in captured.out
    assert captured.err.startswith("interrupted:")
