"""The what-if settings a leader moves, and how they become a scenario to run.

A :class:`Settings` holds the few levers the page offers (MQL threshold, toss-up requirement,
headcount per team, lead volume); :func:`today` reads them off a scenario, :func:`overrides`
turns a setting into the dotted-path overrides every decision tool uses, and :func:`short_run`
cuts a scenario to the short horizon the page runs on. Nothing here knows of a web page.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from typing import Any

from ..base.units import WEEK
from ..scenario import Scenario, scenario_from_dict, scenario_to_dict, with_overrides

__all__ = [
    "Limits",
    "Settings",
    "chosen_scenario",
    "describe",
    "limits",
    "overrides",
    "short_run",
    "today",
]

VOLUME_RANGE = (0.25, 3.0)  # the lead-volume multiplier the page offers
MAX_HEADCOUNT = 200  # the largest team the page offers (a scenario may hold more)


@dataclass(frozen=True)
class Settings:
    """One option: the levers of the page. ``bdr`` and ``ae`` are None where the scenario has
    no BDR team (no ``outbound`` section) or no AE team (unlimited AEs); ``volume`` multiplies
    every inbound source's ``rate_per_week``."""

    threshold: float
    require: int
    sdr: int
    bdr: int | None
    ae: int | None
    volume: float = 1.0


@dataclass(frozen=True)
class Limits:
    """What each control may range over for one scenario."""

    threshold: tuple[float, float]
    criteria: int  # how many toss-up criteria there are: ``require`` runs from 0 to it
    headcount: int  # the largest headcount offered for any team
    volume: tuple[float, float] = VOLUME_RANGE


def today(scenario: Scenario) -> Settings:
    """The scenario's own settings: the baseline every option is compared with."""
    return Settings(
        threshold=float(scenario.scoring.threshold),
        require=int(scenario.toss_up.require),
        sdr=int(scenario.sdr.headcount),
        bdr=None if scenario.outbound is None else int(scenario.outbound.bdr.headcount),
        ae=None if scenario.ae.team is None else int(scenario.ae.team.headcount),
    )


def limits(scenario: Scenario) -> Limits:
    """The ranges of the controls: the threshold on the sources' score scale, the requirement up
    to every criterion, headcounts up to three times the largest team (at least 20)."""
    low = min(s.score.min for s in scenario.sources)
    high = max(s.score.max for s in scenario.sources)
    base = today(scenario)
    teams = [n for n in (base.sdr, base.bdr, base.ae) if n is not None]
    return Limits(
        threshold=(float(low), float(high)),
        criteria=len(scenario.toss_up.criteria),
        headcount=min(MAX_HEADCOUNT, max(20, 3 * max(teams))),
    )


def overrides(scenario: Scenario, settings: Settings) -> dict[str, Any]:
    """The dotted-path overrides that turn ``scenario`` into ``settings``: only what differs,
    so today's settings give ``{}``."""
    base = today(scenario)
    out: dict[str, Any] = {}
    if settings.threshold != base.threshold:
        out["scoring.threshold"] = settings.threshold
    if settings.require != base.require:
        out["toss_up.require"] = settings.require
    if settings.sdr != base.sdr:
        out["sdr.headcount"] = settings.sdr
    if settings.bdr is not None and settings.bdr != base.bdr:
        out["outbound.bdr.headcount"] = settings.bdr
    if settings.ae is not None and settings.ae != base.ae:
        out["ae.team.headcount"] = settings.ae
    if settings.volume != 1.0:
        for i, source in enumerate(scenario.sources):
            out[f"sources[{i}].rate_per_week"] = source.rate_per_week * settings.volume
    return out


def chosen_scenario(scenario: Scenario, settings: Settings) -> Scenario:
    """The whole scenario with the settings applied (its own horizon): what the YAML download
    holds. A setting the scenario refuses raises ``ScenarioError`` naming the field."""
    return with_overrides(scenario, overrides(scenario, settings), source="settings")


def short_run(scenario: Scenario, weeks: int) -> Scenario:
    """The scenario cut to its first ``weeks`` weeks (if it is longer): bursts and dated
    headcount changes after the new end are dropped, as they would never happen in it."""
    if scenario.horizon <= weeks * WEEK:
        return scenario
    data = scenario_to_dict(scenario)
    data["horizon"] = f"{weeks} weeks"
    end = scenario.start + dt.timedelta(weeks=weeks)
    for source in data["sources"]:
        source["bursts"] = [b for b in source.get("bursts", []) if _when(b["start"]) < end]
    for team in _teams(data):
        team["plan"] = [c for c in team.get("plan", []) if _when(c["date"]) < end]
    return scenario_from_dict(data, f"{scenario.name} (first {weeks} weeks)")


def _when(value: Any) -> dt.datetime:
    """A burst's start or a plan's date as a datetime (a plain date is its midnight)."""
    if isinstance(value, dt.datetime):
        return value
    if isinstance(value, dt.date):
        return dt.datetime.combine(value, dt.time())
    return dt.datetime.fromisoformat(str(value))


def _teams(data: dict[str, Any]) -> list[dict[str, Any]]:
    """The staffed teams of a scenario's plain data: SDRs, and BDRs and AEs where they exist."""
    teams = [data["sdr"]]
    if data.get("outbound"):
        teams.append(data["outbound"]["bdr"])
    if data.get("ae", {}).get("team"):
        teams.append(data["ae"]["team"])
    return teams


def describe(scenario: Scenario, settings: Settings) -> str:
    """The setting in a few words, against today's: 'SDRs 10 (today 8), lead volume 120%'."""
    base = today(scenario)
    parts = []
    pairs: list[tuple[str, Any, Any]] = [
        ("MQL threshold", base.threshold, settings.threshold),
        ("toss-up criteria required", base.require, settings.require),
        ("SDRs", base.sdr, settings.sdr),
        ("BDRs", base.bdr, settings.bdr),
        ("AEs", base.ae, settings.ae),
    ]
    for name, before, after in pairs:
        if after is not None and after != before:
            parts.append(f"{name} {_plain(after)} (today {_plain(before)})")
    if not math.isclose(settings.volume, 1.0):
        parts.append(f"lead volume {settings.volume:.0%}")
    return ", ".join(parts) if parts else "today's settings"


def _plain(value: Any) -> str:
    """A setting's value: whole numbers without decimals."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)
