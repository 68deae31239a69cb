"""Synthetic CRM lead exports with a known truth, to judge forecasting methods against.

An export written from a simulation run (:mod:`simfunnel.results.exports`) comes from the funnel model
itself, so a forecast fitted on it is judged by the model that made it. Here a lead table is
drawn from a plain statistical process (Poisson arrivals per source and day, a conversion
probability per stage, lognormal delays) whose parameters are kept in ``truth``, in the shapes
real exports come in (``CASES``): a rolling-origin backtest can be scored against the process
itself (:meth:`SyntheticExport.expected_monthly`), not only against one noisy realisation.
numpy only and vectorised: a two-year export of ~20,000 leads takes a fraction of a second.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..base.files import write_csv
from ..data import DATE_FORMATS, SCHEMAS, STYLES
from .stage_fit import METRIC_DATES

__all__ = ["CASES", "METRICS", "SOURCES", "SyntheticExport", "synthetic_export"]

CASES = ("steady", "regime", "thin", "no_score_amount")
SOURCES = ("web", "events", "referral")
METRICS = METRIC_DATES  # forecast metric -> the lead-table date that counts it
_ALL = tuple(name for name, _, _ in SCHEMAS["leads"])
_COLUMNS = {
    "steady": _ALL,
    "regime": _ALL,
    "thin": ("lead_id", "created", "source", "mql_date", "won_date"),
    "no_score_amount": tuple(c for c in _ALL if c not in ("score", "amount")),
}
# One generator per stochastic part, each spawned from the seed's SeedSequence: changing how
# one part is drawn leaves the draws of the others as they were.
_PARTS = (
    "arrivals",
    "time_of_day",
    "mql",
    "sql",
    "opportunity",
    "close",
    "mql_delay",
    "sql_delay",
    "opportunity_delay",
    "won_delay",
    "lost_delay",
    "amount",
    "score",
    "expected",
)
_BASE_PER_WEEK = {"web": 120.0, "events": 40.0, "referral": 20.0}
_P_MQL = {"web": 0.35, "events": 0.5, "referral": 0.7}
# Lognormal delays in days, (median, sigma of the log): MQL after creation (hours), SQL after
# MQL, opportunity after SQL, won or lost after the opportunity.
_DELAYS = {
    "mql": (2 / 24, 1.0),
    "sql": (5.0, 0.8),
    "opportunity": (7.0, 0.7),
    "won": (45.0, 0.6),
    "lost": (30.0, 0.8),
}
_SCORE_BETA = {"not_mql": (2.0, 5.0), "mql": (4.0, 4.0), "sql_or_later": (6.0, 3.0)}
_DAY = pd.Timedelta(days=1)


def _truth(case: str, seed: int, start: pd.Timestamp, as_of: pd.Timestamp) -> dict[str, Any]:
    """The parameters of ``case``: what a method applied to its export should recover."""
    regime, thin = case == "regime", case == "thin"
    scale = 0.4 if regime else 1.0  # regime grows 5x: start lower, so the size stays ~20k
    base = {s: r * scale * (_P_MQL[s] if thin else 1.0) for s, r in _BASE_PER_WEEK.items()}
    change = (start + 0.6 * (as_of - start)).normalize() if regime else None
    p_sql = {"before": 0.12, "after": 0.36} if regime else {"before": 0.3, "after": 0.3}
    truth: dict[str, Any] = {
        "case": case,
        "seed": seed,
        "start": start,
        "as_of": as_of,
        "columns": list(_COLUMNS[case]),
        "sources": list(SOURCES),
        "arrivals": {
            "rate_per_day": "base_per_week[source] / 7 * weekday[day] * (1 + season_amplitude"
            " * cos(2 pi (day_of_year - season_peak_day) / 365.25)) * growth_over_period **"
            " ((day - start) / (as_of - start)), Poisson per day; continues past as_of",
            "base_per_week": base,
            "weekday": [1.0] * 5 + [0.15] * 2,  # Monday first, scaled to a mean of 1
            "season_amplitude": 0.15,
            "season_peak_day": 60,
            "growth_over_period": 5.0 if regime else 1.2,
            "time_of_day_hours": "8 + 10 * Beta(2, 2)",
        },
        "conversion": {
            "p_mql": {s: 1.0 for s in SOURCES} if thin else dict(_P_MQL),
            "p_sql": p_sql,  # by the lead's MQL date: before / on or after change_date
            "p_opportunity": 0.6,
            "p_win": 0.3,  # of opportunities; the rest are lost
        },
        "change_date": change,
        "delays_days": {k: {"median": m, "sigma": sd} for k, (m, sd) in _DELAYS.items()},
        "amount": {"median": 12000.0, "sigma": 0.7},
        "score_beta_by_furthest_stage": dict(_SCORE_BETA),
    }
    if thin:  # an MQL export: MQL -> won, and the delay that implies, is what it can show
        c, d = truth["conversion"], truth["delays_days"]
        d["mql"] = {"median": 0.0, "sigma": 0.0}
        legs = [d[k] for k in ("sql", "opportunity", "won")]
        mean = sum(x["median"] * math.exp(x["sigma"] ** 2 / 2) for x in legs)
        var = sum(
            (math.exp(x["sigma"] ** 2) - 1) * x["median"] ** 2 * math.exp(x["sigma"] ** 2)
            for x in legs
        )
        sigma = math.sqrt(math.log(1 + var / mean**2))  # Fenton-Wilkinson lognormal
        delay = {"sum_of": ["sql", "opportunity", "won"], "mean": mean, "sd": math.sqrt(var)}
        delay |= {"lognormal_median": mean * math.exp(-(sigma**2) / 2), "lognormal_sigma": sigma}
        p = p_sql["before"] * c["p_opportunity"] * c["p_win"]
        truth["mql_to_won"] = {"p": p, "delay_days": delay}
    return truth


def _rates(truth: dict[str, Any], days: pd.DatetimeIndex) -> np.ndarray:
    """Expected arrivals per source (rows, ``SOURCES`` order) and day (columns)."""
    a = truth["arrivals"]
    start, as_of = truth["start"], truth["as_of"]
    frac = np.asarray((days - start) / (as_of - start), dtype=float)
    season = 1 + a["season_amplitude"] * np.cos(
        2 * np.pi * (np.asarray(days.day_of_year) - a["season_peak_day"]) / 365.25
    )
    week = np.asarray(a["weekday"]) * 7 / sum(a["weekday"])
    shape = week[np.asarray(days.day_of_week)] * season * a["growth_over_period"] ** frac
    base = np.array([a["base_per_week"][s] for s in SOURCES]) / 7
    return base[:, None] * shape[None, :]


def _lognormal(rng: np.random.Generator, spec: dict[str, float], size: Any) -> np.ndarray:
    if spec["median"] == 0:
        return np.zeros(size)
    return rng.lognormal(math.log(spec["median"]), spec["sigma"], size)


def _p_sql(truth: dict[str, Any], mql_days: np.ndarray) -> np.ndarray:
    """P(SQL | MQL) by MQL time (days after start): the regime of the MQL date."""
    p = truth["conversion"]["p_sql"]
    if truth["change_date"] is None:
        return np.full(mql_days.shape, p["before"])
    change = (truth["change_date"] - truth["start"]) / _DAY
    return np.where(mql_days >= change, p["after"], p["before"])


def _generators(seed: int) -> dict[str, np.random.Generator]:
    """One generator per part (``_PARTS``), all spawned from the one SeedSequence of ``seed``."""
    children = np.random.SeedSequence(seed).spawn(len(_PARTS))
    return {part: np.random.default_rng(c) for part, c in zip(_PARTS, children, strict=True)}


def _draw(truth: dict[str, Any]) -> pd.DataFrame:
    """One export of the truth process, as it stands on the as-of date."""
    start, as_of = truth["start"], truth["as_of"]
    g = _generators(truth["seed"])
    days = pd.date_range(start, as_of, freq="D", inclusive="left")
    counts = g["arrivals"].poisson(_rates(truth, days)).ravel()
    day = np.repeat(np.tile(np.arange(len(days)), len(SOURCES)), counts)
    src = np.repeat(np.repeat(np.arange(len(SOURCES)), len(days)), counts)
    created = day + (8 + 10 * g["time_of_day"].beta(2, 2, day.size)) / 24
    order = np.argsort(created, kind="stable")
    created, src = created[order], src[order]
    n, c, d = created.size, truth["conversion"], truth["delays_days"]
    p_mql = np.array([c["p_mql"][s] for s in SOURCES])[src]
    mql = g["mql"].random(n) < p_mql
    mql_t = created + _lognormal(g["mql_delay"], d["mql"], n)
    sql = mql & (g["sql"].random(n) < _p_sql(truth, mql_t))
    sql_t = mql_t + _lognormal(g["sql_delay"], d["sql"], n)
    opp = sql & (g["opportunity"].random(n) < c["p_opportunity"])
    opp_t = sql_t + _lognormal(g["opportunity_delay"], d["opportunity"], n)
    won = opp & (g["close"].random(n) < c["p_win"])
    won_t = opp_t + _lognormal(g["won_delay"], d["won"], n)
    lost_t = opp_t + _lognormal(g["lost_delay"], d["lost"], n)
    amount = np.round(_lognormal(g["amount"], truth["amount"], n), 2)
    a, b = np.array(list(_SCORE_BETA.values())).T[:, mql.astype(int) + sql]
    score = np.round(100 * g["score"].beta(a, b))
    # The snapshot on the as-of date: what happens later is not known yet.
    horizon = (as_of - start) / _DAY
    seen = {
        "mql_date": np.where(mql & (mql_t <= horizon), mql_t, np.nan),
        "sql_date": np.where(sql & (sql_t <= horizon), sql_t, np.nan),
        "opportunity_date": np.where(opp & (opp_t <= horizon), opp_t, np.nan),
        "won_date": np.where(won & (won_t <= horizon), won_t, np.nan),
        "lost_date": np.where(opp & ~won & (lost_t <= horizon), lost_t, np.nan),
    }
    reached = {k: ~np.isnan(v) for k, v in seen.items()}
    age = horizon - np.fmax(created, np.fmax(seen["mql_date"], seen["sql_date"]))
    status = np.select(
        [
            reached["won_date"],
            reached["lost_date"],
            reached["opportunity_date"],
            reached["sql_date"],
            reached["mql_date"],
        ],
        [
            "Customer",
            "Closed Lost",
            "Open Deal",
            np.where(age > 60, "Bad Timing", "In Progress"),
            np.where(age > 30, "Unqualified", "Open"),
        ],
        np.where(age > 14, "Unqualified", "New"),
    )

    def stamp(t: np.ndarray) -> pd.Series:  # to the minute, as a CRM shows it
        return pd.Series(start + pd.to_timedelta(t, unit="D")).dt.floor("min")

    table = {
        "lead_id": np.arange(100001, 100001 + n),
        "created": stamp(created),
        "source": np.array(SOURCES, dtype=object)[src],
        "score": score,
        **{k: stamp(v) for k, v in seen.items()},
        "amount": np.where(reached["opportunity_date"], amount, np.nan),
        "status": status.astype(object),
    }
    if truth["case"] == "thin":  # an MQL export: the MQL date is the creation date
        table["mql_date"] = table["created"]
    return pd.DataFrame({k: table[k] for k in truth["columns"]})


@dataclass(frozen=True, eq=False)
class SyntheticExport:
    """A synthetic lead export (canonical columns, only those this case's export has) and the
    truth that made it, so a method's output can be checked against known parameters."""

    case: str
    leads: pd.DataFrame
    truth: dict[str, Any]

    @property
    def as_of(self) -> pd.Timestamp:
        """When the snapshot was taken: no date in ``leads`` is later."""
        return self.truth["as_of"]

    def write(self, directory: str | Path) -> Path:
        """Write ``leads.csv`` with HubSpot column names and dates, as a CRM would export it,
        so that :func:`simfunnel.data.read_leads` reads it back unchanged; returns the path."""
        out = Path(directory)
        out.mkdir(parents=True, exist_ok=True)
        frame = self.leads.copy()
        for name in frame.columns:
            if pd.api.types.is_datetime64_any_dtype(frame[name]):
                text = frame[name].dt.strftime(DATE_FORMATS["hubspot"])
                frame[name] = text.where(frame[name].notna(), "")
        frame = frame.rename(columns=STYLES["hubspot"]["leads"])
        return write_csv(frame, out / "leads.csv")

    def expected_monthly(self, months: list[str] | None = None, reps: int = 200) -> pd.DataFrame:
        """The truth process's mean count per calendar month and metric (the metrics this
        export has a date for), not cut at the as-of date: the target a forecast from any
        cutoff should hit. ``months``: ``YYYY-MM``; by default those of the export.

        Arrival counts are Poisson, so their means are exact (the sum of the daily rates);
        the later stages are the arrivals' mean weighted by the stage probabilities and
        spread over months by ``reps`` Monte Carlo draws of the delays per day of arrival.
        """
        if reps < 1:
            raise ValueError(f"reps must be at least 1, not {reps}")
        t = self.truth
        start, as_of = t["start"], t["as_of"]
        wanted = (
            pd.PeriodIndex([pd.Period(m, "M") for m in months])
            if months is not None
            else pd.period_range(start, as_of - pd.Timedelta(1, "ns"), freq="M")
        )
        metrics = [m for m, col in METRICS.items() if col in t["columns"]]
        if not len(wanted):
            return pd.DataFrame({"month": [], "metric": [], "expected": []})
        span = pd.period_range(min(wanted.min(), start.to_period("M")), wanted.max(), freq="M")
        end = (span[-1] + 1).start_time
        edges = np.array([(p.start_time - start) / _DAY for p in span] + [(end - start) / _DAY])
        days = pd.date_range(start, max(start, end), freq="D", inclusive="left")
        lam = _rates(t, days)
        c, d = t["conversion"], t["delays_days"]
        rng = _generators(t["seed"])["expected"]
        day = np.arange(len(days), dtype=float)[:, None]
        mql_t = day + (8 + 10 * rng.beta(2, 2, (len(days), reps))) / 24
        mql_t = mql_t + _lognormal(rng, d["mql"], mql_t.shape)
        sql_t = mql_t + _lognormal(rng, d["sql"], mql_t.shape)
        opp_t = sql_t + _lognormal(rng, d["opportunity"], mql_t.shape)
        w_mql = (lam * np.array([c["p_mql"][s] for s in SOURCES])[:, None]).sum(0)[:, None]
        w_sql = w_mql * _p_sql(t, mql_t)
        w_opp = w_sql * c["p_opportunity"]
        events = {
            "leads": (day + 0.5, lam.sum(0)[:, None] * reps),
            "mqls": (mql_t, w_mql),
            "sqls": (sql_t, w_sql),
            "valid_opportunities": (opp_t, w_opp),
            "won": (opp_t + _lognormal(rng, d["won"], mql_t.shape), w_opp * c["p_win"]),
            "lost": (opp_t + _lognormal(rng, d["lost"], mql_t.shape), w_opp * (1 - c["p_win"])),
        }
        totals: dict[str, dict[pd.Period, float]] = {}
        for metric in metrics:
            when, weight = np.broadcast_arrays(*events[metric])
            k = np.searchsorted(edges, when.ravel(), side="right") - 1
            ok = (k >= 0) & (k < len(span))
            total = np.bincount(k[ok], weights=weight.ravel()[ok], minlength=len(span)) / reps
            totals[metric] = dict(zip(span, total.tolist(), strict=True))
        rows = [(str(p), m, float(totals[m][p])) for p in wanted for m in metrics]
        return pd.DataFrame(rows, columns=["month", "metric", "expected"])


def synthetic_export(
    case: str = "steady", *, seed: int = 0, start: str = "2023-01-02", months: int = 24
) -> SyntheticExport:
    """A synthetic lead export of ``case`` (``CASES``) covering ``months`` from ``start``
    (the as-of date is ``start + months``), reproducible from ``seed``."""
    if case not in CASES:
        raise ValueError(f"unknown case {case!r}; use one of {', '.join(CASES)}")
    if months < 1:
        raise ValueError(f"months must be at least 1, not {months}")
    begin = pd.Timestamp(start).normalize()
    truth = _truth(case, seed, begin, begin + pd.DateOffset(months=months))
    return SyntheticExport(case, _draw(truth), truth)
