"""`diagnose`: the binding constraint is the lever that buys most, measured on common random
numbers; a launch-phase team is judged on activity; connect near 50% means check the list, a
low contact rate means fix the opening talk."""

from __future__ import annotations

import re

import pytest
from conftest import build

import simfunnel
from simfunnel.decisions import diagnose, launch_phase

MQL = {"score": {"mean": 80, "sd": 0}}


@pytest.fixture(scope="module")
def overloaded():
    """One SDR, 400 MQLs a week, each one 15-minute attempt that qualifies (TINY): the rep gets
    through exactly 36 a day (9 h / 0.25 h), and the backlog is never empty after the first
    hours, so a second rep doubles what is reached. The queue rule only reorders the leads;
    every one qualifies and is accepted alike."""
    scenario = build(horizon="4 weeks", sources=[{"name": "web", "rate_per_week": 400, **MQL}])
    return diagnose(simfunnel.simulate(scenario, seed=2), levers=4, workers=1)


def _gains(verdict: str) -> dict[str, float]:
    """'one more SDR +701 valid opportunities (...)' -> {'one more SDR': 701.0}."""
    found = re.findall(r"((?:one more \w+|queue rule \w+)) ([+-][\d,]+) valid", verdict)
    return {what: float(x.replace(",", "")) for what, x in found}


def test_the_binding_constraint_is_what_the_rule_picks_from_the_lever_table(overloaded) -> None:
    d, levers = overloaded, overloaded.levers
    print(d)
    assert set(levers["lever"]) == {"sdr", "queue_rule:fifo", "queue_rule:score"}
    # The printed gains are the table's.
    gains = _gains(d.verdict)
    assert gains == {r["what"]: round(r["valid_gain"]) for _, r in levers.iterrows()}
    # The rule: among levers whose interval is above 0, the largest gain.
    significant = levers[levers["valid_low"] > 0]
    assert list(significant["lever"]) == list(levers.loc[levers["significant"], "lever"])
    best = significant.loc[significant["valid_gain"].idxmax(), "lever"]
    assert d.constraint == best == "sdr"
    assert levers.loc[levers["binding"], "lever"].tolist() == [best]
    assert "The binding constraint: SDR capacity (one more SDR buys most)." in d.verdict
    # Theory: a second rep doubles what the team reaches, all but the first hours' idle time.
    sdr = levers.set_index("lever").loc["sdr"]
    assert 0.9 <= sdr["valid_gain_share"] <= 1.0
    # The lever is one more than today's team, run on the same seeds.
    assert d.experiment.scenarios["sdr"].sdr.headcount == 2
    assert d.experiment.scenarios["now"].sdr.headcount == 1
    # The utilisation table is kept beside it.
    assert d.binding == "sdr" and "By utilisation, SDR capacity binds from week 0" in d.verdict


def test_activity_per_rep_day_is_today_s_team_s(overloaded) -> None:
    a = overloaded.activity.set_index("role").loc["sdr"]
    assert a["rep_days"] == 1 * 20  # one SDR, 20 working days
    assert a["dials_per_rep_day"] == 36  # 9 hours of 15-minute attempts


def test_no_lever_buys_anything_when_nothing_waits() -> None:
    """Ten SDRs for 200 MQLs a week, every attempt reached and qualified, no speed-to-lead
    decay: every variant reaches the same leads with the same outcomes, so every gain is 0."""
    scenario = build(sources=[{"name": "web", "rate_per_week": 200, **MQL}], sdr__headcount=10)
    d = diagnose(simfunnel.simulate(scenario, seed=3), levers=3, workers=1)
    print(d.verdict)
    assert (d.levers["valid_gain"] == 0).all() and not d.levers["significant"].any()
    assert d.constraint is None
    assert "No lever buys a significant gain (no interval above 0)" in d.verdict


def _launch(**changes):
    settings = {
        "horizon": "4 weeks",
        "sources": [{"name": "web", "rate_per_week": 150, **MQL}],
        "sdr__headcount": 2,
        "sdr__ramp": [0.5, 0.75],
        "sdr__starting_tenure_months": 0,
        "cadence__connect_probability": 0.5,
        "cadence__contact_probability": 0.5,
    }
    return build(**(settings | changes))


def test_a_launch_team_is_judged_on_activity() -> None:
    """Two SDRs launched on the start date (tenure 0, inside their ramp): the launch phase.
    Connect 0.5 per dial is the case's "near 50%": the first lever is the list."""
    scenario = _launch()
    launch, why = launch_phase(scenario)
    assert launch and why == "2 of 2 SDRs start inside their 3-month ramp or learning curve"
    result = simfunnel.simulate(scenario, seed=1)
    d = diagnose(result, levers=0)
    print(d)
    assert d.phase == "launch" and d.verdict.startswith(f"Launch phase ({why}): judged on activity")
    a = d.activity.set_index("role").loc["sdr"]
    rep_days = result.staffing["sdr_mean_headcount"] * 20
    assert a["rep_days"] == pytest.approx(rep_days)
    for kpi in ("dials", "connects", "contacts"):
        per = result.teams[f"sdr_{kpi}"] / rep_days
        assert a[f"{kpi}_per_rep_day"] == pytest.approx(per)
        assert f"{per:.1f} {kpi}" in d.verdict
    assert d.bottleneck == "sdr_connect_rate"
    assert "First lever: check the list quality." in d.verdict
    # Stated outright, the same run is judged on results.
    mature = diagnose(result, levers=0, phase="mature")
    assert mature.phase == "mature" and not mature.verdict.startswith("Launch phase")
    assert not launch_phase(_launch(sdr__starting_tenure_months=6))[0]
    assert not launch_phase(build())[0]  # no tenure given: a ramped team


def test_a_dials_goal_far_out_of_reach_is_the_first_launch_lever() -> None:
    """A goal of 500 dials a day against at most 9 h / (1 + 5) min = 90 (a reached attempt takes
    longer): attainment under 20%, an uplift of over 5x, more than any rate's."""
    d = diagnose(simfunnel.simulate(_launch(sdr__goals={"dials_per_day": 500}), seed=1), levers=0)
    a = d.activity.set_index("role").loc["sdr"]
    assert a["dials_goal"] == 500 and a["goal_attainment"] == pytest.approx(
        a["dials_per_rep_day"] / 500
    )
    assert a["goal_attainment"] < 0.2
    assert d.bottleneck == "sdr_dials_goal"
    assert "against a goal of 500 dials" in d.verdict
    assert "First lever: more dials (SDRs are below their goal)." in d.verdict


def test_bad_phase_is_named() -> None:
    result = simfunnel.simulate(build(), seed=1)
    with pytest.raises(ValueError, match="phase must be one of auto, launch, mature"):
        diagnose(result, phase="startup", levers=0)
