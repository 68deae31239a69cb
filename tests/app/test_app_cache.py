"""The page's cache: a setting already run is not run again, and the key is the scenario, the
settings, the plan and the replication."""

from __future__ import annotations

import dataclasses
import logging

import pandas as pd
import pytest
from app_scenarios import SMALL_PLAN, bundled

pytest.importorskip("streamlit", reason="streamlit is not installed (pip install streamlit)")

from simfunnel.app import cache
from simfunnel.app.runs import replication, scenario_key
from simfunnel.app.settings import today


@pytest.fixture
def counted(monkeypatch):
    """The cache, empty, around a replication function that counts its calls."""
    logging.getLogger("streamlit").setLevel(logging.ERROR)  # no "no runtime" warnings
    calls: list[tuple[int, int]] = []

    def run(scenario, settings, plan, index):
        calls.append((settings.sdr, index))
        return replication(scenario, settings, plan, index)

    monkeypatch.setattr(cache, "replication", run)
    cache.cached_replication.clear()
    yield calls
    cache.cached_replication.clear()


def test_a_setting_already_run_comes_from_the_cache(counted) -> None:
    scenario = bundled("launch_team")
    key, base = scenario_key(scenario), today(scenario)
    first = cache.cached_replication(key, base, SMALL_PLAN, 0, _scenario=scenario)
    again = cache.cached_replication(key, base, SMALL_PLAN, 0, _scenario=scenario)
    assert counted == [(base.sdr, 0)]
    assert pd.Series(again.kpis).equals(pd.Series(first.kpis))  # NaN equals NaN here
    assert again.weekly.equals(first.weekly)
    other = dataclasses.replace(base, sdr=base.sdr + 1)
    cache.cached_replication(key, other, SMALL_PLAN, 0, _scenario=scenario)
    cache.cached_replication(key, base, SMALL_PLAN, 1, _scenario=scenario)
    cache.cached_replication(
        key, base, dataclasses.replace(SMALL_PLAN, seed=6), 0, _scenario=scenario
    )
    assert len(counted) == 4  # another setting, replication or plan is another run
    cache.cached_replication(key, other, SMALL_PLAN, 0, _scenario=scenario)
    assert len(counted) == 4
