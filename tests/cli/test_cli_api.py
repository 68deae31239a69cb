"""The public API surface, the command line, and every bundled scenario."""

from __future__ import annotations

import json
import subprocess
import sys

import pandas as pd
import pytest
from conftest import ROOT, SCENARIOS, build, load_yaml

import simfunnel
from simfunnel.cli import main

SAAS = ROOT / "scenarios" / "inbound_saas.yaml"


def test_public_api_is_small_and_explicit() -> None:
    assert sorted(simfunnel.__all__) == [
        "Experiment",
        "Forecast",
        "Scenario",
        "ScenarioError",
        "SimulationResult",
        "Snapshot",
        "compare_thresholds",
        "diagnose",
        "forecast",
        "hiring_plan",
        "load_scenario",
        "read_snapshot",
        "run",
        "run_variants",
        "simulate",
        "size_team",
        "sweep",
    ]
    for name in simfunnel.__all__:
        assert hasattr(simfunnel, name)


def test_simulate_rejects_a_raw_dict() -> None:
    with pytest.raises(TypeError, match="load_scenario"):
        simfunnel.simulate({"name": "x"})  # type: ignore[arg-type]


def test_scenario_is_frozen() -> None:
    scenario = simfunnel.load_scenario(SAAS)
    with pytest.raises(Exception, match="frozen"):
        scenario.sdr.headcount = 3  # type: ignore[misc]


@pytest.fixture(scope="module")
def short_file(tmp_path_factory):
    """The default scenario cut to 6 weeks, to keep CLI tests quick."""
    import yaml

    data = load_yaml(SAAS)
    data["horizon"] = "6 weeks"
    data["sources"][2]["bursts"] = []
    path = tmp_path_factory.mktemp("scn") / "short.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def test_run_prints_the_kpi_table(short_file, capsys) -> None:
    assert main(["run", str(short_file), "--seed", "3"]) == 0
    out = capsys.readouterr().out
    for heading in (
        "Volumes",
        "Conversion rates",
        "Speed to lead",
        "Utilisation",
        "Untouched MQL backlog",
        "End state of every lead",
    ):
        assert heading in out
    assert "seed 3" in out


def test_run_json_has_the_documented_stable_keys(short_file, capsys) -> None:
    assert main(["run", str(short_file), "--format", "json", "--seed", "3"]) == 0
    report = json.loads(capsys.readouterr().out)
    # The keys every results command prints (docs/cli.md), then the run's KPI report.
    assert list(report)[:4] == ["command", "scenario", "verdict", "table"]
    assert report["command"] == "run" and report["verdict"].strip()
    assert {"section", "metric", "value", "label", "unit"} <= set(report["table"][0])
    for key in ("command", "verdict", "table"):
        report.pop(key)
    assert set(report) == {
        "scenario",
        "currency",
        "seed",
        "start_date",
        "weeks",
        "totals",
        "leads_by_source",
        "rates",
        "speed_to_lead",
        "utilisation",
        "teams",
        "by_motion",
        "staffing",
        "ae",
        "lost_reasons",
        "backlog",
        "end_states",
    }
    assert set(report) - {"scenario", "currency", "seed", "start_date", "weeks"} == set(
        simfunnel.results.run_kpis.REPORT_SECTIONS
    )
    assert report["seed"] == 3
    assert set(report["staffing"]) == {
        f"{role}_{key}"
        for role in ("sdr", "bdr")
        for key in (
            "headcount_start",
            "headcount_end",
            "hires",
            "backfills",
            "planned_exits",
            "attrition_exits",
            "mean_headcount",
            "mean_effective",
        )
    }
    assert set(report["utilisation"]) == {"sdr", "bdr"}
    assert report["utilisation"]["bdr"] is None  # no outbound section: null, never absent
    assert set(report["totals"]) == set(simfunnel.results.run_kpis.TOTAL_KEYS)
    assert set(report["rates"]) == {
        "mql_rate",
        "connect_rate",
        "contact_rate",
        "mql_to_sql",
        "sql_to_valid",
        "win_rate",
    }
    assert set(report["speed_to_lead"]) == {
        "mean_h",
        "median_h",
        "p90_h",
        "within_1h",
        "within_24h",
        "attempted",
        "never_attempted",
    }
    assert sum(report["end_states"].values()) == report["totals"]["leads"]
    # The same seed through the API gives the same report.
    api = simfunnel.simulate(simfunnel.load_scenario(short_file), seed=3).to_dict()
    assert report.pop("currency") == {"code": "USD", "assumed": False}  # the command adds it
    assert json.loads(json.dumps(api)) == report


def test_run_csv_is_a_tidy_table(short_file, capsys) -> None:
    assert main(["run", str(short_file), "--format", "csv"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "section,metric,value,label,unit"  # the run's table
    assert any(line.startswith("totals,leads,") for line in lines)


def test_run_out_writes_weekly_and_lead_tables(short_file, tmp_path, capsys) -> None:
    out = tmp_path / "result"
    assert main(["run", str(short_file), "--out", str(out)]) == 0
    weekly = pd.read_csv(out / "weekly.csv")
    leads = pd.read_csv(out / "leads.csv")
    kpis = json.loads((out / "kpis.json").read_text())
    assert len(weekly) == 6
    assert len(leads) == kpis["totals"]["leads"] == weekly["leads"].sum()
    funnel = pd.read_csv(out / "funnel_by_source.csv")
    assert funnel["leads"].sum() == kpis["totals"]["leads"]
    reps = pd.read_csv(out / "reps.csv")
    assert reps["dials"].sum() == kpis["totals"]["dials"]
    assert set(pd.read_csv(out / "weekly_by_source.csv")["source"]) == {
        "web_form",
        "content_download",
        "webinar",
    }


def test_validate_ok(short_file, capsys) -> None:
    assert main(["validate", str(short_file)]) == 0
    assert "ok" in capsys.readouterr().out


def test_console_script_runs(short_file) -> None:
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "simfunnel.cli",
            "run",
            str(short_file),
            "--format",
            "json",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["totals"]["leads"] > 0


@pytest.mark.parametrize("path", SCENARIOS, ids=[p.name for p in SCENARIOS])
def test_bundled_scenarios_validate_and_run(path) -> None:
    scenario = simfunnel.load_scenario(path)
    result = simfunnel.simulate(scenario, seed=1)
    assert result.totals["leads"] > 0
    assert sum(result.end_states.values()) == result.totals["leads"] + result.totals["accounts"]


def test_threshold_raises_lead_quality(saas_dict) -> None:
    """A higher MQL threshold sends fewer but better leads: the reason the threshold matters."""
    low = simfunnel.simulate(
        build(saas_dict, horizon="8 weeks", sources__2__bursts=[], scoring__threshold=40), seed=2
    ).leads
    high = simfunnel.simulate(
        build(saas_dict, horizon="8 weeks", sources__2__bursts=[], scoring__threshold=75), seed=2
    ).leads
    assert high["mql"].sum() < low["mql"].sum()
    assert high.loc[high["mql"], "quality"].mean() > low.loc[low["mql"], "quality"].mean()


def test_rates_without_a_denominator_are_null_in_json(tmp_path, capsys) -> None:
    import yaml

    data = load_yaml(SAAS)
    data["horizon"] = "2 weeks"
    for source in data["sources"]:
        source["rate_per_week"] = 0
        source["bursts"] = []
    path = tmp_path / "empty.yaml"
    path.write_text(yaml.safe_dump(data))
    assert main(["run", str(path), "--format", "json"]) == 0
    report = json.loads(capsys.readouterr().out)  # strict JSON: no NaN tokens
    assert report["totals"]["leads"] == 0
    assert report["rates"]["connect_rate"] is None
    assert report["speed_to_lead"]["median_h"] is None


def test_notebooks_show_scenarios_and_results_as_compact_tables(saas_dict) -> None:
    from html.parser import HTMLParser

    scenario = simfunnel.load_scenario(ROOT / "scenarios" / "mixed_inbound_outbound.yaml")
    result = simfunnel.simulate(build(saas_dict, horizon="4 weeks", sources__2__bursts=[]), seed=1)
    for obj, must in (
        (scenario, ["BDRs", "target list target_accounts", "MQL threshold"]),
        (result, ["valid opportunities", "MQLs called within 1 h", "SDR utilisation"]),
    ):
        text = obj._repr_html_()
        HTMLParser().feed(text)  # well-formed enough to parse
        assert text.count("<tr>") >= 5
        for word in must:
            assert word in text
