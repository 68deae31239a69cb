"""Backtest on a synthetic export: fit on the first half of a simulated year, forecast the next
13 weeks, and check that the actual weeks fall inside the bands about as often as promised."""

from __future__ import annotations

import math

import matplotlib
import pytest
from test_calibration import KNOWN

import simfunnel
from simfunnel.backtest import STAGES, backtest
from simfunnel.calibration import CalibrationError
from simfunnel.exports import write_exports
from simfunnel.scenario import scenario_from_dict

matplotlib.use("Agg")
Z = 4.0


@pytest.fixture(scope="module")
def result(tmp_path_factory):
    run = simfunnel.simulate(scenario_from_dict(KNOWN), seed=11, trace=True)
    paths = write_exports(run, tmp_path_factory.mktemp("export"))
    return backtest(
        paths["leads"], "2026-07-06", 13, paths["calls"], paths["opportunities"],
        start="2026-01-05", reps=19, workers=2,
    )  # fmt: skip


def test_coverage_is_near_nominal_when_the_model_is_right(result) -> None:
    s = result.summary
    print()
    print(s.to_string(index=False))
    n = len(result.weekly)
    assert n == 13 * len(STAGES)
    # Each (week, stage) actual is inside its 80% band with probability 0.8 when the fitted
    # model is the true one; weeks are nearly independent draws.
    tol = Z * math.sqrt(0.8 * 0.2 / n)
    print(f"coverage {result.coverage:.3f} over {n} weeks x stages, nominal 0.8 +- {tol:.3f}")
    assert abs(result.coverage - 0.8) <= tol
    assert s.set_index("metric").loc["leads", "total_inside"]
    assert (s["mape"] < 1).all()


def test_fit_used_only_data_before_the_cutoff(result) -> None:
    cal = result.calibration
    assert cal.as_of == result.cutoff
    assert cal.tables["leads"].data["created"].max() < result.cutoff
    for col in ("mql_date", "sql_date", "opportunity_date", "won_date", "lost_date"):
        assert not (cal.tables["leads"].data[col] >= result.cutoff).any()
    assert result.forecast.scenario.start_date.isoformat() == "2026-07-06"


def test_plot_draws_bands_and_actuals(result) -> None:
    ax = result.plot("sqls")
    assert "coverage" in ax.get_title()
    assert any(line.get_label() == "actual" for line in ax.get_lines())
    with pytest.raises(ValueError, match="unknown metric"):
        result.plot("revenue")


def test_backtest_needs_data_past_the_horizon(tmp_path) -> None:
    small = dict(KNOWN, horizon="8 weeks")
    paths = write_exports(simfunnel.simulate(scenario_from_dict(small), seed=1), tmp_path)
    with pytest.raises(CalibrationError, match="needs data up to 2026-05-04"):
        backtest(paths["leads"], "2026-02-02", 13)
