"""Small scenarios and a short plan for the app's tests: each replication takes a fraction of a
second. Import as ``from app_scenarios import ...`` (pytest puts this folder on sys.path)."""

from __future__ import annotations

from pathlib import Path

import simfunnel
from simfunnel.app.runs import Plan
from simfunnel.scenario import Scenario

ROOT = Path(__file__).resolve().parents[2]
SMALL_PLAN = Plan(weeks=6, reps=3, seed=5)


def bundled(name: str) -> Scenario:
    """A bundled example scenario: launch_team (two SDRs, no BDRs, unlimited AEs, bursts after
    week 6) or mixed_inbound_outbound (SDRs, BDRs and an AE team, each with dated hires)."""
    return simfunnel.load_scenario(ROOT / "scenarios" / f"{name}.yaml")
