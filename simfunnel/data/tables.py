"""The shape of a table read from a CRM export: its canonical columns (``SCHEMAS``), the
stages a lead goes through, :class:`ExportTable` (the rows kept, the rows excluded and the
report of every problem found), and the helpers that add problems to that report.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

__all__ = [
    "LEAD_STAGES",
    "REPORT_COLUMNS",
    "SCHEMAS",
    "STAGE_LABEL",
    "ExportTable",
    "add_problem",
    "report_frame",
    "with_problems",
]

# Canonical columns of each table: (name, kind, required). Kinds: id, date, number, text.
SCHEMAS: dict[str, tuple[tuple[str, str, bool], ...]] = {
    "leads": (
        ("lead_id", "id", True),
        ("created", "date", True),
        ("source", "text", False),
        ("score", "number", False),
        ("mql_date", "date", False),
        ("sql_date", "date", False),
        ("opportunity_date", "date", False),
        ("won_date", "date", False),
        ("lost_date", "date", False),
        ("amount", "number", False),
        ("status", "text", False),
    ),
    "calls": (
        ("lead_id", "id", True),
        ("timestamp", "date", True),
        ("outcome", "text", True),
        ("duration_s", "number", False),
        ("rep", "text", False),
    ),
    "opportunities": (
        ("opportunity_id", "id", True),
        ("lead_id", "id", False),
        ("created", "date", True),
        ("close_date", "date", False),
        ("stage", "text", False),
        ("amount", "number", False),
        ("won", "text", False),
        ("owner", "text", False),
    ),
}
# Stage dates of a lead, in the order a lead reaches them (won and lost are alternatives).
LEAD_STAGES = ("created", "mql_date", "sql_date", "opportunity_date")
STAGE_LABEL = {
    "created": "created date",
    "mql_date": "MQL date",
    "sql_date": "SQL date",
    "opportunity_date": "opportunity date",
    "won_date": "won date",
    "lost_date": "lost date",
    "close_date": "close date",
}
# The columns of a table's report of problems, one row per problem.
REPORT_COLUMNS = ["file", "line", "column", "problem", "value", "action"]


@dataclass(frozen=True, eq=False)
class ExportTable:
    """One export read into canonical columns.

    ``data``: the rows kept, canonical columns plus ``line`` (the file's line number, header
    = line 1). ``report``: one row per problem found (``file, line, column, problem, value,
    action``; action is ``excluded``, ``blanked``, ``cleaned`` or ``note``): nothing is
    dropped silently. ``dropped``: the rows excluded, as read (for the reasons, see
    ``report``). ``date_format``: the date format used, and whether it was stated or detected.
    """

    kind: str
    path: str
    data: pd.DataFrame
    report: pd.DataFrame
    date_format: str
    rows_read: int
    columns: dict[str, str] = field(default_factory=dict)
    dropped: pd.DataFrame = field(default_factory=pd.DataFrame)

    @property
    def excluded(self) -> int:
        """Rows left out of ``data`` (each with its reasons in ``report``)."""
        return self.rows_read - len(self.data)

    def summary(self) -> pd.DataFrame:
        """Problems counted by column, problem and action."""
        if self.report.empty:
            return pd.DataFrame(columns=["column", "problem", "action", "rows"])
        return (
            self.report.groupby(["column", "problem", "action"], dropna=False)
            .size()
            .rename("rows")
            .reset_index()
        )

    def __repr__(self) -> str:
        return (
            f"ExportTable({self.kind}, {self.path!r}: {self.rows_read} rows read, "
            f"{len(self.data)} kept, {self.excluded} excluded; dates {self.date_format})"
        )


def add_problem(
    rows: list[dict[str, Any]],
    path: str,
    line: Any,
    column: str,
    problem: str,
    value: Any,
    action: str,
) -> None:
    """One problem found, as a row of the report (``line`` None: the whole column)."""
    rows.append(
        {
            "file": path,
            "line": line,
            "column": column,
            "problem": problem,
            "value": value,
            "action": action,
        }
    )


def report_frame(problems: list[dict[str, Any]]) -> pd.DataFrame:
    """Problems as a report frame, lines as nullable integers (None: the whole column)."""
    return pd.DataFrame(problems, columns=REPORT_COLUMNS).astype({"line": "Int64"})


def with_problems(
    table: ExportTable, data: pd.DataFrame, bad: pd.Series, problems: list[dict[str, Any]]
) -> ExportTable:
    """The table with rows ``bad`` moved to ``dropped`` and the new problems reported."""
    if not problems and not bad.any():
        return dataclasses.replace(table, data=data.reset_index(drop=True))
    new = report_frame(problems)
    frames = [f for f in (table.report, new) if not f.empty]
    report = pd.concat(frames, ignore_index=True) if frames else table.report
    report = report.sort_values(["line", "column"], na_position="first", kind="stable")
    dropped = [f for f in (table.dropped, data[bad]) if not f.empty]
    return dataclasses.replace(
        table,
        data=data[~bad].reset_index(drop=True),
        report=report.reset_index(drop=True),
        dropped=pd.concat(dropped, ignore_index=True) if dropped else table.dropped,
    )
