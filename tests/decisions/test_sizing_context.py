"""`size`: what an answer rests on, said in its verdict. Each run starts on a full funnel (the
forecast's warm-up) unless asked otherwise, since a funnel that starts empty carries less
follow-up work and fewer open deals than the team will meet; the plan's hires stay on top of
every headcount tried; and an answer below today's team says what it costs in output."""

from __future__ import annotations

import numpy as np
from conftest import busy

from simfunnel.base.units import WEEK
from simfunnel.decisions import default_warm_up, size_team
from simfunnel.decisions.measures import WEEKS_PER_MONTH


def valid(sizing, h: int) -> float:
    t = sizing.experiments[h].totals
    return float(t.loc[t["metric"] == "valid_opportunities", "value"].mean())


def test_each_run_starts_after_the_forecast_warm_up_and_says_so() -> None:
    scenario = busy(sdr__headcount=4)
    weeks, basis = default_warm_up(scenario)
    s = size_team(scenario, "sdr", ["sdr_utilisation<=0.95"], reps=2, workers=1, explain=False)
    for experiment in s.experiments.values():
        (run,) = experiment.scenarios.values()
        assert run.warm_up == weeks * WEEK
    assert f"Each run starts after a {weeks}-week warm-up ({basis})." in s.verdict
    empty = size_team(
        scenario, "sdr", ["sdr_utilisation<=0.95"], reps=2, workers=1, explain=False, warm_up=0
    )
    assert "Each run starts from an empty funnel (no warm-up)" in empty.verdict
    assert all(next(iter(e.scenarios.values())).warm_up == 0 for e in empty.experiments.values())


def test_an_answer_below_today_names_the_output_it_costs() -> None:
    """A loose speed target is met by a smaller, saturated team: the verdict gives
    valid opportunities at the answer against today's, as the runs counted them, says the team
    is saturated, and names the target that would keep today's output."""
    flood = [{"name": "web", "rate_per_week": 3000, "score": {"mean": 60, "sd": 15}}]
    scenario = busy(sdr__headcount=8, sources=flood)
    s = size_team(scenario, "sdr", ["speed_to_lead_24h>=0.3"], reps=3, workers=1, explain=False)
    print(s.verdict)
    h, now = s.headcount, s.current
    assert h is not None and now == 8 and h < now
    at, today = valid(s, h), valid(s, now)
    assert at / today - 1 <= -0.02  # the case: a saturated team loses output
    said = f"With {h} SDR{'s' if h > 1 else ''} instead of today's {now}, valid opportunities "
    assert said + f"come to {at:,.0f} against {today:,.0f} ({at / today - 1:+.0%})" in s.verdict
    per_month = today / (s.scenario.horizon / WEEK) * WEEKS_PER_MONTH
    assert f"'valid_opps_per_month>={np.floor(per_month):.0f}'" in s.verdict
    share = s.experiments[h].totals.query("section == 'utilisation' and metric == 'sdr'")
    assert f"with the SDRs {share['value'].mean():.0%} busy: saturated" in s.verdict


def test_the_plan_kept_on_top_of_each_headcount_is_named() -> None:
    scenario = busy(sdr__plan=[{"date": "2026-01-19", "hire": 2}])
    s = size_team(scenario, "sdr", ["sdr_utilisation<=0.95"], reps=2, workers=1, explain=False)
    assert "the plan's changes (+2 on 2026-01-19) stay on top of it" in s.verdict
    assert "The analytic estimate" in s.verdict
