"""Bottleneck diagnosis on scenarios whose answer is known by construction."""

from __future__ import annotations

import math

import pytest
from conftest import build, outcome_only

import simfunnel
from simfunnel.decisions import diagnose
from simfunnel.decisions.reports import stage_kpis

Z = 4.0


@pytest.fixture(scope="module")
def sdr_burst() -> simfunnel.SimulationResult:
    """One SDR, no shrinkage, 45 on-phone hours a week (Mon-Fri 09-18). Every attempt connects,
    reaches the person (10 min + 5 min after-call work) and qualifies: 0.25 h per MQL, one
    attempt each. 560 MQLs arrive at once on Monday of week 3: 140 h of work, so weeks 3, 4
    and 5 are full (45 h each) and week 6 has 5 h (11%); weeks 0-2 have nothing."""
    scenario = build(
        sources=[
            {
                "name": "show",
                "rate_per_week": 0,
                "bursts": [{"start": "2026-01-26 09:00", "leads": 560, "over": "0 h"}],
                "score": {"mean": 80, "sd": 0},
            }
        ],
    )
    return simfunnel.simulate(scenario, seed=1)


def test_sdr_capacity_binds_in_the_weeks_it_is_full(sdr_burst: simfunnel.SimulationResult) -> None:
    d = diagnose(sdr_burst, levers=0)
    print(d.verdict)
    print(sdr_burst.weekly[["week", "mqls", "utilisation", "backlog_end"]].to_string())
    full = set(sdr_burst.weekly.loc[sdr_burst.weekly["utilisation"] >= 0.9, "week"])
    assert full == {3, 4, 5}  # the arithmetic in the fixture
    sdr = d.capacity.set_index("role").loc["sdr"]
    assert set(sdr["binding_weeks"]) == full
    assert sdr["first_week"] == 3
    assert d.binding == "sdr"
    assert "SDR capacity binds from week 3 (2026-01-26), in 3 of 8 weeks" in d.verdict
    assert not d.capacity.set_index("role").loc["ae", "binds"]  # unlimited AEs never bind


def test_sdr_backlog_growth_under_a_steady_overload() -> None:
    """400 MQLs a week of 0.25 h on one 45-hour rep: 100 h of work a week, so the untouched
    backlog grows by about 220 a week, past a week's intake from the second week on. The rep
    gets through exactly 36 leads a day, 720 in the 20 working days."""
    scenario = build(
        horizon="4 weeks",
        sources=[{"name": "web", "rate_per_week": 400, "score": {"mean": 80, "sd": 0}}],
    )
    result = simfunnel.simulate(scenario, seed=2)
    d = diagnose(result, levers=0)
    print(d.verdict)
    print(result.weekly[["week", "mqls", "utilisation", "backlog_end"]].to_string())
    assert d.binding == "sdr"
    assert d.weeks["sdr_binds"].all()
    assert d.weeks["sdr_backlog_grows"].iloc[1:].all()
    assert "the untouched MQL backlog grows" in d.verdict
    # The stage table sees it too: only the 720 the rep reached were attempted.
    attempted = d.table.set_index("key").loc["mql_attempted"]
    assert attempted["numerator"] == 720
    assert attempted["denominator"] == result.totals["mqls"]


@pytest.fixture(scope="module")
def low_contact() -> simfunnel.SimulationResult:
    """Ample SDRs (10 for 200 MQLs a week), connect 0.8, contact 0.05 per connect, 6 calls, every
    contact qualifies: MQL -> reached about 1 - (1 - 0.04)^6 = 22%, far below 40-60%."""
    scenario = build(
        sources=[{"name": "web", "rate_per_week": 200, "score": {"mean": 80, "sd": 0}}],
        sdr__headcount=10,
        cadence__connect_probability=0.8,
        cadence__contact_probability=0.05,
    )
    return simfunnel.simulate(scenario, seed=3)


def test_low_contact_rate_flags_the_contact_stage(low_contact: simfunnel.SimulationResult) -> None:
    d = diagnose(low_contact, levers=0)
    print(d)
    table = d.table.set_index("key")
    assert d.bottleneck == "mql_to_sal"
    assert table.loc["mql_to_sal", "status"] == "below"
    assert table.loc["sdr_connect_rate", "status"] == "within"
    # The table's rates are the engine's binomial ones, within Z standard errors.
    contact = table.loc["sdr_contact_rate"]
    se = math.sqrt(0.05 * 0.95 / contact["denominator"])
    assert abs(contact["rate"] - 0.05) <= Z * se
    assert "MQL -> reached" in d.verdict and "fix the opening talk" in d.verdict
    assert table.loc["sdr_contact_rate", "advice"] == "fix the opening talk"
    assert d.binding is None and "By utilisation no team is at capacity" in d.verdict


def test_ranges_override_the_defaults(low_contact: simfunnel.SimulationResult) -> None:
    d = diagnose(low_contact, ranges={"mql_to_sal": None, "sdr_contact_rate": (0.2, 0.4)}, levers=0)
    table = d.table.set_index("key")
    assert table.loc["mql_to_sal", "status"] == "no range"
    # No serial stage is below its range now: the contact rate, a detail row, is flagged.
    assert d.bottleneck == "sdr_contact_rate"
    assert table.loc["sdr_contact_rate", "uplift"] == pytest.approx(
        0.2 / table.loc["sdr_contact_rate", "rate"]
    )
    with pytest.raises(ValueError, match="unknown stage"):
        diagnose(low_contact, ranges={"mql_to_sql": (0.1, 0.2)})


def test_a_tiny_ae_team_binds() -> None:
    """One AE carrying at most 2 opportunities, each held 2 days + a 30-day cycle, can take
    about 2 / 32 a day (0.44 a week) against about 20 SQLs a week: occupancy at 100% and leads
    waiting from the first week on. Two SDRs have 25x the hours the 20 MQLs need."""
    scenario = build(
        horizon="6 weeks",
        sources=[{"name": "web", "rate_per_week": 20, "score": {"mean": 80, "sd": 0}}],
        sdr__headcount=2,
        outcomes__probabilities=outcome_only("qualified"),
        ae__team={"headcount": 1, "max_open_per_ae": 2},
    )
    result = simfunnel.simulate(scenario, seed=4)
    d = diagnose(result, levers=0)
    print(d.verdict)
    print(result.weekly[["week", "sqls", "ae_occupancy", "ae_queue_mean"]].to_string())
    assert d.binding == "ae"
    ae = d.capacity.set_index("role").loc["ae"]
    assert set(range(1, 6)) <= set(ae["binding_weeks"])
    assert not d.capacity.set_index("role").loc["sdr", "binds"]
    assert "AE capacity binds from week" in d.verdict
    assert "tossed-up leads wait for an AE" in d.verdict


def test_inbound_saas_diagnosis_runs_and_reads(saas_dict: dict) -> None:
    """The bundled scenario, 12 weeks without its spring trade show: 8 SDRs keep up (about
    two-thirds busy). Its connect probability is 0.45, near the 50% that the Konica Minolta case
    reads as a list to check: the SDR connect rate (binomial, within Z standard errors of 0.45)
    is below its 60% range and the verdict says to check the list quality; it is the bottleneck
    when no serial stage is below its range."""
    scenario = build(saas_dict, horizon="12 weeks", sources__2__bursts=[])
    d = diagnose(simfunnel.simulate(scenario, seed=1), levers=0)
    print(d)
    table = d.table.set_index("key")
    connect = table.loc["sdr_connect_rate"]
    se = math.sqrt(0.45 * 0.55 / connect["denominator"])
    assert abs(connect["rate"] - 0.45) <= Z * se
    assert connect["status"] == "below" and connect["advice"] == "check the list quality"
    assert "SDR connect rate 45%, below 60%-100% (check the list quality)" in d.verdict
    assert d.table["bottleneck"].sum() == 1
    stages = d.table[(d.table["kind"] == "stage") & (d.table["status"] == "below")]
    expected = "sdr_connect_rate" if stages.empty else stages.loc[stages["uplift"].idxmax(), "key"]
    assert d.bottleneck == expected
    assert set(d.capacity["role"]) == {"sdr", "ae"}
    assert d.phase == "mature"


def test_uplift_is_shown_only_where_a_stage_is_below_its_range() -> None:
    """A stage within or above its range needs no lift: its uplift is 1 and the table leaves
    it blank (a factor below 1 read as a cut)."""
    diagnosis = simfunnel.diagnose(simfunnel.simulate(build(), seed=1), levers=0)
    t = diagnosis.table
    assert (t.loc[t["status"].isin(["within", "above"]), "uplift"] == 1.0).all()
    shown = stage_kpis(diagnosis).set_index("stage")
    for _, r in t.iterrows():
        cell = shown.loc[r["stage"], "uplift to the range"]
        assert (cell != "") == (r["status"] == "below"), (r["stage"], cell)


def test_won_counts_the_open_deals_at_their_win_probability() -> None:
    """On a horizon shorter than the sales cycle most valid opportunities are still open: the
    diagnosis counts them at their win probability, so valid -> won reads the scenario's win
    probability (quality has no effect here) within binomial noise, not the share of the few
    deals that closed in time."""
    p = 0.3
    scenario = build(
        horizon="8 weeks",
        calendar="24/7",
        sources=[{"name": "web", "rate_per_week": 400, "score": {"mean": 80, "sd": 0}}],
        sdr__headcount=6,
        ae__win={"probability": p, "quality_effect": 0},
        ae__sales_cycle={"dist": "lognormal", "median": "60 days", "p90": "120 days"},
    )
    result = simfunnel.simulate(scenario, seed=2)
    t = result.totals
    deals = t["won"] + t["lost"] + t["open_opportunities"]
    assert t["open_opportunities"] > t["won"] + t["lost"]  # the case: most still open
    row = diagnose(result, levers=0).table.set_index("key").loc["valid_to_won"]
    assert row["rate"] == pytest.approx((t["won"] + t["open_wins_expected"]) / deals)
    assert abs(row["rate"] - p) <= 4 * math.sqrt(p * (1 - p) / deals)
