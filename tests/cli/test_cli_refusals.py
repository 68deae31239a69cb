"""Command lines the tool cannot answer are refused up front: one line, exit code 2, before
any simulation, never a traceback. An --excel name a workbook cannot have, a --max-reps the
stopping rule cannot take or that is below --reps, a scenario where no lead arrives, and an
option repeated with the same key (which would keep its last value without a word), and a
sweep --kpi that no report has (a typo found after the runs would cost them)."""

from __future__ import annotations

import gc
import sys
from pathlib import Path
from typing import Any

import matplotlib
import pytest
from conftest import SMALL_YAML, run_cli

import simfunnel.decisions
from simfunnel.cli import EXIT_BAD_INPUT, EXIT_FAILED
from simfunnel.cli.common import SETTLE_MIN_REPS
from simfunnel.decisions import sdr_workload
from simfunnel.decisions.forecast_bands import BandRule
from simfunnel.decisions.measures import PassRule
from simfunnel.experiments.settle import MIN_REPS
from simfunnel.scenario import parse_scenario

matplotlib.use("Agg")

TARGET = ["--target", "sdr_utilisation<=0.8"]
QUICK = ["--reps", "2", "--workers", "1"]
# Every command with --max-reps, with what else it needs.
SETTLING = {
    "thresholds": ["--values", "40"],
    "size": TARGET,
    "hire": TARGET,
    "explain": [],
    "sweep": ["--set", "sdr.headcount=2,3", "--out", "{tmp}/sweep"],
    "forecast": [],
}
NO_LEADS = SMALL_YAML.replace("rate_per_week: 150", "rate_per_week: 0").replace(
    "rate_per_week: 40", "rate_per_week: 0"
)


@pytest.fixture
def files(tmp_path: Path) -> dict[str, str]:
    (tmp_path / "small.yaml").write_text(SMALL_YAML)
    (tmp_path / "none.yaml").write_text(NO_LEADS)
    return {"f": str(tmp_path / "small.yaml"), "none": str(tmp_path / "none.yaml")} | {
        "tmp": str(tmp_path)
    }


def refused(argv: list[str]) -> str:
    """The one line a refused command line prints; nothing on standard output, exit 2."""
    code, out, err = run_cli(argv)
    assert code == EXIT_BAD_INPUT, err
    assert out == "" and "Traceback" not in err
    (line,) = err.strip().splitlines()
    return line


def never(*args: Any, **kwargs: Any) -> Any:
    raise AssertionError("simulated before the command line was checked")


# --------------------------------------------------------------------------- 1. --excel


@pytest.mark.parametrize("name", ["x.csv", "xnoext", "/dev/full"])
def test_excel_needs_an_xlsx_name_before_any_work(files, monkeypatch, name) -> None:
    monkeypatch.setattr(simfunnel.decisions, "compare_thresholds", never)
    path = name if name.startswith("/") else str(Path(files["tmp"]) / name)
    line = refused(["thresholds", files["f"], "--values", "50", *QUICK, "--excel", path])
    assert line == f"{path}: --excel writes an Excel workbook; give a file name ending in .xlsx"


def test_excel_onto_a_full_device_is_one_line_and_no_traceback(files, monkeypatch) -> None:
    """A workbook whose bytes the device refuses: one line naming it, exit 1; openpyxl's zip
    writer, cut short, must not print a traceback when it is collected."""
    pytest.importorskip("openpyxl", reason="--excel needs the excel extra")
    if not Path("/dev/full").exists():
        pytest.skip("needs /dev/full")
    link = Path(files["tmp"]) / "full.xlsx"
    link.symlink_to("/dev/full")
    unraisable: list[Any] = []
    monkeypatch.setattr(sys, "unraisablehook", unraisable.append)
    argv = ["thresholds", files["f"], "--values", "50", *QUICK, "--no-explain"]
    code, out, err = run_cli([*argv, "--excel", str(link)])
    gc.collect()
    assert code == EXIT_FAILED and out.startswith("WARNING: NO COSTS")
    assert err.strip().splitlines() == ["/dev/full: No space left on device"]
    assert unraisable == []


# --------------------------------------------------------------------------- 2. --max-reps


def test_the_cli_minimum_of_max_reps_is_each_rule_s() -> None:
    assert SETTLE_MIN_REPS["precision"][0] == MIN_REPS
    assert SETTLE_MIN_REPS["pass"][0] == PassRule((), 1.0, 0.8).batch
    assert BandRule(max_reps=SETTLE_MIN_REPS["band"][0]).max_reps == 2
    with pytest.raises(ValueError, match="max_reps"):
        BandRule(max_reps=SETTLE_MIN_REPS["band"][0] - 1)


@pytest.mark.parametrize("command", list(SETTLING))
def test_a_max_reps_the_rule_cannot_take_is_refused_naming_the_minimum(files, command) -> None:
    minimum = 2 if command == "forecast" else 3
    argv = [command, files["f"], *SETTLING[command], "--max-reps", str(minimum - 1)]
    line = refused([a.format(**files) for a in argv])
    assert f"argument --max-reps: needs a whole number >= {minimum}" in line


@pytest.mark.parametrize("command", list(SETTLING))
def test_a_max_reps_below_reps_is_refused_not_ignored(files, monkeypatch, command) -> None:
    monkeypatch.setattr(simfunnel.decisions, "compare_thresholds", never)
    argv = [command, files["f"], *SETTLING[command], "--reps", "5", "--max-reps", "4"]
    line = refused([a.format(**files) for a in argv])
    assert line == "--max-reps 4 is below --reps 5, the first batch: give --max-reps 5 or more"


def test_max_reps_at_its_minimum_runs(files) -> None:
    """explain --max-reps 3 was a traceback from the stopping rule; now it is its limit."""
    code, out, err = run_cli(["explain", files["f"], "--max-reps", "3", "--workers", "1", "-q"])
    assert code == 0, err
    assert "3 replications each; not reached within 3" in out


# --------------------------------------------------------------------------- 3. no leads

DECISIONS = {
    "thresholds": ["--values", "40", *QUICK],
    "size": [*TARGET, *QUICK],
    "hire": [*TARGET, *QUICK],
    "forecast": QUICK,
    "explain": QUICK,
    "diagnose": QUICK,
    "waterfall": ["--revenue", "100000"],
}


@pytest.mark.parametrize("command", list(DECISIONS))
def test_a_scenario_where_no_lead_arrives_is_one_line_in_the_user_s_words(files, command) -> None:
    line = refused([command, files["none"], *DECISIONS[command]])
    assert line.startswith(f"{files['none']}: no leads arrive: every source has rate_per_week 0")
    assert "arrival_rate" not in line and "nan" not in line


def test_a_month_with_no_leads_is_refused(files) -> None:
    argv = ["hire", files["f"], *TARGET, *QUICK, "--volume", "2026-01=0"]
    line = refused(argv)
    assert line.startswith("--volume '2026-01=0': no leads would arrive that month")
    assert "arrival_rate" not in line


def test_the_sdr_workload_of_no_leads_says_so_in_the_file_s_words() -> None:
    """What explain and the sizing search start from: no internal rate name in the message."""
    with pytest.raises(ValueError, match="no leads arrive: every source has rate_per_week 0"):
        sdr_workload(parse_scenario(NO_LEADS))


# --------------------------------------------------------------------------- 7. repeated keys

REPEATED = [
    (
        ["forecast", "{f}", "--target", "won_value=2M", "--target", "won_value=3M"],
        "argument --target: won_value is given twice; give each metric one target",
    ),
    (
        ["thresholds", "{f}", "--values", "40", "--cost", "sdr=90000", "--cost", "sdr=1"],
        "argument --cost: sdr is given twice; give each cost once",
    ),
    (
        ["thresholds", "{f}", "--values", "40", "--cost", "sdr=1", "--cost", "sdr_per_year=2"],
        "argument --cost: sdr is given twice",
    ),
    (
        ["hire", "{f}", *TARGET, "--volume", "2026-02=1.5", "--volume", "2026-02=2"],
        "argument --volume: 2026-02 is given twice; give each month one factor",
    ),
]


@pytest.mark.parametrize(("argv", "message"), REPEATED, ids=[a[0] for a, _ in REPEATED])
def test_a_repeated_key_is_refused_naming_it(files, argv, message) -> None:
    assert message in refused([a.format(**files) for a in argv])


def test_different_keys_of_a_repeatable_option_are_kept(files, monkeypatch) -> None:
    seen: dict[str, Any] = {}

    def keep(*args: Any, **kwargs: Any) -> Any:
        seen.update(kwargs)
        raise ValueError("stop here")

    monkeypatch.setattr(simfunnel.decisions, "compare_thresholds", keep)
    argv = ["thresholds", files["f"], "--values", "40", "--cost", "sdr=1", "--cost", "ae=2"]
    refused(argv)  # the stand-in's ValueError: one line
    assert seen["costs"] == {"sdr": 1.0, "ae": 2.0}


# --------------------------------------------------------------------------- 8. sweep --kpi

BAD_KPIS = [
    ("won_valu", "--kpi won_valu: no such KPI; did you mean won_value"),
    ("rates.nothing", "--kpi rates.nothing: no such KPI (a name such as won or totals.won"),
    ("leads_by_source.webinar", "--kpi leads_by_source.webinar: the scenario's sources are web, "),
]


@pytest.mark.parametrize(("kpi", "message"), BAD_KPIS, ids=[k for k, _ in BAD_KPIS])
def test_a_sweep_kpi_the_report_never_has_is_refused_before_the_runs(
    files, monkeypatch, kpi, message
) -> None:
    """A typo in --kpi is named with the close names before the sweep runs, not after."""
    import simfunnel.experiments

    monkeypatch.setattr(simfunnel.experiments, "sweep", never)
    argv = ["sweep", files["f"], "--set", "sdr.headcount=2,3", "--out", f"{files['tmp']}/s"]
    assert message in refused([*argv, "--kpi", "won", "--kpi", kpi])
