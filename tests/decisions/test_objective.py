"""The objective of funnel decisions: value minus cost, checked by hand; costs and targets."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from conftest import build

from simfunnel.decisions import (
    SECTION,
    choose,
    decision_kpis,
    failures,
    marginal,
    parse_costs,
    resolve_costs,
    service_targets,
)
from simfunnel.decisions.objective import Target
from simfunnel.experiments import run_variants
from simfunnel.scenario import Costs

YEAR_WEEKS = 52.18


def decision(scenario, reps: int = 1, **options) -> pd.DataFrame:
    """One variant's decision KPIs, wide: one row per replication."""
    exp = run_variants(scenario, {"now": {}}, reps, workers=1, progress=False)
    long = decision_kpis(exp, scenario.horizon / 168.0, **options)
    assert (long["section"] == SECTION).all()
    return long.pivot(index="replication", columns="metric", values="value"), exp


def test_objective_of_one_won_lead_is_its_value_minus_every_cost_by_hand() -> None:
    """TINY: one lead at Monday 10:00, called at once, qualified, met 2 days later, accepted,
    won 30 days on (inside 8 weeks) for 10,000. One SDR, no attrition. Costs: an SDR at 52,180 a
    year (1,000 a week) for 8 weeks is 8,000; the lead 25; its first meeting 1.5 h at 100 an hour
    is 150. Objective: 10,000 - 8,000 - 25 - 150 = 1,825."""
    scenario = build(
        ae__meeting_hours="1.5 h",
        costs={"sdr_per_year": 52_180, "ae_per_hour": 100, "per_lead": {"one": 25}},
    )
    wide, _ = decision(scenario)
    row = wide.iloc[0]
    assert row["won_value"] == 10_000 and row["open_value"] == 0 and row["sqls"] == 1
    assert row["cost"] == pytest.approx(8_000 + 25 + 150)
    assert row["value"] == pytest.approx(10_000)
    assert row["objective"] == pytest.approx(1_825)
    assert row["cost_per_valid"] == pytest.approx(8_175)
    assert row["cost_per_sql"] == pytest.approx(8_175)  # one SQL, which became the opportunity


def test_an_opportunity_open_at_the_horizon_counts_at_its_expected_win_value() -> None:
    """Three weeks: the 30-day sales cycle is still running at the end, so the open deal is
    worth its chance to win times its value: 1 x 10,000."""
    scenario = build(horizon="3 weeks", costs={"ae_per_hour": 10})
    wide, _ = decision(scenario)
    assert scenario.ae.win.probability == 1
    assert wide.iloc[0]["won_value"] == 0 and wide.iloc[0]["open_value"] == 10_000
    assert wide.iloc[0]["objective"] == pytest.approx(10_000 - 10)
    without, _ = decision(scenario, open_pipeline=False)
    assert without.iloc[0]["objective"] == pytest.approx(-10)


def test_objective_equals_the_hand_calculation_from_each_replications_totals() -> None:
    """A random funnel with lost deals, open ones and several sources: recompute value minus
    cost from the raw report of every replication."""
    scenario = build(
        horizon="6 weeks",
        calendar="24/7",
        sources=[
            {"name": "web", "rate_per_week": 60, "score": {"mean": 70, "sd": 10}},
            {"name": "event", "rate_per_week": 30, "score": {"mean": 65, "sd": 10}},
        ],
        sdr__headcount=2,
        ae__win={"probability": 0.4},
        ae__acceptance={"probability": 0.7},
        ae__sales_cycle="20 days",
        costs={
            "sdr_per_year": 90_000,
            "ae_per_hour": 120,
            "per_lead": {"web": 40, "event": 80},
        },
    )
    wide, exp = decision(scenario, reps=4)
    raw = exp.totals.assign(key=exp.totals["section"] + "." + exp.totals["metric"])
    raw = raw.pivot(index="replication", columns="key", values="value")
    assert (raw["totals.open_opportunities"] > 0).any() and (raw["totals.lost"] > 0).any()
    win = scenario.ae.win
    for rep, r in raw.iterrows():
        value = r["totals.won_value"] + r.get("totals.self_serve_value", 0.0)
        # Each open deal at its value times its chance to win, from the run's own lead table.
        leads = exp.replay(int(rep)).leads
        still = leads[leads["end_state"] == "open_opportunity"]
        odds = (
            math.log(win.probability / (1 - win.probability))
            + win.quality_effect * still["quality"]
        )
        value += float((still["value"] / (1 + np.exp(-odds))).sum())
        cost = r["staffing.sdr_mean_headcount"] * 90_000 * 6 / YEAR_WEEKS
        cost += r["leads_by_source.web"] * 40 + r["leads_by_source.event"] * 80
        # First meetings held (1 h each by default), accepted or rejected, at 120 an hour.
        assert r["ae.ae_meeting_hours"] == r["ae.ae_meetings"] * 1.0
        cost += r["ae.ae_meeting_hours"] * 120
        assert wide.loc[rep, "objective"] == pytest.approx(value - cost, rel=1e-12)


def test_without_costs_the_objective_falls_back_to_a_count() -> None:
    scenario = build()
    wide, _ = decision(scenario)
    assert wide.iloc[0]["objective"] == wide.iloc[0]["valid_opportunities"] == 1
    assert math.isnan(wide.iloc[0]["cost_per_valid"])
    won, _ = decision(scenario, fallback="won_value")
    assert won.iloc[0]["objective"] == 10_000
    with pytest.raises(ValueError, match="fallback"):
        decision(scenario, fallback="mqls")


def test_costs_from_the_scenario_and_on_top_of_it() -> None:
    scenario = build(costs={"sdr_per_year": 80_000, "per_lead": {"one": 5}})
    model = resolve_costs(scenario)
    assert model.per_year == {"sdr": 80_000, "bdr": 0, "ae": 0} and model.given
    model = resolve_costs(scenario, {"sdr": 90_000, "ae_per_hour": 70, "per_lead.one": 9})
    assert model.per_year["sdr"] == 90_000 and model.ae_per_hour == 70
    assert model.per_lead == {"one": 9} and model.meeting_hours == 1.0
    assert resolve_costs(scenario, Costs()).given is False  # a Costs replaces the section
    assert not resolve_costs(build()).given
    assert "AE meeting hours (rejected SQLs cost nothing)" in resolve_costs(build()).missing(True)
    with pytest.raises(ValueError, match="not a source"):
        resolve_costs(scenario, {"per_lead": {"nowhere": 1}})
    with pytest.raises(ValueError, match="unknown key 'cfo'"):
        resolve_costs(scenario, {"cfo": 1})


def test_cost_texts_parse_and_bad_ones_say_how() -> None:
    parsed = parse_costs(["sdr=90000", "ae_per_hour=120", "per_lead.web=40", "ae_per_year=1"])
    assert parsed == {"sdr": 90000, "ae_per_hour": 120, "per_lead": {"web": 40}, "ae_per_year": 1}
    for bad, message in (("cfo=1", "the role is one of"), ("sdr=lots", "KEY=VALUE")):
        with pytest.raises(ValueError, match=message):
            parse_costs([bad])


def test_targets_name_what_fails_with_its_figure_and_interval() -> None:
    targets = service_targets(0.5, max_utilisation=0.85, min_valid_rate=0.6, min_valid_per_week=3)
    assert [str(t) for t in targets] == [
        "MQLs called within 1 h >= 50%",
        "SDR utilisation <= 85%",
        "SQL to valid opportunity >= 60%",
        "valid opportunities per week >= 3",
    ]
    row = {"within_1h": 0.12, "sdr_utilisation": 0.85, "valid_rate": 0.7, "valid_per_week": 2}
    out = failures(row, targets, {"within_1h": (0.1, 0.14)})
    assert out == [
        "MQLs called within 1 h 12% (95% CI 10% to 14%; target >= 50%)",
        "valid opportunities per week 2 (target >= 3)",
    ]
    assert str(service_targets(0.745)[0]) == "MQLs called within 1 h >= 74.5%"
    assert service_targets(None, min_valid_per_week=0) == []
    assert not Target("within_1h", ">=", 0.5, "x").met(math.nan)


def frame(rows: list[tuple[str, float, float, bool]]) -> pd.DataFrame:
    return pd.DataFrame(
        rows, columns=["option", "objective", "objective_diff_low", "meets_targets"]
    ).set_index("option")


def test_the_rule_keeps_the_current_option_unless_another_is_clearly_better() -> None:
    # B is best and its paired interval against the current A is above 0: move.
    assert choose(frame([("A", 10, 0, True), ("B", 12, 1, True)]), "A").recommended == "B"
    # B is best but its interval reaches 0: keep A.
    kept = choose(frame([("A", 10, 0, True), ("B", 12, -1, True)]), "A")
    assert kept.recommended == "A" and kept.kept_current and kept.best == "B"
    # The current one fails its targets: the best that meets them, even if worse.
    assert choose(frame([("A", 10, 0, False), ("B", 8, -3, True)]), "A").recommended == "B"
    # A target-failing option never wins, whatever its objective.
    assert choose(frame([("A", 10, 0, True), ("C", 99, 50, False)]), "A").recommended == "A"
    assert choose(frame([("A", 10, 0, False)]), "A").recommended is None


def test_a_target_met_only_within_the_noise_is_named_as_marginal() -> None:
    (speed,) = service_targets(0.5)
    row = {"within_1h": 0.51}
    assert marginal(row, [speed], {"within_1h": (0.49, 0.53)}) == [
        "MQLs called within 1 h 51% (95% CI 49% to 53%; target >= 50%)"
    ]
    assert marginal(row, [speed], {"within_1h": (0.505, 0.515)}) == []
    assert marginal({"within_1h": 0.4}, [speed], {"within_1h": (0.3, 0.45)}) == []  # it fails
    assert marginal({"within_1h": 0.4}, [speed], {"within_1h": (0.3, 0.55)})  # a miss, in noise
    (ceiling,) = service_targets(None, max_utilisation=0.8)
    assert marginal({"sdr_utilisation": 0.78}, [ceiling], {"sdr_utilisation": (0.7, 0.85)})


def test_each_run_values_its_own_open_deals_not_a_factor_pooled_over_the_runs() -> None:
    """The open pipeline of a replication depends on that replication alone: adding runs to an
    option does not move the value of the runs it had (a factor pooled over the option's runs
    did, and made the paired intervals blind to its noise)."""
    scenario = build(
        horizon="4 weeks",
        calendar="24/7",
        sources=[{"name": "web", "rate_per_week": 80, "score": {"mean": 70, "sd": 10}}],
        sdr__headcount=2,
        ae__win={"probability": 0.3, "quality_effect": 0.8},
        ae__sales_cycle="40 days",
        costs={"ae_per_hour": 10},
    )
    two, _ = decision(scenario, reps=2)
    five, _ = decision(scenario, reps=5)
    assert (two["open_value"] > 0).all()
    pd.testing.assert_series_equal(two["open_value"], five["open_value"].iloc[:2])


def test_a_target_missed_only_within_the_noise_does_not_rule_an_option_out() -> None:
    """The mean misses 74.5% but its 95% interval reaches it: within the noise, not a failure
    (today's option must not be forced out by it); a miss with the whole interval below is."""
    target = service_targets(0.745)
    near = {"within_1h": 0.742}
    assert failures(near, target, {"within_1h": (0.738, 0.746)}) == []
    assert marginal(near, target, {"within_1h": (0.738, 0.746)}) == [
        "MQLs called within 1 h 74.2% (95% CI 73.8% to 74.6%; target >= 74.5%)"
    ]
    assert failures(near, target, {"within_1h": (0.739, 0.744)}) != []
    assert marginal(near, target, {"within_1h": (0.739, 0.744)}) == []
    assert failures(near, target) != []  # no interval: judged on the mean
    utilisation = service_targets(None, max_utilisation=0.8)
    assert failures({"sdr_utilisation": 0.81}, utilisation, {"sdr_utilisation": (0.79, 0.83)}) == []
    assert failures({"sdr_utilisation": 0.81}, utilisation, {"sdr_utilisation": (0.805, 0.83)})


def test_a_share_target_s_interval_stays_between_0_and_100_percent() -> None:
    """A t interval on three runs once printed 'MQLs called within 1 h 69.4% (95% CI -14.2% to
    153.1%...)': a share cannot leave 0-100%."""
    (target,) = service_targets(service_level=0.8)
    said = target.failure(0.694, (-0.142, 1.531))
    assert "(95% CI 0% to 100%; target >= 80%)" in said
