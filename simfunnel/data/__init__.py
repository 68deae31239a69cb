"""CRM data: the export formats (columns, outcomes, stages, date formats per style) and the readers of lead, call and opportunity exports with their date policy.

It imports nothing of the simulation: reading an export never loads the engine.
"""

from __future__ import annotations

from .crm import (
    LEAD_STAGES,
    SCHEMAS,
    CalibrationError,
    ExportTable,
    check_exports,
    parse_timestamp,
    read_calls,
    read_csv_text,
    read_leads,
    read_opportunities,
)
from .formats import CALL_OUTCOMES, DATE_FORMATS, STYLES

__all__ = [
    "CALL_OUTCOMES",
    "DATE_FORMATS",
    "LEAD_STAGES",
    "SCHEMAS",
    "STYLES",
    "CalibrationError",
    "ExportTable",
    "check_exports",
    "parse_timestamp",
    "read_calls",
    "read_csv_text",
    "read_leads",
    "read_opportunities",
]
