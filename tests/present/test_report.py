"""The HTML report: valid, self-contained HTML5 with every section in order, one embedded PNG
per chart, every text escaped, and the scenario at the end reading back to the same scenario.
Runs, decisions, and a calibration and a backtest on a small synthetic CRM export."""

from __future__ import annotations

import base64
import html
import re
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import yaml
from conftest import KNOWN, ROOT

import simfunnel
from simfunnel.calibration import STAGES, backtest, fit
from simfunnel.present import SECTIONS, build_report, write_report
from simfunnel.results import write_exports
from simfunnel.scenario import scenario_from_dict, with_overrides

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


# Half a year of a small known funnel (60 leads a week, two SDRs): fast to simulate and to fit.
CRM = dict(
    KNOWN,
    name="small crm",
    horizon="26 weeks",
    sources=[
        {"name": "web", "rate_per_week": 40, "score": {"mean": 50, "sd": 15}},
        {"name": "event", "rate_per_week": 20, "score": {"mean": 58, "sd": 12}},
    ],
    sdr={"headcount": 2},
)
BAD_ROWS = 3  # appended to the lead export: two excluded, one with a value blanked


@pytest.fixture(scope="module")
def crm(tmp_path_factory) -> dict[str, Path]:
    """The synthetic exports of a traced run, with a few bad lead rows appended."""
    run = simfunnel.simulate(scenario_from_dict(CRM), seed=3, trace=True)
    paths = write_exports(run, tmp_path_factory.mktemp("crm"))
    leads = pd.read_csv(paths["leads"], dtype=str, keep_default_na=False)
    first = leads.iloc[0]
    bad = pd.DataFrame([first, first, first])
    bad.iloc[1, bad.columns.get_loc("Record ID")] = "900001"
    bad.iloc[1, bad.columns.get_loc("Create Date")] = "not a date"
    bad.iloc[2, bad.columns.get_loc("Record ID")] = "900002"
    bad.iloc[2, bad.columns.get_loc("Amount")] = "n/a"
    pd.concat([leads, bad]).to_csv(paths["leads"], index=False)
    return paths


@pytest.fixture(scope="module")
def objects(short: simfunnel.Scenario, crm: dict[str, Path]) -> dict[str, Any]:
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
        "experiment": simfunnel.run(short, reps=3, workers=2, progress=False),
        "variants": simfunnel.run_variants(
            short, {"now": {}, "one more SDR": {"sdr.headcount": 3}}, reps=3, workers=2,
            progress=False,
        ),
        "calibration": fit(
            crm["leads"], crm["calls"], crm["opportunities"], start="2026-01-05",
            as_of="2026-07-06",
        ),
        "backtest": backtest(
            crm["leads"], "2026-05-04", 8, crm["calls"], crm["opportunities"],
            start="2026-01-05", reps=5, workers=2,
        ),
    }  # fmt: skip


KINDS = [
    "run",
    "run_mixed",
    "thresholds",
    "sizing",
    "hiring",
    "forecast",
    "experiment",
    "variants",
    "calibration",
    "backtest",
]


@pytest.mark.parametrize("kind", KINDS)
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
    # Exec-first: the tiles, then what to do / why / what could go wrong, then the paragraphs.
    verdict = text[text.index('<section id="verdict">') : text.index('<section id="charts">')]
    for tile in content.key_tiles():
        assert html.escape(tile.value) in verdict
    # Three short points (a run without its diagnosis has two: the CLI adds where to look).
    assert 2 <= len(content.points) <= 4, content.points
    for heading, said in content.points:
        assert heading and 20 < len(said) < 600, (heading, said)
        assert f"<li><strong>{html.escape(heading)}:</strong> {html.escape(said)}</li>" in verdict
    first = re.search(r"<h2>Verdict</h2>.*?<p[^>]*>(.*?)</p>", verdict, re.S)
    assert first is not None and html.unescape(first.group(1)) == content.verdict[0]
    # The assumptions: the scenario as YAML, which reads back to the same scenario (durations
    # with no short exact form are shown in their unit to six digits, e.g. '48 s', '49.61 days').
    data = yaml.safe_load("".join(parser.pre))
    assert not [v for v in _leaves(data) if re.fullmatch(r"\d+\.\d{4,} h", str(v))]
    shown = _leaves(scenario_from_dict(data, "report").model_dump())
    exact = _leaves(content.scenario.model_dump())
    assert len(shown) == len(exact)
    for a, b in zip(shown, exact, strict=True):
        assert a == (pytest.approx(b, rel=1e-5) if isinstance(b, float) else b)
    print(f"{kind}: {len(text):,} characters, {len(parser.images)} images, ids {parser.ids}")


def _leaves(data: Any) -> list[Any]:
    """Every leaf value of nested dicts and lists, in order (numbers compared approximately)."""
    if isinstance(data, dict):
        return [x for k in data for x in [k, *_leaves(data[k])]]
    if isinstance(data, list | tuple):
        return [x for v in data for x in _leaves(v)]
    return [data]


def test_threshold_report_has_intervals_and_the_gap(objects: dict[str, Any], tmp_path: Path):
    comparison = objects["thresholds"]
    text = write_report(comparison, tmp_path / "t.html").read_text()
    # The KPI table: a mean with its interval, and a paired change with its interval.
    assert re.search(r"<td>\d[\d,.]* \(\d[\d,.]* to \d[\d,.]*\)</td>", text)
    assert re.search(r"<td>[+-]\d[\d,.]* \([+-]?\d[\d,.]* to [+-]?\d[\d,.]*\)</td>", text)
    assert "(today)" in text and "today&#x27;s setting" in text
    # Money in the scenario's currency, with its interval and signed change.
    assert re.search(r"<td>\$[\d.,]+[KM]? \(\$[\d.,]+[KM]? to \$[\d.,]+[KM]?\)</td>", text)
    # Each option against the targets, marked.
    assert "<h3>Targets</h3>" in text and ("\u2713 yes" in text or "\u2717 no" in text)
    assert len(build_report(comparison).charts) == 6  # four KPIs, the trade-off, the gap


def test_forecast_report_shows_the_band(objects: dict[str, Any], tmp_path: Path) -> None:
    text = write_report(objects["forecast"], tmp_path / "f.html").read_text()
    assert "80% range (P10 to P90)" in text


def _section(text: str, name: str) -> str:
    found = re.search(rf'<section id="{name}">(.*?)</section>', text, re.S)
    assert found is not None
    return found.group(1)


def test_calibration_report(objects: dict[str, Any], tmp_path: Path) -> None:
    cal = objects["calibration"]
    content = build_report(cal)
    text = write_report(cal, tmp_path / "c.html").read_text()
    verdict = html.unescape(_section(text, "verdict"))
    print()
    print("\n".join(content.verdict))
    # What was fitted and how well: each source's rate with its interval, the conversions,
    # the sales-cycle fit and its distance to Kaplan-Meier, the rows left out.
    for r in cal.arrivals.itertuples():
        assert re.search(rf"{r.source} {r.rate_per_week:.1f} \(\d+\.\d to \d+\.\d\)", verdict)
    assert "of MQLs became SQLs" in verdict and "of closed deals were won" in verdict
    chosen = cal.durations.query("stage == 'sales_cycle' and chosen").iloc[0]
    assert f"by a {chosen['dist']} with a median of" in verdict
    assert f"at most {chosen['ks']:.3f} from the Kaplan-Meier curve" in verdict
    excluded = sum(t.excluded for t in cal.exports.values())
    assert excluded == 2
    assert (
        f"{excluded:,} were excluded" in verdict
        and "1 unreadable value was blanked and its row kept" in verdict
    )
    # Charts: a survival plot per fitted stage, and the score curve.
    stages = list(cal.survival["stage"].unique())
    assert len(content.charts) == len(stages) + 1 == 3
    assert "score band" in content.charts[-1][0]
    # The key figures: one row per fitted parameter, intervals where it has them.
    kpis = _section(text, "kpis")
    assert len(content.kpis) == len(cal.parameters)
    assert "cadence.connect_probability" in kpis and re.search(r"<td>0\.\d+ to 0\.\d+</td>", kpis)
    # The data-quality report: the exports read, and each problem with its rows and lines.
    files, problems = content.tables[0][2], content.tables[1][2]
    assert list(files["rows excluded"]) == [t.excluded for t in cal.exports.values()]
    rows = problems[problems["action"] != "warning"]
    assert rows["rows"].sum() == BAD_ROWS
    assert set(rows["action"]) == {"excluded", "blanked"}
    # The blanked amount is also a warning: the deal value is fitted on the others.
    (said,) = problems.loc[problems["action"] == "warning", "problem"]
    assert said.startswith("1 amount could not be read") and "fitted on the others" in said
    for problem in problems["problem"]:
        assert html.escape(problem) in kpis
    print(problems.to_string(index=False))
    # Assumptions: the fitted scenario, and each assumption with its basis.
    assert content.scenario == cal.scenario
    assumptions = html.unescape(_section(text, "assumptions"))
    assert "ASSUMPTION sdr.headcount = 2" in assumptions


def test_calibration_without_scores_or_calls_has_no_score_curve(crm, tmp_path: Path) -> None:
    leads = pd.read_csv(crm["leads"], dtype=str, keep_default_na=False)
    path = tmp_path / "leads.csv"
    leads.drop(columns=["HubSpot Score"]).to_csv(path, index=False)
    cal = fit(path, start="2026-01-05", as_of="2026-07-06")
    content = build_report(cal)
    assert cal.score_curve.empty
    assert [c[0].split(" (")[0] for c in content.charts] == ["Sales cycle", "Meeting delay"]
    assert not any("On the phone" in v for v in content.verdict)
    check(write_report(cal, tmp_path / "c.html").read_text())


def test_backtest_report(objects: dict[str, Any], tmp_path: Path) -> None:
    bt = objects["backtest"]
    content = build_report(bt)
    text = write_report(bt, tmp_path / "b.html").read_text()
    verdict = html.unescape(_section(text, "verdict"))
    print()
    print("\n".join(content.verdict))
    # Coverage against nominal first, then per stage the weeks inside and the MAPE.
    n = len(bt.weekly)
    assert f"in {bt.coverage:.0%} of {n} stage-weeks (nominal 80%" in verdict
    for metric, s in bt.summary().set_index("metric").iterrows():
        inside = int(bt.weekly.loc[bt.weekly["metric"] == metric, "inside"].sum())
        assert f"{inside} of {s['weeks']} weeks inside, mean off by {s['mape']:.0%}" in verdict
    # One chart per stage, each the band with the actual weeks, every week on the chart.
    assert len(content.charts) == len(STAGES)
    from matplotlib.figure import Figure

    for (_, draw, _), metric in zip(content.charts, STAGES, strict=True):
        ax = Figure().subplots()
        draw(ax)
        actual = bt.weekly.loc[bt.weekly["metric"] == metric, "actual"]
        assert actual.max() <= ax.get_ylim()[1]
        named = {"mqls": "MQLs", "sqls": "SQLs", "won": "deals won", "lost": "deals lost"}
        assert named.get(metric, metric.replace("_", " ")) in ax.get_title()
    # The summary, one row per stage, with the total's band.
    assert list(content.kpis["stage"]) == ["leads", "MQLs", "SQLs", "valid opportunities",
                                           "deals won", "deals lost"]  # fmt: skip
    assert "80% band of the total" in text
    print(content.kpis.to_string(index=False))
    assert content.scenario == bt.forecast.scenario


def test_backtest_report_by_month(crm: dict[str, Path], tmp_path: Path) -> None:
    bt = backtest(
        crm["leads"], "2026-04-06", 12, crm["calls"], crm["opportunities"],
        start="2026-01-05", reps=3, workers=2, freq="M",
    )  # fmt: skip
    content = build_report(bt)
    parser = check(write_report(bt, tmp_path / "m.html").read_text())
    n = len(bt.monthly)
    print()
    print(content.verdict[0])
    assert f"actual monthly count in {bt.coverage:.0%} of {n} stage-months" in content.verdict[0]
    assert "months inside the band" in content.kpis.columns
    assert len(parser.images) == len(content.charts) == len(STAGES)


def test_every_text_is_escaped(objects: dict[str, Any], tmp_path: Path) -> None:
    title = '<script>alert("x")</script> & <b>'
    text = write_report(objects["run"], tmp_path / "x.html", title=title).read_text()
    check(text)
    assert "<script" not in text
    assert html.escape(title) in text


def test_unknown_object_is_refused(tmp_path: Path) -> None:
    with pytest.raises(TypeError, match="write_report takes a run, a decision"):
        write_report({"not": "a result"}, tmp_path / "x.html")
