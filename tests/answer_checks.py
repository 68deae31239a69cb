"""The checks every answer passes (simfunnel.results.answer.Answer), shared by the interface
tests of the decisions, the results and the calibration: each module builds its own answers and
calls these from short parametrised tests. Import as ``from answer_checks import ...`` (pytest
puts tests/ on sys.path for conftest.py)."""

from __future__ import annotations

import html
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

import simfunnel
from simfunnel.results.answer import Answer, Report


def check_basics(answer: Any, *, scenario: bool = True) -> None:
    """A verdict in words, a non-empty table and summary, and the scenario it is about; with
    ``scenario=False`` (a cohort model, fitted to the export directly) it has no scenario, so it
    is no :class:`Answer` by the protocol."""
    assert isinstance(answer.verdict, str) and answer.verdict.strip()
    assert isinstance(answer.table, pd.DataFrame) and not answer.table.empty
    assert isinstance(answer.summary(), pd.DataFrame) and not answer.summary().empty
    if scenario:
        assert isinstance(answer, Answer)
        assert isinstance(answer.scenario, simfunnel.Scenario)
    else:
        assert not hasattr(answer, "scenario")


def check_charts(answer: Any, whats: Iterable[str]) -> None:
    """Every chart (the main one and each named in ``whats``) has a title, and ``plot(ax=)``
    draws on the axes given and returns them."""
    import matplotlib.pyplot as plt

    for what in (None, *whats):
        ax = answer.plot(what)
        try:
            assert ax.get_title(), what
        finally:
            plt.close(ax.figure)
    fig, given = plt.subplots()
    try:
        assert answer.plot(ax=given) is given
    finally:
        plt.close(fig)


def check_unknown_chart_refused(answer: Any) -> None:
    """A chart name the answer does not know raises ValueError."""
    with pytest.raises(ValueError):
        answer.plot("no_such_chart")


def check_save(
    answer: Any,
    directory: Path,
    files: Iterable[str],
    *,
    exact: bool = True,
    unnamed: Iterable[str] = (),
) -> None:
    """``save`` writes every table of ``tables()`` (CSV) and chart of ``charts()`` (PNG), the
    ``unnamed`` files besides them, and verdict.txt holding the verdict; each path it returns
    is the file of that name, not empty. ``files`` are the files it writes beside verdict.txt
    (``exact=False``: at least those)."""
    written = answer.save(directory)
    names = set(written)
    if exact:
        assert names == {*files, "verdict.txt"}
    else:
        assert set(files) <= names
    named = {f"{n}.csv" for n in answer.tables()} | {f"{n}.png" for n in answer.charts()}
    assert names == named | set(unnamed) | {"verdict.txt"}
    for name, path in written.items():
        assert isinstance(path, Path) and path.name == name and path.stat().st_size > 0
    assert (Path(directory) / "verdict.txt").read_text() == answer.verdict + "\n"


def check_views(answer: Any, *, repr_of: bool = True) -> None:
    """A one-line repr (``<Type of ...``, or with ``repr_of=False`` one naming the type) and a
    notebook card with the report's title, its tiles and what to do (or the verdict)."""
    text = repr(answer)
    name = type(answer).__name__
    assert "\n" not in text
    if repr_of:
        assert text.startswith(f"<{name} of ")
    else:
        assert name in text
    card = answer._repr_html_()
    report = answer.report()
    assert html.escape(report.title) in card
    for tile in report.key_tiles():
        assert html.escape(tile.label) in card and html.escape(tile.value) in card
    said = report.points[0][1] if report.points else " ".join(report.verdict[0].split()[:4])
    assert html.escape(said) in card


def check_report(answer: Any, *, scenario: bool = True, same_scenario: bool = False) -> None:
    """The report leads with the verdict and has charts and key figures; it names a scenario
    (``same_scenario``: the answer's own) or, with ``scenario=False``, none."""
    report = answer.report()
    assert isinstance(report, Report)
    assert report.verdict and report.verdict[0].strip()
    assert report.charts and not report.kpis.empty
    # Exec-first: key figures, and the verdict in two to four short points (what to do, why,
    # what could go wrong) before the detail.
    assert 1 <= len(report.key_tiles()) <= 5, report.key_tiles()
    assert 2 <= len(report.points) <= 4, report.points
    assert all(heading and said.strip() for heading, said in report.points)
    if not scenario:
        assert report.scenario is None
    elif same_scenario:
        assert report.scenario is answer.scenario
    else:
        assert report.scenario is not None


def check_text(answer: Any, begins: str | None = None) -> None:
    """What the terminal prints is not empty and (if given) begins with ``begins``."""
    text = answer.text()
    assert text.strip()
    if begins is not None:
        assert text.startswith(begins)


# What a person must never read: numbers in scientific notation, hours as raw floats, and the
# placeholder "currency" where an amount should carry its own (the scenario's) currency.
UNREADABLE = {
    "scientific notation": re.compile(r"\b\d(?:\.\d+)?e[+-]\d", re.IGNORECASE),
    "raw float hours": re.compile(r"\b\d+\.\d{3,}\s*(?:h|hours?)\b"),
    "an amount without its currency": re.compile(
        r"\d\s*currency\b|\bcurrency (?:per|units)\b|<td>currency</td>"
    ),
    "a module name in a leader's text": re.compile(r"\bsimfunnel(?:\.[a-z_]+){2,}"),
}
_DATA_URI = re.compile(r"data:[a-z/+]+;base64,[A-Za-z0-9+/=]+")


def unreadable(text: str) -> list[str]:
    """Each unreadable figure in ``text`` (images left out), with a little context."""
    text = _DATA_URI.sub("", text)
    found = []
    for what, pattern in UNREADABLE.items():
        for match in pattern.finditer(text):
            start = max(0, match.start() - 40)
            found.append(f"{what}: ...{text[start : match.end() + 20]!r}...")
    return found


def check_readable(answer: Any) -> None:
    """The verdict, the terminal text, the notebook view and the HTML report write every figure
    as a person reads it (:data:`UNREADABLE`)."""
    from simfunnel.present.report import render_html

    texts = {
        "verdict": answer.verdict,
        "text": answer.text(),
        "notebook": answer._repr_html_(),
        "report": render_html(answer.report()),
    }
    problems = [f"{name}: {p}" for name, text in texts.items() for p in unreadable(text)]
    assert not problems, "\n".join(problems[:20])
