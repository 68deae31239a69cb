"""Regression tests for faults of ``fit`` and ``backtest`` found on real exports, and for the
capacity table and the user's overrides; each on the project's own synthetic exports, edited
with pandas (a column dropped, dates rewritten, reps renamed)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import yaml
from conftest import build, crm_dict

import simfunnel
from simfunnel.calibration import CalibrationError, backtest, fit
from simfunnel.cli import main
from simfunnel.results import write_exports

SCORE, AMOUNT, CREATED = "HubSpot Score", "Amount", "Create Date"
REP, WHEN = "Activity Assigned To", "Activity Date"
QUICK = {"reps": 3, "workers": 1}


@pytest.fixture(scope="module")
def export(tmp_path_factory) -> dict[str, Path]:
    """20 weeks from 2026-01-05 of one steady source and three SDRs, HubSpot style."""
    data = crm_dict("20 weeks")
    data["sdr"]["headcount"] = 3
    result = simfunnel.simulate(build(data), seed=4, trace=True)
    return write_exports(result, tmp_path_factory.mktemp("export"))


@pytest.fixture(scope="module")
def seasonal(tmp_path_factory) -> dict[str, Path]:
    """110 weeks from 2025-01-06: a peak in ISO weeks 10-12 every year, and a trade show of 150
    leads in one week of 2026 only (ISO week 25)."""
    data = crm_dict("110 weeks")
    data["start_date"] = "2025-01-06"
    data["sources"] = [
        {
            "name": "web",
            "rate_per_week": 20,
            "score": {"mean": 60, "sd": 15},
            "seasonality": {"by_week": {10: 3, 11: 3, 12: 3}},
            "bursts": [{"start": "2026-06-16 10:00", "leads": 150, "over": "8 h"}],
        }
    ]
    result = simfunnel.simulate(build(data), seed=5, trace=True)
    return write_exports(result, tmp_path_factory.mktemp("seasonal"))


def edited(paths: dict[str, Path], tmp: Path, **edits: Callable[[pd.DataFrame], Any]) -> dict:
    """The export's three files, those named in ``edits`` rewritten to ``tmp`` after
    ``edits[name](frame)`` (which returns the new frame)."""
    out = dict(paths)
    for name, edit in edits.items():
        frame = pd.read_csv(paths[name], dtype=str, keep_default_na=False)
        out[name] = tmp / f"{name}.csv"
        edit(frame).to_csv(out[name], index=False)
    return out


def drop(column: str) -> Callable[[pd.DataFrame], pd.DataFrame]:
    return lambda f: f.drop(columns=[column])


def run_backtest(p: dict[str, Path], cutoff: str, weeks: int | None, **kw: Any) -> Any:
    return backtest(p["leads"], cutoff, weeks, p["calls"], p["opportunities"], **QUICK, **kw)


# --------------------------------------------------------------------------- 1, 2


def test_backtest_runs_without_a_score_column(export, tmp_path) -> None:
    p = edited(export, tmp_path, leads=drop(SCORE))
    bt = run_backtest(p, "2026-03-30", 4)
    assert len(bt.summary()) == 6 and bt.snapshot_table["score"].isna().all()
    assert bt.calibration.parameters.set_index("parameter").loc["sources[web].score", "value"] == (
        "synthetic"
    )


def test_backtest_runs_without_amounts_while_deals_are_open(export, tmp_path) -> None:
    p = edited(export, tmp_path, leads=drop(AMOUNT), opportunities=drop(AMOUNT))
    bt = run_backtest(p, "2026-03-30", 4)
    open_deals = bt.snapshot_table[bt.snapshot_table["end_state"] == "open_opportunity"]
    assert len(open_deals) > 0 and open_deals["value"].isna().all()
    said = " ".join(bt.notes)
    assert f"{len(open_deals)} open opportunities" in said and "deal value" in said
    assert "10000" in said


# --------------------------------------------------------------------------- 3, 4


def by_week(cal: Any) -> dict[int, float]:
    (source,) = cal.scenario_dict()["sources"]
    return source.get("seasonality", {}).get("by_week", {})


def test_weeks_without_data_never_get_a_zero_multiplier(export) -> None:
    # 20 weeks of leads, an extract taken in December: the weeks after the last lead hold no
    # data, and one partial year cannot give a week-of-year pattern.
    cal = fit(export["leads"], export["calls"], export["opportunities"], as_of="2026-11-30")
    assert by_week(cal) == {}
    why = cal.parameters.set_index("parameter").loc["sources[web].seasonality"]
    assert why["value"] == "none" and "at least twice" in why["basis"]
    assert any("seasonality" in n and "at least twice" in n for n in cal.notes)


def test_two_years_give_a_recurring_peak_but_not_a_one_off_spike(seasonal) -> None:
    cal = fit(seasonal["leads"], seasonal["calls"], seasonal["opportunities"], as_of="2027-06-01")
    weeks = by_week(cal)
    print({k: weeks.get(k) for k in (9, 10, 11, 12, 13, 24, 25, 26)})
    assert all(weeks[w] > 1.8 for w in (10, 11, 12))  # in both years: a seasonal peak
    assert weeks.get(25, 1.0) < 1.5  # the trade show of 2026 only: not a peak every June
    assert min(weeks.values()) > 0.3  # after the last lead (2027-02) no week becomes 0
    assert {"iso_year", "iso_week"} <= set(cal.weekly.columns)


# --------------------------------------------------------------------------- 5


def day_first(frame: pd.DataFrame) -> pd.DataFrame:
    for column in frame.columns:
        if "Date" in column:
            stamps = pd.to_datetime(frame[column].where(frame[column] != ""), errors="coerce")
            frame[column] = stamps.dt.strftime("%d/%m/%Y %H:%M").fillna("")
    return frame


def test_monthfirst_on_dayfirst_dates_is_refused_naming_the_other_format(
    export, tmp_path, capsys
) -> None:
    p = edited(export, tmp_path, leads=day_first)
    with pytest.raises(CalibrationError) as caught:
        fit(p["leads"], date_format="monthfirst")
    text = str(caught.value)
    assert "\n" not in text and str(p["leads"]) in text and f"'{CREATED}'" in text
    assert "do not read as month-first" in text and "--date-format dayfirst" in text
    assert "e.g. '" in text
    args = ["fit", "--leads", str(p["leads"]), "--out", str(tmp_path / "f.yaml")]
    assert main([*args, "--date-format", "monthfirst"]) == 2
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert "--date-format dayfirst" in line
    assert fit(p["leads"], date_format="dayfirst").exports["leads"].excluded == 0


# --------------------------------------------------------------------------- 6


def test_horizon_past_the_last_lead(export, tmp_path) -> None:
    # Actual arrivals: the sample ends with the last lead, and that is the truth of it.
    bt = run_backtest(export, "2026-05-04", 6, arrivals="actual")
    assert any("sample ends" in n for n in bt.notes)
    # Forecast arrivals: the lead table stops on 2026-04-27, the calls and deals go on.
    p = edited(export, tmp_path, leads=lambda f: f[f[CREATED] < "2026-04-27"])
    bt = run_backtest(p, "2026-04-06", 5)
    assert len(bt.weekly) == 5 * 6
    with pytest.raises(CalibrationError, match="needs data up to 2026-07-06"):
        run_backtest(p, "2026-04-06", 13)


# --------------------------------------------------------------------------- 7


def test_horizon_in_calendar_months(export, capsys) -> None:
    bt = run_backtest(export, "2026-02-01", None, horizon_months=3)
    months = bt.monthly.drop_duplicates("month")
    assert list(months["month"]) == ["2026-02", "2026-03", "2026-04"]
    assert list(months["days"]) == [28, 31, 30] and not months["partial"].any()
    assert bt.freq == "M" and (bt.summary()["periods"] == 3).all()
    bt = run_backtest(export, "2026-02-10", None, horizon_months=2)
    months = bt.monthly.drop_duplicates("month")
    assert list(months["month"]) == ["2026-02", "2026-03", "2026-04"]
    assert list(months["days"]) == [19, 31, 30] and list(months["partial"]) == [True, False, False]
    for weeks, n in ((None, None), (4, 2)):
        with pytest.raises(CalibrationError, match="horizon_weeks or horizon_months"):
            run_backtest(export, "2026-02-01", weeks, horizon_months=n)
    args = ["backtest", "--leads", str(export["leads"]), "--cutoff", "2026-03-01"]
    assert main([*args, "--horizon", "2months", "--reps", "3", "--workers", "1"]) == 0
    out = capsys.readouterr().out
    assert "months inside the band" in out  # scored by calendar month
    assert main([*args, "--horizon", "2 fortnights"]) == 2
    assert "--horizon" in capsys.readouterr().err


# --------------------------------------------------------------------------- 8


def sdr3_leaves(frame: pd.DataFrame) -> pd.DataFrame:
    """SDR 3 works January and February only; SDR 2 takes over the calls."""
    later = (frame[REP] == "SDR 3") & (frame[WHEN] >= "2026-03-01")
    frame.loc[later, REP] = "SDR 2"
    return frame


def test_capacity_by_month_and_headcount_of_the_last_complete_month(export, tmp_path) -> None:
    p = edited(export, tmp_path, calls=sdr3_leaves)
    cal = fit(p["leads"], p["calls"], p["opportunities"])
    cap = cal.capacity.set_index(["role", "month"])
    assert cap.loc[("sdr", "2026-01"), "active"] == 3
    assert cap.loc[("sdr", "2026-04"), "active"] == 2
    assert ("ae", "2026-04") in cap.index
    assert cal.scenario_dict()["sdr"]["headcount"] == 2
    text = cal.to_yaml()
    line = next(x for x in text.splitlines() if x.startswith("# ASSUMPTION sdr.headcount"))
    assert "= 2" in line and "2026-04" in line and "2 owners" in line
    saved = cal.save(tmp_path / "tables")
    assert pd.read_csv(saved["capacity.csv"]).shape[0] == len(cal.capacity)
    assert any("capacity" in n for n in cal.notes)


# --------------------------------------------------------------------------- 9


def test_overrides_from_the_api_and_the_command_line(export, tmp_path, capsys) -> None:
    cal = fit(export["leads"], export["calls"], overrides={"sdr.headcount": 32})
    assert cal.scenario_dict()["sdr"]["headcount"] == 32
    assert "# SET BY THE USER sdr.headcount = 32" in cal.to_yaml()
    cal = fit(export["leads"], overrides={"sources[web].rate_per_week": 70})
    assert cal.scenario_dict()["sources"][0]["rate_per_week"] == 70
    for bad, words in (
        ({"sdr.headcont": 3}, ("sdr.headcont", "headcount")),
        ({"sdr.headcount": -1}, ("sdr.headcount", "greater than")),
        ({"sources[mail].rate_per_week": 1}, ("sources[mail]", "web")),
    ):
        with pytest.raises(CalibrationError) as caught:
            fit(export["leads"], overrides=bad)
        assert "\n" not in str(caught.value) and all(w in str(caught.value) for w in words)
    with pytest.raises(CalibrationError, match=r"cadence\.gaps: .*after setting cadence\.max"):
        fit(export["leads"], export["calls"], overrides={"cadence.max_attempts": 4})
    bt = run_backtest(export, "2026-03-30", 2, overrides={"sdr.headcount": 5})
    assert bt.calibration.scenario_dict()["sdr"]["headcount"] == 5
    out = tmp_path / "fitted.yaml"
    args = ["fit", "--leads", str(export["leads"]), "--out", str(out)]
    assert main([*args, "--set", "sdr.headcount=32", "--set", "ae.win.probability=0.2"]) == 0
    written = yaml.safe_load(out.read_text())
    assert written["sdr"]["headcount"] == 32 and written["ae"]["win"]["probability"] == 0.2
    assert "# SET BY THE USER ae.win.probability = 0.2" in out.read_text()
    capsys.readouterr()
    assert main([*args, "--set", "sdr.headcount=many"]) == 2
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert "sdr.headcount" in line
    bargs = ["backtest", "--leads", str(export["leads"]), "--cutoff", "2026-03-30"]
    bargs += ["--horizon", "2", "--reps", "3", "--workers", "1"]
    assert main([*bargs, "--set", "sdr.headcount=5"]) == 0
    assert main([*bargs, "--set", "sdr.headcount"]) == 2
    assert "PATH=VALUE" in capsys.readouterr().err


def test_overrides_leave_the_fit_alone(export) -> None:
    """The override is the user's; the fitted value is still in the basis, to compare."""
    cal = fit(export["leads"], export["calls"], overrides={"sdr.headcount": 32})
    row = cal.parameters.set_index("parameter").loc["sdr.headcount"]
    assert row["kind"] == "user" and "the fit gave 3" in row["basis"]
