"""`size`: the verdict reads against today's team, follows the rule on the table it prints, and
its explanation (ramp, attrition, leave removed one at a time) is measured and agrees with it.

The scenario is built so that theory gives the answer. A 24/7 calendar and 73.05 days of leave a
year give each rep a day off with probability p = 73.05 / 365.25 = 0.2, independently per day,
so a run's mean effective headcount over its 28 days has mean 0.8 k and variance
k p (1 - p) / 28 for k reps (sd 0.15 at k = 4, 0.17 at k = 5). The target "mean effective
headcount >= 3.5" then needs k = 5 (mean 4.0, three sd above 3.5): at k = 4 the mean is 3.2,
two sd below, so at most a few percent of runs pass, far from the 80% asked. Without leave, 4
reps are exactly 4 effective and pass: leave is what the fifth rep pays for. Attrition (0.3 a
year over 4 weeks) removes a rep in few runs and cannot lift 3.2 to 3.5: it changes nothing.
"""

from __future__ import annotations

import math
import re

import matplotlib
import numpy as np
import pytest
from conftest import build

import simfunnel
from simfunnel.decisions import Target, size_team
from simfunnel.scenario import with_overrides

matplotlib.use("Agg")

P_OFF = 0.2
DAYS = 28
REPS = 6
Z = 4.0
TARGET = "staffing.sdr_mean_effective>=3.5"


def _scenario() -> simfunnel.Scenario:
    return build(
        horizon="4 weeks",
        calendar="24/7",
        sources=[{"name": "web", "rate_per_week": 20, "score": {"mean": 80, "sd": 0}}],
        sdr__headcount=2,
        sdr__pto_days_per_year=P_OFF * 365.25,
        sdr__attrition_per_year=0.3,
        sdr__backfill_after="1 week",
    )


@pytest.fixture(scope="module")
def sized():
    return size_team(_scenario(), "sdr", [TARGET], confidence=0.8, reps=REPS, workers=1)


def test_the_verdict_picks_what_the_rule_picks_from_the_table(sized) -> None:
    """The rule (docs/decisions.md): the smallest headcount whose share of runs meeting every
    target reaches the confidence, with the row one below failing, as printed."""
    print(sized.verdict)
    print(sized.table.to_string())
    rows = sized.table.set_index("headcount")
    passing = [h for h in rows.index if rows.loc[h, "p_all_met"] >= 0.8]
    rule = min(passing)
    assert rule - 1 in rows.index and rows.loc[rule - 1, "p_all_met"] < 0.8
    said = int(re.match(r"You have \d+ SDRs, you need (\d+):", sized.verdict).group(1))
    assert said == rule == sized.headcount
    assert rows["answer"].sum() == 1 and rows.loc[rule, "answer"]
    # Theory: the smallest k with 0.8 k >= 3.5.
    assert rule == math.ceil(3.5 / (1 - P_OFF))
    share = f"with {rule}, every target ({Target.parse(TARGET).words}) is met in"
    assert share in sized.verdict
    assert f"{rows.loc[rule, 'p_all_met']:.0%} of simulated runs" in sized.verdict
    assert f"with {rule - 1}, in only {rows.loc[rule - 1, 'p_all_met']:.0%}" in sized.verdict


def test_today_s_team_is_in_the_table_the_verdict_and_the_chart(sized) -> None:
    rows = sized.table.set_index("headcount")
    assert sized.current == 2 and rows["today"].sum() == 1 and rows.loc[2, "today"]
    assert sized.verdict.startswith("You have 2 SDRs, you need 5")
    assert f"With today's 2, every target is met in {rows.loc[2, 'p_all_met']:.0%}" in (
        sized.verdict
    )
    # Today's team measured like any other: its mean effective headcount is 0.8 x 2.
    sd = math.sqrt(2 * P_OFF * (1 - P_OFF) / DAYS / REPS)
    assert abs(rows.loc[2, "staffing.sdr_mean_effective_mean"] - 1.6) <= Z * sd
    ax = sized.plot()
    labels = ax.get_legend_handles_labels()[1]
    assert "today: 2 SDRs" in labels and "recommended: 5 SDRs" in labels
    assert any(list(line.get_xdata()) == [2] for line in ax.lines)  # today's mark at 2


def test_the_explanation_is_measured_and_agrees_with_the_table(sized) -> None:
    e = sized.explanation
    print(e.to_string())
    rows = sized.table.set_index("headcount")
    # Only what the scenario has: no ramp, no learning curve.
    assert set(e["mechanism"]) == {"attrition", "leave"}
    assert set(e["headcount"]) == {4, 5}
    for _, r in e.iterrows():
        k = r["headcount"]
        # "With" is the search's own run at that headcount (common random numbers).
        assert r["p_all_met_with"] == rows.loc[k, "p_all_met"]
        assert r["mean_with"] == pytest.approx(rows.loc[k, "staffing.sdr_mean_effective_mean"])
        assert r["one_fewer_would_do"] == (k == 4 and r["p_all_met_with"] < 0.8 <= r["p_all_met"])
    leave = e.set_index(["mechanism", "headcount"]).loc[("leave", 4)]
    assert leave["one_fewer_would_do"] and leave["p_all_met"] == 1.0
    # Leave costs p of each rep's days: the paired gain is 0.2 k, within Z standard errors.
    for k in (4, 5):
        row = e.set_index(["mechanism", "headcount"]).loc[("leave", k)]
        sd = math.sqrt(k * P_OFF * (1 - P_OFF) / DAYS / REPS)
        assert abs(row["diff"] - P_OFF * k) <= Z * sd
        assert row["diff_low"] <= row["diff"] <= row["diff_high"]
    attrition = e.set_index(["mechanism", "headcount"]).loc[("attrition", 4)]
    assert not attrition["one_fewer_would_do"]
    # The verdict names what changes the answer, and only that.
    assert "Without leave alone, 4 would do." in sized.verdict
    assert "Without attrition" not in sized.verdict
    assert f"measured at 4 on {REPS} runs (every target met in" in sized.verdict


def test_the_explanation_runs_replay_alone(sized) -> None:
    """A run without leave is the scenario with pto_days_per_year = 0, replication by
    replication: its mean effective headcount is exactly 4 unless a rep left."""
    exp = sized.explained[("leave", 4)]
    team = with_overrides(_scenario(), {"sdr.headcount": 4, "sdr.pto_days_per_year": 0.0})
    values = exp.totals.query("metric == 'sdr_mean_effective'").sort_values("replication")
    for i in range(2):
        r = simfunnel.simulate(team, seed=exp.seed_of(i))
        assert r.staffing["sdr_mean_effective"] == values["value"].iloc[i]
    assert np.all(values["value"] <= 4.0)


def test_no_explain_skips_the_mechanism_runs() -> None:
    sizing = size_team(_scenario(), "sdr", [TARGET], reps=3, workers=1, explain=False)
    assert sizing.explanation.empty and sizing.explained == {}
    assert "What the answer pays for" not in sizing.verdict
    assert sizing.verdict.startswith("You have 2 SDRs, you need ")


def test_with_the_sizing_rule_one_fewer_is_explained_on_enough_runs() -> None:
    """Settled search: 4 reps fail on the first look (3 runs); the explanation runs 4 on to 11,
    the fewest that can show an 80% pass (n / (n + z^2) >= 0.8 at a one-sided 95%), so "4 would
    do without leave" rests on a pass rate shown above 80%, not on 3 of 3 runs."""
    s = size_team(_scenario(), "sdr", [TARGET], confidence=0.8, workers=2, seed=0)
    rows = s.table.set_index("headcount")
    assert s.headcount == 5 and rows.loc[4, "judged"] == "fails" and rows.loc[4, "runs"] < 11
    e = s.explanation.set_index(["mechanism", "headcount"])
    for name in ("leave", "attrition"):
        exp = s.explained[(name, 4)]
        assert exp.finished(exp.baseline) == 11
    assert e.loc[("leave", 4), "p_all_met"] == 1.0 and e.loc[("leave", 4), "one_fewer_would_do"]
    assert not e.loc[("attrition", 4), "one_fewer_would_do"]
    assert "Without leave alone, 4 would do." in s.verdict
