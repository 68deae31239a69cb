"""Where a run starts: a discarded warm-up, so the reported period does not start empty."""

from __future__ import annotations

import pandas as pd
import pytest
from conftest import ROOT, build, load_yaml

import simfunnel

MIXED = ROOT / "scenarios" / "mixed_inbound_outbound.yaml"


@pytest.fixture(scope="module")
def long_and_warm() -> tuple[simfunnel.SimulationResult, simfunnel.SimulationResult]:
    """The same 16 weeks twice: once reported whole, once as 4 weeks of warm-up and 12 reported."""
    data = load_yaml(MIXED)
    long = build(data, start_date="2026-01-05", horizon="16 weeks")
    warm = build(data, start_date="2026-02-02", horizon="12 weeks", warm_up="4 weeks")
    assert warm.extended().model_dump() == long.model_dump()
    return simfunnel.simulate(long, seed=5), simfunnel.simulate(warm, seed=5)


def test_a_warm_up_reports_exactly_the_weeks_after_it(long_and_warm) -> None:
    long, warm = long_and_warm
    expected = long.weekly.iloc[4:].reset_index(drop=True)
    expected["week"] -= 4
    assert len(warm.weekly) == 12
    assert warm.weekly["week_start"].iloc[0] == warm.scenario.start_date
    pd.testing.assert_frame_equal(warm.weekly, expected)


def test_totals_count_only_the_reported_period(long_and_warm) -> None:
    long, warm = long_and_warm
    t, after = warm.totals, long.weekly.iloc[4:]
    for key in ("leads", "mqls", "dials", "emails", "sqls", "valid_opportunities", "won"):
        assert t[key] == after[key].sum(), key
    assert t["accounts"] == after["accounts_added"].sum()
    before = long.weekly.iloc[:4]
    assert t["carried_in"] == before["leads"].sum() + before["accounts_added"].sum()
    # Per-rep counters keep only the reported period too.
    reps = warm.reps
    assert (
        reps.loc[reps["role"] == "sdr", "dials"].sum()
        == after["dials"].sum() - after["bdr_dials"].sum()
    )
    assert reps.loc[reps["role"] == "bdr", "dials"].sum() == after["bdr_dials"].sum()
    assert reps.loc[reps["role"] == "ae", "deals_won"].sum() == t["won"]
    assert warm.utilisations["sdr"] == pytest.approx(
        after["busy_hours"].sum() / after["available_hours"].sum()
    )


def test_every_lead_is_still_there_with_the_same_path(long_and_warm) -> None:
    """Leads from the warm-up are carried in, not dropped: the lead table is the long run's,
    timestamps and all, with those leads marked."""
    long, warm = long_and_warm
    start = pd.Timestamp(warm.scenario.start_date)
    carried = warm.leads["carried_in"]
    assert carried.equals(warm.leads["arrived"] < start)

    def comparable(leads: pd.DataFrame) -> pd.DataFrame:
        # Times are hours from another origin: equal up to float rounding, far below a second.
        out = leads.drop(columns="carried_in")
        for column in out.select_dtypes("datetime").columns:
            out[column] = out[column].dt.round("ms")
        return out

    pd.testing.assert_frame_equal(comparable(warm.leads), comparable(long.leads), rtol=1e-9)
    assert sum(warm.end_states.values()) == len(warm.leads)


def test_warm_up_must_be_whole_weeks() -> None:
    with pytest.raises(simfunnel.ScenarioError, match="warm_up: must be whole weeks"):
        build(warm_up="10 days")
