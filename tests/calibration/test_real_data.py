"""Calibration tools on the real public data sets in ../shared/data (never copied here).

Each test skips, saying why, when the data folder is absent.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import ROOT

from simfunnel.calibration import (
    fit_durations,
    kaplan_meier,
    rate_table,
    read_opportunities,
    score_curve,
    threshold_tradeoff,
)

DATA = ROOT.parent / "shared" / "data"


def _need(relative: str) -> Path:
    path = DATA / relative
    if not path.exists():
        pytest.skip(f"real data {path} not present (public data kept beside the project)")
    return path


def test_bank_marketing_attempts_and_conversion_by_attempt() -> None:
    """UCI bank marketing: conversion falls with the number of contact attempts."""
    bank = pd.read_csv(_need("bank_marketing/bank-additional-full.csv"), sep=";")
    attempts = bank["campaign"].clip(upper=10)
    table = rate_table(attempts, bank["y"].eq("yes"), "attempts")
    table["share_of_leads"] = table["n"] / table["n"].sum()
    print()
    print(table.round(4).to_string(index=False))
    # The data README's figures (10 = 10 or more attempts), to 0.1 point. It gives 10.8% at 3
    # attempts, but the file gives 574 / 5,341 = 10.747%, which is 10.7%: a rounding slip in
    # the README, reported rather than hidden by a wider tolerance.
    published = {1: 13.0, 2: 11.5, 3: 10.7, 4: 9.4, 5: 7.5, 10: 3.6}
    rates = table.set_index("attempts")["rate"] * 100
    for k, figure in published.items():
        assert round(rates[k], 1) == figure, k
    assert table.set_index("attempts").loc[3, ["n", "k"]].tolist() == [5341, 574]
    assert table["n"].sum() == len(bank) == 41188
    assert table.set_index("attempts").loc[1, "share_of_leads"] == pytest.approx(17642 / 41188)


def test_maven_cycle_times_with_censoring_and_win_rate() -> None:
    """Maven CRM sample: win rate of closed deals, engage -> close with open deals censored."""
    path = _need("maven_crm/sales_pipeline.csv")
    mapping = {
        "opportunity_id": "opportunity_id",
        "created": "engage_date",
        "close_date": "close_date",
        "stage": "deal_stage",
        "amount": "close_value",
        "owner": "sales_agent",
    }
    table = read_opportunities(path, mapping=mapping)
    # Prospecting deals have no engage date: reported and excluded, never dropped silently.
    blank = table.report.query("problem == 'blank' and action == 'excluded'")
    print(f"\n{table}")
    assert len(blank) == 500 and table.excluded == 500
    o = table.data
    won = o["won"] == True  # noqa: E712
    closed = o["won"].notna()
    win_rate = won.sum() / closed.sum()
    print(f"win rate {win_rate:.4f} ({int(won.sum())} of {int(closed.sum())} closed)")
    assert round(win_rate, 2) == 0.63
    days = (o["close_date"] - o["created"]).dt.days
    assert days[won].median() == 57 and days[won].quantile(0.9) == 106
    as_of = o["close_date"].max()
    time = np.where(closed, days, (as_of - o["created"]).dt.days).astype(float)
    km = kaplan_meier(time, closed.to_numpy())
    fits = fit_durations(time, closed.to_numpy())
    print(fits[["dist", "aic", "delta_aic", "ks", "median", "p90", "n", "events"]].round(3))
    print(f"Kaplan-Meier median to close, open deals censored: {fits.attrs['km_median']:.0f} days")
    assert fits["events"].iloc[0] == closed.sum() and fits["n"].iloc[0] > closed.sum()
    # Censoring matters: open deals lengthen the time-to-close curve.
    assert fits.attrs["km_median"] >= np.median(days[closed])
    assert km["survival"].is_monotonic_decreasing


def test_xeducation_engagement_curve_and_threshold_tradeoff() -> None:
    """X Education: time on site as a score; converters kept against leads kept by threshold."""
    leads = pd.read_csv(_need("xeducation/Leads.csv"))
    score = leads["Total Time Spent on Website"].astype(float)
    converted = leads["Converted"].astype(bool)
    curve = score_curve(score, converted, bins=10)
    trade = threshold_tradeoff(score, converted, thresholds=[0, 100, 250, 500, 750, 1000, 1500])
    print()
    print(curve.round(3).to_string(index=False))
    print(trade.round(3).to_string(index=False))
    # The top band converts far better than the bottom one (Wilson intervals apart).
    assert curve["low"].iloc[-1] > curve["high"].iloc[0]
    # An informative score keeps a larger share of converters than of leads at every cut.
    cut = trade[trade["threshold"] > 0]
    assert (cut["converters_kept_share"] > cut["leads_kept_share"]).all()
    assert trade["leads_kept_share"].iloc[0] == 1.0


def test_maven_rolling_origin_of_deals_only_from_the_command_line(tmp_path, capsys) -> None:
    """A deals-only export (no lead table) through `simfunnel backtest --opportunities`: each
    deal a lead on its engage date, the cohort model scored by month with the baselines."""
    from simfunnel.cli import main

    path = _need("maven_crm/sales_pipeline.csv")
    mapping = tmp_path / "mapping.yaml"
    mapping.write_text(
        "opportunity_id: opportunity_id\ncreated: engage_date\nclose_date: close_date\n"
        "stage: deal_stage\namount: close_value\nowner: sales_agent\n"
    )
    code = main(["backtest", "--opportunities", str(path), "--mapping", str(mapping),
                 "--cutoffs", "2017-06-01,2017-07-01", "--horizon", "2months",
                 "--out", str(tmp_path / "out")])  # fmt: skip
    out, err = capsys.readouterr()
    print(out)
    assert code == 0, err
    assert "no lead table, so each of the" in err
    summary = pd.read_csv(tmp_path / "out" / "summary.csv")
    assert set(summary["metric"]) == {"leads", "won", "lost"}
    assert {"cohort model", "last month", "naive cohort rate"} <= set(summary["method"])
    assert summary.loc[summary["method"] == "cohort model", "months"].eq(4).all()
    assert main(["fit", "--out", str(tmp_path / "x.yaml")]) == 2
