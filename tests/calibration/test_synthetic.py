"""Synthetic lead exports with a known truth: they read back as CRM exports, the realised
shares and counts agree with the truth within sampling error (z < 4 from the sample size),
and the same seed gives the same export."""

from __future__ import annotations

import functools
import itertools
import math
import time

import numpy as np
import pandas as pd
import pytest

from simfunnel.calibration import CASES, METRICS, SyntheticExport, synthetic_export
from simfunnel.data import read_leads
from simfunnel.data.names import status_words

Z = 4.0
DATES = ("created", "mql_date", "sql_date", "opportunity_date", "won_date", "lost_date")
MATURE = pd.Timedelta(days=120)  # P(SQL delay > 120 days) ~ 4e-5: a cohort this old is done


@functools.cache
def export(case: str, seed: int = 7) -> SyntheticExport:
    return synthetic_export(case, seed=seed)


def binomial_z(hits: int, n: int, p: float) -> float:
    return (hits - n * p) / math.sqrt(n * p * (1 - p))


def sql_share(leads: pd.DataFrame, lo: pd.Timestamp, hi: pd.Timestamp) -> tuple[int, int]:
    """SQLs and MQLs among the leads whose MQL date is in [lo, hi)."""
    cohort = leads[(leads["mql_date"] >= lo) & (leads["mql_date"] < hi)]
    return int(cohort["sql_date"].notna().sum()), len(cohort)


@pytest.mark.parametrize("case", CASES)
def test_read_back_with_the_case_columns(case, tmp_path):
    x = export(case)
    assert list(x.leads.columns) == x.truth["columns"]
    table = read_leads(x.write(tmp_path))
    assert sorted(table.columns) == sorted(x.truth["columns"])
    assert table.excluded == 0 and (table.report["action"] == "note").all()
    back = table.data[list(x.leads.columns)]
    sent = x.leads.astype({"lead_id": str})
    if "status" in sent:  # statuses are read as one lower-case word ('Bad Timing': bad_timing)
        sent["status"] = status_words(sent["status"])
    pd.testing.assert_frame_equal(back, sent, check_dtype=False, check_index_type=False)


@pytest.mark.parametrize("case", CASES)
def test_nothing_after_as_of_and_stages_in_order(case):
    x = export(case)
    leads, start = x.leads, x.truth["start"]
    dates = [c for c in DATES if c in leads]
    assert leads["created"].min() >= start
    chain = [c for c in DATES[:4] if c in leads]  # won and lost each follow the last stage
    ends = [(chain[-1], c) for c in DATES[4:] if c in leads]
    for earlier, later in [*itertools.pairwise(chain), *ends]:
        assert not (leads[later] < leads[earlier]).any(), (earlier, later)
    for name in dates:
        assert leads[name].max() <= x.as_of, name
    if "amount" in leads:  # known for the opportunities of the snapshot, and only for them
        assert (leads["amount"].notna() == leads["opportunity_date"].notna()).all()
    if "lost_date" in leads:
        assert not (leads["won_date"].notna() & leads["lost_date"].notna()).any()


@pytest.mark.parametrize("case", ["steady", "no_score_amount"])
def test_mql_to_sql_share_on_matured_cohorts(case):
    x = export(case)
    p = x.truth["conversion"]["p_sql"]["before"]
    hits, n = sql_share(x.leads, x.truth["start"], x.as_of - MATURE)
    assert n > 5000
    assert abs(binomial_z(hits, n, p)) < Z


def test_regime_triples_mql_to_sql_at_the_change():
    x = export("regime")
    p, change = x.truth["conversion"]["p_sql"], x.truth["change_date"]
    assert p["after"] / p["before"] == pytest.approx(3.0)
    assert x.truth["start"] < change < x.as_of - MATURE
    k1, n1 = sql_share(x.leads, x.truth["start"], change)
    k2, n2 = sql_share(x.leads, change, x.as_of - MATURE)
    assert abs(binomial_z(k1, n1, p["before"])) < Z
    assert abs(binomial_z(k2, n2, p["after"])) < Z
    # The ratio of the two shares, on the log scale (delta method).
    r1, r2 = k1 / n1, k2 / n2
    sd = math.sqrt((1 - r1) / k1 + (1 - r2) / k2)
    assert abs(math.log(r2 / r1) - math.log(3.0)) < Z * sd
    assert 2.0 < r2 / r1 < 4.5


def test_regime_arrivals_grow_fivefold():
    x = export("regime")
    first, last = ["2023-01", "2023-02", "2023-03"], ["2024-10", "2024-11", "2024-12"]
    e = x.expected_monthly(first + last).query("metric == 'leads'").set_index("month")
    month = x.leads["created"].dt.strftime("%Y-%m")
    seen = {k: int(month.isin(m).sum()) for k, m in (("first", first), ("last", last))}
    want = {"first": e.loc[first, "expected"].sum(), "last": e.loc[last, "expected"].sum()}
    for k in seen:  # Poisson counts
        assert abs(seen[k] - want[k]) < Z * math.sqrt(want[k]), k
    sd = math.sqrt(1 / want["first"] + 1 / want["last"])
    ratio = seen["last"] / seen["first"]
    assert abs(math.log(ratio) - math.log(want["last"] / want["first"])) < Z * sd
    # The expected growth is the truth's: 5x over the period, for the 21 months between
    # the two windows' middles, times a seasonal factor within (1 +- 0.15) / (1 -+ 0.15).
    trend = x.truth["arrivals"]["growth_over_period"] ** (21 / 24)
    assert 0.7 < (want["last"] / want["first"]) / trend < 1.4
    assert ratio > 3.0


def test_thin_is_an_mql_export_with_the_mql_to_won_truth():
    x = export("thin")
    leads, truth = x.leads, x.truth["mql_to_won"]
    assert (leads["mql_date"] == leads["created"]).all()
    cohort = leads[leads["created"] < x.as_of - pd.Timedelta(days=365)]
    won = cohort["won_date"].notna()
    assert abs(binomial_z(int(won.sum()), len(cohort), truth["p"])) < Z
    delay = (cohort.loc[won, "won_date"] - cohort.loc[won, "created"]) / pd.Timedelta(days=1)
    d = truth["delay_days"]
    assert abs(delay.mean() - d["mean"]) < Z * d["sd"] / math.sqrt(len(delay))
    c = x.truth["conversion"]
    assert truth["p"] == pytest.approx(c["p_sql"]["before"] * c["p_opportunity"] * c["p_win"])


def test_score_is_higher_for_converting_leads():
    leads = export("steady").leads
    assert leads["score"].between(0, 100).all()
    sql = leads["sql_date"].notna()
    assert leads.loc[sql, "score"].mean() > leads.loc[leads["mql_date"].isna(), "score"].mean() + 20


def test_same_seed_same_table_other_seed_differs():
    a, b = synthetic_export("steady", seed=5), synthetic_export("steady", seed=5)
    pd.testing.assert_frame_equal(a.leads, b.leads)
    pd.testing.assert_frame_equal(a.expected_monthly(), b.expected_monthly())
    c = synthetic_export("steady", seed=6)
    assert len(c.leads) != len(a.leads) or not c.leads.equals(a.leads)
    assert not a.leads["created"].head(50).equals(c.leads["created"].head(50))


@pytest.mark.parametrize("case", CASES)
def test_expected_monthly_matches_realised_counts(case):
    x = export(case)
    e = x.expected_monthly()
    assert list(e.columns) == ["month", "metric", "expected"]
    assert set(e["metric"]) == {m for m, col in METRICS.items() if col in x.leads}
    # Months wholly before the as-of date (its own month is cut short by the snapshot).
    full = e[e["month"] < x.as_of.strftime("%Y-%m")].groupby("metric")["expected"].sum()
    end = x.as_of.to_period("M").start_time
    for metric in ("leads", "won"):  # Poisson: a thinning of Poisson arrivals
        seen = int((x.leads[METRICS[metric]] < end).sum())
        assert abs(seen - full[metric]) < Z * math.sqrt(full[metric]), metric


def test_expected_monthly_past_as_of_and_before_start():
    x = export("steady")
    e = x.expected_monthly(["2022-11", "2025-06"]).set_index(["month", "metric"])["expected"]
    assert (e.loc["2022-11"] == 0).all()
    assert e.loc[("2025-06", "leads")] > 500 and e.loc[("2025-06", "won")] > 5


def test_fast_and_unknown_case_refused():
    t = time.perf_counter()
    x = synthetic_export("steady", seed=1)
    assert time.perf_counter() - t < 1.0 and 15_000 < len(x.leads) < 25_000
    with pytest.raises(ValueError, match="unknown case"):
        synthetic_export("bumpy")
    assert np.isnan(x.leads["amount"]).sum() > 0
