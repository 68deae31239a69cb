"""The KPI registry as the reference table of docs/results.md: rendered here, so that the page
cannot drift from ``simfunnel/results/kpis.py`` (``tests/results/test_kpis.py`` checks the committed
page against it). ``make docs`` (``python tools/kpidoc.py``) renders the page again.
"""

from __future__ import annotations

from pathlib import Path

from simfunnel.results.kpis import KPIS, UNIT_MEANINGS

_TABLE_START = "<!-- KPI table: generated from simfunnel/results/kpis.py (make docs) -->"
_TABLE_END = "<!-- end of KPI table -->"
_RUN_ROW = (
    "| `scenario`, `seed`, `start_date`, `weeks` | | | what was run; the seed replays it exactly |"
)


def kpi_table() -> str:
    """The KPI report's reference for docs/results.md: the units, then one row per registry
    entry with its label (the words a reader sees) and its meaning."""

    def cell(text: str) -> str:
        return text.replace("|", "\\|")

    lines = ["Units:", ""]
    lines += [f"- `{unit}`: {meaning}" for unit, meaning in UNIT_MEANINGS.items()]
    lines += ["", "| key | unit | label | meaning |", "|---|---|---|---|", _RUN_ROW]
    lines += [
        f"| `{k.key}` | {k.unit} | {cell(k.label)} | {cell(k.meaning)} |" for k in KPIS.values()
    ]
    return "\n".join(lines)


def replace_kpi_table(page: str) -> str:
    """A docs page with its generated KPI table (between the markers) rendered anew."""
    head, found, rest = page.partition(_TABLE_START + "\n")
    _, found_end, tail = rest.partition(_TABLE_END)
    if not found or not found_end:
        raise ValueError(f"the page lacks the markers {_TABLE_START!r} ... {_TABLE_END!r}")
    return f"{head}{_TABLE_START}\n{kpi_table()}\n{_TABLE_END}{tail}"


def update_page(path: Path | str = Path("docs/results.md")) -> None:
    """Write the page again with its KPI table rendered from the registry (a developer's step)."""
    path = Path(path)
    path.write_text(replace_kpi_table(path.read_text(encoding="utf-8")), encoding="utf-8")


if __name__ == "__main__":
    update_page(Path(__file__).resolve().parent.parent / "docs" / "results.md")
    print("wrote docs/results.md")
