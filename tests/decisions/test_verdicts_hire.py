"""`hire`: today's team, the requirement, its half-rep tolerance and every month's shortfall are
in the table and the chart; the verdict names each month below the requirement by the rule it
states; what ramp, attrition and leave cost is measured by placing the hires again without
each, on the same rosters."""

from __future__ import annotations

import datetime as dt
import re

import matplotlib
import pandas as pd
import pytest
from conftest import build

from simfunnel.base.units import WEEK
from simfunnel.decisions import (
    SLACK,
    HiringPlan,
    default_warm_up,
    expected_effective,
    hiring,
    hiring_plan,
    size_team,
)

matplotlib.use("Agg")


def _scenario():
    return build(
        horizon="16 weeks",
        calendar="24/7",
        sources=[{"name": "web", "rate_per_week": 300, "score": {"mean": 70, "sd": 10}}],
        sdr__headcount=1,
        sdr__ramp=[0.5],
        sdr__attrition_per_year=2.0,
        sdr__pto_days_per_year=20,
        cadence__connect_probability=0.5,
        cadence__contact_probability=0.5,
        cadence__gaps=["2 h"],
    )


@pytest.fixture(scope="module")
def plan() -> HiringPlan:
    return hiring_plan(
        _scenario(),
        {"2026-03": 2.0, "2026-04": 2.0},
        "sdr",
        ["sdr_utilisation<=0.8"],
        reps=6,
        workers=1,
    )


def _named(verdict: str, lead: str) -> list[str]:
    """The months the verdict lists after ``lead``, e.g. '2026-04 (6.7 of 7), ...'."""
    match = re.search(re.escape(lead) + r" (.*?)(?:\.|: a hire)(?: |$)", verdict)
    return re.findall(r"(\d{4}-\d{2}) \(", match.group(1)) if match else []


def test_the_verdict_names_the_months_the_rule_finds_in_the_table(plan: HiringPlan) -> None:
    t = plan.table
    print(plan.verdict)
    print(t.to_string())
    assert list(t.columns) == [
        "month", "volume", "required", "expected_effective", "shortfall", "status", "hires",
        "today_team", "to_be_sure",
    ]  # fmt: skip
    # The rule, recomputed from the printed columns.
    for _, r in t.iterrows():
        assert r["shortfall"] == pytest.approx(max(0.0, r["required"] - r["expected_effective"]))
        want = (
            "covered"
            if r["expected_effective"] >= r["required"]
            else "within tolerance"
            if r["expected_effective"] >= r["required"] - SLACK
            else "short"
        )
        assert r["status"] == want
    assert f"at least the requirement minus {SLACK:g} rep" in plan.verdict
    within = _named(plan.verdict, "Below the requirement but within that tolerance:")
    short = _named(plan.verdict, "Short by more than the tolerance even so:")
    assert within == list(t.loc[t["status"] == "within tolerance", "month"])
    assert short == list(t.loc[t["status"] == "short", "month"])
    for month in within + short:
        row = t.set_index("month").loc[month]
        assert f"{month} ({row['expected_effective']:.2f} of {row['required']})" in plan.verdict
    # The hires: as many as the table's column, on the dates listed.
    total = int(re.search(r"Hire (\d+) SDR", plan.verdict).group(1))
    assert total == t["hires"].sum() == sum(n for _, n in plan.hires)
    for day, n in plan.hires:
        assert f"{n} on {day:%Y-%m-%d}" in plan.verdict
    # The placement's own stopping rule: nothing short that a hire could have ramped for.
    assert (t["shortfall"] <= SLACK).all()


def test_today_s_team_and_the_peak_requirement(plan: HiringPlan) -> None:
    t = plan.table
    peak = int(t["required"].max())
    assert plan.current == 1
    assert plan.verdict.startswith(f"You have 1 SDR, you need up to {peak} effective")
    # Today's team is the staffing model's expectation without the new hires.
    today = expected_effective(_scenario(), "sdr")
    months = [dt.date(int(m[:4]), int(m[5:]), 1) for m in t["month"]]
    assert list(t["today_team"]) == pytest.approx([today[m] for m in months])
    # Hires only add: with the same rosters, never below today's team.
    assert (t["expected_effective"] >= t["today_team"] - 1e-12).all()
    peaks = t[t["required"] == peak]
    low = peaks.loc[peaks["today_team"].idxmin()]
    where = f"in {low['month']}" if len(peaks) == 1 else f"at the lowest, in {low['month']}"
    said = f"today's team is expected at {low['today_team']:.1f} effective {where}."
    assert said in plan.verdict  # the month named: "there" over several months was vague


def test_the_explanation_places_the_hires_again_without_each_mechanism(plan: HiringPlan) -> None:
    e = plan.explanation.set_index("mechanism")
    print(e.to_string())
    assert set(e.index) == {"ramp", "attrition", "leave"}
    total = sum(n for _, n in plan.hires)
    assert (e["hires_with"] == total).all()
    # Removing a mechanism only raises the expected headcount: never more hires. Without
    # ramp a hire is productive on its first day, so it never needs to come earlier.
    assert (e["hires"] <= total).all()
    if e.loc["ramp", "hires"] == total and total:
        assert e.loc["ramp", "first_hire"] >= plan.hires[0][0]
    for name, r in e.iterrows():
        n = int(r["hires"])
        if n != total:
            assert f"without {name} you would hire {n} ({name} costs {total - n} hire" in (
                plan.verdict
            )
        else:
            assert f"without {name} the same" in plan.verdict


def test_the_chart_marks_today_the_tolerance_and_the_months_below(plan: HiringPlan) -> None:
    ax = plan.plot()
    labels = ax.get_legend_handles_labels()[1]
    assert "today: 1 SDR" in labels and f"tolerance ({SLACK:g} rep)" in labels
    assert "today's team, no new hires" in labels
    below = (plan.table["status"] != "covered").any()
    assert ("below the requirement" in labels) == below


def test_a_hand_made_table_words_each_rule() -> None:
    """The verdict from a table: one month within the tolerance, one short beyond it."""
    table = pd.DataFrame(
        {
            "month": ["2026-01", "2026-02", "2026-03"],
            "volume": [1.0, 1.5, 1.5],
            "required": [5, 7, 7],
            "expected_effective": [5.2, 6.7, 6.1],
            "today_team": [5.2, 5.8, 5.6],
            "hires": [1, 0, 0],
        }
    )
    table["shortfall"] = (table["required"] - table["expected_effective"]).clip(lower=0)
    table["status"] = ["covered", "within tolerance", "short"]
    plan = HiringPlan("sdr", table, ((dt.date(2026, 1, 5), 1),), _scenario(), current=6)
    v = plan.verdict
    assert v.startswith("You have 6 SDRs, you need up to 7 effective (fully ramped, in 2026-02, ")
    assert "Hire 1 SDR: 1 on 2026-01-05." in v
    assert "Below the requirement but within that tolerance: 2026-02 (6.70 of 7)." in v
    assert "Short by more than the tolerance even so: 2026-03 (6.10 of 7)" in v
    covered = HiringPlan("sdr", table.assign(status="covered"), (), _scenario(), current=6)
    assert "Every month meets its requirement in full." in covered.verdict
    assert "today's team keeps up" in covered.verdict


def test_a_month_without_a_working_day_is_not_staffed_and_is_named() -> None:
    """Eight weeks from Monday 2026-01-05 end on 2026-03-02: March holds one Sunday. It has no
    working day, so nothing to staff (it used to count as a month short of everyone, and the
    plan hired 100)."""
    scenario = build(
        horizon="8 weeks",
        calendar={"days": ["mon", "tue", "wed", "thu", "fri"], "hours": "09:00-18:00"},
        sources=[{"name": "web", "rate_per_week": 150, "score": {"mean": 70, "sd": 10}}],
        sdr__headcount=2,
    )
    plan = hiring_plan(
        scenario, {"2026-02": 1.5}, "sdr", ["sdr_utilisation<=0.8"], reps=3, workers=1
    )
    assert plan.idle_months == ("2026-03",)
    assert [str(m)[:7] for m in plan.table["month"]] == ["2026-01", "2026-02"]
    assert sum(n for _, n in plan.hires) <= int(plan.table["required"].max())
    assert "2026-03 has no working day in the period: nothing to staff there." in plan.verdict
    with pytest.raises(ValueError, match="2026-03 has no working day"):
        hiring_plan(scenario, {"2026-03": 2.0}, "sdr", ["sdr_utilisation<=0.8"], reps=3, workers=1)


def test_a_team_left_above_the_need_after_a_spike_is_named() -> None:
    """A one-month spike in February: hires are permanent, so the months after it carry reps
    they do not need; the verdict names each month a rep or more above its requirement."""
    plan = hiring_plan(
        _scenario(), {"2026-02": 3.0}, "sdr", ["sdr_utilisation<=0.8"], reps=3, workers=1
    )
    t = plan.table
    peak = t.index[t["required"] == t["required"].max()].max()
    over = t[(t.index > peak) & (t["expected_effective"] - t["required"] >= 1)]
    assert not over.empty
    assert "After the peak the team stays above what the month needs" in plan.verdict
    for month, e, r in zip(
        over["month"], over["expected_effective"], over["required"], strict=True
    ):
        assert f"{month} ({e:.1f} effective for {r} needed)" in plan.verdict


def test_a_long_surplus_is_said_as_its_span_not_month_by_month() -> None:
    """Five months above the need after a one-month peak: one clause with the span, the count
    of months and the range, checked against the hand-made table."""
    months = ["2026-01", "2026-02", "2026-03", "2026-04", "2026-05", "2026-06", "2026-07"]
    table = pd.DataFrame(
        {
            "month": months,
            "volume": [1.0, 2.0, 1.0, 1.0, 1.0, 1.0, 1.0],
            "required": [4, 8, 4, 4, 4, 5, 4],
            "expected_effective": [7.9, 8.1, 8.0, 7.8, 7.6, 7.7, 7.5],
            "today_team": [4.0] * 7,
            "hires": [4, 0, 0, 0, 0, 0, 0],
        }
    )
    table["shortfall"] = (table["required"] - table["expected_effective"]).clip(lower=0)
    table["status"] = "covered"
    plan = HiringPlan("sdr", table, ((dt.date(2026, 1, 5), 4),), _scenario(), current=4)
    assert (
        "After the peak the team stays above what the month needs: 5 months from 2026-03 to "
        "2026-07 (7.5 to 8.0 effective for 4 to 5 needed)." in plan.verdict
    )


def test_each_month_is_sized_on_a_full_funnel_and_says_so(plan: HiringPlan, monkeypatch) -> None:
    """A month is sized after the forecast's warm-up: a 2-week one left AE books and SDR
    follow-ups nearly empty, so `hire` answered 'hire 0' where `size` said 'you need 11'."""
    weeks, basis = default_warm_up(_scenario())
    said = f"sized on a 4-week run after a {weeks}-week warm-up ({basis})."
    assert f"Each month's requirement is {said}" in plan.verdict
    seen: list[float] = []

    def sizing(scenario, *args, **kwargs):
        seen.append(scenario.warm_up)
        return size_team(scenario, *args, **kwargs)

    monkeypatch.setattr(hiring, "size_team", sizing)
    hiring_plan(_scenario(), {}, "sdr", ["sdr_utilisation<=0.8"], reps=2, workers=1, explain=False)
    assert seen == [weeks * WEEK]
