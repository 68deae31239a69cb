"""A run in words, for a terminal or a notebook: each KPI value written by its unit in the registry
(:func:`kpi_text`), the headline of a run (:func:`result_verdict`) and the aligned KPI report that
``simfunnel run`` prints (:func:`result_text`). Experiments write their summaries with the same
:func:`kpi_text` and :func:`section_title`, so a figure reads the same in every table.
"""

from __future__ import annotations

from typing import Any

from ..base.formatting import fmt, missing
from ..base.units import format_duration
from ..scenario import Currency
from .kpis import KPIS, SECTION_TITLES, Unit, find_kpi
from .run_kpis import RunKPIs

__all__ = [
    "HEADLINE",
    "headline_keys",
    "kpi_text",
    "level_text",
    "result_text",
    "result_verdict",
    "section_title",
    "unit_text",
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


def level_text(level: float) -> str:
    """A level or share in percent, with as many decimals as it needs not to round to a
    different figure: 0.8 is '80%', 0.999 is '99.9%' (not '100%'), 0.95 is '95%'."""
    for decimals in range(4):
        text = f"{level:.{decimals}%}"
        if abs(float(text.rstrip("%")) / 100 - level) < 1e-12:
            return text
    return f"{level:.4%}"


def unit_text(value: Any, unit: Unit, currency: Currency | None = None) -> str:
    """A figure as every table and verdict writes it, by its unit: a share as a percent, a
    duration in its own unit ('54 s', '3 days'), money whole in the ``currency``, a count (or a
    mean of counts) whole, anything else to one decimal; "n/a" when undefined."""
    if value is None or missing(value):
        return NA
    if isinstance(value, bool | str):
        return str(value)
    x = float(value)
    if unit is Unit.SHARE:
        return f"{x:6.1%}"
    if unit is Unit.DURATION:
        return format_duration(x)
    if unit is Unit.MONEY:
        if currency is None:
            return f"{x:,.0f} (currency not known)"
        return currency.format(x, compact=False)
    if unit is Unit.COUNT or (unit is Unit.HEADCOUNT and x.is_integer()):
        return f"{x:,.0f}"  # a mean of counts is rounded for reading; the data keep it exact
    if isinstance(value, int):
        return f"{value:,}"
    return f"{x:,.1f}"


def kpi_text(
    value: Any, key: str, section: str | None = None, *, currency: Currency | None = None
) -> str:
    """A KPI value as the terminal shows it, by its unit in the KPI registry
    (:func:`unit_text`). ``key`` without ``section``: the first section that has it; a key the
    registry lacks shows as a plain number."""
    entry = find_kpi(key, section)
    if isinstance(value, int) and not isinstance(value, bool):
        unit = entry.unit if entry is not None and entry.unit is Unit.MONEY else Unit.COUNT
        return unit_text(value, unit, currency)
    return unit_text(value, entry.unit if entry is not None else Unit.NUMBER, currency)


def section_title(section: str) -> str:
    """A report section's title as the terminal shows it (its key, readable, if unknown)."""
    return SECTION_TITLES.get(section, section.replace("_", " ").capitalize())


def result_text(result: RunKPIs) -> str:
    """The KPI report as aligned plain text, one section after another: what ``simfunnel run``
    prints."""
    report = result.to_dict()
    lines = [
        f"{report['scenario']}  (seed {report['seed']}, {result.scenario.period} from "
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
            shown = kpi_text(value, key, section, currency=result.scenario.currency)
            lines.append(f"  {label.replace('_', ' '):<28}{shown:>16}")
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
    if entry.unit in (Unit.DURATION, Unit.MONEY) or missing(value):
        text = unit_text(value, entry.unit, result.scenario.currency)
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
        f"{s.name}: {s.period} from {s.start_date} gave {', '.join(counts)} and {won}. "
        + "; ".join(_said(result, key) for key in speed)
        + "."
    )
