"""Synthetic CRM exports written from a simulation run, in HubSpot- or Salesforce-like shapes.

The project's examples and tests must not depend on outside data, and a calibration is only
trusted once it recovers known parameters: so a run can write the three files a team would pull
from its CRM and dialer (a lead lifecycle table, a call activity log, an opportunities table),
and :mod:`simfunnel.calibration.fitting` reads them back. Column names per style are in ``STYLES`` and
in docs/calibration.md; the reader's defaults are the same tables, so the two cannot drift.

What comes from where:

- the lead table from ``result.leads`` (an MQL date is the arrival of a lead at or above the
  threshold, or its first re-MQL from the event log);
- the call log from the event log, so the run must be traced (``simulate(..., trace=True)``):
  one row per call attempt with the rep and how far it got. The engine does not keep each
  call's duration, so the exported duration is a fresh draw from the scenario's own duration
  distribution for that outcome (``cadence.durations``; after-call work is not talk time and is
  left out), from a generator seeded by ``seed``: the same distribution, not the same draws;
- the opportunities table from the valid opportunities, the owner being the AE who accepted it.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..base.files import write_csv, write_text
from ..data import CALL_OUTCOMES, DATE_FORMATS, STYLES
from ..data.formats import STAGES, WON_FLAG  # not among the names simfunnel.data exports
from .result import SimulationResult

__all__ = ["write_exports"]

_ENGINE_OUTCOME = {"no_connect": "no_answer", "connect": "connect", "contact": "contact"}


def _check_style(style: str) -> None:
    if style not in STYLES:
        raise ValueError(f"unknown export style {style!r}; use one of {', '.join(STYLES)}")


def _text(stamps: pd.Series, fmt: str) -> pd.Series:
    """Timestamps as text in the style's format; empty where the milestone was not reached.

    Truncated to the minute, as CRMs show them: truncation keeps the order of stage dates.
    """
    out = pd.Series("", index=stamps.index, dtype=object)
    ok = stamps.notna()
    out[ok] = stamps[ok].dt.strftime(fmt)
    return out


def _stamp(result: SimulationResult, hours: np.ndarray) -> pd.Series:
    start = pd.Timestamp(result.scenario.start)
    return pd.Series(start + pd.to_timedelta(hours, unit="h"))


def _mql_dates(result: SimulationResult) -> pd.Series:
    """When each lead became an MQL: on arrival at or above the threshold, else its first
    re-MQL in the event log (runs without a trace know only the first kind)."""
    leads = result.leads
    mql = leads["arrived"].where(leads["mql"].astype(bool))
    if result.data.trace is not None:
        events = result.events
        re_mql = events[events["event"] == "re_mql"].groupby("lead")["time_h"].min()
        if len(re_mql):
            later = _stamp(result, re_mql.to_numpy())
            later.index = re_mql.index.astype(int)
            mql = mql.fillna(later.reindex(mql.index))
    return mql


def lead_table(
    result: SimulationResult, style: str = "hubspot", date_format: str | None = None
) -> pd.DataFrame:
    """The lead lifecycle table of a run, with the style's column names (one row per lead)."""
    _check_style(style)
    fmt = date_format or DATE_FORMATS[style]
    cols = STYLES[style]["leads"]
    leads = result.leads
    state = leads["end_state"].astype(str)
    closed = leads["closed"]
    canonical = {
        "lead_id": leads["lead_id"].astype(int),
        "created": _text(leads["arrived"], fmt),
        "source": leads["source"].astype(str),
        "score": leads["score"].round(1),
        "mql_date": _text(_mql_dates(result), fmt),
        "sql_date": _text(leads["tossed_up"], fmt),
        "opportunity_date": _text(leads["valid_opportunity"], fmt),
        "won_date": _text(closed.where(state == "won"), fmt),
        "lost_date": _text(closed.where(state == "lost"), fmt),
        "amount": leads["value"].round(2),
        "status": state,
    }
    return pd.DataFrame({cols[k]: v for k, v in canonical.items()})


def call_log(
    result: SimulationResult, style: str = "hubspot", seed: int = 0, date_format: str | None = None
) -> pd.DataFrame:
    """The dialer's call log of a traced run: one row per call attempt (emails are not calls)."""
    _check_style(style)
    if result.data.trace is None:
        raise ValueError(
            "the call log needs the event log: run simfunnel.simulate(scenario, seed, trace=True)"
        )
    fmt = date_format or DATE_FORMATS[style]
    events = result.events
    calls = events[events["event"] == "attempt"].reset_index(drop=True)
    outcome = calls["detail"].map(_ENGINE_OUTCOME)
    # Seconds of talk, drawn from the scenario's distributions (see the module docstring).
    rng = np.random.default_rng(seed)
    seconds = np.zeros(len(calls))
    leads = result.leads
    outbound = result.scenario.outbound
    is_outbound = np.zeros(len(calls), dtype=bool)
    if outbound is not None:
        names = leads["source"].astype(str).to_numpy()
        is_outbound = names[calls["lead"].to_numpy(int)] == outbound.accounts.name
    for team_outbound in (False, True):
        cadence = outbound.cadence if team_outbound and outbound else result.scenario.cadence
        durations = cadence.durations
        for name, dist in (
            ("no_answer", durations.no_connect),
            ("connect", durations.connect),
            ("contact", durations.conversation),
        ):
            mask = (outcome == name).to_numpy() & (is_outbound == team_outbound)
            if mask.any():
                seconds[mask] = dist.sample(rng, int(mask.sum())) * 3600.0
    team = np.where(is_outbound, "BDR", "SDR")
    cols = STYLES[style]["calls"]
    canonical = {
        "lead_id": calls["lead"].astype(int),
        "timestamp": _text(_stamp(result, calls["time_h"].to_numpy()), fmt),
        "outcome": outcome.map(CALL_OUTCOMES[style]),
        "duration_s": np.round(seconds).astype(int),
        "rep": [f"{t} {int(r) + 1}" for t, r in zip(team, calls["rep"], strict=True)],
    }
    return pd.DataFrame({cols[k]: v for k, v in canonical.items()})


def opportunity_table(
    result: SimulationResult, style: str = "hubspot", date_format: str | None = None
) -> pd.DataFrame:
    """One row per valid opportunity: created (accepted), close date, stage, amount, won, owner.

    The owner is the AE spell that accepted it (from the event log; 'unassigned' without one).
    """
    _check_style(style)
    fmt = date_format or DATE_FORMATS[style]
    leads = result.leads
    opps = leads[leads["valid_opportunity"].notna()].reset_index(drop=True)
    state = opps["end_state"].astype(str)
    owner = pd.Series("unassigned", index=opps.index, dtype=object)
    if result.data.trace is not None:
        events = result.events
        accepted = events[events["event"] == "accepted"].drop_duplicates("lead", keep="last")
        by_lead = accepted.set_index(accepted["lead"].astype(int))["rep"]
        rep = opps["lead_id"].map(by_lead)
        owner = rep.map(lambda r: "unassigned" if pd.isna(r) else f"AE {int(r) + 1}")
    stages = STAGES[style]
    yes, no = WON_FLAG[style]
    closed = opps["closed"].where(state.isin(["won", "lost"]))
    cols = STYLES[style]["opportunities"]
    canonical = {
        "opportunity_id": [f"OPP-{i:06d}" for i in opps["lead_id"]],
        "lead_id": opps["lead_id"].astype(int),
        "created": _text(opps["valid_opportunity"], fmt),
        "close_date": _text(closed, fmt),
        "stage": state.map(lambda s: stages.get(s, stages["open"])),
        "amount": opps["value"].round(2),
        "won": state.map(lambda s: yes if s == "won" else (no if s == "lost" else "")),
        "owner": owner,
    }
    return pd.DataFrame({cols[k]: v for k, v in canonical.items()})


def write_exports(
    result: SimulationResult,
    directory: str | Path,
    style: str = "hubspot",
    *,
    seed: int = 0,
    date_format: str | None = None,
) -> dict[str, Path]:
    """Write ``leads.csv``, ``calls.csv`` (traced runs only) and ``opportunities.csv``.

    Returns the paths written, keyed by table. ``seed`` seeds the call durations (module
    docstring); ``date_format`` (strftime) overrides the style's date format. The period the
    data covers is written to ``export.txt`` beside them, since a fit needs to know when the
    extract was taken to treat open records as censored there.

    Each file is written whole or not at all, and text a spreadsheet would run as a formula
    (a source named ``=HYPERLINK(...)``) gets a ``'`` in front (:mod:`simfunnel.base.files`).
    """
    _check_style(style)
    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    paths: dict[str, Path] = {}
    paths["leads"] = out / "leads.csv"
    write_csv(lead_table(result, style, date_format), paths["leads"])
    if result.data.trace is not None:
        paths["calls"] = out / "calls.csv"
        write_csv(call_log(result, style, seed, date_format), paths["calls"])
    paths["opportunities"] = out / "opportunities.csv"
    write_csv(opportunity_table(result, style, date_format), paths["opportunities"])
    scenario = result.scenario
    end = scenario.start + dt.timedelta(hours=scenario.horizon)
    info: dict[str, Any] = {
        "scenario": scenario.name,
        "seed": str(result.seed),
        "style": style,
        "start": f"{scenario.start:%Y-%m-%d %H:%M}",
        "as_of": f"{end:%Y-%m-%d %H:%M}",
    }
    paths["info"] = out / "export.txt"
    write_text(paths["info"], "".join(f"{k}: {v}\n" for k, v in info.items()))
    return paths
