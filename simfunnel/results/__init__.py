"""What one run produced: the result object with its KPI tables, weekly series and event log, and the synthetic CRM exports written from it."""

from __future__ import annotations

from .exports import call_log, write_exports
from .result import SimulationResult

__all__ = ["SimulationResult", "call_log", "write_exports"]
