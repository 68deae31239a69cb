"""The fitted scenario as data: what the fit estimated (:class:`Estimates`) turned into the
scenario's sections (sources, scoring, cadence and outcomes, SDR team, AE stage, warm-up),
with a parameter row per value written (its interval, basis and whether it was fitted,
derived or assumed) and an uncertainty entry per value fitted from data.

Rates are the observed ones, so speed-to-lead decay is off, and quality effects are 0 (the
fitting module's docstring says why)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, cast

import numpy as np
import pandas as pd
from scipy import stats

from ..data import ExportTable
from ..scenario import OUTCOME_KINDS, OUTCOMES
from .capacity import sdr_headcount
from .cohorts import CohortModel
from .estimators import wilson_interval
from .lead_stats import Season
from .records import days_text, duration_basis, param
from .uncertainty import qualified_uncertainty, rate_uncertainty, share_uncertainty

__all__ = ["CONTACT_OUTCOMES", "DEFAULT_SHARES", "Estimates", "build_scenario"]

# The outcomes of a conversation other than qualified, and their shares when the exports
# cannot give them (each outcome's default, scenario.OUTCOME_KINDS).
CONTACT_OUTCOMES = OUTCOMES[1:]
DEFAULT_SHARES = {kind.name: kind.default_share for kind in OUTCOME_KINDS[1:]}
Rows = list[dict[str, Any]]  # parameter rows, or uncertainty entries
# Why the win probability is assumed: no closed deals, or a lead table dating one end only.
_NO_WINS = (
    "no closed deals",
    "the lead table dates only one of won and lost, and no opportunities table was given: "
    "deals closed the other way cannot be told from open ones",
)


@dataclass(frozen=True, eq=False)
class Estimates:
    """What the fit estimated from the exports, the input of :func:`build_scenario`.

    ``leads``: the lead table's rows (source filled); ``arrivals``, ``conversion``: the tables
    of :class:`~simfunnel.calibration.fit_result.Calibration` (the present put in,
    :mod:`simfunnel.calibration.recent`); ``seasons``: per source, the ISO-week multipliers
    (or None), basis and kind; ``chosen``: the chosen duration fit per stage; ``threshold``:
    the MQL cut the scores imply (None without usable scores); ``calls``: what the call log
    tells (empty without one, :func:`simfunnel.calibration.calls.fit_calls`); ``active``: the
    owners per role active in the last complete month; ``stand_ins``: a missing stage date
    -> the date standing in for it; ``closes``: the table that tells how deals closed
    (:func:`simfunnel.calibration.lead_stats.closes_from`); ``no_amounts``: why there is no
    deal value to fit, when there is none.
    """

    leads: pd.DataFrame
    arrivals: pd.DataFrame
    seasons: dict[str, Season]
    conversion: pd.DataFrame
    chosen: dict[str, pd.Series]
    deal_values: pd.DataFrame
    threshold: dict[str, Any] | None
    calls: dict[str, Any]
    opportunities: ExportTable | None
    active: dict[str, tuple[int, str]]
    cohorts: CohortModel | None = None
    stand_ins: dict[str, str] = field(default_factory=dict)
    closes: str = "leads"
    no_amounts: str = "no amounts"

    def stage(self, stage: str) -> pd.Series:
        """A conversion stage over all sources: ``n, k, rate, low, high``."""
        c = self.conversion
        return c[(c["stage"] == stage) & (c["source"] == "all")].iloc[0]


def build_scenario(
    name: str, as_of: pd.Timestamp, horizon_weeks: int, est: Estimates
) -> tuple[dict[str, Any], Rows]:
    """The scenario dict, starting at ``as_of`` (the next midnight if it falls within a day),
    and its parameter rows; its ``uncertainty`` section holds an entry per value fitted from
    data that has a spread."""
    P: Rows = []
    U: Rows = []
    start = (as_of + pd.Timedelta(days=1)).normalize() if as_of != as_of.normalize() else as_of
    sources = [_source(i, row, est, P, U) for i, (_, row) in enumerate(est.arrivals.iterrows())]
    param(
        P,
        "sources[].score.reliability / quality",
        "defaults",
        basis="latent quality is not in exports; quality effects are set to 0 below",
        kind="assumption",
    )
    thr = _threshold(est, P)
    cadence, outcomes_p, team = _cadence_and_outcomes(est, P, U)
    ae = _ae_stage(est, P, U)
    warm = _warm_up(est.chosen, P)
    scenario = {
        "name": name,
        "description": f"Fitted from CRM exports up to {as_of:%Y-%m-%d %H:%M}.",
        "start_date": f"{start:%Y-%m-%d}",
        "horizon": f"{horizon_weeks} weeks",
        "warm_up": f"{warm} weeks",
        "sources": sources,
        "scoring": {"threshold": float(thr)},
        "sdr": {"headcount": int(team), "shrinkage": 0.3},
        "cadence": cadence,
        "speed_to_lead": {"enabled": False},
        "outcomes": {
            "probabilities": outcomes_p,
            "quality_effect": {k: 0 for k in ("qualified", *CONTACT_OUTCOMES)},
        },
        "ae": ae,
    }
    if U:
        scenario["uncertainty"] = U
    return scenario, P


# --------------------------------------------------------------------------- sources and scoring


def _source(index: int, row: pd.Series, est: Estimates, P: Rows, U: Rows) -> dict[str, Any]:
    """One source: its weekly rate, office-hours share, seasonality and score."""
    src = row["source"]
    mine = est.leads["source"] == src
    source: dict[str, Any] = {"name": str(src), "rate_per_week": round(row["rate_per_week"], 3)}
    param(
        P,
        f"sources[{src}].rate_per_week",
        row["rate_per_week"],
        row["low"],
        row["high"],
        row["basis"]
        if isinstance(row.get("basis"), str)
        else f"{row['leads']} leads over {row['weeks']:.1f} weeks (Poisson)",
    )
    rate_uncertainty(U, str(src), index, source["rate_per_week"], row, est.cohorts)
    if math.isfinite(row["office_hours_share"]):
        source["office_hours_share"] = round(row["office_hours_share"], 4)
        param(
            P,
            f"sources[{src}].office_hours_share",
            row["office_hours_share"],
            row["office_low"],
            row["office_high"],
            "share created Mon-Fri 09:00-18:00 (the calendar assumed below)",
        )
    else:
        param(
            P,
            f"sources[{src}].office_hours_share",
            0.7,
            basis="dates have no time of day: default kept",
            kind="assumption",
        )
    by_week, why, kind = est.seasons[src]
    if by_week:
        source["seasonality"] = {"by_week": by_week}
        param(P, f"sources[{src}].seasonality.by_week", f"{len(by_week)} weeks", basis=why)
    else:
        param(P, f"sources[{src}].seasonality", "none", basis=why, kind=kind)
    n, k = int(mine.sum()), int((mine & est.leads["mql_date"].notna()).sum())
    scores = est.leads.loc[mine, "score"].dropna()
    source["score"] = _source_score(src, scores, k, n, est.threshold, P)
    source["score"]["reliability"] = 0.6
    return source


def _source_score(
    src: Any, scores: pd.Series, k: int, n: int, threshold: dict[str, Any] | None, P: Rows
) -> dict[str, Any]:
    """A source's score: the normal its real scores fit, or without them a synthetic normal
    (sd 10) placed so that P(score >= 50) is the source's MQL share (k of n)."""
    if threshold is not None and len(scores) >= 2:
        lo, hi = float(min(0.0, scores.min())), float(max(100.0, scores.max()))
        score = {
            "mean": round(float(scores.mean()), 3),
            "sd": round(float(scores.std()), 3),
            "min": lo,
            "max": hi,
        }
        param(
            P,
            f"sources[{src}].score",
            f"mean {scores.mean():.2f}, sd {scores.std():.2f}",
            basis=f"{len(scores)} scores (normal, clipped)",
        )
        return score
    share = min(max(k / n if n else 0.5, 1e-4), 1 - 1e-4)
    mean = 50 + 10 * stats.norm.ppf(share)
    param(
        P,
        f"sources[{src}].score",
        "synthetic",
        basis=f"no scores: normal sd 10 placed so {share:.1%} score >= 50, the MQL share seen",
        kind="derived",
    )
    return {"mean": round(float(mean), 3), "sd": 10.0}


def _threshold(est: Estimates, P: Rows) -> float:
    """The MQL threshold: the cut the scores imply, else 50 on the synthetic scale; with the
    MQL share as a check."""
    if est.threshold is not None:
        thr = est.threshold["value"]
        param(
            P,
            "scoring.threshold",
            thr,
            basis=est.threshold.get("basis")
            or f"cut that best separates MQLs by score: agrees on "
            f"{est.threshold['agreement']:.2%} of {est.threshold['n']} leads",
        )
    else:
        thr = 50.0
        param(P, "scoring.threshold", thr, basis="no scores: synthetic scale", kind="derived")
    mql = est.stage("lead->mql")
    param(
        P,
        "(MQL share)",
        mql["rate"],
        mql["low"],
        mql["high"],
        f"{mql['k']} MQLs of {mql['n']} leads",
        kind="check",
    )
    return float(thr)


# --------------------------------------------------------------------------- cadence and outcomes


def _cadence_and_outcomes(
    est: Estimates, P: Rows, U: Rows
) -> tuple[dict[str, Any], dict[str, float], int]:
    """The cadence, the outcome probabilities (summing to 1 after rounding) and the SDR
    headcount: from the call log when there is one, else assumed around MQL->SQL."""
    mql_sql = est.stage("mql->sql")
    if est.calls:
        cadence = _call_cadence(est.calls, P)
        outcomes_p, qualified_from = _call_outcomes(est.calls, P)
        team, basis = sdr_headcount(est.calls["reps"], est.active.get("sdr"))
        param(P, "sdr.headcount", team, basis=basis, kind="assumption")
    else:
        cadence, outcomes_p, qualified_from, team = _assumed_cadence(mql_sql, est.arrivals, P)
    total = sum(outcomes_p.values())
    outcomes_p = {k: round(v / total, 6) for k, v in outcomes_p.items()}
    outcomes_p["qualified"] = round(
        1 - sum(v for k, v in outcomes_p.items() if k != "qualified"), 6
    )
    qualified_uncertainty(U, outcomes_p["qualified"], qualified_from)
    counted = mql_sql["k"] / mql_sql["n"] if mql_sql["n"] else math.nan
    censored = (
        f"; {mql_sql['rate']:.1%} with open MQLs censored (cure-fraction fit)"
        if abs(mql_sql["rate"] - counted) > 5e-4
        else ""
    )
    param(
        P,
        "(MQL->SQL)",
        mql_sql["rate"],
        mql_sql["low"],
        mql_sql["high"],
        f"{mql_sql['k']} SQLs of {mql_sql['n']} MQLs ({counted:.1%}, recent MQLs may still "
        f"convert){censored}",
        kind="check",
    )
    param(
        P,
        "sdr.shrinkage / calendar",
        "0.3 / Mon-Fri 09:00-18:00",
        basis="not in exports: scenario defaults",
        kind="assumption",
    )
    return cadence, outcomes_p, team


def _call_cadence(calls: dict[str, Any], P: Rows) -> dict[str, Any]:
    """The cadence the call log shows: connect and contact rates (observed, decay
    included), the number of attempts, the gaps between them and the call durations."""
    cp, cl, ch = calls["connect"]
    tp, tl, th = calls["contact"]
    cadence: dict[str, Any] = {
        "max_attempts": calls["max_attempts"],
        "connect_probability": round(cp, 4),
        "contact_probability": round(tp, 4),
    }
    if calls["gaps_h"] and len(calls["gaps_h"]) == calls["max_attempts"] - 1:
        cadence["gaps"] = [f"{g:g} h" for g in calls["gaps_h"]]
    param(
        P,
        "cadence.connect_probability",
        cp,
        cl,
        ch,
        f"{calls['connects']} connects of {calls['dials']} dials",
    )
    param(
        P,
        "cadence.contact_probability",
        tp,
        tl,
        th,
        f"{calls['contacts']} contacts of {calls['connects']} connects (observed, decay included)",
    )
    param(
        P,
        "cadence.max_attempts",
        calls["max_attempts"],
        basis=f"most common number of calls of the {calls['never_contacted']} leads "
        "never contacted",
    )
    if "gaps" in cadence:
        param(
            P,
            "cadence.gaps",
            ", ".join(cadence["gaps"]),
            basis="median gap between attempts of leads called to the end of the cadence,"
            " in whole working days, Mon-Fri (observed gaps include waits for working time)",
        )
    if not calls["durations"].empty:
        cadence["durations"] = _call_durations(calls["durations"], P)
    return cadence


def _call_durations(durations: pd.DataFrame, P: Rows) -> dict[str, Any]:
    """Call durations per kind of call, lognormal by the median and p90 seen."""
    d = durations.set_index("outcome")
    spec = {}
    for out, key in (
        ("no_answer", "no_connect"),
        ("connect", "connect"),
        ("contact", "conversation"),
    ):
        if out in d.index:
            # The stubs type a cell as any scalar; these columns hold numbers.
            median, p90 = cast(float, d.at[out, "median_s"]), cast(float, d.at[out, "p90_s"])
            calls = cast(int, d.at[out, "n"])
            spec[key] = _seconds_dist(median, p90)
            param(
                P,
                f"cadence.durations.{key}",
                median,
                basis=f"median seconds of {int(calls)} calls (p90 {p90:.0f} s), lognormal by "
                "median and p90",
            )
    return spec


def _call_outcomes(
    calls: dict[str, Any], P: Rows
) -> tuple[dict[str, float], tuple[str, Any, Any] | None]:
    """Outcome probabilities from the call log: qualified per conversation, the others in
    the proportions the final statuses show (else the defaults'); with what the qualified
    probability was fitted from, for its uncertainty."""
    qp, ql, qh = calls["qualified"]
    qualified = min(max(qp, 0.0), 1.0)
    param(
        P,
        "outcomes.probabilities.qualified",
        qp,
        ql,
        qh,
        f"{calls['sqls']} SQLs of {calls['contacts']} contacts (observed, decay included)",
    )
    counts = calls["outcome_counts"]
    total = sum(counts.values())
    if total:
        rest = {k: v / total for k, v in counts.items()}
        param(
            P,
            "outcomes.probabilities (others)",
            ", ".join(f"{k} {v:.3f}" for k, v in rest.items()),
            basis=f"{total:.0f} conversations not qualified: no prospect and do not call from "
            "final statuses; the earlier conversations of a lead were information gathering "
            "or postponed, split as their final statuses",
            kind="derived",
        )
    else:
        s = sum(DEFAULT_SHARES.values())
        rest = {k: v / s for k, v in DEFAULT_SHARES.items()}
        param(
            P,
            "outcomes.probabilities (others)",
            "defaults' proportions",
            basis="no lead status column",
            kind="assumption",
        )
    outcomes_p = {"qualified": qualified} | {k: (1 - qualified) * v for k, v in rest.items()}
    return outcomes_p, ("contacts", calls["sqls"], calls["contacts"])


def _assumed_cadence(
    mql_sql: pd.Series, arrivals: pd.DataFrame, P: Rows
) -> tuple[dict[str, Any], dict[str, float], tuple[str, Any, Any] | None, int]:
    """Without a call log: the default cadence, qualified as MQL->SQL over the reach of 6
    attempts, and an SDR team sized to call the MQLs."""
    cadence: dict[str, Any] = {"connect_probability": 0.4, "contact_probability": 0.5}
    reach = 1 - (1 - 0.2) ** 6
    qualified = min(mql_sql["rate"] / reach, 1.0) if mql_sql["n"] else 0.3
    qualified_from = ("mql->sql", mql_sql, reach) if mql_sql["n"] else None
    s = sum(DEFAULT_SHARES.values())
    outcomes_p = {"qualified": qualified} | {
        k: (1 - qualified) * v / s for k, v in DEFAULT_SHARES.items()
    }
    for name, value, why in (
        ("cadence.connect/contact_probability", "0.4 / 0.5", "no call log"),
        (
            "outcomes.probabilities (others)",
            "defaults' proportions",
            "no call log: which leads were reached, and so how their conversations ended, is "
            "not in the exports (lead statuses alone cannot tell)",
        ),
    ):
        param(P, name, value, basis=why, kind="assumption")
    param(
        P,
        "outcomes.probabilities.qualified",
        qualified,
        basis=f"MQL->SQL {mql_sql['rate']:.3f} over the assumed reach of 6 attempts ({reach:.3f})",
        kind="derived",
    )
    weekly_mql = mql_sql["n"] / max(arrivals["weeks"].max(), 1e-9)
    team = max(1, math.ceil(weekly_mql * 4 * (5 / 60) / (40 * 0.7)))
    param(
        P,
        "sdr.headcount",
        team,
        basis="no call log: MQLs a week x 4 attempts x 5 min over 28 phone hours a rep",
        kind="assumption",
    )
    return cadence, outcomes_p, qualified_from, team


def _seconds_dist(median: float, p90: float) -> Any:
    """A call duration as the scenario writes it: fixed, or lognormal by median and p90."""
    if p90 <= median * 1.0001:
        return f"{round(median, 1):g} s"
    return {"dist": "lognormal", "median": f"{round(median, 1):g} s", "p90": f"{round(p90, 1):g} s"}


# --------------------------------------------------------------------------- AE stage


def _ae_stage(est: Estimates, P: Rows, U: Rows) -> dict[str, Any]:
    """The AE stage: acceptance and win probabilities, meeting delay and sales cycle, deal
    value; the AE team is left unlimited (its room is not in the exports)."""
    ae = _ae_probabilities(est, P, U)
    for key in ("meeting_delay", "sales_cycle"):
        if key in est.chosen:
            row = est.chosen[key]
            ae[key] = _duration_dist(row)
            param(
                P,
                f"ae.{key}",
                f"{row['dist']}, median {row['median']:.1f} days",
                row["median_low"],
                row["median_high"],
                duration_basis(row),
            )
        elif key == "meeting_delay" and "sql_date" in est.stand_ins:
            param(
                P,
                "ae.meeting_delay",
                "default",
                basis="no SQL dates (the opportunity date stands in): nothing to measure",
                kind="assumption",
            )
        elif key == "sales_cycle":
            ae[key] = {"dist": "lognormal", "median": "45 days", "p90": "90 days"}
            param(
                P,
                "ae.sales_cycle",
                "45/90 days",
                basis="no closed opportunities",
                kind="assumption",
            )
    ae["deal_value"] = _deal_value(est.deal_values, P, est.no_amounts)
    basis = "AE headcount and room are not in the exports"
    if "ae" in est.active:
        n_ae, month = est.active["ae"]
        owners = "deal owner was" if n_ae == 1 else "deal owners were"
        basis = (
            f"AE room (the deals each can hold) is not in the exports; {n_ae} {owners} "
            f"active in {month}"
        )
    param(P, "ae.team", "unlimited", basis=basis, kind="assumption")
    return ae


def _ae_probabilities(est: Estimates, P: Rows, U: Rows) -> dict[str, Any]:
    """Acceptance (SQL -> opportunity) and win (of closed deals, from the opportunities table
    when the lead table has none closed); assumed 0.7 and 0.25 without data (with no
    interval: an assumption has none)."""
    acc = est.stage("sql->opportunity")
    win = est.stage("opportunity->won")
    ot = est.opportunities
    if not win["n"] and est.closes != "partial" and ot is not None and not ot.data.empty:
        won = ot.data["won"]
        k, n = int((won == True).sum()), int(won.notna().sum())  # noqa: E712
        wl, wh = map(float, wilson_interval(k, n))
        win = pd.Series({"rate": k / n if n else math.nan, "low": wl, "high": wh, "k": k, "n": n})
    acceptance = float(acc["rate"]) if acc["n"] else 0.7
    win_p = float(win["rate"]) if win["n"] else 0.25
    acc_basis = f"{acc['k']} opportunities of {acc['n']} SQLs" if acc["n"] else "no SQLs"
    if "sql_date" in est.stand_ins and acc["n"]:
        acc_basis += " (the opportunity date stands in for the missing SQL date)"
    param(
        P,
        "ae.acceptance.probability",
        acceptance,
        acc["low"] if acc["n"] else None,
        acc["high"] if acc["n"] else None,
        acc_basis,
        kind="fitted" if acc["n"] else "assumption",
    )
    param(
        P,
        "ae.win.probability",
        win_p,
        win["low"] if win["n"] else None,
        win["high"] if win["n"] else None,
        f"{win['k']} won of {win['n']} closed" if win["n"] else _NO_WINS[est.closes == "partial"],
        kind="fitted" if win["n"] else "assumption",
    )
    if acc["n"]:
        share_uncertainty(U, "ae.acceptance.probability", acc, "opportunities of", "SQLs")
    if win["n"]:
        share_uncertainty(U, "ae.win.probability", win, "won of", "closed")
    return {
        "acceptance": {"probability": round(acceptance, 4), "quality_effect": 0},
        "win": {"probability": round(win_p, 4), "quality_effect": 0},
    }


def _duration_dist(row: pd.Series) -> Any:
    """A chosen duration fit as a scenario distribution (Weibull, which the schema lacks, as
    20 equally likely quantiles of the fitted curve)."""
    if row["cv"] < 0.01:  # all but fixed: lognormal needs p90 above the median
        return days_text(row["median"])
    if row["dist"] == "lognormal":
        return {
            "dist": "lognormal",
            "median": days_text(row["median"]),
            "p90": days_text(row["p90"]),
        }
    if row["dist"] == "gamma":
        return {"dist": "gamma", "mean": days_text(row["mean"]), "cv": round(row["cv"], 4)}
    q = stats.weibull_min(row["shape"], scale=row["scale"]).ppf((np.arange(20) + 0.5) / 20)
    return {"dist": "empirical", "values": [days_text(v) for v in q]}


def _deal_value(deal_values: pd.DataFrame, P: Rows, no_amounts: str = "no amounts") -> Any:
    """The deal value: the chosen fit of the amounts (fixed, lognormal or gamma), else an
    assumed 10,000 (``no_amounts`` says why)."""
    if deal_values.empty:
        param(P, "ae.deal_value", 10000, basis=no_amounts, kind="assumption")
        return 10000
    b = deal_values.iloc[0]
    value: Any
    if b["dist"] == "fixed":
        value = round(float(b["median"]), 2)  # float: no overflow at 1e308
    elif b["dist"] == "lognormal":
        value = {
            "dist": "lognormal",
            "median": round(float(b["median"]), 2),
            "p90": round(float(b["p90"]), 2),
        }
    else:
        value = {"dist": "gamma", "mean": round(float(b["mean"]), 2), "cv": round(b["cv"], 4)}
    param(
        P,
        "ae.deal_value",
        f"{b['dist']}, median {b['median']:.0f}, mean {b['mean']:.0f}",
        basis=f"{int(b['n'])} amounts, chosen by AIC; KS {b['ks']:.3f} (p={b['ks_p']:.2g})",
    )
    return value


def _warm_up(chosen: dict[str, pd.Series], P: Rows) -> int:
    """Weeks of warm-up: the sales cycle's p90 plus 4 weeks (at most 52), so the pipeline is
    full when the forecast starts."""
    cycle_p90 = 0.0
    if "sales_cycle" in chosen:
        cycle_p90 = float(chosen["sales_cycle"]["p90"])
    warm = min(52, math.ceil(cycle_p90 / 7) + 4)
    param(
        P,
        "warm_up",
        f"{warm} weeks",
        basis="sales-cycle p90 plus 4 weeks, so the pipeline is full when the forecast starts",
        kind="derived",
    )
    return warm
