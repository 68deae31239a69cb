"""Calibration: reading exports (mappings, dates, bad rows) and the simulate -> export -> fit
round trip, with tolerances of four standard errors from each estimate's sample size."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from conftest import KNOWN
from scipy import stats

import simfunnel
from simfunnel.calibration import (
    CalibrationError,
    fit,
    fit_durations,
    kaplan_meier,
    read_calls,
    read_leads,
    read_opportunities,
    wilson_interval,
)
from simfunnel.results import write_exports
from simfunnel.scenario import scenario_from_dict

Z = 4.0  # standard errors: a fixed-seed check that fails by chance about once in 16,000
WEEKS = 52


@pytest.fixture(scope="module")
def exported(tmp_path_factory) -> dict[str, Path]:
    result = simfunnel.simulate(scenario_from_dict(KNOWN), seed=11, trace=True)
    return write_exports(result, tmp_path_factory.mktemp("export"), style="salesforce")


@pytest.fixture(scope="module")
def calibration(exported):
    return fit(
        exported["leads"],
        exported["calls"],
        exported["opportunities"],
        style="salesforce",
        start="2026-01-05",
        as_of="2027-01-04",
    )


def _param(cal, name: str):
    return cal.parameters.set_index("parameter").loc[name]


def test_round_trip_arrivals_and_mql_share(calibration) -> None:
    arrivals = calibration.arrivals.set_index("source")
    for source in KNOWN["sources"]:
        rate = source["rate_per_week"]
        got = arrivals.loc[source["name"], "rate_per_week"]
        tol = Z * math.sqrt(rate * WEEKS) / WEEKS
        print(f"{source['name']}: rate {got:.2f}/week, known {rate}, tolerance {tol:.2f}")
        assert abs(got - rate) <= tol
        # MQL share given the threshold: P(score >= 55) for a normal score.
        p = stats.norm.sf(55, source["score"]["mean"], source["score"]["sd"])
        row = calibration.conversion.query("stage == 'lead->mql' and source == @source['name']")
        n, share = int(row["n"].iloc[0]), float(row["rate"].iloc[0])
        tol = Z * math.sqrt(p * (1 - p) / n)
        print(f"{source['name']}: MQL share {share:.4f}, known {p:.4f}, tolerance {tol:.4f}")
        assert abs(share - p) <= tol
    assert _param(calibration, "scoring.threshold")["value"] == 55


def test_round_trip_calls(calibration) -> None:
    """Connect rate per dial, contact rate per connect, qualification per contact; the cadence."""
    p = calibration.parameters.set_index("parameter")
    by = calibration.by_attempt
    dials, connects = by["dials"].sum(), by["connects"].sum()
    contacts = by["contacts"].sum()
    for name, known, n in (
        ("cadence.connect_probability", 0.4, dials),
        ("cadence.contact_probability", 0.5, connects),
        ("outcomes.probabilities.qualified", 0.4, contacts),
    ):
        got = p.loc[name, "value"]
        tol = Z * math.sqrt(known * (1 - known) / n)
        print(f"{name}: {got:.4f}, known {known}, n {n}, tolerance {tol:.4f}")
        assert abs(got - known) <= tol
    assert calibration.scenario_dict()["cadence"]["max_attempts"] == 6
    # Default gaps 1, 2, 2, 3, 4 days: the median observed gap, in whole days.
    assert calibration.scenario_dict()["cadence"]["gaps"] == [
        "24 h",
        "48 h",
        "48 h",
        "72 h",
        "96 h",
    ]


def test_round_trip_ae_stage(calibration) -> None:
    conv = calibration.conversion.set_index(["stage", "source"])
    for stage, known in (("sql->opportunity", 0.75), ("opportunity->won", 0.3)):
        n, got = conv.loc[(stage, "all"), "n"], conv.loc[(stage, "all"), "rate"]
        tol = Z * math.sqrt(known * (1 - known) / n)
        print(f"{stage}: {got:.4f}, known {known}, n {n}, tolerance {tol:.4f}")
        assert abs(got - known) <= tol
    # Sales-cycle median with censoring: log-median error within Z sigma / sqrt(events).
    cycle = calibration.durations.query("stage == 'sales_cycle' and chosen").iloc[0]
    sigma = math.log(90 / 45) / stats.norm.ppf(0.9)
    tol = Z * sigma / math.sqrt(cycle["events"])
    print(
        f"sales cycle: {cycle['dist']} median {cycle['median']:.1f} days "
        f"({cycle['median_low']:.1f}-{cycle['median_high']:.1f}), Kaplan-Meier "
        f"{cycle['km_median']:.1f}, known 45; {cycle['events']} closed of {cycle['n']}; "
        f"log tolerance {tol:.3f}; KS {cycle['ks']:.3f}"
    )
    assert cycle["n"] > cycle["events"]  # open opportunities were censored, not dropped
    assert abs(math.log(cycle["median"] / 45)) <= tol
    # The sample median's standard error is sqrt(pi / 2) times the MLE's.
    assert abs(math.log(cycle["km_median"] / 45)) <= tol * math.sqrt(math.pi / 2)
    value = calibration.deal_values.iloc[0]
    sigma_v = math.log(30000 / 12000) / stats.norm.ppf(0.9)
    tol_v = Z * sigma_v / math.sqrt(value["n"])
    print(f"deal value: {value['dist']} median {value['median']:.0f}, known 12000")
    assert abs(math.log(value["median"] / 12000)) <= tol_v


def test_fitted_scenario_is_written_commented_and_runs(calibration, tmp_path) -> None:
    path = calibration.write_scenario(tmp_path / "fitted.yaml")
    text = path.read_text()
    assert "# FITTED cadence.connect_probability = " in text
    assert "(95% " in text
    assert "# ASSUMPTION sdr.headcount" in text
    assert "# ASSUMPTION ae.team = unlimited" in text
    scenario = simfunnel.load_scenario(path)
    assert scenario.start_date.isoformat() == "2027-01-04"
    result = simfunnel.simulate(scenario, seed=1)
    assert result.totals["sqls"] > 0


def test_calibration_report_is_saved_to_disk(calibration, tmp_path) -> None:
    """Calibration.save: the fitted tables as CSVs, a survival plot per stage, the scenario."""
    import pandas as pd

    paths = calibration.save(tmp_path / "report")
    print()
    for name, path in paths.items():
        print(f"{name}: {path.name} ({path.stat().st_size} bytes)")
    for name in ("arrivals", "conversion", "durations", "deal_values", "parameters", "report"):
        assert paths[f"{name}.csv"] == tmp_path / "report" / f"{name}.csv"
        back = pd.read_csv(paths[f"{name}.csv"])
        table = calibration.problems if name == "report" else getattr(calibration, name)
        assert list(back.columns) == list(table.columns)
        assert len(back) == len(table)
    arrivals = pd.read_csv(paths["arrivals.csv"]).set_index("source")
    assert arrivals.loc["web", "rate_per_week"] == pytest.approx(
        calibration.arrivals.set_index("source").loc["web", "rate_per_week"]
    )
    assert len(pd.read_csv(paths["report.csv"])) == len(calibration.problems)
    for stage in ("sales_cycle", "meeting_delay"):
        png = paths[f"survival_{stage}.png"]
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert {"by_attempt.csv", "score_curve.csv", "survival.csv", "verdict.txt"} <= set(paths)
    scenario = simfunnel.load_scenario(paths["scenario.yaml"])
    assert scenario.start_date.isoformat() == "2027-01-04"
    assert "# FITTED cadence.connect_probability" in paths["scenario.yaml"].read_text()


# --------------------------------------------------------------------------- reading


LEADS = """Record ID,Create Date,Original Source,HubSpot Score,Became a Marketing Qualified Lead Date,Became a Sales Qualified Lead Date,Became an Opportunity Date,Became a Customer Date,Closed Lost Date,Amount,Lead Status
1,{d1},web,70,{d1},,,,,,working
2,{d2},web,40,,,,,,,nurture
3,not a date,web,80,,,,,,,nurture
4,{d1},web,eighty,{d1},{d0},,,,,sql
5,{d1},web,90,{d1},{d2},{d2},{d2},{d2},100,won
,{d1},web,90,,,,,,,nurture
1,{d2},web,60,{d2},,,,,,working
"""


def _write(path: Path, d0: str, d1: str, d2: str) -> Path:
    path.write_text(LEADS.format(d0=d0, d1=d1, d2=d2))
    return path


def test_bad_rows_are_reported_with_line_and_reason(tmp_path) -> None:
    table = read_leads(_write(tmp_path / "l.csv", "2026-01-01", "2026-01-05 09:30", "2026-01-20"))
    report = table.report
    by_line = {int(r.line): r for r in report.dropna(subset=["line"]).itertuples()}
    assert table.rows_read == 7
    assert list(table.data["lead_id"]) == ["1", "2"]
    assert table.excluded == 5
    assert by_line[4].problem == "unparseable date" and by_line[4].value == "not a date"
    assert report.query("line == 5 and problem == 'not a number'")["action"].item() == "blanked"
    assert (
        "out of order: SQL date before created date"
        in report.query("line == 5 and action == 'excluded'")["problem"].item()
    )
    assert report.query("line == 6")["problem"].item() == "both won and lost dates"
    assert report.query("line == 7")["problem"].item() == "blank"
    assert report.query("line == 8")["problem"].item() == "duplicate id (first on line 2)"
    assert table.summary()["rows"].sum() == len(report)


@pytest.mark.parametrize(
    ("dates", "expected", "first"),
    [
        (("2026-01-01", "2026-01-05 09:30", "2026-01-20"), "iso", "2026-01-05 09:30"),
        (("01/01/2026", "13/01/2026 09:30", "20/01/2026"), "day-first", "2026-01-13 09:30"),
        (("01/01/2026", "01/13/2026 09:30", "01/20/2026"), "month-first", "2026-01-13 09:30"),
        (("01.01.26", "13.01.26", "20.01.26"), "day-first", "2026-01-13 00:00"),
    ],
)
def test_date_formats_are_detected_and_reported(tmp_path, dates, expected, first) -> None:
    table = read_leads(_write(tmp_path / "l.csv", *dates))
    assert table.date_format.startswith(f"{expected} (detected")
    assert f"{table.data['created'].iloc[0]:%Y-%m-%d %H:%M}" == first


def test_ambiguous_dates_are_flagged_and_a_stated_format_wins(tmp_path) -> None:
    path = _write(tmp_path / "l.csv", "01/01/2026", "02/01/2026", "03/01/2026")
    # No day above 12: day-first and month-first read every value, differently. A guess would
    # move dates by months, so the reader refuses and asks for the format.
    with pytest.raises(CalibrationError) as err:
        read_leads(path)
    message = str(err.value)
    assert message.startswith(f"{path}: the dates are ambiguous")
    assert "'02/01/2026' is 2 January 2026 or 1 February 2026" in message
    assert "--date-format" in message and "\n" not in message
    stated = read_leads(path, date_format="dayfirst")
    assert stated.date_format == "day-first (stated)"
    assert f"{stated.data['created'].iloc[0]:%Y-%m-%d}" == "2026-01-02"
    explicit = read_leads(path, date_format="%d/%m/%Y")
    assert f"{explicit.data['created'].iloc[0]:%Y-%m-%d}" == "2026-01-02"


def test_missing_columns_name_file_column_and_field(tmp_path) -> None:
    path = tmp_path / "l.csv"
    path.write_text("Record ID,Created\n1,2026-01-01\n")
    with pytest.raises(CalibrationError) as err:
        read_leads(path)
    message = str(err.value)
    assert message.startswith(f"{path}: missing column 'Create Date' (created)")
    assert "\n" not in message
    # A mapping names the column instead.
    table = read_leads(path, mapping={"created": "Created"})
    assert len(table.data) == 1
    mapping_file = tmp_path / "map.yaml"
    mapping_file.write_text("leads:\n  created: Created\n")
    assert len(read_leads(path, mapping=mapping_file).data) == 1
    with pytest.raises(CalibrationError, match="no such file"):
        read_leads(tmp_path / "nope.csv")
    with pytest.raises(CalibrationError, match=r"unknown field\(s\) creatd"):
        read_leads(path, mapping={"creatd": "Created"})


def test_bad_calls_and_opportunities(tmp_path) -> None:
    calls = tmp_path / "c.csv"
    calls.write_text(
        "Associated Contact ID,Activity Date,Call Outcome,Call Duration (seconds)\n"
        "1,2026-01-05 10:00,No answer,30\n"
        "1,2026-01-06 10:00,Sent fax,30\n"
        "1,yesterday,Connected,abc\n"
        "2,2026-01-06 11:00,Left live message,40\n"
    )
    table = read_calls(calls)
    assert len(table.data) == 1
    assert table.report.query("line == 3")["problem"].item().startswith("unknown call outcome")
    assert table.report.query("line == 4 and action == 'excluded'")["problem"].item() == (
        "unparseable date"
    )
    mapped = read_calls(calls, mapping={"outcomes": {"connect": ["Left live message"]}})
    assert list(mapped.data["outcome"]) == ["no_answer", "connect"]
    opps = tmp_path / "o.csv"
    opps.write_text(
        "Deal ID,Create Date,Close Date,Deal Stage,Amount\n"
        "A,2026-01-05,2026-02-01,closedwon,10\n"
        "B,2026-01-05,2025-12-01,closedlost,10\n"
        "C,2026-01-05,,open,10\n"
    )
    o = read_opportunities(opps)
    assert list(o.data["won"].astype(object).fillna("open")) == [True, "open"]
    assert "close date before created date" in o.report.query("line == 3")["problem"].item()


# --------------------------------------------------------------------------- estimators


def test_kaplan_meier_by_hand() -> None:
    """Times 1, 2+, 3, 3, 4+: S(1) = 4/5, S(3) = 4/5 x 1/3."""
    km = kaplan_meier([1, 2, 3, 3, 4], [True, False, True, True, False])
    assert list(km["time"]) == [1, 3]
    assert list(km["at_risk"]) == [5, 3]
    assert km["survival"].tolist() == pytest.approx([0.8, 0.8 / 3])
    # Greenwood: var S(3) = S(3)^2 (1 / (5 x 4) + 2 / (3 x 1)).
    assert km["se"].iloc[1] == pytest.approx(0.8 / 3 * math.sqrt(1 / 20 + 2 / 3))
    assert kaplan_meier([1.0, 2.0], [False, False]).empty  # nothing ended: no curve to draw


def test_censored_fit_recovers_a_weibull() -> None:
    """Weibull data censored at a fixed time: the censored likelihood finds the shape."""
    rng = np.random.default_rng(5)
    t = stats.weibull_min(2.5, scale=30).rvs(2000, random_state=rng)
    e = t < 35
    table = fit_durations(np.minimum(t, 35), e)
    best = table.iloc[0]
    assert best["dist"] == "weibull"
    true_median = 30 * math.log(2) ** (1 / 2.5)
    assert best["median_low"] <= true_median <= best["median_high"]


def test_wilson_interval_known_value() -> None:
    low, high = wilson_interval(0, 10)
    assert low == pytest.approx(0.0, abs=1e-12)
    assert high == pytest.approx(0.2775, abs=1e-4)


def test_a_fixed_duration_and_an_empty_share_are_reported_as_they_are() -> None:
    from simfunnel.calibration import fit_durations, wilson_interval

    fits = fit_durations([2.0] * 40 + [1.0] * 3, [True] * 40 + [False] * 3)
    (row,) = fits.itertuples()
    assert (row.dist, row.median, row.cv, row.chosen) == ("fixed", 2.0, 0.0, True)
    low, high = wilson_interval([0, 5], [20, 5])
    assert low[0] == 0.0 and high[1] == 1.0 and 0 < high[0] < 0.2 and 0.5 < low[1] < 1


def test_figures_in_the_fitted_yaml_comments_never_use_scientific_notation() -> None:
    """'5.425e-36 (95% 5.425e-36 to 5.425e-36)' was a figure nobody could place."""
    from simfunnel.calibration.records import fmt

    assert [fmt(x, 4) for x in (5.425e-36, 0.3341, 1.23e7, 0.0, float("nan"))] == [
        "< 0.0001",
        "0.3341",
        "12,300,000",
        "0",
        "n/a",
    ]
