"""What one run produced: the result object with its KPI tables, weekly series and event log, the KPI registry that names and explains every key of its report, and the synthetic CRM exports written from it."""

from __future__ import annotations

from .exports import call_log, write_exports
from .kpis import KPI, KPIS, SECTION_TITLES, Unit, find_kpi, kpi, section_kpis
from .result import SimulationResult
from .text import HEADLINE, headline_keys, kpi_text, level_text, section_title, unit_text

__all__ = [
    "HEADLINE",
    "KPI",
    "KPIS",
    "SECTION_TITLES",
    "SimulationResult",
    "Unit",
    "call_log",
    "find_kpi",
    "headline_keys",
    "kpi",
    "kpi_text",
    "level_text",
    "section_kpis",
    "section_title",
    "unit_text",
    "write_exports",
]
