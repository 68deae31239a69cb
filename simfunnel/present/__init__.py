"""What a person reads: plots and the HTML report."""

from __future__ import annotations

from .report import SECTIONS, build_report, write_report

__all__ = ["SECTIONS", "build_report", "write_report"]
