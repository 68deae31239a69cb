"""`simfunnel outlook` and the cohort model on inputs an audit found broken: arrivals that
stopped long before the as-of date (the level and trend ran off and a replication asked for
billions of leads), an export with no stage dates, bad window options (a half-life of 0 or
below, a --since outside the data, a --start long before it), --reps and --months out of
range, a forecast of zero said nowhere, options outlook ignores, rows excluded without a word,
and a stage dated only after the as-of date said to have no date at all.

Small synthetic exports (simfunnel.calibration.synthetic, a fraction of a second to draw);
every option refused at parse time is refused before anything is read."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import one_line, run_cli

from simfunnel.calibration import fit_cohorts, forecast_cohorts, synthetic_export
from simfunnel.calibration.arrival_model import (
    MAX_LOG_SD,
    MAX_TREND_PER_YEAR,
    TREND_DAMPING_YEARS,
)
from simfunnel.calibration.backtesting import MAX_HORIZON_WEEKS
from simfunnel.calibration.cohort_forecast import MAX_MONTHS, MAX_REPS
from simfunnel.calibration.cohorts import CohortInputError
from simfunnel.calibration.synthetic import SyntheticExport
from simfunnel.cli import cohorts as cli_cohorts
from simfunnel.data import CalibrationError


def outlook(path: Path, *more: str) -> list[str]:
    return ["outlook", "--leads", str(path), *more]


@pytest.fixture(scope="module")
def export() -> SyntheticExport:
    return synthetic_export("steady", seed=5, months=4)


@pytest.fixture(scope="module")
def leads_csv(export: SyntheticExport, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return export.write(tmp_path_factory.mktemp("leads"))


@pytest.fixture(scope="module")
def stopped(export: SyntheticExport) -> tuple[pd.DataFrame, pd.Timestamp]:
    """The leads of the first two weeks only, seen 40 weeks after the last of them: arrivals
    that stopped long before the as-of date (the audit's first 200 rows of an export)."""
    leads = export.leads
    early = leads[leads["created"] < leads["created"].min() + pd.Timedelta(weeks=2)]
    return early.reset_index(drop=True), early["created"].max() + pd.Timedelta(weeks=40)


@pytest.fixture(scope="module")
def stopped_csv(
    export: SyntheticExport, stopped: tuple[pd.DataFrame, pd.Timestamp], tmp_path_factory
) -> Path:
    early, _ = stopped
    return SyntheticExport("steady", early, export.truth).write(tmp_path_factory.mktemp("stop"))


# --------------------------------------------------------------------------- 1 runaway memory


def test_arrivals_that_stopped_are_bounded_and_said(stopped) -> None:
    """The regression ran to a level of e^-56 and a trend of -66 a year with standard errors of
    25-50 on the log scale: drawn, a replication asked for e^20 leads a week and np.repeat for
    tens of GiB. Now each coefficient is held to what the counts support, the weekly rate to a
    cap, and the notes say loudly that no lead came in the last weeks."""
    early, as_of = stopped
    model = fit_cohorts(early, as_of)
    for a in model.arrivals.values():
        assert math.isfinite(a.cap) and a.cap <= 4 * len(early)
        limits = [MAX_LOG_SD / TREND_DAMPING_YEARS if t == "trend" else MAX_LOG_SD for t in a.terms]
        assert np.all(np.sqrt(np.diag(a.cov)) <= np.array(limits) + 1e-9)
        if "trend" in a.terms:
            assert abs(a.beta[a.terms.index("trend")]) <= MAX_TREND_PER_YEAR + 1e-9
        assert a.rate_now() <= a.cap
    warning = [n for n in model.notes if n.startswith("WARNING")]
    assert any("no lead created in the last 40 weeks before" in n for n in warning), model.notes
    assert any("held to what the weekly counts support" in n for n in model.notes)
    fc = forecast_cohorts(model, as_of + pd.DateOffset(months=2), reps=30, seed=1)
    weeks = math.ceil((fc.end - fc.start) / pd.Timedelta(weeks=1)) + 1
    most = weeks * sum(a.cap for a in model.arrivals.values())
    assert fc.totals()[0].max() <= most  # never past the caps, whatever the draws


def test_an_as_of_date_a_year_past_the_last_lead_is_refused(stopped) -> None:
    early, _ = stopped
    late = early["created"].max() + pd.Timedelta(weeks=60)
    with pytest.raises(ValueError, match="60 weeks after the last lead created"):
        fit_cohorts(early, late)


def test_the_size_of_a_forecast_is_checked_before_drawing(
    stopped, stopped_csv: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    early, as_of = stopped
    model = fit_cohorts(early, as_of)
    monkeypatch.setenv("SIMFUNNEL_MAX_MEMORY", "100KB")
    with pytest.raises(CohortInputError, match="above the limit") as caught:
        forecast_cohorts(model, as_of + pd.DateOffset(months=1), reps=5)
    assert isinstance(caught.value, ValueError) and isinstance(caught.value, CalibrationError)
    argv = outlook(stopped_csv, "--reps", "5", "--as-of", f"{as_of:%Y-%m-%d}", "--months", "1")
    code, _, err = run_cli(["--max-memory", "100KB", *argv])
    assert code == 2 and "would draw up to" in one_line(err) and "--max-memory" in err


def test_outlook_of_an_export_that_stopped_runs_with_a_warning(stopped, stopped_csv: Path) -> None:
    """The audit's `outlook --leads rows200.csv`: killed by the OS before, now a forecast with
    the warnings (no lead in the last weeks; every metric at zero) in its text."""
    _, as_of = stopped
    code, out, err = run_cli(
        outlook(stopped_csv, "--as-of", f"{as_of:%Y-%m-%d}", "--reps", "20", "--months", "1")
    )
    assert code == 0, err
    assert "WARNING: no lead created in the last 39 weeks" in out  # to midnight of the as-of day
    assert "Traceback" not in err


# --------------------------------------------------------------------------- 2 no stage fitted


def test_outlook_text_without_any_stage_date(export: SyntheticExport, tmp_path: Path) -> None:
    """An export of lead ids, dates and sources: the leads-only forecast and a NOT FORECAST
    line per stage (the text crashed with KeyError: 'median_days')."""
    bare = export.leads[["lead_id", "created", "source"]]
    path = SyntheticExport("thin", bare, export.truth).write(tmp_path)
    code, out, err = run_cli(["outlook", "--leads", str(path), "--reps", "20", "--months", "1"])
    assert code == 0, err
    assert "No stage could be fitted" in out and "Monthly forecast" in out
    for stage in ("mqls", "sqls", "valid_opportunities", "won", "lost"):
        assert f"NOT FORECAST: {stage}:" in err


# --------------------------------------------------------------------------- 3 window options


@pytest.mark.parametrize("value", ["0", "nan", "-2", "inf", "-0.5"])
@pytest.mark.parametrize("command", ["outlook", "fit"])
def test_a_half_life_not_above_zero_is_refused_when_parsed(command: str, value: str) -> None:
    argv = [command, "--leads", "no-such.csv", "--half-life", value]
    argv += ["--out", "x.yaml"] if command == "fit" else []
    code, _, err = run_cli(argv)
    assert code == 2 and "--half-life" in one_line(err) and "> 0" in err


@pytest.mark.parametrize("value", [0, -2, math.nan, math.inf, True])
def test_fit_cohorts_refuses_a_bad_half_life(export: SyntheticExport, value: float) -> None:
    with pytest.raises(ValueError, match="half_life_weeks"):
        fit_cohorts(export.leads, export.as_of, half_life_weeks=value)


def test_a_tiny_half_life_is_bounded_and_said(export: SyntheticExport) -> None:
    """A half-life of 0.001 weeks (minutes): weights of 1e-150. It runs, bounded, and says
    that the rates rest on the priors."""
    model = fit_cohorts(export.leads, export.as_of, half_life_weeks=0.001)
    assert any(n.startswith("WARNING: a half-life of 0.001 weeks") for n in model.notes)
    fc = forecast_cohorts(model, export.as_of + pd.DateOffset(months=1), reps=10, split=False)
    assert np.isfinite(fc.samples).all()


@pytest.mark.parametrize(
    ("option", "said"),
    [
        (["--since", "2020-01-01"], "is before the data"),
        (["--since", "2030-01-01"], "the cohort model needs at least 30"),
        (["--start", "2020-01-01"], "weeks before the first lead"),
    ],
)
def test_a_window_outside_the_data_is_refused(
    leads_csv: Path, option: list[str], said: str
) -> None:
    """--since before the first lead or --start years before it (statsmodels: "the first
    guess on the deviance function returned a nan"), --since after the last lead (a
    zero-size array): one line, exit code 2, before any fitting."""
    code, _, err = run_cli(["outlook", "--leads", str(leads_csv), "--reps", "20", *option])
    assert code == 2 and said in one_line(err) and option[0] in err


def test_fit_cohorts_refuses_a_since_outside_the_data(export: SyntheticExport) -> None:
    with pytest.raises(ValueError, match="before the data"):
        fit_cohorts(export.leads, export.as_of, since="2020-01-01")
    with pytest.raises(ValueError, match="needs at least 30"):
        fit_cohorts(export.leads, export.as_of, since=export.as_of + pd.Timedelta(days=1))


# --------------------------------------------------------------------------- 4 reps, months


@pytest.mark.parametrize(
    "option",
    [
        ["--reps", "0"],
        ["--reps", "1"],
        ["--reps", "-5"],
        ["--reps", "5000000"],
        ["--months", "-3"],
        ["--months", "0"],
        ["--months", "5000"],
        ["--months", "100000"],
    ],
)
def test_reps_and_months_are_checked_when_parsed(option: list[str]) -> None:
    code, _, err = run_cli(["outlook", "--leads", "no-such.csv", *option])
    assert code == 2 and option[0] in one_line(err) and "whole number from" in err


def test_forecast_cohorts_refuses_too_many_reps_or_months(stopped) -> None:
    early, as_of = stopped
    model = fit_cohorts(early, as_of)
    with pytest.raises(ValueError, match="reps"):
        forecast_cohorts(model, as_of + pd.DateOffset(months=1), reps=MAX_REPS + 1)
    with pytest.raises(ValueError, match=f"more than {MAX_MONTHS} months"):
        forecast_cohorts(model, as_of + pd.DateOffset(months=MAX_MONTHS + 5), reps=5)


def test_the_command_line_checks_the_numbers_the_functions_do() -> None:
    assert cli_cohorts.MAX_REPS == MAX_REPS
    assert cli_cohorts.MAX_HORIZON_MONTHS == MAX_MONTHS
    assert cli_cohorts.MAX_HORIZON_WEEKS == MAX_HORIZON_WEEKS


# --------------------------------------------------------------------------- 6 zero forecast


def test_a_forecast_of_zero_is_never_silent(stopped, stopped_csv: Path) -> None:
    """Leads in the first two weeks, the as-of date 49 weeks on: every metric 0 (0-0). The
    verdict, the text and the JSON notes say so."""
    early, _ = stopped
    as_of = early["created"].max() + pd.Timedelta(weeks=49)
    model = fit_cohorts(early, as_of)
    fc = forecast_cohorts(model, as_of + pd.DateOffset(months=1), reps=20, split=False)
    assert (fc.summary()["p90"] == 0).all()
    assert "WARNING: every metric is forecast at zero" in fc.verdict
    assert "WARNING: every metric is forecast at zero" in fc.text()
    argv = outlook(stopped_csv, "--as-of", f"{as_of:%Y-%m-%d}", "--reps", "20", "--months", "1")
    code, out, err = run_cli([*argv, "--format", "json", "--quiet"])
    assert code == 0, err
    notes = json.loads(out)["notes"]
    assert any(n.startswith("WARNING: every metric is forecast at zero") for n in notes)
    assert "WARNING: every metric" in err  # said on standard error too, even with --quiet


# --------------------------------------------------------------------------- 7 ignored options


@pytest.mark.parametrize("option", ["--calls", "--opportunities"])
def test_outlook_refuses_the_tables_it_does_not_read(leads_csv: Path, option: str) -> None:
    code, _, err = run_cli(["outlook", "--leads", str(leads_csv), option, "no-such.csv"])
    assert code == 2 and option in one_line(err) and "not used by outlook" in err


# --------------------------------------------------------------------------- 8 excluded rows


def test_outlook_reports_the_rows_it_excluded(leads_csv: Path, tmp_path: Path) -> None:
    lines = leads_csv.read_text().splitlines()
    cells = lines[2].split(",")
    cells[1] = "not a date"
    damaged = [lines[0], lines[1], ",".join(cells), *lines[3:], lines[5]]  # a duplicate id
    path = tmp_path / "leads.csv"
    path.write_text("\n".join(damaged) + "\n")
    code, _, err = run_cli(["outlook", "--leads", str(path), "--reps", "20", "--months", "1"])
    assert code == 0, err
    assert "2 rows reported" in err
    assert "duplicate id" in err and "excluded" in err


# --------------------------------------------------------------------------- 9 dated later


def test_a_stage_dated_only_after_the_as_of_date_says_so(
    export: SyntheticExport, leads_csv: Path
) -> None:
    """Four days in, no deal is won yet: the export has won dates, all later. Said as such,
    not as 'no lead in the export has any won date'."""
    as_of = export.leads["created"].min().normalize() + pd.Timedelta(days=4)
    model = fit_cohorts(export.leads, as_of)
    assert "by the as-of date" in model.missing["won"]
    code, _, err = run_cli(
        outlook(leads_csv, "--as-of", f"{as_of:%Y-%m-%d}", "--reps", "20", "--months", "1")
    )
    assert code == 0, err
    line = next(x for x in err.splitlines() if x.startswith("NOT FORECAST: won:"))
    assert f"no lead has a won date by the as-of date {as_of:%Y-%m-%d}" in line
    assert "no lead in the export has any won date" not in err
