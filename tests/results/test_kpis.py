"""The KPI registry and the report cannot drift: every key a bundled scenario's report has is in
the registry exactly once, every registry entry turns up in some report, the terminal formats by
the registry's unit, and docs/results.md shows the table rendered from it."""

from __future__ import annotations

import math
import sys
from functools import cache
from typing import Any

import pytest
from conftest import ROOT, SCENARIOS

import simfunnel
from simfunnel.model import END_STATES
from simfunnel.results import KPI, KPIS, SECTION_TITLES, Unit, find_kpi, kpi, section_kpis
from simfunnel.results import kpi_text as fmt
from simfunnel.results.run_kpis import REPORT_SECTIONS, TOTAL_KEYS
from simfunnel.scenario import Currency, load_scenario, with_overrides

sys.path.insert(0, str(ROOT / "tools"))  # the docs generators are developer tooling
from kpidoc import kpi_table, replace_kpi_table

DOCS = ROOT / "docs" / "results.md"


@cache
def report(path_name: str) -> dict[str, Any]:
    """A short run of a bundled scenario (16 weeks, dated bursts dropped to fit), its report."""
    scenario = load_scenario(ROOT / "scenarios" / path_name)
    overrides: dict[str, Any] = {"horizon": "16 weeks"}
    for i, source in enumerate(scenario.sources):
        if source.bursts:
            overrides[f"sources.{i}.bursts"] = []
    return simfunnel.simulate(with_overrides(scenario, overrides), seed=1).to_dict()


def sections(d: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The report's KPI sections (the run's name, seed and dates left out)."""
    return {name: value for name, value in d.items() if isinstance(value, dict)}


def matches(entry: KPI, section: str, name: str) -> bool:
    return entry.section == section and (entry.pattern or entry.name == name)


@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: p.stem)
def test_every_report_key_has_exactly_one_entry(path: Any) -> None:
    d = sections(report(path.name))
    assert list(d) == list(SECTION_TITLES)
    for section, values in d.items():
        for name in values:
            found = [k for k in KPIS.values() if matches(k, section, name)]
            assert len(found) == 1, f"{section}.{name}: {len(found)} registry entries"
            assert kpi(section, name) is found[0]


def test_every_entry_turns_up_in_some_report() -> None:
    keys = {
        (s, n) for p in SCENARIOS for s, values in sections(report(p.name)).items() for n in values
    }
    for entry in KPIS.values():
        assert any(matches(entry, s, n) for s, n in keys), f"{entry.key}: in no bundled report"


def test_registry_order_is_the_report_order() -> None:
    """The docs table and the terminal read the same order as the report."""
    d = sections(report("mixed_inbound_outbound.yaml"))
    for section, values in d.items():
        entries = section_kpis(section)
        if not any(k.pattern for k in entries):
            assert [k.name for k in entries] == list(values), section


def test_entries_are_complete() -> None:
    assert tuple(SECTION_TITLES) == REPORT_SECTIONS
    assert tuple(k.name for k in section_kpis("totals")) == TOTAL_KEYS
    assert tuple(k.name for k in section_kpis("end_states")) == END_STATES
    for key, entry in KPIS.items():
        assert key == entry.key
        assert entry.section in SECTION_TITLES
        assert isinstance(entry.unit, Unit)
        assert entry.label.strip() and entry.meaning.strip(), key
        assert "{" not in entry.key + entry.label + entry.meaning, key  # templates all filled
    for section in SECTION_TITLES:
        entries = section_kpis(section)
        # A section is either open (one pattern entry: names the scenario chooses) or closed.
        assert len(entries) == 1 or not any(k.pattern for k in entries), section


def test_lookups() -> None:
    assert kpi("totals", "sqls").label == "SQLs"
    assert kpi("leads_by_source", "web_form").key == "leads_by_source.<source>"
    assert kpi("lost_reasons", "price").unit is Unit.COUNT
    with pytest.raises(KeyError, match=r"no KPI totals\.nope"):
        kpi("totals", "nope")
    assert find_kpi("sdr") is KPIS["utilisation.sdr"]
    assert find_kpi("won") is KPIS["totals.won"]  # a bare name: the first section that has it
    assert find_kpi("won", "end_states") is KPIS["end_states.won"]
    assert find_kpi("web_form") is None
    assert find_kpi("web_form", "leads_by_source") is KPIS["leads_by_source.<source>"]


@pytest.mark.parametrize(
    ("value", "key", "section", "shown"),
    [
        (0.5, "within_1h", "speed_to_lead", " 50.0%"),
        (0.25, "sdr", None, " 25.0%"),
        (0.2, "median_h", "speed_to_lead", "12 min"),
        (0.015, "median_h", "speed_to_lead", "54 s"),
        (5.4, "ae_mean_wait_h", None, "5.4 h"),
        (1234567.8, "won_value", "totals", "€1,234,568"),
        (1234.56, "sdr_overtime_hours", "teams", "1,234.6"),  # hours of work, not a wait
        (12.34, "mean", "backlog", "12.3"),
        (1234, "mqls", "totals", "1,234"),
        (12.6, "web_form", "leads_by_source", "13"),  # a mean of counts, rounded to read
        (math.nan, "win_rate", "rates", "n/a"),
        (None, "win_rate", "rates", "n/a"),
    ],
)
def test_terminal_formats_by_unit(value: Any, key: str, section: str | None, shown: str) -> None:
    assert fmt(value, key, section, currency=Currency(code="EUR")) == shown


def test_money_without_a_currency_says_so_rather_than_pass_for_a_count() -> None:
    assert fmt(1234.0, "won_value", "totals") == "1,234 (currency not known)"


def test_docs_table_is_the_registry() -> None:
    page = DOCS.read_text(encoding="utf-8")
    assert page == replace_kpi_table(page), (
        "docs/results.md's KPI table is not the registry's: render it again with\nmake docs"
    )
    table = kpi_table()
    for entry in KPIS.values():
        assert f"| `{entry.key}` | {entry.unit} |" in table
