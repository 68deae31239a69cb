"""Shifts in conversion between cohorts: each monthly cohort's rate, the most likely split of a
stage's cohorts in two regimes, and the drift of the rate from cohort to cohort.

A rate fitted on every cohort is wrong for the next ones when the business changed (a new
script, a new market): :func:`cohort_shifts` tests every weekly split with a likelihood-ratio
test (Bonferroni-adjusted), with the delay held at the pooled fit, so that the cohort model
(:mod:`simfunnel.calibration.cohorts`) can keep the recent regime; :func:`cohort_drift`
measures how much the rate moves between cohorts beyond chance, so that the forecast can draw
it.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
from scipy import optimize, special, stats

from .stage_fit import MIN_EVENTS, STAGE_DATES, StageFit, stage_arrays, stage_view

__all__ = ["cohort_drift", "cohort_shifts"]

SHIFT_ALPHA = 0.01  # family-wise level of the cohort-shift test
SHIFT_MIN_RATIO = 1.25  # a shift smaller than this (either way) is not acted on
SHIFT_MIN_MONTHS = 3  # months of cohorts before a split
SHIFT_MIN_WEEKS_AFTER = 2  # and after it (a young regime is judged by its maturity, below)
MIN_MATURE = 0.5  # the cohorts after a split must be this mature on average to be compared
DRIFT_ALPHA = 0.05  # cohorts' rates vary beyond chance at this level before drift is drawn
DRIFT_MATURE = 0.8  # cohorts compared for drift: a young cohort's rate leans on the delay fit


def _cure_ll(p: float, e: np.ndarray, s: np.ndarray) -> float:
    """The cure model's log-likelihood at ``pi = p`` with the delay fixed (``s``: survival at
    each open lead's age); constants left out."""
    p = min(max(p, 1e-9), 1 - 1e-9)
    return float(np.sum(np.where(e, math.log(p), np.log1p(-p + p * s))))


def _best_pi(e: np.ndarray, s: np.ndarray) -> tuple[float, float]:
    """The rate that fits these leads best with the delay fixed, and its log-likelihood."""
    res = optimize.minimize_scalar(
        lambda x: -_cure_ll(special.expit(x), e, s), bounds=(-18, 18), method="bounded"
    )
    return float(special.expit(res.x)), -float(res.fun)


def cohort_shifts(
    frame: pd.DataFrame, fits: dict[str, StageFit], as_of: pd.Timestamp, present: list[str]
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per stage, the monthly cohorts' cure-model rates (delay fixed at the pooled fit; a
    cohort is the month a lead reached the parent stage) and the most likely split in two
    regimes: likelihood-ratio statistic, Bonferroni-adjusted p over the candidate splits, and
    the rates before and after."""
    cohort_rows, shift_rows = [], []
    for stage, f in fits.items():
        view = stage_view(frame, STAGE_DATES[stage], present)
        month = view["parent"].dt.to_period("M")
        months = sorted(month.unique())
        t, e, _, _ = stage_arrays(stage, view, STAGE_DATES[stage], as_of)
        if f.kind == "immediate":
            s = np.zeros_like(t)
        else:
            s = stats.norm.sf((np.log(t) - f.theta[0]) / math.exp(f.theta[1]))
        d = (e, s)
        for m in months:
            sel = (month == m).to_numpy()
            p, _ = _best_pi(*(a[sel] for a in d))
            cohort_rows.append(
                {
                    "stage": stage,
                    "cohort": str(m),
                    "leads": int(sel.sum()),
                    "events": int(e[sel].sum()),
                    "rate": p,
                    "mature_share": float(np.mean(1 - s[sel])),
                }
            )
        _, ll_all = _best_pi(*d)
        best: dict[str, Any] | None = None
        # Splits at every week (a change lands mid-month), with SHIFT_MIN_MONTHS of cohorts
        # before and SHIFT_MIN_WEEKS_AFTER after.
        parent = view["parent"]
        lo = months[0].start_time + pd.DateOffset(months=SHIFT_MIN_MONTHS) if months else as_of
        hi = as_of - pd.Timedelta(weeks=SHIFT_MIN_WEEKS_AFTER)
        candidates = pd.date_range(lo, hi, freq="W-MON")  # the Mondays from lo to hi
        for m in candidates:
            after = (parent >= m).to_numpy()
            if e[after].sum() < MIN_EVENTS or e[~after].sum() < MIN_EVENTS:
                continue
            if np.mean(1 - s[after]) < MIN_MATURE:  # too young to tell a rate from a delay
                continue
            p0, ll0 = _best_pi(*(a[~after] for a in d))
            p1, ll1 = _best_pi(*(a[after] for a in d))
            lr = 2 * (ll0 + ll1 - ll_all)
            if best is None or lr > best["lr"]:
                best = {"stage": stage, "change": m, "lr": lr, "before": p0, "after": p1}
        if best is not None:
            best["p_value"] = min(1.0, len(candidates) * float(stats.chi2.sf(best["lr"], 1)))
            ratio = max(best["after"], 1e-9) / max(best["before"], 1e-9)
            best["ratio"] = ratio
            best["shift"] = bool(
                best["p_value"] < SHIFT_ALPHA and max(ratio, 1 / ratio) >= SHIFT_MIN_RATIO
            )
            shift_rows.append(best)
    cols = ["stage", "change", "lr", "p_value", "before", "after", "ratio", "shift"]
    return pd.DataFrame(shift_rows, columns=cols), pd.DataFrame(cohort_rows)


def cohort_drift(cohorts: pd.DataFrame, since: pd.Timestamp | None = None) -> float:
    """Variance of a stage's logit conversion between monthly cohorts beyond what chance
    gives (the DerSimonian-Laird estimate of a random-effects meta-analysis), on the mature
    cohorts (``cohorts``: one stage's rows of :func:`cohort_shifts`) from ``since``; zero
    unless Cochran's Q rejects equal rates at DRIFT_ALPHA (a spread of chance is not drift).

    A rate that moves from cohort to cohort (a new script, a new market, a shift too young
    for the test to act on) is a rate the next cohorts may not share: the forecast draws
    it, so the band widens by what the history shows, not by a guess."""
    c = cohorts[cohorts["mature_share"] >= DRIFT_MATURE]
    if since is not None:
        c = c[pd.PeriodIndex(c["cohort"], freq="M").start_time >= since]
    n = (c["leads"] * c["mature_share"]).to_numpy(float)
    c, n = c[n >= 20], n[n >= 20]
    if len(c) < 3:
        return 0.0
    p = np.clip(c["rate"].to_numpy(float), 0.5 / n, 1 - 0.5 / n)
    bar = float(np.clip(np.sum(n * p) / np.sum(n), 1e-6, 1 - 1e-6))
    w = n * bar * (1 - bar)  # inverse sampling variance of each cohort's logit rate
    y = special.logit(p)
    q = float(np.sum(w * (y - np.sum(w * y) / np.sum(w)) ** 2))
    if stats.chi2.sf(q, len(y) - 1) >= DRIFT_ALPHA:  # Cochran's Q: no spread beyond chance
        return 0.0
    return max(0.0, (q - (len(y) - 1)) / float(np.sum(w) - np.sum(w**2) / np.sum(w)))
