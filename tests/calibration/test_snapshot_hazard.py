"""Open MQLs at the cutoff, without a call log: kept in the cadence by the fitted hazard of
converting at their age, not written off by a rule (simfunnel.calibration.snapshot.lead_snapshot)."""

from __future__ import annotations

import math
import re

import numpy as np
import pandas as pd
import pytest

import simfunnel
from simfunnel.calibration import (
    SQLHazard,
    SyntheticExport,
    backtest,
    fit_cohorts,
    lead_snapshot,
    read_leads,
    sql_hazard,
    synthetic_export,
)
from simfunnel.calibration.cohort_forecast import survival
from simfunnel.calibration.pipeline import calendar_days as _calendar_days
from simfunnel.calibration.pipeline import meeting_days as _meeting_days
from simfunnel.calibration.snapshot import snapshot_with_chances as _snapshot
from simfunnel.calibration.synthetic import _draw, _truth

Z = 4.0
CUT = pd.Timestamp("2023-08-01")
CADENCE = 19.0
DATES = ["mql_date", "sql_date", "opportunity_date", "won_date", "lost_date"]
SETTLED = ("recycled", "information_gathering", "postponed", "no_prospect", "do_not_call",
           "cold", "aged_out")  # fmt: skip


def leads_table(n_old: int = 3000, seed: int = 1) -> pd.DataFrame:
    """Open MQLs 20 to 300 days old at the cutoff (no SQL), with the statuses an export
    shows, and a few leads of every other kind: recent MQLs, SQLs, below MQL."""
    rng = np.random.default_rng(seed)
    age = rng.uniform(CADENCE + 1, 300, n_old)
    mql = CUT - pd.to_timedelta(age, unit="D")
    old = pd.DataFrame({
        "created": mql - pd.to_timedelta(rng.uniform(0, 2, n_old), unit="D"),
        "source": rng.choice(["web", "events"], n_old),
        "mql_date": mql,
        "status": rng.choice(["Unqualified", "recycled", "no_prospect", "cold", ""], n_old),
    })  # fmt: skip
    recent = pd.DataFrame({"created": CUT - pd.to_timedelta([2.0, 5.0, 10.0], unit="D"),
                           "source": "web", "status": "Open"})  # fmt: skip
    recent["mql_date"] = recent["created"] + pd.Timedelta(hours=1)
    sqls = pd.DataFrame({"created": CUT - pd.to_timedelta([50.0, 8.0], unit="D"),
                         "source": "events", "status": ""})  # fmt: skip
    sqls["mql_date"] = sqls["created"]
    sqls["sql_date"] = sqls["created"] + pd.Timedelta(days=3)
    below = pd.DataFrame({"created": CUT - pd.to_timedelta([1.0, 90.0], unit="D"),
                          "source": "web", "status": "New"})  # fmt: skip
    table = pd.concat([old, recent, sqls, below], ignore_index=True)
    for col in DATES:
        if col not in table:
            table[col] = pd.NaT
    table["lead_id"] = np.arange(1, len(table) + 1)
    return table


def decaying(age: np.ndarray, source: np.ndarray) -> np.ndarray:
    """A hazard of the cure-model form: pi 0.3 (web) or 0.15, exponential delay of 60 days."""
    pi = np.where(source == "web", 0.3, 0.15)
    s = np.exp(-np.asarray(age, dtype=float) / 60)
    return pi * s / (1 - pi * (1 - s))


def old_rows(table: pd.DataFrame) -> pd.Series:
    return table["rule"].str.contains("by the fitted hazard")


def ages(leads: pd.DataFrame, ids: pd.Series) -> np.ndarray:
    mql = leads.set_index("lead_id").loc[ids, "mql_date"]
    return ((CUT - mql) / pd.Timedelta(days=1)).to_numpy(float)


# --------------------------------------------------------------------------- lead_snapshot


def test_the_number_kept_is_binomial_around_the_hazard() -> None:
    """Each old MQL is kept with probability min(1, p/p_fresh), p_fresh the hazard at age 0
    for a plain callable: the count kept within 4 binomial sd of the sum of those chances.
    Kept leads work with 1 attempt; the rest settle as the old rule settled them."""
    leads = leads_table()
    table = lead_snapshot(leads, CUT, cadence_days=CADENCE, hazard=decaying, seed=3)
    old = table[old_rows(table)]
    assert len(old) == 3000
    src = old["source"].to_numpy(object)
    q = np.minimum(
        1, decaying(ages(leads, old["lead_id"]), src) / decaying(np.zeros(len(old)), src)
    )
    kept = old["end_state"] == "working"
    sd = math.sqrt(float((q * (1 - q)).sum()))
    z = (int(kept.sum()) - q.sum()) / sd
    print(
        f"\nkept {int(kept.sum())} of {len(old)}, expected {q.sum():.1f} +- {sd:.1f} (z {z:+.2f})"
    )
    assert abs(z) < Z
    assert (old.loc[kept, "attempts"] == 1).all()
    assert old.loc[kept, "rule"].str.contains("kept in the cadence by the fitted hazard").all()
    settled = old[~kept]
    status = leads.set_index("lead_id").loc[settled["lead_id"], "status"].str.lower()
    want = np.where(status.isin(SETTLED), status, "recycled")
    assert (settled["end_state"].to_numpy() == want).all() and (settled["attempts"] == 0).all()
    assert settled["rule"].str.contains("settled by the fitted hazard").all()
    rule = re.fullmatch(r"MQL (\d+) days old, no call log: (kept in the cadence|settled) by the "
                        r"fitted hazard \(p (0\.\d\d) of (0\.\d\d)\)", old["rule"].iloc[0])  # fmt: skip
    assert rule is not None
    # Older leads are kept less often: the hazard falls with age.
    young = ages(leads, old["lead_id"]) < 60
    assert kept[young].mean() > 2 * kept[~young].mean()


def test_a_hazard_above_the_fresh_rate_keeps_every_lead() -> None:
    leads = leads_table(200)
    rising = lambda age, src: np.minimum(0.9, 0.1 + np.asarray(age) / 100)  # noqa: E731
    table = lead_snapshot(leads, CUT, cadence_days=CADENCE, hazard=rising, seed=0)
    assert (table.loc[old_rows(table), "end_state"] == "working").all()


def test_the_same_seed_gives_the_same_table() -> None:
    leads = leads_table()
    a, b, c = (lead_snapshot(leads, CUT, cadence_days=CADENCE, hazard=decaying, seed=s)
               for s in (7, 7, 8))  # fmt: skip
    pd.testing.assert_frame_equal(a, b)
    assert not a["end_state"].equals(c["end_state"])  # 3000 draws: another seed, other leads
    assert a["end_state"].value_counts().to_dict() != {}


def test_without_a_hazard_the_snapshot_is_as_before() -> None:
    """hazard=None: the old rule (old MQLs settled: their status if a settled one, else
    recycled; the rule text as before); with a hazard only the old MQLs' rows differ; with a
    call log the hazard is not used."""
    leads = leads_table(500)
    before = lead_snapshot(leads, CUT, cadence_days=CADENCE)
    again = lead_snapshot(leads, CUT, cadence_days=CADENCE, hazard=None, seed=99)
    pd.testing.assert_frame_equal(before, again)
    old = before["rule"] == f"MQL over {CADENCE:g} days old, not an SQL: settled"
    assert old.sum() == 500
    status = leads.set_index("lead_id").loc[before.loc[old, "lead_id"], "status"].str.lower()
    assert (before.loc[old, "end_state"].to_numpy()
            == np.where(status.isin(SETTLED), status, "recycled")).all()  # fmt: skip
    assert (before.loc[old, "attempts"] == 0).all()
    recent = before["rule"].str.startswith(f"MQL within {CADENCE:g} days")
    assert recent.sum() == 3 and (before.loc[recent, "end_state"] == "working").all()
    assert (before.loc[recent, "attempts"] == 1).all()
    assert before["end_state"].value_counts().get("working", 0) == 3
    with_hazard = lead_snapshot(leads, CUT, cadence_days=CADENCE, hazard=decaying, seed=0)
    same = ~old_rows(with_hazard)
    pd.testing.assert_frame_equal(with_hazard[same], before[same])
    calls = pd.DataFrame({"lead_id": [1, 1, 2, 3], "outcome": ["no_answer"] * 3 + ["contact"],
                          "timestamp": CUT - pd.to_timedelta([30.0, 29.0, 25.0, 40.0], unit="D")})  # fmt: skip
    pd.testing.assert_frame_equal(
        lead_snapshot(leads, CUT, calls, cadence_days=CADENCE, hazard=decaying, seed=0),
        lead_snapshot(leads, CUT, calls, cadence_days=CADENCE),
    )


# --------------------------------------------------------------------------- the fitted hazard


@pytest.fixture(scope="module")
def slow() -> SyntheticExport:
    """A synthetic export whose MQLs take a month to become SQLs (lognormal, median 30 days,
    sigma 1), as on real exports: many an MQL past the cadence still converts."""
    start = pd.Timestamp("2023-01-02")
    truth = _truth("no_score_amount", 0, start, start + pd.DateOffset(months=10))
    truth["delays_days"]["sql"] = {"median": 30.0, "sigma": 1.0}
    return SyntheticExport("no_score_amount", _draw(truth), truth)


@pytest.fixture(scope="module")
def hazard(slow) -> SQLHazard:
    past = slow.leads[slow.leads["created"] < CUT].copy()
    for col in DATES:
        past[col] = past[col].where(past[col] < CUT)
    h = sql_hazard(fit_cohorts(past, CUT))
    assert h is not None
    return h


def test_sql_hazard_needs_a_fitted_sql_stage(hazard) -> None:
    assert sql_hazard(None) is None
    thin = synthetic_export("thin", months=6)  # no SQL dates: no MQL->SQL stage
    assert sql_hazard(fit_cohorts(thin.leads, thin.as_of)) is None
    f = hazard.fit
    src = np.array(["web", "events", "referral", "unseen"], dtype=object)
    fresh = hazard.fresh(src)
    assert np.allclose(fresh[:3], [f.pi()[s] for s in ("web", "events", "referral")])
    p = hazard(np.array([0.0, 10, 40, 120]), np.array(["web"] * 4, dtype=object))
    assert p[0] == pytest.approx(f.pi()["web"]) and (np.diff(p) < 0).all()
    s = survival(f, f.theta, np.array([40.0]))[0]
    pi = f.pi()["web"]
    assert p[2] == pytest.approx(pi * s / (1 - pi * (1 - s)))


def test_the_fitted_hazard_expects_the_sqls_the_old_mqls_made(slow, hazard) -> None:
    """On the slow export the old rule writes off every MQL past the cadence; the fitted
    hazard keeps min(1, p/pi) of them (binomial), and the SQLs those leads really made
    between the cutoff and the export's date are what the hazard expects over that window."""
    leads = slow.leads
    table, p = _snapshot(leads, CUT, None, None, max_attempts=6, cadence_days=CADENCE,
                         meeting_days=14.0, hazard=hazard, seed=0)  # fmt: skip
    drawn = ~np.isnan(p)
    old = table[drawn]
    src = old["source"].to_numpy(object)
    a = ages(leads, old["lead_id"])
    assert np.allclose(p[drawn], hazard(a, src))
    q = np.minimum(1, p[drawn] / hazard.fresh(src))
    kept = int((old["end_state"] == "working").sum())
    z = (kept - q.sum()) / math.sqrt(float((q * (1 - q)).sum()))
    assert abs(z) < Z
    f, w = hazard.fit, (slow.as_of - CUT) / pd.Timedelta(days=1)
    pi = hazard.fresh(src)
    s0, s1 = survival(f, f.theta, a), survival(f, f.theta, a + w)
    window = pi * (s0 - s1) / (1 - pi * (1 - s0))
    later = leads.set_index("lead_id").loc[old["lead_id"], "sql_date"].notna()
    made = int(later.sum())
    zz = (made - window.sum()) / math.sqrt(float((window * (1 - window)).sum()))
    print(f"\n{len(old)} MQLs over {CADENCE:g} days old: {kept} kept (expected {q.sum():.1f}), "
          f"{p[drawn].sum():.1f} SQLs expected from them; in the {w:.0f} days after the cutoff "
          f"they made {made} SQLs against {window.sum():.1f} expected (z {zz:+.2f}), 0 by the "
          "old rule")  # fmt: skip
    assert made > 0 and abs(zz) < Z


def test_more_sqls_in_the_first_month_with_the_hazard(slow, tmp_path) -> None:
    """The backtest (no call log) keeps old MQLs working; against the old rule the snapshot
    has exactly those more leads in the cadence, and the forecast from it (the same fitted
    scenario from either snapshot) more SQLs in its first four weeks: about the SQLs the
    hazard expects from them, at least half of them.

    Four SDRs: without a call log the fit assumes the headcount the MQL volume needs (one
    here, near full), and a saturated cadence turns more leads into a queue, not into SQLs
    (with one SDR the two forecasts' SQLs are the same week by week)."""
    path = slow.write(tmp_path)
    bt = backtest(path, CUT, horizon_months=2, reps=5, workers=1,
                  overrides={"sdr.headcount": 4})  # fmt: skip
    new = bt.snapshot_table
    days = _calendar_days(bt.calibration.scenario_dict())
    old = lead_snapshot(read_leads(path), CUT, cadence_days=days,
                        meeting_days=_meeting_days(bt.calibration))  # fmt: skip
    kept = new["rule"].str.contains("kept in the cadence")
    assert kept.sum() > 100
    counts_new, counts_old = new["end_state"].value_counts(), old["end_state"].value_counts()
    assert counts_new["working"] == counts_old["working"] + kept.sum()
    assert counts_new.sum() == counts_old.sum()
    assert (old.loc[~kept.to_numpy(), "end_state"].to_numpy()
            == new.loc[~kept, "end_state"].to_numpy()).all()  # fmt: skip
    (note,) = [n for n in bt.notes if "kept in the cadence" in n]
    expected = float(re.search(r"([\d.]+) expected SQLs", note).group(1))
    scenario = bt.forecast.scenario
    snap = simfunnel.read_snapshot(old.drop(columns=["rule"]), scenario)
    fc_old = simfunnel.forecast(scenario, snapshot=snap, reps=5, seed=0, workers=1, progress=False)

    def first_month(fc) -> float:
        b = fc.bands
        return float(b[(b["metric"] == "sqls") & (b["week"] < 4)]["mean"].sum())

    with_h, without = first_month(bt.forecast), first_month(fc_old)
    actual = int(((slow.leads["sql_date"] >= CUT)
                  & (slow.leads["sql_date"] < CUT + pd.Timedelta(weeks=4))).sum())  # fmt: skip
    print(f"\nkept {int(kept.sum())}, {expected:.1f} SQLs expected from them; SQLs in the "
          f"first 4 weeks: {with_h:.1f} with the hazard, {without:.1f} with the old rule, "
          f"{actual} actual")  # fmt: skip
    assert with_h - without > 0.5 * expected


# --------------------------------------------------------------------------- the backtest


def test_backtest_without_a_call_log_notes_the_kept_leads(tmp_path) -> None:
    ex = synthetic_export("no_score_amount", months=10)
    path = ex.write(tmp_path)
    bt = backtest(path, CUT, horizon_months=2, reps=3, workers=1, seed=4)
    table = bt.snapshot_table
    (note,) = [n for n in bt.notes if "kept in the cadence" in n]
    kept = int(table["rule"].str.contains("kept in the cadence").sum())
    drawn = int(table["rule"].str.contains("by the fitted hazard").sum())
    m = re.match(r"(\d+) of (\d+) MQLs over \d+ days old .* ([\d.]+) expected SQLs", note)
    assert m is not None, note
    assert (int(m.group(1)), int(m.group(2))) == (kept, drawn) and drawn > 0
    h = sql_hazard(bt.calibration.cohorts)
    assert h is not None
    old = table[table["rule"].str.contains("by the fitted hazard")]
    leads = read_leads(path).data
    mql = leads.set_index("lead_id").loc[old["lead_id"], "mql_date"]
    p = h(((CUT - mql) / pd.Timedelta(days=1)).to_numpy(float), old["source"].to_numpy(object))
    assert float(m.group(3)) == pytest.approx(p.sum(), abs=0.051)
    print(f"\n{note}")
    again = backtest(ex.write(tmp_path / "again"), CUT, horizon_months=2, reps=3, workers=1,
                     seed=4)  # fmt: skip
    pd.testing.assert_frame_equal(again.snapshot_table, table)


def test_backtest_without_a_hazard_says_the_old_mqls_were_settled(tmp_path) -> None:
    """An export with no SQL dates has no MQL->SQL stage to fit: the old rule, said."""
    ex = synthetic_export("thin", months=10)
    bt = backtest(ex.write(tmp_path), CUT, horizon_months=2, reps=2, workers=1)
    table = bt.snapshot_table
    settled = int(table["rule"].str.startswith("MQL over").sum())
    assert settled > 0 and not table["rule"].str.contains("fitted hazard").any()
    (note,) = [n for n in bt.notes if "MQL->SQL hazard" in n]
    assert note.startswith(f"{settled} MQLs over") and "settled" in note
