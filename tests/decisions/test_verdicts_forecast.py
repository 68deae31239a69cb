"""`forecast`: without a snapshot it starts after a warm-up of a documented length, says so, and
says loudly when asked to start from an empty funnel."""

from __future__ import annotations

import math
import re

import numpy as np
import pandas as pd
import pytest
from conftest import STEADY_FLOW, build

import simfunnel
from simfunnel.decisions import Forecast, default_warm_up, forecast

# Ample SDRs, a steady Poisson flow, and an exponential sales cycle (mean 5 days).
FAST = {
    "horizon": "3 weeks",
    **STEADY_FLOW,
}


def _fc(**kwargs) -> Forecast:
    return forecast(build(**FAST), reps=3, seed=4, workers=1, progress=False, **kwargs)


def _carried(f: Forecast) -> np.ndarray:
    t = f.experiment.totals
    return t[(t["section"] == "totals") & (t["metric"] == "carried_in")]["value"].to_numpy()


def test_the_default_warm_up_is_the_sales_cycle_p90_plus_four_weeks() -> None:
    """Exponential with mean 5 days: P90 = 5 ln 10 = 11.5 days, 2 whole weeks, + 4 = 6. A fixed
    30-day cycle: 5 weeks + 4 = 9. A scenario's own warm_up wins."""
    assert 5 * math.log(10) == pytest.approx(11.51, abs=0.01)
    weeks, why = default_warm_up(build(**FAST))
    assert weeks == math.ceil(5 * math.log(10) / 7) + 4 == 6
    days = int(re.match(r"the sales cycle's P90 of (\d+) days plus 4 weeks", why).group(1))
    assert abs(days - 5 * math.log(10)) <= 1  # estimated from 20,000 draws, shown whole
    assert default_warm_up(build()) == (9, default_warm_up(build())[1])
    assert default_warm_up(build(warm_up="3 weeks")) == (3, "the scenario's own warm_up")
    long = build(ae__sales_cycle={"dist": "lognormal", "median": "300 days", "p90": "700 days"})
    assert default_warm_up(long)[0] == 52  # at most a year


def test_the_default_forecast_equals_one_with_the_explicit_warm_up() -> None:
    default, explicit = _fc(), _fc(warm_up=default_warm_up(build(**FAST))[0])
    assert default.warm_up_weeks == explicit.warm_up_weeks == 6
    assert default.scenario.warm_up == 6 * 168
    pd.testing.assert_frame_equal(default.bands, explicit.bands)
    pd.testing.assert_frame_equal(default.cumulative, explicit.cumulative)
    print(default.verdict)
    assert "(3 replications, each after a 6-week warm-up: the sales cycle's P90" in (
        default.verdict
    )
    assert "the length asked for" in explicit.verdict
    assert "EMPTY" not in default.verdict
    # Today's funnel is there: every replication carries opportunities in, and the open
    # pipeline at the end of week 0 holds more than week 0 alone opened.
    assert (_carried(default) > 0).all()
    week0 = default.bands.query("week == 0").set_index("metric")["mean"]
    assert week0["open_opportunities"] > week0["valid_opportunities"] - week0["won"]


def test_warm_up_zero_starts_empty_and_says_so_loudly() -> None:
    empty = _fc(warm_up=0)
    assert empty.warm_up_weeks == 0 and (_carried(empty) == 0).all()
    assert empty.verdict.startswith(
        "WARNING: this forecast starts from an EMPTY funnel (no snapshot, warm-up 0)"
    )
    assert "(3 replications, from an empty funnel)" in empty.verdict
    # Nothing is open at the start: the open pipeline is what the period opened and kept.
    b = empty.bands.query("week == 0").set_index("metric")["mean"]
    assert b["open_opportunities"] == b["valid_opportunities"] - b["won"] - b["lost"]


def test_a_snapshot_means_no_warm_up_and_both_are_refused() -> None:
    scenario = build(**FAST)
    start = pd.Timestamp(scenario.start)
    frame = pd.DataFrame(
        {
            "source": "one",
            "end_state": "open_opportunity",
            "arrived": [start - pd.Timedelta(days=20)],
            "valid_opportunity": [start - pd.Timedelta(days=5)],
        }
    )
    snap = simfunnel.read_snapshot(frame, scenario)
    f = forecast(scenario, reps=2, workers=1, progress=False, snapshot=snap)
    assert f.warm_up_weeks == 0 and "starting from today's funnel" in f.verdict
    assert "EMPTY" not in f.verdict
    with pytest.raises(ValueError, match="snapshot or after a warm-up, not both"):
        forecast(scenario, reps=2, workers=1, progress=False, snapshot=snap, warm_up=4)
    with pytest.raises(ValueError, match="warm_up must be a whole number of weeks >= 0"):
        forecast(scenario, reps=2, workers=1, progress=False, warm_up=-2)
