"""What the call log tells: leads by number of calls, connect and contact rates by attempt,
the cadence (attempts and the gaps between them), call durations by outcome, qualification
per conversation and how the other conversations ended, and who the SDRs are."""

from __future__ import annotations

import math
from typing import Any, cast

import numpy as np
import pandas as pd

from ..scenario import OUTCOME_KINDS, OUTCOMES
from .estimators import wilson_interval

__all__ = ["fit_calls"]


def fit_calls(
    calls: pd.DataFrame, L: pd.DataFrame
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, dict[str, Any]]:
    """The call tables (``attempts``, ``by_attempt``, ``call_durations``) and the figures the
    scenario's cadence, outcomes and SDR team are built from: counts of dials, connects,
    contacts and SQLs, the rates with Wilson intervals, the cadence, the outcome counts (empty
    without a lead status) and the reps."""
    c = _numbered(calls)
    per_lead = c.groupby("lead_id").agg(
        calls=("attempt", "size"), contacts=("contacted", "sum"), first=("timestamp", "min")
    )
    dials, conn, cont = len(c), int(c["connected"].sum()), int(c["contacted"].sum())
    never = per_lead[per_lead["contacts"] == 0]
    max_attempts = (
        int(never["calls"].mode().iloc[0]) if len(never) else int(per_lead["calls"].max())
    )
    call_durations = _call_durations(c)
    # Qualification per conversation: SQLs among the leads called, over their contacts.
    called = L[L["lead_id"].isin(per_lead.index)]
    sqls = int(called["sql_date"].notna().sum())
    fit_out = {
        "dials": dials,
        "connects": conn,
        "contacts": cont,
        "connect": (conn / dials, *map(float, wilson_interval(conn, dials))),
        "contact": (cont / conn if conn else math.nan, *map(float, wilson_interval(cont, conn))),
        "qualified": (sqls / cont if cont else math.nan, *map(float, wilson_interval(sqls, cont))),
        "sqls": sqls,
        "outcome_counts": _outcome_counts(called, per_lead, cont, sqls),
        "max_attempts": max_attempts,
        "never_contacted": len(never),
        "gaps_h": _cadence_gaps(c, never, max_attempts),
        "durations": call_durations,
        "reps": _sdr_reps(calls),
        "mql_per_week": None,
    }
    return _attempt_counts(per_lead), _by_attempt(c), call_durations, fit_out


def _numbered(calls: pd.DataFrame) -> pd.DataFrame:
    """The calls in order per lead, with the attempt number and whether each connected and
    reached the person."""
    c = calls.sort_values(["lead_id", "timestamp"], kind="stable").copy()
    c["attempt"] = c.groupby("lead_id").cumcount() + 1
    c["connected"] = c["outcome"].isin(["connect", "contact"])
    c["contacted"] = c["outcome"] == "contact"
    return c


def _attempt_counts(per_lead: pd.DataFrame) -> pd.DataFrame:
    """Leads by the number of calls they had, and their share."""
    attempts = per_lead["calls"].value_counts().sort_index().rename_axis("attempts")
    attempts_df = attempts.rename("leads").reset_index()
    attempts_df["share"] = attempts_df["leads"] / attempts_df["leads"].sum()
    return attempts_df


def _by_attempt(c: pd.DataFrame) -> pd.DataFrame:
    """Connect and contact rates by attempt number, with Wilson intervals: whether later
    attempts still pay."""
    rows = []
    for k, g in c.groupby("attempt"):
        dials, conn, cont = len(g), int(g["connected"].sum()), int(g["contacted"].sum())
        cl, ch = wilson_interval(conn, dials)
        tl, th = wilson_interval(cont, conn)
        rows.append(
            {
                # The stubs type a group key as any scalar; the attempt column holds ints.
                "attempt": int(cast(int, k)),
                "dials": dials,
                "connects": conn,
                "contacts": cont,
                "connect_rate": conn / dials,
                "connect_low": float(cl),
                "connect_high": float(ch),
                "contact_rate": cont / conn if conn else math.nan,
                "contact_low": float(tl),
                "contact_high": float(th),
            }
        )
    return pd.DataFrame(rows)


def _cadence_gaps(c: pd.DataFrame, never: pd.DataFrame, max_attempts: int) -> list[float]:
    """Hours between attempts, per gap: the median over leads worked through the whole
    cadence without contact. A gap of a day or more counts in working days (Mon-Fri, the
    calendar the fitted scenario assumes), as the scenario's cadence does: Friday to Monday
    is one day, not three."""
    full = never.index[never["calls"] == max_attempts]
    cf = c[c["lead_id"].isin(full)]
    gap_h = (cf.groupby("lead_id")["timestamp"].diff().dt.total_seconds() / 3600).to_numpy()
    prev = cf.groupby("lead_id")["timestamp"].shift()
    known = prev.notna().to_numpy()
    work_days = np.full(len(cf), np.nan)
    work_days[known] = np.busday_count(
        prev[known].dt.date.to_numpy(dtype="datetime64[D]"),
        cf["timestamp"][known].dt.date.to_numpy(dtype="datetime64[D]"),
    )
    gap_idx = cf["attempt"].to_numpy() - 1
    gaps = []
    for k in range(1, max_attempts):
        g = gap_h[gap_idx == k]
        ok = np.isfinite(g)
        g, wd = g[ok], work_days[gap_idx == k][ok]
        if len(g):
            med = float(np.median(g))
            days = float(np.median(wd))
            # Redials in the same minute: the scenario needs a gap of a minute or more.
            gaps.append(max(round(days), 1) * 24.0 if med >= 20 else max(round(med, 1), 0.1))
    return gaps


def _call_durations(c: pd.DataFrame) -> pd.DataFrame:
    """Call durations by outcome: ``outcome, n, median_s, p90_s, mean_s`` (empty without a
    duration column)."""
    dur_rows = []
    if c["duration_s"].notna().any():
        for outcome, g in c.groupby("outcome"):
            x = g["duration_s"].dropna().to_numpy(float)
            if len(x):
                dur_rows.append(
                    {
                        "outcome": outcome,
                        "n": len(x),
                        "median_s": float(np.median(x)),
                        "p90_s": float(np.quantile(x, 0.9)),
                        "mean_s": float(np.mean(x)),
                    }
                )
    return pd.DataFrame(dur_rows)


def _outcome_counts(
    called: pd.DataFrame, per_lead: pd.DataFrame, cont: int, sqls: int
) -> dict[str, float]:
    """Conversations by outcome other than qualified (empty when the leads have no status).

    A lead's conversations end at its first terminal outcome (qualified, or a closed one such
    as no prospect), so each earlier one was followed up or called back: the terminal ones are
    counted from the final status, the rest split between the open outcomes in the ratio of
    their final statuses.
    """
    if not called["status"].notna().any():
        return {}
    contacted = per_lead.index[per_lead["contacts"] > 0]
    final = (
        called.loc[called["lead_id"].isin(contacted) & called["sql_date"].isna(), "status"]
        .fillna("")
        .str.lower()
    )
    final_counts = final.value_counts()
    # Terminal outcomes from the final status; the open ones (followed up, called back) share
    # the remaining conversations as their final statuses do, else as their defaults.
    closed = {k.name: int(final_counts.get(k.name, 0)) for k in OUTCOME_KINDS if k.path == "closed"}
    nurtured = [k for k in OUTCOME_KINDS if k.path in ("follow_up", "callback")]
    seen = {k.name: int(final_counts.get(k.name, 0)) for k in nurtured}
    weights = seen if sum(seen.values()) else {k.name: k.default_share for k in nurtured}
    open_talks = max(cont - sqls - sum(closed.values()), 0)
    total = sum(weights.values())
    shares = {name: open_talks * w / total for name, w in weights.items()}
    return {name: (shares | closed)[name] for name in OUTCOMES[1:]}


def _sdr_reps(calls: pd.DataFrame) -> list[str]:
    """The reps the fit counts as SDRs: those named like SDRs, else every rep in the log."""
    reps = calls["rep"].dropna()
    return sorted(set(reps[reps.str.upper().str.startswith("SDR")])) or sorted(set(reps))
