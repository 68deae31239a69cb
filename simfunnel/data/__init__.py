"""CRM data: the export formats (columns, outcomes, stages, date formats per style) and the readers of lead, call and opportunity exports with their date policy.

It imports nothing of the simulation: reading an export never loads the engine. The modules:
``formats`` (what each style writes), ``text`` (bytes to text, CSV sniffing), ``dates`` (the
date policy), ``tables`` (``ExportTable``, the schemas), ``readers`` (one export each),
``checks`` (the tables against each other) and ``limits`` (what is refused, and where).
"""

from __future__ import annotations

from .checks import check_exports
from .dates import local_time, parse_family, parse_timestamp, to_datetime
from .formats import CALL_OUTCOMES, DATE_FORMATS, STAGES, STYLES, WON_FLAG
from .limits import CalibrationError
from .readers import read_calls, read_leads, read_opportunities
from .tables import LEAD_STAGES, SCHEMAS, ExportTable
from .text import CONTROL_CHARS, read_csv_text, read_text

__all__ = [
    "CALL_OUTCOMES",
    "CONTROL_CHARS",
    "DATE_FORMATS",
    "LEAD_STAGES",
    "SCHEMAS",
    "STAGES",
    "STYLES",
    "WON_FLAG",
    "CalibrationError",
    "ExportTable",
    "check_exports",
    "local_time",
    "parse_family",
    "parse_timestamp",
    "read_calls",
    "read_csv_text",
    "read_leads",
    "read_opportunities",
    "read_text",
    "to_datetime",
]
