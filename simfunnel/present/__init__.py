"""What a person reads: plots, the HTML report and the Excel workbook."""

from __future__ import annotations

from .excel import write_workbook
from .report import SECTIONS, build_report, write_report

__all__ = ["SECTIONS", "build_report", "write_report", "write_workbook"]
