"""The levers: read off a scenario, turned into overrides, applied, and the short run."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest
from app_scenarios import ROOT, bundled

import simfunnel
from simfunnel.app.settings import (
    chosen_scenario,
    describe,
    limits,
    overrides,
    short_run,
    today,
)
from simfunnel.scenario import ScenarioError


@pytest.mark.parametrize("path", sorted((ROOT / "scenarios").glob("*.yaml")), ids=lambda p: p.stem)
def test_today_reads_the_scenario_and_overrides_nothing(path) -> None:
    scenario = simfunnel.load_scenario(path)
    base = today(scenario)
    assert base.sdr == scenario.sdr.headcount
    assert base.threshold == scenario.scoring.threshold
    assert (base.bdr is None) == (scenario.outbound is None)
    assert (base.ae is None) == (scenario.ae.team is None)
    assert overrides(scenario, base) == {}
    assert chosen_scenario(scenario, base) == scenario
    assert describe(scenario, base) == "today's settings"


def test_limits_cover_today_and_the_score_scale() -> None:
    scenario = bundled("mixed_inbound_outbound")
    lim = limits(scenario)
    base = today(scenario)
    assert lim.threshold[0] <= base.threshold <= lim.threshold[1]
    assert lim.criteria == len(scenario.toss_up.criteria) > 0
    assert lim.headcount >= max(base.sdr, base.bdr or 0, base.ae or 0)


def test_every_lever_becomes_its_override_and_applies() -> None:
    scenario = bundled("mixed_inbound_outbound")
    s = dataclasses.replace(
        today(scenario), threshold=55.0, require=2, sdr=9, bdr=3, ae=10, volume=1.5
    )
    ov = overrides(scenario, s)
    assert ov["scoring.threshold"] == 55.0
    assert ov["toss_up.require"] == 2
    assert ov["sdr.headcount"] == 9
    assert ov["outbound.bdr.headcount"] == 3
    assert ov["ae.team.headcount"] == 10
    chosen = chosen_scenario(scenario, s)
    assert chosen.sdr.headcount == 9 and chosen.ae.team is not None
    assert chosen.ae.team.headcount == 10 and chosen.toss_up.require == 2
    for before, after in zip(scenario.sources, chosen.sources, strict=True):
        assert after.rate_per_week == pytest.approx(1.5 * before.rate_per_week)
    assert describe(scenario, s).startswith("MQL threshold 55 (today 60), ")
    assert "lead volume 150%" in describe(scenario, s)


def test_a_setting_the_scenario_refuses_names_the_field() -> None:
    scenario = bundled("launch_team")
    with pytest.raises(ScenarioError) as caught:
        chosen_scenario(scenario, dataclasses.replace(today(scenario), sdr=0))
    assert any("sdr.headcount" in line for line in caught.value.problems)


def test_short_run_keeps_only_what_happens_in_its_weeks() -> None:
    scenario = bundled("mixed_inbound_outbound")  # a burst in April, hires in Feb, Mar, Apr
    short = short_run(scenario, 9)  # 2026-01-05 to 2026-03-09
    end = dt.datetime(2026, 3, 9)
    assert short.weeks == 9
    assert all(b.start < end for src in short.sources for b in src.bursts)
    assert [c.date for c in short.sdr.plan] == [dt.date(2026, 3, 2)]
    assert short.outbound is not None
    assert [c.date for c in short.outbound.bdr.plan] == [dt.date(2026, 2, 2)]
    # Everything else is the scenario's own.
    assert short.sdr.headcount == scenario.sdr.headcount
    assert short.sources[0].rate_per_week == scenario.sources[0].rate_per_week
    assert short_run(scenario, 60) is scenario  # longer than the scenario: unchanged
