"""`simfunnel backtest` on inputs an audit found broken: a cutoff far past the data (a fit
whose arrival trend ran off asked for tens of GiB), horizons past what pandas' dates hold,
bad window options, options accepted by one form of the command and silently ignored by the
other, rows excluded and notes made without a word, and a count of cutoffs that counted the
skipped ones.

Refusals come before anything is read or fitted, so most of these take a fraction of a
second; the rest run on a small synthetic export or a 20-week simulated one."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from conftest import build, crm_dict, one_line, run_cli

import simfunnel
import simfunnel.calibration
from simfunnel.calibration import backtest, backtesting, rolling_backtest, synthetic_export
from simfunnel.calibration.backtesting import MAX_HORIZON_WEEKS
from simfunnel.calibration.cohort_forecast import MAX_MONTHS
from simfunnel.data import CalibrationError
from simfunnel.results import write_exports


@pytest.fixture(scope="module")
def leads_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Six months of leads from 2023-01-02 (synthetic, every stage dated)."""
    export = synthetic_export("steady", seed=7, months=6)
    return export.write(tmp_path_factory.mktemp("synthetic"))


@pytest.fixture(scope="module")
def crm(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The exports of 20 weeks of a small funnel, as ``simfunnel export`` writes them."""
    done = simfunnel.simulate(build(crm_dict("20 weeks")), seed=4, trace=True)
    return write_exports(done, tmp_path_factory.mktemp("crm"))


ROLLING = ["--cutoffs", "2023-04-01", "--horizon", "1months", "--reps", "100"]


# --------------------------------------------------------------------------- 1 past the data


def test_a_cutoff_far_past_the_data_is_refused(leads_csv: Path) -> None:
    """`--cutoffs 2030-01-01` fitted the cohort model seven years after the last lead and the
    forecast asked for 15-43 GiB; now the cutoff is skipped, and with none left, refused."""
    argv = ["backtest", "--leads", str(leads_csv), "--cutoffs", "2030-01-01"]
    code, _, err = run_cli([*argv, "--horizon", "1months"])
    assert code == 2 and "after the data end" in one_line(err)
    with pytest.raises(CalibrationError, match="after the data end"):
        rolling_backtest(leads_csv, cutoffs=["2030-01-01"], horizon_months=1, reps=100)


def test_a_single_cutoff_past_the_data_is_refused(leads_csv: Path) -> None:
    with pytest.raises(CalibrationError, match="after the data end"):
        backtest(leads_csv, "2030-01-01", 4, reps=3, arrivals="actual")


def test_no_cutoff_between_the_bounds_says_where_each_bound_came_from(leads_csv: Path) -> None:
    """Six months of data leave no month start with six months before it and three after:
    the refusal names both bounds and why each is there, not a backwards range alone."""
    with pytest.raises(CalibrationError) as err:
        rolling_backtest(leads_csv, every="month", horizon_months=3)
    text = str(err.value)
    assert "the first would be 2023-07-01 (six months after the first lead)" in text
    assert "(the last month start with 3 months of data after it)" in text
    assert text.endswith("give --cutoffs")
    with pytest.raises(
        CalibrationError, match=r"2023-05-01 \(--from\), the last 2023-03-01 \(--to\)"
    ):
        rolling_backtest(leads_csv, every="month", first="2023-05-01", last="2023-03-01")


# --------------------------------------------------------------------------- 5 horizons


@pytest.mark.parametrize("horizon", ["100000", "521", "10000months", "121months"])
@pytest.mark.parametrize("form", [["--cutoff", "2023-04-03"], ["--cutoffs", "2023-04-01"]])
def test_a_horizon_past_ten_years_is_refused_when_parsed(form: list[str], horizon: str) -> None:
    code, _, err = run_cli(["backtest", "--leads", "no-such.csv", *form, "--horizon", horizon])
    assert code == 2 and "--horizon" in one_line(err) and "at most" in err


def test_the_functions_refuse_such_horizons_too(leads_csv: Path) -> None:
    with pytest.raises(ValueError, match="horizon_weeks"):
        backtest(leads_csv, "2023-04-03", MAX_HORIZON_WEEKS + 1)
    with pytest.raises(ValueError, match="horizon_months"):
        rolling_backtest(leads_csv, cutoffs=["2023-04-01"], horizon_months=MAX_MONTHS + 1)


# --------------------------------------------------------------------------- 3 window options


@pytest.mark.parametrize("value", ["0", "-2", "nan"])
def test_a_half_life_not_above_zero_is_refused_when_parsed(value: str) -> None:
    """Rolling with --half-life 0 forecast 0 leads a month and scored it."""
    code, _, err = run_cli(["backtest", "--leads", "no-such.csv", *ROLLING, "--half-life", value])
    assert code == 2 and "--half-life" in one_line(err)


@pytest.mark.parametrize(
    ("keywords", "said"),
    [
        ({"half_life_weeks": 0}, "half_life_weeks"),
        ({"half_life_weeks": -2.0}, "half_life_weeks"),
        ({"since": "2020-01-01"}, "outside the data"),
        ({"since": "2029-01-01"}, "outside the data"),
    ],
)
def test_rolling_backtest_refuses_a_bad_window(
    leads_csv: Path, keywords: dict[str, Any], said: str
) -> None:
    with pytest.raises(ValueError, match=said):
        rolling_backtest(leads_csv, cutoffs=["2023-04-01"], horizon_months=1, **keywords)


def test_a_since_outside_the_data_is_refused_by_the_command(leads_csv: Path) -> None:
    code, _, err = run_cli(
        ["backtest", "--leads", str(leads_csv), *ROLLING, "--since", "2019-01-01"]
    )
    assert code == 2 and "--since" in one_line(err)


# --------------------------------------------------------------------------- 7 ignored options


@pytest.mark.parametrize(
    "option",
    [
        ["--set", "sdr.headcount=3"],
        ["--arrivals", "actual"],
        ["--start-from", "warm_up"],
        ["--freq", "W"],
        ["--start", "2023-01-02"],
        ["--cutoff", "2023-04-03"],
        ["--from", "2023-03-01"],
        ["--calls", "calls.csv"],
        ["--workers", "2"],
        ["--every", "month"],
    ],
)
def test_a_rolling_backtest_refuses_what_it_would_ignore(option: list[str]) -> None:
    code, _, err = run_cli(["backtest", "--leads", "leads.csv", *ROLLING, *option])
    assert code == 2 and option[0] in one_line(err)


@pytest.mark.parametrize(
    "option", [["--model", "simulation"], ["--from", "2023-03-01"], ["--to", "2023-05-01"]]
)
def test_a_single_cutoff_refuses_what_it_would_ignore(option: list[str]) -> None:
    argv = ["backtest", "--leads", "leads.csv", "--cutoff", "2023-04-03", "--horizon", "4"]
    code, _, err = run_cli([*argv, *option])
    assert code == 2 and option[0] in one_line(err) and "--cutoff" in err


def test_a_single_cutoff_applies_the_window_and_the_draws(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """--since, --half-life and --no-parameter-draws were accepted with --cutoff and ignored:
    now they reach the backtest, and the backtest's fit."""
    seen: dict[str, Any] = {}

    def fake(*args: Any, **kwargs: Any) -> Any:
        seen.update(kwargs)
        raise CalibrationError("stop here")

    monkeypatch.setattr(simfunnel.calibration, "backtest", fake)
    argv = ["backtest", "--leads", "leads.csv", "--cutoff", "2023-04-03", "--horizon", "4"]
    argv += ["--since", "2023-02-01", "--half-life", "8", "--no-parameter-draws"]
    assert run_cli(argv)[0] == 2
    assert seen["since"] == "2023-02-01" and seen["half_life_weeks"] == 8.0
    assert seen["parameter_draws"] is False


def test_the_backtest_fits_on_the_window_asked(
    leads_csv: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: dict[str, Any] = {}

    def fake_fit(*args: Any, **kwargs: Any) -> Any:
        seen.update(kwargs)
        raise CalibrationError("stop here")

    monkeypatch.setattr(backtesting, "fit", fake_fit)
    with pytest.raises(CalibrationError, match="stop here"):
        backtest(leads_csv, "2023-04-03", 4, since="2023-02-01", half_life_weeks=6.0, reps=3)
    assert seen["since"] == pd.Timestamp("2023-02-01") and seen["half_life_weeks"] == 6.0
    with pytest.raises(ValueError, match="outside the data before the cutoff"):
        backtest(leads_csv, "2023-04-03", 4, since="2023-05-01", reps=3)


# --------------------------------------------------------------------------- 8 rows and notes


def _damaged(path: Path, out: Path) -> Path:
    """The lead export with an unparseable created date and a duplicate id."""
    lines = path.read_text().splitlines()
    cells = lines[2].split(",")
    cells[1] = "not a date"
    out.write_text("\n".join([lines[0], lines[1], ",".join(cells), *lines[3:], lines[5]]) + "\n")
    return out


def test_a_single_backtest_reports_excluded_rows_and_its_notes(
    crm: dict[str, Path], tmp_path: Path
) -> None:
    leads = _damaged(crm["leads"], tmp_path / "leads.csv")
    argv = ["backtest", "--leads", str(leads), "--cutoff", "2026-03-30", "--horizon", "4"]
    code, _, err = run_cli([*argv, "--reps", "3", "--workers", "1", "--arrivals", "actual"])
    assert code == 0, err
    assert "rows reported" in err and "duplicate id" in err and "excluded" in err
    # Without a call log, old MQLs are kept or settled by the hazard: the backtest says so.
    assert "note: " in err and "MQLs over" in err


def test_a_rolling_backtest_reports_excluded_rows(leads_csv: Path, tmp_path: Path) -> None:
    leads = _damaged(leads_csv, tmp_path / "leads.csv")
    code, _, err = run_cli(["backtest", "--leads", str(leads), *ROLLING])
    assert code == 0, err
    assert "2 rows reported" in err and "duplicate id" in err


# --------------------------------------------------------------------------- 9 counted cutoffs


def test_skipped_cutoffs_are_counted_as_skipped(leads_csv: Path) -> None:
    """--every month from three months before the data: five cutoffs asked, four with no lead
    before them; the text said '5 cutoffs'."""
    argv = ["backtest", "--leads", str(leads_csv), "--every", "month", "--from", "2022-10-01"]
    code, out, err = run_cli([*argv, "--to", "2023-02-01", "--horizon", "1months", "--reps", "100"])
    assert code == 0, err
    first = out.splitlines()[0]
    assert first.startswith("Rolling-origin backtest: 1 cutoff (4 more skipped: 4 with fewer")
    assert err.count(": skipped") == 4
    rb = rolling_backtest(
        leads_csv, every="month", first="2022-10-01", last="2023-02-01", horizon_months=1, reps=100
    )
    assert [f"{c:%Y-%m-%d}" for c in rb.cutoffs] == ["2023-02-01"] and len(rb.skipped) == 4


def test_a_cutoff_given_twice_is_scored_once_with_a_note(leads_csv: Path) -> None:
    """Scored twice, a repeated cutoff weighed twice in the coverage and the errors."""
    rb = rolling_backtest(
        leads_csv, cutoffs=["2023-05-01", "2023-04-01", "2023-05-01"], horizon_months=1, reps=50
    )
    assert list(rb.cutoffs) == [pd.Timestamp("2023-04-01"), pd.Timestamp("2023-05-01")]
    assert any("cutoff 2023-05-01 given more than once: scored once" in n for n in rb.notes)
