"""Synthetic CRM exports: each style's columns, and the tables agree with the run's totals."""

from __future__ import annotations

import pandas as pd
import pytest

import simfunnel
from simfunnel.data import CALL_OUTCOMES, STYLES
from simfunnel.results import call_log, write_exports
from simfunnel.scenario import scenario_from_dict

SMALL = {
    "name": "export check",
    "start_date": "2026-01-05",
    "horizon": "8 weeks",
    "sources": [{"name": "web", "rate_per_week": 60, "score": {"mean": 55, "sd": 15}}],
    "scoring": {"threshold": 50},
    "sdr": {"headcount": 2},
    "cadence": {"connect_probability": 0.4, "contact_probability": 0.5},
    "outcomes": {
        "probabilities": {
            "qualified": 0.4,
            "information_gathering": 0.2,
            "postponed": 0.1,
            "no_prospect": 0.25,
            "do_not_call": 0.05,
        }
    },
    "ae": {
        "acceptance": {"probability": 0.8},
        "sales_cycle": {"dist": "lognormal", "median": "20 days", "p90": "40 days"},
        "win": {"probability": 0.3},
        "deal_value": 5000,
    },
}


@pytest.fixture(scope="module")
def result() -> simfunnel.SimulationResult:
    return simfunnel.simulate(scenario_from_dict(SMALL), seed=3, trace=True)


@pytest.mark.parametrize("style", sorted(STYLES))
def test_each_style_writes_its_columns_and_counts(result, tmp_path, style) -> None:
    paths = write_exports(result, tmp_path, style=style)
    assert set(paths) == {"leads", "calls", "opportunities", "info"}
    leads = pd.read_csv(paths["leads"], dtype=str, keep_default_na=False)
    calls = pd.read_csv(paths["calls"], dtype=str, keep_default_na=False)
    opps = pd.read_csv(paths["opportunities"], dtype=str, keep_default_na=False)
    cols = STYLES[style]
    assert list(leads.columns) == list(cols["leads"].values())
    assert list(calls.columns) == list(cols["calls"].values())
    assert list(opps.columns) == list(cols["opportunities"].values())
    t = result.totals
    c = cols["leads"]
    assert len(leads) == t["leads"]
    assert (leads[c["mql_date"]] != "").sum() == t["mqls"]
    assert (leads[c["sql_date"]] != "").sum() == t["sqls"]
    assert (leads[c["opportunity_date"]] != "").sum() == t["valid_opportunities"]
    assert (leads[c["won_date"]] != "").sum() == t["won"]
    assert (leads[c["lost_date"]] != "").sum() == t["lost"]
    outcome = calls[cols["calls"]["outcome"]].map({v: k for k, v in CALL_OUTCOMES[style].items()})
    assert len(calls) == t["dials"]
    assert outcome.isin(["connect", "contact"]).sum() == t["connects"]
    assert (outcome == "contact").sum() == t["contacts"]
    assert len(opps) == t["valid_opportunities"]
    assert (opps[cols["opportunities"]["close_date"]] != "").sum() == t["won"] + t["lost"]
    assert "as_of: 2026-03-02 00:00" in paths["info"].read_text()


def test_dates_per_style(result, tmp_path) -> None:
    """HubSpot-style files write ISO dates; Salesforce-style month-first, as a US org does."""
    h = pd.read_csv(write_exports(result, tmp_path / "h")["leads"], dtype=str)
    s = pd.read_csv(write_exports(result, tmp_path / "s", style="salesforce")["leads"], dtype=str)
    assert h["Create Date"].iloc[0].startswith("2026-01-0")
    assert s["Created Date"].iloc[0].startswith("01/0")


def test_call_log_needs_a_trace_and_styles_are_checked(result) -> None:
    untraced = simfunnel.simulate(result.scenario, seed=3)
    with pytest.raises(ValueError, match="trace=True"):
        call_log(untraced)
    with pytest.raises(ValueError, match="unknown export style 'pipedrive'"):
        call_log(result, style="pipedrive")


def test_call_durations_follow_the_scenario(result) -> None:
    """Fixed default durations: 90 s without connect, 180 s at reception, 600 s in talk."""
    calls = call_log(result)
    by = calls.groupby("Call Outcome")["Call Duration (seconds)"].unique()
    assert {k: list(v) for k, v in by.items()} == {
        "Connected": [600],
        "No answer": [90],
        "Reached gatekeeper": [180],
    }
