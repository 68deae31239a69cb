"""The Excel workbook of an answer: a Verdict sheet first holding the verdict, then one sheet per
table with the table's columns, rows and numbers (numbers as numbers, dates as dates, NaN as
empty cells, the header bold and frozen), sheet names Excel accepts, and the scenario as YAML
that reads back to the same scenario. Small answers of six types, two without a scenario's
currency or without a scenario at all; a hand-made answer for awkward cells."""

from __future__ import annotations

import copy
import datetime as dt
import math
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import openpyxl
import pandas as pd
import pytest
import yaml
from conftest import STEADY_FLOW, build, busy, crm_dict

import simfunnel
from simfunnel.calibration import (
    backtest,
    fit_cohorts,
    forecast_cohorts,
    read_leads,
    synthetic_export,
)
from simfunnel.data import check_exports
from simfunnel.decisions import compare_thresholds, forecast, size_team
from simfunnel.present import write_workbook
from simfunnel.present.excel import EXCEL_MISSING, ExcelUnavailable
from simfunnel.results import write_exports
from simfunnel.results.answer import Report
from simfunnel.scenario import scenario_from_dict, scenario_to_dict

FAST = {"workers": 1}


def uncertain() -> simfunnel.Scenario:
    """A steady flow whose lead rate is uncertain: the forecast draws it, so it has bands."""
    rate = {
        "path": "sources[one].rate_per_week",
        "dist": "lognormal",
        "a": math.log(25),
        "b": 0.3,
        "basis": "a guess",
    }
    steady = {"horizon": "3 weeks", "warm_up": "1 week", **STEADY_FLOW}
    return build(**steady, uncertainty=[copy.deepcopy(rate)])


def _run() -> Any:
    web = {"name": "web", "rate_per_week": 200, "score": {"mean": 60, "sd": 15}}
    return simfunnel.simulate(build(horizon="4 weeks", sources=[web], sdr__headcount=2), seed=1)


def _backtest(tmp: Path) -> Any:
    run = simfunnel.simulate(build(crm_dict("12 weeks")), seed=4, trace=True)
    paths = write_exports(run, tmp / "crm")
    return backtest(paths["leads"], "2026-03-02", 3, reps=2, arrivals="actual", **FAST)


def _outlook(tmp: Path) -> Any:
    """The cohort model's outlook: an answer fitted to the export, without a scenario."""
    leads = synthetic_export("thin", seed=12, months=8).write(tmp / "thin")
    table, _, _, as_of = check_exports(read_leads(leads))
    end = as_of.to_period("M").start_time + pd.DateOffset(months=2 + (as_of.day != 1))
    return forecast_cohorts(fit_cohorts(table.data, as_of), end, reps=50, source=str(leads))


MAKERS: dict[str, Callable[[Path], Any]] = {
    "run": lambda tmp: _run(),
    "thresholds": lambda tmp: compare_thresholds(
        busy(), [50, 70], reps=2, progress=False, explain=False, **FAST
    ),
    "sizing": lambda tmp: size_team(
        busy(),
        "sdr",
        ["sdr_utilisation<=0.9", "speed_to_lead_1h>=0.2"],
        reps=2,
        explain=False,
        **FAST,
    ),
    "forecast": lambda tmp: forecast(uncertain(), reps=3, progress=False, **FAST),
    "backtest": _backtest,
    "outlook": _outlook,
}


@pytest.fixture(scope="module")
def make(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], Any]:
    """Each answer, made once for the module."""
    made: dict[str, Any] = {}

    def answer(name: str) -> Any:
        if name not in made:
            made[name] = MAKERS[name](tmp_path_factory.mktemp(name))
        return made[name]

    return answer


@pytest.fixture(scope="module", params=list(MAKERS))
def written(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    make: Callable[[str], Any],
) -> tuple[Any, Report, Any]:
    """An answer, its report, and its workbook as written and read back."""
    tmp = tmp_path_factory.mktemp(request.param)
    answer = make(request.param)
    path = write_workbook(answer, tmp / "out" / f"{request.param}.xlsx")
    assert path == tmp / "out" / f"{request.param}.xlsx"
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no temporary file left
    return answer, answer.report(), openpyxl.load_workbook(path)


def _currency(report: Report) -> str | None:
    return getattr(getattr(report.scenario, "currency", None), "code", None)


def _header(ws: Any) -> list[str]:
    return [str(c.value) for c in ws[1] if c.value is not None]


def _same_cells(ws: Any, frame: pd.DataFrame, currency: str | None) -> bool:
    """Whether the sheet holds ``frame``: its columns (a money column's with the currency),
    its rows, its numbers as numbers to 1e-9, its text, its dates as dates, NaN as empty."""
    header = [h.removesuffix(f" ({currency})") if currency else h for h in _header(ws)]
    if header != [str(c) for c in frame.columns] or ws.max_row != len(frame) + 1:
        return False
    for j, name in enumerate(frame.columns, start=1):
        for i, value in enumerate(frame[name].tolist(), start=2):
            if not _same_cell(ws.cell(row=i, column=j).value, value):
                return False
    return True


def _same_cell(cell: Any, value: Any) -> bool:
    if value is None or value is pd.NaT or (isinstance(value, float) and math.isnan(value)):
        return cell is None
    if isinstance(value, bool | np.bool_):
        return cell is bool(value)
    if isinstance(value, int | float | np.integer | np.floating):
        if math.isinf(value):
            return cell == ("inf" if value > 0 else "-inf")
        return isinstance(cell, int | float) and abs(cell - float(value)) <= 1e-9 * max(
            1.0, abs(float(value))
        )
    if isinstance(value, pd.Timestamp | dt.datetime):  # Excel keeps milliseconds
        return isinstance(cell, dt.datetime) and abs(
            cell - value.replace(tzinfo=None)
        ) < dt.timedelta(milliseconds=1)
    if isinstance(value, dt.date):
        return isinstance(cell, dt.datetime | dt.date) and cell.strftime("%F") == f"{value:%F}"
    if isinstance(value, str) and value == "":
        return cell is None
    return isinstance(cell, str) and cell == str(value)


def _sheet_of(book: Any, frame: pd.DataFrame, currency: str | None) -> Any:
    """The sheet that holds ``frame`` (None if none does)."""
    return next((ws for ws in book.worksheets[1:] if _same_cells(ws, frame, currency)), None)


def test_the_verdict_sheet_comes_first_and_holds_the_verdict(written: tuple) -> None:
    answer, report, book = written
    ws = book.worksheets[0]
    assert ws.title == "Verdict"
    texts = [str(c.value) for c in ws["A"] if c.value is not None]
    assert texts[0] == report.title
    for line in answer.verdict.split("\n"):
        assert not line.strip() or line in texts
    for note in report.notes:
        assert f"- {note}" in texts
    assert "Key figures" in texts and "What was assumed" in texts
    if report.scenario is not None:  # a short list of the scenario's assumptions
        assert f"- MQL threshold: a score of {report.scenario.scoring.threshold:g}" in texts


def test_every_table_is_on_a_sheet_with_its_columns_rows_and_numbers(written: tuple) -> None:
    answer, report, book = written
    currency = _currency(report)
    frames = {"table": answer.table, "summary": answer.summary(), **answer.tables()}
    for name, frame in frames.items():
        assert _sheet_of(book, frame, currency) is not None, name


def test_sheet_names_are_unique_and_fit_excel(written: tuple) -> None:
    _, report, book = written
    names = book.sheetnames
    assert len({n.lower() for n in names}) == len(names)
    assert all(0 < len(n) <= 31 and not set(n) & set("[]:*?/\\") for n in names)
    assert (names[-1] == "Scenario") == (report.scenario is not None)


def test_numbers_are_numbers_with_formats_and_the_header_is_bold_and_frozen(
    written: tuple,
) -> None:
    answer, report, book = written
    ws = _sheet_of(book, answer.table, _currency(report))
    assert ws.freeze_panes == "A2"
    assert all(c.font.bold for c in ws[1] if c.value is not None)
    numbers = 0
    for j, name in enumerate(answer.table.columns, start=1):
        if not pd.api.types.is_numeric_dtype(answer.table[name].dtype):
            continue
        for row in range(2, ws.max_row + 1):
            cell = ws.cell(row=row, column=j)
            if cell.value is None or isinstance(cell.value, bool):
                continue
            assert isinstance(cell.value, int | float), (name, cell.value)
            assert "E" not in cell.number_format and cell.number_format != "General"
            numbers += 1
    assert numbers > 0


def test_the_scenario_sheet_reads_back_as_the_same_scenario(written: tuple) -> None:
    _, report, book = written
    if report.scenario is None:
        assert "Scenario" not in book.sheetnames
        return
    lines = [c.value or "" for c in book["Scenario"]["A"]]
    data = yaml.safe_load("\n".join(lines))
    assert scenario_to_dict(scenario_from_dict(data)) == scenario_to_dict(report.scenario)


# --------------------------------------------------------------------------- formats


def test_shares_show_as_percents_and_counts_whole(
    make: Callable[[str], Any], tmp_path: Path
) -> None:
    answer = make("sizing")
    book = openpyxl.load_workbook(write_workbook(answer, tmp_path / "sizing.xlsx"))
    ws = _sheet_of(book, answer.table, None)
    header = _header(ws)
    share = ws.cell(row=2, column=header.index("sdr_utilisation_mean") + 1)
    count = ws.cell(row=2, column=header.index("headcount") + 1)
    assert share.number_format == "0.0%" and 0 < share.value < 1
    assert count.number_format == "#,##0" and isinstance(count.value, int)


def test_a_forecast_has_its_bands_on_sheets(make: Callable[[str], Any], tmp_path: Path) -> None:
    answer = make("forecast")
    book = openpyxl.load_workbook(write_workbook(answer, tmp_path / "forecast.xlsx"))
    for name in ("bands", "cumulative"):
        frame = answer.tables()[name]
        ws = book[name]
        assert _same_cells(ws, frame, None)
        week_start = _header(ws).index("week_start") + 1
        assert isinstance(ws.cell(row=2, column=week_start).value, dt.datetime)
        assert ws.cell(row=2, column=week_start).number_format == "yyyy-mm-dd"


def test_money_columns_name_the_currency(make: Callable[[str], Any], tmp_path: Path) -> None:
    answer = make("thresholds")
    book = openpyxl.load_workbook(write_workbook(answer, tmp_path / "t.xlsx"))
    code = _currency(answer.report())
    ws = _sheet_of(book, answer.table, code)
    wanted = f"pipeline_value ({code})" if code else "pipeline_value"
    assert wanted in _header(ws)
    column = _header(ws).index(wanted) + 1
    assert ws.cell(row=2, column=column).number_format == "#,##0"


# --------------------------------------------------------------------------- awkward cells


class Odd:
    """An answer by the interface alone, with cells a spreadsheet trips on."""

    verdict = "Keep calm.\nSecond line of the verdict."

    def __init__(self) -> None:
        self.table = pd.DataFrame(
            {
                "name": ['=HYPERLINK("http://x")', "plain", "", None],
                "rate": [0.25, math.nan, 1.0, 0.0],
                "big": [math.inf, 1e-7, 123456.789, -2.5],
                "when": pd.to_datetime(
                    ["2026-01-05 09:30", None, "2026-02-01 00:00", "2026-03-01 00:00"]
                ).tz_localize("Europe/Berlin"),
                "weeks": [[1, 2], [], None, [3]],
                "flag": [True, False, True, False],
                "bell\x07": pd.array([1, None, 3, 4], dtype="Int64"),
            }
        )

    def summary(self) -> pd.DataFrame:
        wide = pd.DataFrame(
            [[1.0, 2.0]], columns=pd.MultiIndex.from_tuples([("a", "x"), ("a", "y")])
        )
        return wide.set_index(pd.Index(["row"], name="key"))

    def tables(self) -> dict[str, pd.DataFrame]:
        long = "a very long table name that Excel would refuse: [sheet] / part?"
        return {
            "odd": self.table,
            long: pd.DataFrame({"x": [1]}),
            long + " again": pd.DataFrame({"x": [2]}),
            "VERDICT": pd.DataFrame({"x": [3]}),
            "empty": pd.DataFrame({"x": pd.Series([], dtype=float)}),
        }

    def report(self) -> Report:
        kpis = pd.DataFrame(
            {"figure": ["leads", "share", "note", "year"], "value": ["1,234", "42%", "n/a", "2026"]}
        )
        return Report("Odd", "cells", [self.verdict], [], kpis, "", None)


def test_awkward_cells_are_written_as_a_reader_expects(tmp_path: Path) -> None:
    odd = Odd()
    book = openpyxl.load_workbook(write_workbook(odd, tmp_path / "odd.xlsx"))
    names = book.sheetnames
    assert names[0] == "Verdict" and "Scenario" not in names
    assert len({n.lower() for n in names}) == len(names) and max(map(len, names)) <= 31
    ws = book["odd"]
    assert _header(ws) == ["name", "rate", "big", "when", "weeks", "flag", "bell"]
    formula = ws["A2"]
    assert formula.value == odd.table.loc[0, "name"] and formula.data_type == "s"  # text
    assert ws["A4"].value is None and ws["B3"].value is None  # empty text, NaN
    assert ws["B2"].number_format == "0.0%"
    assert ws["C2"].value == "inf" and ws["C3"].value == pytest.approx(1e-7)
    assert ws["C3"].number_format == "0.00##"  # never scientific
    assert ws["D2"].value == dt.datetime(2026, 1, 5, 9, 30) and ws["D3"].value is None
    assert ws["D2"].number_format == "yyyy-mm-dd hh:mm"
    assert ws["E2"].value == "1, 2" and ws["E3"].value is None
    assert ws["F2"].value is True and ws["G3"].value is None and ws["G2"].value == 1
    summary = book["summary"]
    assert _header(summary) == ["key", "a x", "a y"] and summary["B2"].value == 1.0
    verdict = [c.value for c in book["Verdict"]["A"] if c.value is not None]
    assert "Keep calm." in verdict and "Second line of the verdict." in verdict
    figures = {
        r[0].value: r[1]
        for r in book["Verdict"].iter_rows()
        if r[0].value in ("leads", "share", "note", "year")
    }
    assert figures["leads"].value == 1234 and figures["leads"].number_format == "#,##0"
    assert figures["share"].value == pytest.approx(0.42) and figures["share"].number_format == "0%"
    assert figures["note"].value == "n/a"
    assert figures["year"].value == 2026 and figures["year"].number_format == "0"


def test_it_says_how_to_get_openpyxl_when_it_is_missing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "openpyxl", None)  # import openpyxl now fails
    with pytest.raises(ExcelUnavailable, match="pip install 'simfunnel\\[excel\\]'") as caught:
        write_workbook(Odd(), tmp_path / "odd.xlsx")
    assert isinstance(caught.value, ImportError) and str(caught.value) == EXCEL_MISSING
    assert not (tmp_path / "odd.xlsx").exists()


def test_it_refuses_what_is_no_answer_or_no_xlsx(tmp_path: Path) -> None:
    with pytest.raises(TypeError, match="report"):
        write_workbook(object(), tmp_path / "x.xlsx")
    with pytest.raises(ValueError, match=r"\.xlsx"):
        write_workbook(Odd(), tmp_path / "x.xls")
    assert list(tmp_path.iterdir()) == []
