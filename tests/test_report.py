"""The HTML report: valid, self-contained HTML5 with every section in order, one embedded PNG
per chart, every text escaped, and the scenario at the end reading back to the same scenario."""

from __future__ import annotations

import base64
import html
import re
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import ROOT

import simfunnel
from simfunnel.experiments import scenario_to_dict, with_overrides
from simfunnel.report import SECTIONS, build_report, write_report
from simfunnel.scenario import scenario_from_dict

VOID = {"meta", "img", "br", "hr", "link", "input", "source", "col", "area", "base", "wbr"}


class Checker(HTMLParser):
    """Nesting, ids, images and anything that would need the network or a script."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.errors: list[str] = []
        self.ids: list[str] = []
        self.images: list[str] = []
        self.tags: list[str] = []
        self.decl: str | None = None
        self.pre: list[str] = []
        self._in_pre = False

    def handle_decl(self, decl: str) -> None:
        self.decl = decl

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        a = dict(attrs)
        if "id" in a:
            self.ids.append(str(a["id"]))
        if tag == "img":
            self.images.append(str(a.get("src")))
        for name in ("src", "href"):
            if name in a and not str(a[name]).startswith("data:"):
                self.errors.append(f"external {name}: {a[name]}")
        if any(k.startswith("on") for k in a):
            self.errors.append(f"event handler on <{tag}>")
        if tag == "pre":
            self._in_pre = True
        if tag not in VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag == "pre":
            self._in_pre = False
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> closes {self.stack[-1:]}")
        else:
            self.stack.pop()

    def handle_data(self, data: str) -> None:
        if self._in_pre:
            self.pre.append(data)


def check(text: str) -> Checker:
    parser = Checker()
    parser.feed(text)
    parser.close()
    assert parser.decl is not None and parser.decl.lower() == "doctype html"
    assert parser.errors == []
    assert parser.stack == []
    assert "script" not in parser.tags
    assert parser.tags[:2] == ["html", "head"]
    return parser


@pytest.fixture(scope="module")
def short() -> simfunnel.Scenario:
    scenario = simfunnel.load_scenario(ROOT / "scenarios" / "inbound_saas.yaml")
    return with_overrides(scenario, {"horizon": "13 weeks", "sources.2.bursts": []})


@pytest.fixture(scope="module")
def objects(short: simfunnel.Scenario) -> dict[str, Any]:
    """One of every kind of object a report is written for, small and fast."""
    mixed = simfunnel.load_scenario(ROOT / "scenarios" / "mixed_inbound_outbound.yaml")
    hiring = with_overrides(short, {"horizon": "12 weeks"})
    return {
        "run": simfunnel.simulate(short, seed=1),
        "run_mixed": simfunnel.simulate(mixed, seed=1),
        "thresholds": simfunnel.compare_thresholds(
            short, [50, 70], reps=4, workers=2, progress=False
        ),
        "sizing": simfunnel.size_team(
            short, "sdr", ["speed_to_lead_1h>=0.7", "valid_opps_per_month>=100"], reps=4, workers=2
        ),
        "hiring": simfunnel.hiring_plan(
            hiring,
            {"2026-02": 1.5},
            "sdr",
            ["sdr_utilisation<=0.85"],
            reps=4,
            workers=2,
            month_weeks=2,
        ),
        "forecast": simfunnel.forecast(short, weeks=8, reps=6, workers=2, progress=False),
    }


@pytest.mark.parametrize("kind", ["run", "run_mixed", "thresholds", "sizing", "hiring", "forecast"])
def test_report_is_valid_self_contained_html(kind: str, objects: dict[str, Any], tmp_path: Path):
    obj = objects[kind]
    path = write_report(obj, tmp_path / "out" / "report.html")
    text = path.read_text(encoding="utf-8")
    parser = check(text)
    # Every section, in the order a reader needs them: the verdict first, the scenario last.
    positions = [parser.ids.index(s) for s in SECTIONS]
    assert positions == sorted(positions)
    content = build_report(obj)
    assert len(content.charts) >= 1
    assert len(parser.images) == len(content.charts)
    for src in parser.images:
        data = base64.b64decode(src.removeprefix("data:image/png;base64,"), validate=True)
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 10_000
    # The verdict comes first, as written by the object.
    first = re.search(r'<section id="verdict">.*?<p>(.*?)</p>', text, re.S)
    assert first is not None and html.unescape(first.group(1)) == content.verdict[0]
    # The assumptions: the scenario as YAML, which reads back to the same scenario.
    data = yaml.safe_load("".join(parser.pre))
    assert data == scenario_to_dict(content.scenario)
    assert scenario_from_dict(data, "report") == content.scenario
    print(f"{kind}: {len(text):,} characters, {len(parser.images)} images, ids {parser.ids}")


def test_threshold_report_has_intervals_and_the_gap(objects: dict[str, Any], tmp_path: Path):
    comparison = objects["thresholds"]
    text = write_report(comparison, tmp_path / "t.html").read_text()
    # The KPI table: a mean with its interval, and a paired change with its interval.
    assert re.search(r"<td>\d[\d,.]* \(\d[\d,.]* to \d[\d,.]*\)</td>", text)
    assert re.search(r"<td>[+-]\d[\d,.]* \([+-]?\d[\d,.]* to [+-]?\d[\d,.]*\)</td>", text)
    assert "(current)" in text
    assert len(build_report(comparison).charts) == 6  # four KPIs, the trade-off, the gap


def test_forecast_report_shows_the_band(objects: dict[str, Any], tmp_path: Path) -> None:
    text = write_report(objects["forecast"], tmp_path / "f.html").read_text()
    assert "80% range (P10 to P90)" in text


def test_every_text_is_escaped(objects: dict[str, Any], tmp_path: Path) -> None:
    title = '<script>alert("x")</script> & <b>'
    text = write_report(objects["run"], tmp_path / "x.html", title=title).read_text()
    check(text)
    assert "<script" not in text
    assert html.escape(title) in text


def test_unknown_object_is_refused(tmp_path: Path) -> None:
    with pytest.raises(TypeError, match="write_report takes a SimulationResult"):
        write_report({"not": "a result"}, tmp_path / "x.html")
