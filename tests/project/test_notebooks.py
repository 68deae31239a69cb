"""Every notebook runs top to bottom in the project's venv, and none is committed with outputs."""

from __future__ import annotations

import sys

import nbclient  # in the dev extra: a missing runner must fail the suite, not skip it
import nbformat
import pytest
from answer_checks import unreadable
from conftest import ROOT

NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
EXPECTED = {
    "01_quickstart",
    "02_mql_threshold",
    "03_size_the_team",
    "04_calibrate_and_backtest",
    "05_forecast",
}


def test_the_notebooks_are_there() -> None:
    assert {p.stem for p in NOTEBOOKS} >= EXPECTED


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_has_no_outputs(path) -> None:
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "code":
            assert cell.outputs == [], f"cell {i} has outputs: strip them"
            assert cell.execution_count is None, f"cell {i} has an execution count"
    # A story, not a script: markdown between the code.
    kinds = [c.cell_type for c in nb.cells]
    assert kinds[0] == "markdown" and kinds.count("markdown") >= 4


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs_top_to_bottom(path) -> None:
    nb = nbformat.read(path, as_version=4)
    # A last cell (not saved) reports which Python ran the kernel: it must be this venv's.
    nb.cells.append(nbformat.v4.new_code_cell("import sys\nprint(sys.prefix)"))
    client = nbclient.NotebookClient(
        nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(ROOT)}}
    )
    client.execute()  # raises CellExecutionError, naming the cell, if any cell fails
    errors = [
        out
        for cell in nb.cells
        if cell.cell_type == "code"
        for out in cell.outputs
        if out.output_type == "error"
    ]
    assert errors == []
    printed = "".join(o.get("text", "") for o in nb.cells[-1].outputs).strip()
    assert printed == sys.prefix
    # What a reader sees: every figure written for a person (answer_checks.UNREADABLE).
    problems = [
        f"cell {i}: {p}"
        for i, cell in enumerate(nb.cells)
        if cell.cell_type == "code"
        for out in cell.outputs
        for p in unreadable(_shown(out))
    ]
    assert not problems, "\n".join(problems[:20])


def _shown(output: dict) -> str:
    """The text a reader sees of one output: printed text, or its HTML or plain text view."""
    if output.get("output_type") == "stream":
        return str(output.get("text", ""))
    data = output.get("data", {})
    shown = data.get("text/html") or data.get("text/plain") or ""
    return "".join(shown) if isinstance(shown, list) else str(shown)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_sliders_run_on_release_not_on_every_step(path) -> None:
    """A slider that starts a simulation at every step of a drag queues runs nobody asked for."""
    nb = nbformat.read(path, as_version=4)
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "code" and "Slider(" in cell.source:
            sliders = cell.source.count("Slider(")
            assert cell.source.count("continuous_update=False") == sliders, f"cell {i}"
