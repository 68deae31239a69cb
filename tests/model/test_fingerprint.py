"""The engine's results for a fixed seed, draw for draw: fingerprints of the lead table.

Changes that only make the engine faster must leave every lead's path as it was. Each case
runs a short scenario and compares a digest of its lead table (every column; times rounded to
a millionth of an hour, so that the digest does not hang on the last bit) with the one recorded
before the engine's event queue was reworked (issue 17). A change that means to change what
happens, not how fast, records new digests and says why.
"""

from __future__ import annotations

import hashlib
from typing import Any

import numpy as np
import pandas as pd
import pytest
import yaml
from conftest import ROOT

import simfunnel
from simfunnel.scenario import Scenario, scenario_from_dict


def fingerprint(leads: pd.DataFrame) -> str:
    """A digest of a lead table: every column, numbers rounded to 1e-6, in column order."""
    digest = hashlib.sha256()
    for name in leads.columns:
        column = leads[name]
        digest.update(name.encode())
        if pd.api.types.is_datetime64_any_dtype(column):
            hours = (column - pd.Timestamp("2000-01-01")) / pd.Timedelta(hours=1)
            values = np.round(hours.to_numpy(float), 6)
            digest.update(np.nan_to_num(values, nan=-1.0).tobytes())
        elif pd.api.types.is_numeric_dtype(column) and not pd.api.types.is_bool_dtype(column):
            values = np.round(column.to_numpy(float), 6)
            digest.update(np.nan_to_num(values, nan=-1.0, posinf=-2.0, neginf=-3.0).tobytes())
        else:
            digest.update("\x1f".join(map(str, column.tolist())).encode())
    return digest.hexdigest()[:16]


def full(start: str = "2026-01-05", weeks: int = 8, **changes: Any) -> Scenario:
    """benchmarks/reference_full.yaml (every mechanism on) over a few weeks, without its
    spring bursts and hiring plans."""
    data = yaml.safe_load((ROOT / "benchmarks" / "reference_full.yaml").read_text())
    data["start_date"] = start
    data["horizon"] = f"{weeks} weeks"
    for source in data["sources"]:
        source.pop("bursts", None)
    data["sdr"].pop("plan", None)
    data["outbound"]["bdr"].pop("plan", None)
    for path, value in changes.items():
        *parents, key = path.split("__")
        node = data
        for part in parents:
            node = node[part]
        node[key] = value
    return scenario_from_dict(data, "fingerprint")


def saas(**changes: Any) -> Scenario:
    """scenarios/inbound_saas.yaml over 13 weeks (new MQLs first)."""
    data = yaml.safe_load((ROOT / "scenarios" / "inbound_saas.yaml").read_text())
    data["horizon"] = "13 weeks"
    for source in data["sources"]:
        source.pop("bursts", None)
    data["sdr"].update(changes)
    return scenario_from_dict(data, "fingerprint")


def from_snapshot() -> simfunnel.SimulationResult:
    """Six weeks from the funnel another run left after eight: every state at the start."""
    before = simfunnel.simulate(full(), seed=1)
    scenario = full(start="2026-03-02", weeks=6)
    snapshot = simfunnel.read_snapshot(before.leads, scenario)
    return simfunnel.simulate(scenario, seed=2, snapshot=snapshot)


CASES = {
    "saas_new_first": lambda: simfunnel.simulate(saas(), seed=3),
    "saas_fifo": lambda: simfunnel.simulate(saas(queue_rule="fifo"), seed=3),
    "saas_score": lambda: simfunnel.simulate(saas(queue_rule="score"), seed=3),
    "full": lambda: simfunnel.simulate(full(), seed=4),
    "full_warm_up": lambda: simfunnel.simulate(
        full(start="2026-01-19", weeks=6, warm_up="2 weeks"), seed=5
    ),
    "full_per_touch": lambda: simfunnel.simulate(
        full(speed_to_lead__applies_to="every_touch"), seed=6
    ),
    "full_from_snapshot": from_snapshot,
}

# Recorded with the engine of before issue 17 (simpy timers for patience, replies, agreed
# cadences, re-MQLs and the AE stage; heaps for every queue).
RECORDED = {
    "full": "910639097815eb24",
    "full_from_snapshot": "967d9363ad0c3bec",
    "full_per_touch": "20108c27e1556acb",
    "full_warm_up": "dfabc4baf637072a",
    "saas_fifo": "713f934ac487e413",
    "saas_new_first": "e0e0316418607320",
    "saas_score": "8d6aea9882a3e71b",
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_the_lead_table_is_the_one_recorded_for_its_seed(case: str) -> None:
    assert fingerprint(CASES[case]().leads) == RECORDED[case]
