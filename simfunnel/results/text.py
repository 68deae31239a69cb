"""A run in words, for a terminal or a notebook: each KPI value written by its unit in the registry
(:func:`kpi_text`), the headline of a run (:func:`result_verdict`) and the aligned KPI report that
``simfunnel run`` prints (:func:`result_text`). Experiments write their summaries with the same
:func:`kpi_text` and :func:`section_title`, so a figure reads the same in every table.
"""

from __future__ import annotations

import math
from typing import Any

from ..base.formatting import fmt, missing
from ..base.units import format_duration
from .kpis import KPIS, SECTION_TITLES, Unit, find_kpi
from .run_kpis import RunKPIs

__all__ = [
    "HEADLINE",
    "headline_keys",
    "kpi_text",
    "result_text",
    "result_verdict",
    "section_title",
]

NA = "n/a"  # what a figure that is not defined (a rate over nothing) shows

# The headline figures of a run (the notebook's table, an experiment's key figures).
HEADLINE = (
    "totals.leads",
    "totals.mqls",
    "totals.sqls",
    "totals.valid_opportunities",
    "totals.won",
    "totals.pipeline_value",
    "totals.won_value",
    "speed_to_lead.within_1h",
    "utilisation.sdr",
)


def headline_keys(outbound: bool) -> list[str]:
    """The headline figures' keys; with an outbound section, the BDRs' come in too."""
    keys = list(HEADLINE)
    if outbound:
        keys[1:1] = ["totals.accounts", "totals.sgls"]
        keys.append("utilisation.bdr")
    return keys


def kpi_text(value: Any, key: str, section: str | None = None) -> str:
    """A KPI value as the terminal shows it, by its unit in the KPI registry: a share as a percent,
    a duration in its own unit, money whole. ``key`` without ``section``: the first section that
    has it; a key the registry lacks shows as a plain number."""
    if value is None:
        return NA
    if isinstance(value, float):
        if math.isnan(value):
            return NA
        entry = find_kpi(key, section)
        unit = entry.unit if entry is not None else Unit.NUMBER
        if unit is Unit.SHARE:
            return f"{value:6.1%}"
        if unit is Unit.DURATION:
            return format_duration(value)
        if unit is Unit.MONEY:
            return f"{value:,.0f}"
        return f"{value:,.1f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def section_title(section: str) -> str:
    """A report section's title as the terminal shows it (its key, readable, if unknown)."""
    return SECTION_TITLES.get(section, section.replace("_", " ").capitalize())


def result_text(result: RunKPIs) -> str:
    """The KPI report as aligned plain text, one section after another: what ``simfunnel run``
    prints."""
    report = result.to_dict()
    lines = [
        f"{report['scenario']}  (seed {report['seed']}, {report['weeks']} weeks from "
        f"{report['start_date']})",
    ]
    outbound = result.scenario.outbound is not None
    for section, title in SECTION_TITLES.items():
        lines.append("")
        lines.append(title)
        lines.append("-" * len(title))
        for key, value in report[section].items():
            if not outbound and key.startswith(("bdr", "outbound_", "sgls")):
                continue  # no BDR team: its figures are all n/a
            # Durations carry their own unit ("5.4 h", "12 min"), so the "_h" of the key goes.
            label = key.removesuffix("_h")
            lines.append(f"  {label.replace('_', ' '):<28}{kpi_text(value, key, section):>16}")
    return "\n".join(lines)


def _said(result: RunKPIs, key: str) -> str:
    """One headline figure in words: the registry's label and the value by its unit."""
    entry = KPIS[key]
    sections = {
        "totals": result.totals,
        "speed_to_lead": result.speed_to_lead,
        "utilisation": result.utilisations,
    }
    value = sections[entry.section][entry.name]
    if missing(value):
        text = NA
    elif entry.unit is Unit.DURATION:
        text = format_duration(value)
    elif entry.unit is Unit.MONEY:
        text = f"{value:,.0f}"  # whole, as the terminal's tables write money
    else:
        text = fmt(value, percent=entry.unit is Unit.SHARE)
    if entry.unit in (Unit.SHARE, Unit.DURATION, Unit.MONEY):
        return f"{entry.label}: {text}"
    return f"{text} {entry.label}"


def result_verdict(result: RunKPIs) -> str:
    """What one run gave, in two sentences: the funnel from leads to deals won, then how busy the
    calling teams were and how fast MQLs were called."""
    s = result.scenario
    outbound = s.outbound is not None
    volumes = ["totals.leads", "totals.mqls", "totals.sqls", "totals.valid_opportunities"]
    if outbound:
        volumes[1:1] = ["totals.accounts"]
        volumes[3:3] = ["totals.sgls"]
    counts = [_said(result, key) for key in volumes]
    won = f"{_said(result, 'totals.won')} ({_said(result, 'totals.won_value')})"
    teams = ["utilisation.sdr", *(["utilisation.bdr"] if outbound else [])]
    speed = [*teams, "speed_to_lead.within_1h", "speed_to_lead.median_h"]
    return (
        f"{s.name}: {s.weeks} weeks from {s.start_date} gave {', '.join(counts)} and {won}. "
        + "; ".join(_said(result, key) for key in speed)
        + "."
    )
