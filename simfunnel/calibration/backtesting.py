"""Backtests: fit on the data before a cutoff, forecast past it, and score against what happened.

A fitted scenario earns trust only if its forecasts would have been right. :func:`backtest`
hides everything after ``cutoff`` (leads created later, stage dates reached later, calls and
closes after it), fits a scenario on the rest (:func:`simfunnel.calibration.fitting.fit`), forecasts
``horizon_weeks`` from the cutoff (:func:`simfunnel.forecast`) and compares each period's actual
count of every stage with the forecast band: the share of periods inside the band (coverage, to
compare with its nominal level) and the mean absolute percentage error of the forecast mean
(MAPE). Three options shape it:

- ``start_from``: ``"snapshot"`` (the default) starts the forecast from the funnel as it stood
  at the cutoff, a lead table built from the exports by :func:`lead_snapshot`; ``"warm_up"``
  lets the fitted model fill its own pipeline first;
- ``arrivals``: ``"forecast"`` (the default) draws new leads from the fitted Poisson rates;
  ``"actual"`` replays the leads that did arrive after the cutoff (each source's created times,
  grouped by clock hour, become bursts of one hour), so the test isolates everything downstream
  of arrivals;
- ``freq``: ``"W"`` scores weekly counts, ``"M"`` calendar-month counts (the weekly table is
  always there); a horizon of ``horizon_months`` ends at a month's end and is scored by month.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..base.units import WEEK
from ..decisions import FLOWS, Forecast, forecast
from ..decisions.forecasting import band_table, weekly_arrays
from ..model import Snapshot, read_snapshot
from ..scenario import scenario_from_dict
from .cohort_forecast import pi_per_lead, survival
from .cohorts import StageFit, parent_column
from .fitting import (
    _DISTS,
    MIN_LEADS,
    Calibration,
    CalibrationError,
    ExportTable,
    check_exports,
    fit,
    parse_timestamp,
    read_calls,
    read_leads,
    read_opportunities,
)

__all__ = [
    "ARRIVALS",
    "FREQS",
    "STAGES",
    "STARTS",
    "Backtest",
    "SQLHazard",
    "backtest",
    "lead_snapshot",
    "sql_hazard",
]

# Forecast metric -> the lead-table date that counts it.
STAGES: dict[str, str] = {
    "leads": "created",
    "mqls": "mql_date",
    "sqls": "sql_date",
    "valid_opportunities": "opportunity_date",
    "won": "won_date",
    "lost": "lost_date",
}
ARRIVALS = ("forecast", "actual")
STARTS = ("snapshot", "warm_up")
FREQS = ("W", "M")
# Lead statuses (simfunnel end states) that a lead keeps once there, for the snapshot.
_SETTLED = (
    "recycled",
    "information_gathering",
    "postponed",
    "no_prospect",
    "do_not_call",
    "cold",
    "aged_out",
)
_CONTACTED = ("information_gathering", "postponed", "no_prospect", "do_not_call")
_DEFAULT_GAPS_DAYS = 12.0  # the scenario's default cadence gaps: 1, 2, 2, 3, 4 days


@dataclass(frozen=True, eq=False)
class Backtest:
    """A backtest's result.

    ``weekly``: one row per week and stage: ``week, week_start, metric, actual, mean``, the
    band (``p10, p50, p90`` at level 0.8) and ``inside``. ``monthly`` (with ``freq="M"``, else
    None): the same per calendar month (``month, month_start, days`` in the horizon,
    ``partial``, ...). ``horizon_months``: the horizon in months when given so (then
    ``horizon_weeks`` is the whole weeks simulated to reach its end).
    ``summary``: per stage, the weeks of the horizon, ``freq`` and the ``periods`` scored,
    ``coverage`` (share of periods inside the band), ``nominal`` level, ``mape`` (of the mean,
    over periods with an actual above 0), the actual total and the forecast total with its band.
    ``calibration``: the fit on the data before the cutoff; ``forecast``: the forecast;
    ``snapshot``: the funnel it started from (``start_from="snapshot"``), ``snapshot_table``
    the lead table it was read from; ``notes``: what was left out, and why.
    """

    cutoff: pd.Timestamp
    horizon_weeks: int
    calibration: Calibration
    forecast: Forecast
    weekly: pd.DataFrame
    summary: pd.DataFrame
    freq: str = "W"
    arrivals: str = "forecast"
    start_from: str = "snapshot"
    monthly: pd.DataFrame | None = None
    snapshot: Snapshot | None = None
    snapshot_table: pd.DataFrame | None = None
    notes: tuple[str, ...] = ()
    horizon_months: int | None = None

    @property
    def periods(self) -> pd.DataFrame:
        """The table the summary scores: ``monthly`` with ``freq="M"``, else ``weekly``."""
        if self.freq == "M" and self.monthly is not None:
            return self.monthly
        return self.weekly

    def monthly_samples(self) -> tuple[list[str], np.ndarray]:
        """Each replication's count of every stage (``STAGES``) per calendar month of the
        horizon: the months, and an array (stages, replications, months), for scoring the
        whole band (CRPS) beside other forecasters (:mod:`simfunnel.calibration.rolling`)."""
        return _simulated_monthly(self.forecast, _origin(self.cutoff), self.horizon_end)

    @property
    def horizon_end(self) -> pd.Timestamp:
        """Where the horizon ends (a month's end with a horizon in months)."""
        weeks = None if self.horizon_months else self.horizon_weeks
        return _horizon_end(_origin(self.cutoff), weeks, self.horizon_months)[0]

    @property
    def coverage(self) -> float:
        """Share of all (period, stage) actuals inside their band, at the chosen frequency."""
        return float(self.periods["inside"].mean())

    def plot(self, metric: str = "sqls", ax: Any = None, freq: str | None = None) -> Any:
        """The forecast band of one stage with the actual counts drawn over it: weekly (the
        forecast's fan chart) or, with ``freq="M"`` (default: the backtest's), by month."""
        if metric not in STAGES:
            raise ValueError(f"unknown metric {metric!r}; use one of {', '.join(STAGES)}")
        freq = self.freq if freq is None else freq
        _check_choice("freq", freq, FREQS)
        s = self.summary.set_index("metric").loc[metric]
        if freq == "M":
            if self.monthly is None:
                raise ValueError("no monthly table: run the backtest with freq='M'")
            if ax is None:
                import matplotlib.pyplot as plt

                _, ax = plt.subplots(figsize=(9, 4.5))
            rows = self.monthly[self.monthly["metric"] == metric]
            low, _, high = self.forecast.quantile_columns
            x = np.arange(len(rows))
            ax.bar(x, rows[high] - rows[low], bottom=rows[low], color="C0", alpha=0.3,
                   label=f"{self.forecast.level:.0%} band")  # fmt: skip
            ax.plot(x, rows["mean"], "_", color="C0", markersize=20, label="mean")
            ax.plot(x, rows["actual"], "o", color="black", label="actual")
            ax.set_xticks(x, [f"{m} ({d} d)" for m, d in zip(rows["month"], rows["days"],
                                                              strict=True)])  # fmt: skip
            ax.set_ylabel(f"{metric} per month (days in the horizon)")
            ax.grid(alpha=0.3)
        else:
            ax = self.forecast.plot(metric, ax=ax)
            rows = self.weekly[self.weekly["metric"] == metric].sort_values("week")
            x = [d + dt.timedelta(days=7) for d in rows["week_start"]]
            ax.plot(x, rows["actual"], "o-", color="black", markersize=4, label="actual")
            # The fan chart fixed its y limits; the actual weeks must fit too.
            ax.set_autoscaley_on(True)
            ax.relim()
            ax.autoscale_view(scalex=False)
            ax.set_ylim(bottom=0)
        table = self.monthly if freq == "M" else self.weekly
        w = table[table["metric"] == metric]
        coverage = float(w["inside"].mean())
        pos = w[w["actual"] > 0]
        mape = float((abs(pos["mean"] - pos["actual"]) / pos["actual"]).mean()) if len(pos) else 0
        ax.set_title(
            f"Backtest from {self.cutoff:%Y-%m-%d}: {metric}, coverage {coverage:.0%} "
            f"(nominal {s['nominal']:.0%}), MAPE {mape:.0%}"
        )
        ax.legend(loc="upper left")
        return ax

    def __repr__(self) -> str:
        horizon = (
            f"weeks={self.horizon_weeks}"
            if self.horizon_months is None
            else f"months={self.horizon_months}"
        )
        return (
            f"Backtest(cutoff={self.cutoff:%Y-%m-%d}, {horizon}, "
            f"freq={self.freq}, start_from={self.start_from}, arrivals={self.arrivals}, "
            f"coverage={self.coverage:.2f})"
        )


def _check_choice(name: str, value: Any, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise ValueError(f"{name} must be one of {', '.join(map(repr, choices))} (got {value!r})")


def _before(
    table: ExportTable, cutoff: pd.Timestamp, dates: list[str], created: str
) -> ExportTable:
    """The table as it stood at the cutoff: rows created later dropped, later dates blanked."""
    data = table.data[table.data[created] < cutoff].copy()
    changed = pd.Series(False, index=data.index)
    for col in dates:
        if col in data:
            later = data[col] >= cutoff
            changed |= later
            data[col] = data[col].where(~later)
    if "status" in data:  # the status is as of the extract: unknown at the cutoff if it moved
        data["status"] = data["status"].where(~changed)
    if "won" in data and "close_date" in data:
        data["won"] = data["won"].where(data["close_date"].notna())
    return dataclasses.replace(table, data=data.reset_index(drop=True))


_LEAD_DATES = ["mql_date", "sql_date", "opportunity_date", "won_date", "lost_date"]


def _frame(x: ExportTable | pd.DataFrame | None) -> pd.DataFrame | None:
    return x.data if isinstance(x, ExportTable) else x


Hazard = Callable[[np.ndarray, np.ndarray], np.ndarray]


@dataclass(frozen=True)
class SQLHazard:
    """The fitted chance that an MQL still open at its age becomes an SQL later, from the
    cohort model's cure-fraction fit of the MQL->SQL stage (:mod:`simfunnel.calibration.cohorts`).

    Called with the ages in days since the MQL date and the sources, it returns
    ``pi*S(a) / (1 - pi*(1 - S(a)))`` per lead (``pi`` the source's rate, ``S`` the delay's
    survival), as :mod:`simfunnel.calibration.cohort_forecast` draws open leads (no known-out term: an
    MQL is not known never to become an SQL). :meth:`fresh` is ``pi``, the conversion of a
    fresh MQL. Sources the fit pooled (or never saw) take the pooled rate."""

    fit: StageFit

    def __call__(self, ages_days: np.ndarray, sources: np.ndarray) -> np.ndarray:
        age = np.asarray(ages_days, dtype=float)
        pi = self.fresh(sources)
        s = np.where(age > 0, survival(self.fit, self.fit.theta, np.maximum(age, 0.0)), 1.0)
        with np.errstate(invalid="ignore", divide="ignore"):
            p = pi * s / (1 - pi * (1 - s))
        return np.clip(np.nan_to_num(p, nan=0.0), 0.0, 1.0)

    def fresh(self, sources: np.ndarray) -> np.ndarray:
        """The stage's rate for each lead's source: what a fresh MQL converts at."""
        return pi_per_lead(self.fit, self.fit.theta, np.asarray(sources, dtype=object))


def sql_hazard(cohorts: Any) -> SQLHazard | None:
    """The MQL->SQL hazard of a cohort model (``Calibration.cohorts``), or None when there is
    no model, it has no ``sqls`` stage, or that stage is not counted from the MQL date."""
    if cohorts is None or "sqls" not in getattr(cohorts, "stages", {}):
        return None
    if parent_column("sql_date", cohorts.present) != "mql_date":
        return None
    return SQLHazard(cohorts.stages["sqls"])


def _fresh(hazard: Hazard, sources: np.ndarray) -> np.ndarray:
    """A fresh MQL's chance: the hazard's own ``fresh`` rates, else the hazard at age 0."""
    fresh = getattr(hazard, "fresh", None)
    if fresh is not None:
        return np.asarray(fresh(sources), dtype=float)
    return np.asarray(hazard(np.zeros(len(sources)), sources), dtype=float)


def lead_snapshot(
    leads: ExportTable | pd.DataFrame,
    cutoff: Any,
    calls: ExportTable | pd.DataFrame | None = None,
    opportunities: ExportTable | pd.DataFrame | None = None,
    *,
    max_attempts: int = 6,
    cadence_days: float = _DEFAULT_GAPS_DAYS + 7,
    meeting_days: float = 14.0,
    hazard: Hazard | None = None,
    seed: int = 0,
) -> pd.DataFrame:
    """The funnel as it stood at ``cutoff``, from the exports, as a lead table in the format
    :func:`simfunnel.read_snapshot` reads (``result.leads``'s columns).

    One row per lead created before the cutoff: ``lead_id, source, end_state, arrived,
    attempts, valid_opportunity, value, score`` and ``rule`` (which rule below set the state).
    Only what was known at the cutoff is used: later stage dates, calls and closes are ignored,
    and the lead status (an extract-time field) only when no stage date moved after the cutoff.
    The state is set by the latest stage the lead had reached (docs/calibration.md):

    - won or lost date -> ``won`` / ``lost``;
    - an opportunity not closed -> ``open_opportunity``, with ``valid_opportunity`` = its date
      and ``value`` = the amount (from the opportunities table when the lead table has no
      opportunity date but a deal names the lead);
    - an SQL with no opportunity -> ``sql`` while the first meeting can still be ahead (SQL
      within ``meeting_days`` of the cutoff, or status ``sql``); older ones were decided at
      their meeting without becoming an opportunity -> ``rejected``;
    - an MQL with no SQL, with a call log: no call before the cutoff -> ``untouched`` (``cold``
      if that is its status); a contact before it -> its status if one of the contact outcomes,
      else ``information_gathering``; calls without contact -> ``working`` with ``attempts`` =
      the calls made, or ``recycled`` once ``max_attempts`` were made. Without a call log:
      ``working`` with 1 attempt (attempts unknown) if the MQL is within ``cadence_days`` of the
      cutoff; an older one is kept ``working`` (1 attempt, so the simulated cadence works it)
      with probability ``min(1, p / p_fresh)`` when a ``hazard`` is given, else (and when not
      drawn) settled: its status when it is a settled one (recycled, a contact outcome, cold,
      aged out), else ``recycled``;
    - below MQL -> ``nurture``.

    ``hazard``: a callable ``(ages_days, sources) -> p``, the chance that an MQL still open at
    that age (days since its MQL date) becomes an SQL later (:func:`sql_hazard` builds it from
    a fitted cohort model); ``p_fresh`` is its ``fresh(sources)`` when it has one, else the
    hazard at age 0: the conversion of a fresh MQL, which the simulated cadence reproduces, so
    a kept lead brings ``p`` expected SQLs. The draws come from one generator seeded by
    ``seed`` (the same seed, the same table). Ignored with a call log; without a hazard the
    old MQLs are all settled, as before.
    """
    return _snapshot(leads, cutoff, calls, opportunities, max_attempts=max_attempts,
                     cadence_days=cadence_days, meeting_days=meeting_days, hazard=hazard,
                     seed=seed)[0]  # fmt: skip


def _snapshot(
    leads: ExportTable | pd.DataFrame,
    cutoff: Any,
    calls: ExportTable | pd.DataFrame | None,
    opportunities: ExportTable | pd.DataFrame | None,
    *,
    max_attempts: int,
    cadence_days: float,
    meeting_days: float,
    hazard: Hazard | None,
    seed: int,
) -> tuple[pd.DataFrame, np.ndarray]:
    """:func:`lead_snapshot`'s table and, per row, the hazard's ``p`` for the old MQLs it was
    drawn for (NaN elsewhere)."""
    cut = pd.Timestamp(cutoff)
    L = _frame(leads)
    assert L is not None
    L = L[L["created"] < cut].copy()
    for col in _LEAD_DATES:
        if col not in L:
            L[col] = pd.NaT
    moved = pd.Series(False, index=L.index)
    for col in _LEAD_DATES:
        later = L[col] >= cut
        moved |= later
        L[col] = L[col].where(~later)
    status = (
        L["status"].where(~moved).fillna("").astype(str).str.lower()
        if "status" in L
        else pd.Series("", index=L.index)
    )
    L["source"] = L["source"].fillna("unknown") if "source" in L else "unknown"
    amount = L["amount"] if "amount" in L else pd.Series(np.nan, index=L.index)
    opp_date = L["opportunity_date"].copy()
    won_date, lost_date = L["won_date"].copy(), L["lost_date"].copy()
    deals = _frame(opportunities)
    if deals is not None and "lead_id" in deals and deals["lead_id"].notna().any():
        o = (
            deals[deals["created"] < cut]
            .drop_duplicates("lead_id", keep="last")
            .set_index("lead_id")
        )
        closed = o["close_date"].notna() & (o["close_date"] < cut) & o["won"].notna()
        ids = L["lead_id"]
        fill = opp_date.isna() & ids.isin(o.index)
        opp_date[fill] = ids[fill].map(o["created"])
        amount = amount.where(~(fill & amount.isna()), ids.map(o["amount"]))
        was_closed = ids.map(closed).fillna(False).astype(bool) & fill
        was_won = ids.map(o["won"]).fillna(False).astype(bool)
        won_date[was_closed & was_won] = ids[was_closed & was_won].map(o["close_date"])
        lost_date[was_closed & ~was_won] = ids[was_closed & ~was_won].map(o["close_date"])
    state = pd.Series("nurture", index=L.index, dtype=object)
    rule = pd.Series("below MQL at the cutoff", index=L.index, dtype=object)
    attempts = pd.Series(0, index=L.index, dtype=int)
    p_sql = np.full(len(L), np.nan)
    mql_only = L["mql_date"].notna() & L["sql_date"].isna()
    C = _frame(calls)
    if C is not None:
        c = C[C["timestamp"] < cut]
        n_calls = L["lead_id"].map(c.groupby("lead_id").size()).fillna(0).astype(int)
        contacts = c[c["outcome"] == "contact"].groupby("lead_id").size()
        talked = L["lead_id"].map(contacts).fillna(0).astype(int) > 0
        untouched = mql_only & (n_calls == 0)
        state[untouched] = np.where(status[untouched] == "cold", "cold", "untouched")
        rule[untouched] = "MQL, no call before the cutoff"
        contacted = mql_only & (n_calls > 0) & talked
        state[contacted] = np.where(
            status[contacted].isin(_CONTACTED), status[contacted], "information_gathering"
        )
        rule[contacted] = "MQL contacted before the cutoff, not an SQL"
        working = mql_only & (n_calls > 0) & ~talked
        done = working & (n_calls >= max_attempts)
        state[working] = "working"
        state[done] = "recycled"
        attempts[working] = n_calls[working]
        rule[working] = "MQL in the cadence: attempts = calls before the cutoff"
        rule[done] = f"MQL called {max_attempts} times without contact"
    else:
        recent = mql_only & (cut - L["mql_date"] <= pd.Timedelta(days=cadence_days))
        state[recent] = "working"
        attempts[recent] = 1
        rule[recent] = f"MQL within {cadence_days:g} days, no call log: attempts unknown (1)"
        old = mql_only & ~recent
        state[old] = np.where(status[old].isin(_SETTLED), status[old], "recycled")
        rule[old] = f"MQL over {cadence_days:g} days old, not an SQL: settled"
        if hazard is not None and old.any():
            age = ((cut - L.loc[old, "mql_date"]) / pd.Timedelta(days=1)).to_numpy(float)
            src = L.loc[old, "source"].astype(str).to_numpy(object)
            p = np.clip(np.nan_to_num(np.asarray(hazard(age, src), dtype=float)), 0.0, 1.0)
            fresh = np.clip(np.nan_to_num(_fresh(hazard, src)), 0.0, 1.0)
            with np.errstate(invalid="ignore", divide="ignore"):
                chance = np.where(fresh > 0, np.minimum(1.0, p / fresh), 0.0)
            keep = np.random.default_rng(np.random.SeedSequence(seed)).random(len(p)) < chance
            pos = np.flatnonzero(old.to_numpy())
            p_sql[pos] = p
            state.iloc[pos[keep]] = "working"
            attempts.iloc[pos[keep]] = 1
            rule.iloc[pos] = [
                f"MQL {a:.0f} days old, no call log: "
                f"{'kept in the cadence' if k else 'settled'} by the fitted hazard "
                f"(p {pi:.2f} of {pf:.2f})"
                for a, k, pi, pf in zip(age, keep, p, fresh, strict=True)
            ]
    sql = L["sql_date"].notna()
    pending = (cut - L["sql_date"] <= pd.Timedelta(days=meeting_days)) | (status == "sql")
    state[sql] = np.where(pending[sql], "sql", "rejected")
    rule[sql] = np.where(
        pending[sql],
        "SQL, meeting still ahead",
        f"SQL over {meeting_days:g} days old, no opportunity",
    )
    is_opp = opp_date.notna()
    state[is_opp] = "open_opportunity"
    rule[is_opp] = "opportunity not closed at the cutoff"
    for col, name in ((won_date, "won"), (lost_date, "lost")):
        hit = col.notna()
        state[hit] = name
        rule[hit] = f"{name} before the cutoff"
    open_opp = state == "open_opportunity"
    out = pd.DataFrame(
        {
            "lead_id": L["lead_id"].to_numpy(),
            "source": L["source"].astype(str).to_numpy(),
            "end_state": state.to_numpy(),
            "arrived": L["created"].to_numpy(),
            "attempts": attempts.to_numpy(),
            "valid_opportunity": opp_date.where(open_opp).to_numpy(),
            "value": _floats(amount.where(open_opp)),
            "score": _floats(L["score"] if "score" in L else pd.Series(np.nan, index=L.index)),
            "rule": rule.to_numpy(),
        }
    )
    return out, p_sql


def _floats(values: pd.Series) -> np.ndarray:
    """Numbers as floats, blanks as NaN: a column the export lacks is all pd.NA, which numpy
    cannot turn into a float."""
    return pd.to_numeric(values, errors="coerce").to_numpy(dtype=float, na_value=np.nan)


def _calendar_days(scenario_dict: dict[str, Any]) -> float:
    """Days a cadence runs: the sum of its gaps (default 1, 2, 2, 3, 4 days), plus a week."""
    gaps = scenario_dict.get("cadence", {}).get("gaps")
    if not gaps:
        return _DEFAULT_GAPS_DAYS + 7
    hours = 0.0
    for g in gaps:
        number, unit = str(g).split()
        hours += float(number) * {"h": 1, "days": 24, "day": 24}.get(unit, 1)
    return hours / 24 + 7


def _meeting_days(calibration: Calibration) -> float:
    """Days within which a first meeting is all but sure to be held: the fitted meeting delay's
    99th percentile plus a day (14 days without a fit)."""
    d = calibration.durations
    if d.empty or not (d["stage"] == "meeting_delay").any():
        return 14.0
    b = d[(d["stage"] == "meeting_delay") & d["chosen"]].iloc[0]
    if b["dist"] == "fixed":
        return float(b["median"]) + 1.0
    return float(_DISTS[b["dist"]](b["shape"], scale=b["scale"]).ppf(0.99)) + 1.0


def _bursts(created: pd.Series, source: pd.Series, names: list[str]) -> dict[str, list[dict]]:
    """Per source, the leads created grouped by clock hour: one burst of an hour each."""
    hour = created.dt.floor("h")
    out: dict[str, list[dict]] = {n: [] for n in names}
    counts = pd.DataFrame({"source": source, "hour": hour}).groupby(["source", "hour"]).size()
    for (src, h), k in counts.items():
        if src in out:
            out[src].append({"start": f"{h:%Y-%m-%d %H:%M}", "leads": int(k), "over": "1 h"})
    return out


def _actual_counts(
    lt: pd.DataFrame, origin: pd.Timestamp, end: pd.Timestamp, freq: str
) -> pd.DataFrame:
    """Actual counts of every stage per week (``week``) or calendar month (``month``)."""
    rows = []
    for metric, col in STAGES.items():
        when = lt[col].dropna()
        when = when[(when >= origin) & (when < end)]
        if freq == "W":
            horizon = round((end - origin) / pd.Timedelta(weeks=1))
            week = ((when - origin).dt.total_seconds() // 604800).astype(int)
            counts = np.bincount(week, minlength=horizon)[:horizon]
            rows.append(pd.DataFrame({"week": np.arange(horizon), "metric": metric,
                                      "actual": counts}))  # fmt: skip
        else:
            months = _months(origin, end)
            got = when.dt.to_period("M").astype(str).value_counts()
            rows.append(pd.DataFrame({"month": months, "metric": metric,
                                      "actual": [int(got.get(m, 0)) for m in months]}))  # fmt: skip
    return pd.concat(rows, ignore_index=True)


def _months(origin: pd.Timestamp, end: pd.Timestamp) -> list[str]:
    return [str(p) for p in pd.period_range(origin, end - pd.Timedelta(seconds=1), freq="M")]


def _simulated_monthly(
    fc: Forecast, origin: pd.Timestamp, end: pd.Timestamp
) -> tuple[list[str], np.ndarray]:
    """Per replication, the count of every stage per calendar month of [origin, end), from
    the replications replayed (the same draws as the forecast's bands; weekly tables cannot
    be split at a month's edge). Shape (stages, replications, months)."""
    months = _months(origin, end)
    reps = sorted(fc.experiment.long["replication"].unique())
    inbound = set(fc.scenario.source_names)
    cube = np.zeros((len(STAGES), len(reps), len(months)))
    for j, r in enumerate(reps):
        leads = fc.experiment.replay(int(r)).leads
        state = leads["end_state"].astype(str)
        times = {
            "leads": leads["arrived"].where(leads["source"].astype(str).isin(inbound)),
            "mqls": leads["arrived"].where(
                leads["source"].astype(str).isin(inbound) & leads["mql"].astype(bool)
            ),
            "sqls": leads["tossed_up"],
            "valid_opportunities": leads["valid_opportunity"],
            "won": leads["closed"].where(state == "won"),
            "lost": leads["closed"].where(state == "lost"),
        }
        for i, metric in enumerate(STAGES):
            t = times[metric].dropna()
            t = t[(t >= origin) & (t < end)]
            got = t.dt.to_period("M").astype(str).value_counts()
            cube[i, j] = [got.get(m, 0) for m in months]
    return months, cube


def _score(table: pd.DataFrame, low: str, high: str) -> pd.DataFrame:
    table["inside"] = (table["actual"] >= table[low]) & (table["actual"] <= table[high])
    return table


def _extended_forecast(
    data: dict[str, Any], warm_weeks: int, horizon_weeks: int, lt: pd.DataFrame,
    names: list[str], kw: dict[str, Any],
) -> Forecast:  # fmt: skip
    """With actual arrivals and a warm-up: the warm-up weeks run as the first weeks of a
    longer period fed by the actual leads of those weeks (known at the cutoff), and are then
    cut off the bands, since the engine's own warm-up draws its leads from the rates."""
    origin = pd.Timestamp(data["start_date"])
    first = origin - pd.Timedelta(weeks=warm_weeks)
    end = origin + pd.Timedelta(weeks=horizon_weeks)
    data.pop("warm_up", None)

    def period(start: pd.Timestamp, weeks: int) -> Any:
        d = dict(data, start_date=f"{start:%Y-%m-%d}", horizon=f"{weeks} weeks")
        mine = lt[(lt["created"] >= start) & (lt["created"] < end)]
        bursts = _bursts(mine["created"], mine["source"], names)
        d["sources"] = [dict(s, rate_per_week=0, bursts=bursts[s["name"]]) for s in data["sources"]]
        return scenario_from_dict(d, source="<backtest, actual arrivals>")

    longer = period(first, warm_weeks + horizon_weeks)
    fc = forecast(longer, **kw, warm_up=0)  # its warm-up is the first weeks, fed actual leads
    cube = weekly_arrays(fc.experiment, longer.weeks)[:, :, warm_weeks:]
    flows = cube.copy()
    n = len(FLOWS)
    flows[:n] = np.cumsum(cube[:n], axis=2)
    scenario = period(origin, horizon_weeks)
    return Forecast(
        scenario=scenario,
        experiment=fc.experiment,
        level=fc.level,
        bands=band_table(cube, scenario, fc.level),
        cumulative=band_table(flows, scenario, fc.level),
        process_only=fc.process_only,
    )


def _horizon_freq(weeks: Any, months: Any, freq: str | None) -> str:
    """Check the horizon (weeks or calendar months, exactly one) and return the frequency
    scored: months are scored by month, since a horizon of months exists to fill them."""
    if (weeks is None) == (months is None):
        raise CalibrationError(
            "give horizon_weeks or horizon_months (one of them, not "
            f"{'both' if weeks is not None else 'neither'}): e.g. 13 weeks or 3 months"
        )
    for name, value in (("horizon_weeks", weeks), ("horizon_months", months)):
        if value is not None and (isinstance(value, bool) or not isinstance(value, int)
                                  or value < 1):  # fmt: skip
            raise ValueError(f"{name} must be a whole number >= 1 (got {value!r})")
    if months is not None and freq not in (None, "M"):
        raise ValueError(f"horizon_months scores calendar months: leave freq out or give 'M' "
                         f"(got {freq!r})")  # fmt: skip
    return "M" if months is not None else (freq or "W")


def _origin(cut: pd.Timestamp) -> pd.Timestamp:
    """Where the forecast starts: the cutoff, or the next midnight (the fitted scenario's
    start date, which is a day)."""
    return (cut + pd.Timedelta(days=1)).normalize() if cut != cut.normalize() else cut


def _horizon_end(
    origin: pd.Timestamp, weeks: int | None, months: int | None
) -> tuple[pd.Timestamp, int]:
    """The end of the horizon and the whole weeks to simulate to reach it. Months end at the
    end of the Nth calendar month counted from the origin's month when it starts a month,
    else from the next month (the partial first month is scored on its own row)."""
    if months is None:
        assert weeks is not None
        return origin + pd.Timedelta(weeks=weeks), weeks
    first = origin if origin.day == 1 else origin + pd.offsets.MonthBegin(1)
    end = first + pd.DateOffset(months=months)
    return end, math.ceil((end - origin) / pd.Timedelta(weeks=1))


def _data_until(
    lt: ExportTable, data_end: pd.Timestamp, end: pd.Timestamp, arrivals: str, what: str
) -> list[str]:
    """Data must reach the horizon (a week's slack). With forecast arrivals, any stage date
    in any table counts (a lead table exported before the deals is no reason to refuse); with
    actual arrivals, the end of the sample is the truth of it: a note, not a refusal."""
    slack = end - pd.Timedelta(days=7)
    last_lead = lt.data["created"].max()
    if arrivals == "forecast":
        if data_end < slack:
            raise CalibrationError(
                f"{lt.path}: the data end {data_end:%Y-%m-%d} (the last date in any table); "
                f"a {what} backtest from the cutoff needs data up to {end:%Y-%m-%d}"
            )
        return []
    if min(last_lead, data_end) >= slack:
        return []
    return [
        f"the sample ends {data_end:%Y-%m-%d} (last lead created {last_lead:%Y-%m-%d}), before "
        f"the horizon {end:%Y-%m-%d}: with actual arrivals no lead arrives after it, as in the "
        "data, and nothing is counted after it"
    ]


def _deal_value_note(snap_table: pd.DataFrame | None, calibration: Calibration) -> list[str]:
    """Say what the deal values rest on when the exports have no amounts."""
    params = calibration.parameters.set_index("parameter")
    if "ae.deal_value" not in params.index or params.at["ae.deal_value", "kind"] == "fitted":
        return []
    value, basis = params.at["ae.deal_value", "value"], params.at["ae.deal_value", "basis"]
    said = f"drawn from the scenario's deal value (ae.deal_value = {value}: {basis})"
    if snap_table is None:
        return [f"deal values are {said}"]
    open_deals = snap_table["end_state"] == "open_opportunity"
    blank = int((open_deals & snap_table["value"].isna()).sum())
    if not blank:
        return [f"new deals' values are {said}"]
    return [
        f"{blank} open opportunities at the cutoff have no amount: their deal values are {said}"
    ]


def _old_mql_note(
    table: pd.DataFrame, p_sql: np.ndarray, cadence_days: float, hazard: bool
) -> list[str]:
    """Without a call log: how many MQLs past the cadence were kept in it by the fitted
    MQL->SQL hazard and the SQLs they are expected to bring (or that all were settled)."""
    drawn = ~np.isnan(p_sql)
    if hazard:
        if not drawn.any():
            return []
        kept = int((drawn & (table["end_state"] == "working").to_numpy()).sum())
        return [
            f"{kept} of {int(drawn.sum())} MQLs over {cadence_days:.0f} days old with no SQL "
            "(no call log) kept in the cadence with 1 attempt by the fitted MQL->SQL hazard of "
            f"their age, the rest settled: {p_sql[drawn].sum():.1f} expected SQLs from them"
        ]
    old = int(table["rule"].str.startswith(f"MQL over {cadence_days:g} days old").sum())
    if not old:
        return []
    return [
        f"{old} MQLs over {cadence_days:.0f} days old with no SQL (no call log) settled: the fit "
        "has no MQL->SQL hazard (cohort model), so none of them becomes an SQL in the forecast"
    ]


def _actual_note(later: pd.DataFrame, names: list[str]) -> list[str]:
    new = sorted(set(later["source"]) - set(names))
    if not new:
        return []
    return [
        f"{int(later['source'].isin(new).sum())} leads of sources unseen before the cutoff "
        f"({', '.join(new)}) have no fitted score or rates: left out of the actual arrivals"
    ]


def _monthly(
    fc: Forecast, origin: pd.Timestamp, end: pd.Timestamp, level: float,
    actual_leads: pd.DataFrame,
) -> tuple[pd.DataFrame, np.ndarray]:  # fmt: skip
    """Per calendar month of [origin, end) and stage: the band from the replays, the actual
    count, ``days`` in the horizon and ``partial`` (fewer days than the month has)."""
    low, mid, high = fc.quantile_columns
    months, cube = _simulated_monthly(fc, origin, end)
    q = (1 - level) / 2
    qs = np.quantile(cube, [q, 0.5, 1 - q], axis=1, method="weibull")
    firsts = [max(pd.Period(m).start_time, origin) for m in months]
    lasts = [min(pd.Period(m).end_time + pd.Timedelta(1, "ns"), end) for m in months]
    days = [round((lasts[k] - firsts[k]) / pd.Timedelta(days=1)) for k in range(len(months))]
    rows = [
        {"month": m, "month_start": firsts[k].date(), "days": days[k],
         "partial": days[k] < pd.Period(m).days_in_month,
         "metric": metric, "mean": float(cube[i, :, k].mean()), low: float(qs[0, i, k]),
         mid: float(qs[1, i, k]), high: float(qs[2, i, k])}
        for i, metric in enumerate(STAGES)
        for k, m in enumerate(months)
    ]  # fmt: skip
    monthly = pd.DataFrame(rows).merge(
        _actual_counts(actual_leads, origin, end, "M"), on=["month", "metric"], how="left"
    )
    cols = ["month", "month_start", "days", "partial", "metric", "actual", "mean", low, mid, high]
    return _score(monthly[cols].copy(), low, high), cube


def _totals(
    fc: Forecast, weeks: int, cube: np.ndarray | None, level: float
) -> dict[str, tuple[float, float, float]]:
    """Per stage, the horizon's forecast total: mean and band. From the weekly cumulative
    bands, or (a horizon of months, which whole weeks overrun) from the monthly replays."""
    low, _, high = fc.quantile_columns
    if cube is not None:
        sums = cube.sum(axis=2)
        q = (1 - level) / 2
        qs = np.quantile(sums, [q, 1 - q], axis=1, method="weibull")
        return {m: (float(sums[i].mean()), float(qs[0, i]), float(qs[1, i]))
                for i, m in enumerate(STAGES)}  # fmt: skip
    cum = fc.cumulative
    last = cum[(cum["week"] == weeks - 1) & cum["metric"].isin(list(STAGES))].set_index("metric")
    return {m: (float(last.at[m, "mean"]), float(last.at[m, low]), float(last.at[m, high]))
            for m in STAGES}  # fmt: skip


def _summary(
    scored: pd.DataFrame, totals: dict[str, tuple[float, float, float]], fc: Forecast,
    weeks: int, months: int | None, freq: str, level: float,
) -> pd.DataFrame:  # fmt: skip
    """Per stage: coverage and MAPE over the periods scored, and the totals with their band."""
    low, _, high = fc.quantile_columns
    rows = []
    for metric in STAGES:
        w = scored[scored["metric"] == metric]
        pos = w[w["actual"] > 0]
        mape = (
            float((abs(pos["mean"] - pos["actual"]) / pos["actual"]).mean())
            if len(pos)
            else math.nan
        )
        mean, lo, hi = totals[metric]
        total = int(w["actual"].sum())
        row = {"metric": metric, "weeks": weeks}
        if months is not None:
            row["months"] = months
        row |= {
            "freq": freq,
            "periods": len(w),
            "coverage": float(w["inside"].mean()),
            "nominal": level,
            "mape": mape,
            "actual_total": total,
            "forecast_total": mean,
            f"total_{low}": lo,
            f"total_{high}": hi,
            "total_inside": bool(lo <= total <= hi),
        }
        rows.append(row)
    return pd.DataFrame(rows)


def _read_exports(
    leads: Any, calls: Any, opportunities: Any, kw: dict[str, Any]
) -> tuple[ExportTable, ExportTable | None, ExportTable | None, pd.Timestamp]:
    """The three tables read (or as given) and checked against each other, with the last
    plausible date of any of them."""
    lt = leads if isinstance(leads, ExportTable) else read_leads(leads, **kw)
    ct = calls if calls is None or isinstance(calls, ExportTable) else read_calls(calls, **kw)
    ot = (
        opportunities
        if opportunities is None or isinstance(opportunities, ExportTable)
        else read_opportunities(opportunities, **kw)
    )
    return check_exports(lt, ct, ot)


def _enough_before(lt: ExportTable, cut: pd.Timestamp) -> None:
    first = lt.data["created"].min()
    if first >= cut:
        raise CalibrationError(
            f"{lt.path}: no lead created before the cutoff {cut:%Y-%m-%d} (the first was "
            f"created {first:%Y-%m-%d}): nothing to fit"
        )
    before = int((lt.data["created"] < cut).sum())
    if before < MIN_LEADS:
        raise CalibrationError(
            f"{lt.path}: {before} leads created before the cutoff {cut:%Y-%m-%d}; a fit needs "
            f"at least {MIN_LEADS}"
        )


def backtest(
    leads: ExportTable | str | Path,
    cutoff: Any,
    horizon_weeks: int | None = None,
    calls: ExportTable | str | Path | None = None,
    opportunities: ExportTable | str | Path | None = None,
    *,
    style: str = "hubspot",
    mapping: Any = None,
    date_format: str | None = None,
    start: Any = None,
    reps: int = 19,
    seed: int = 0,
    workers: int | None = None,
    level: float = 0.8,
    progress: bool = False,
    arrivals: str = "forecast",
    start_from: str = "snapshot",
    freq: str | None = None,
    encoding: str | None = None,
    sep: str | None = None,
    horizon_months: int | None = None,
    overrides: Mapping[str, Any] | None = None,
    parameter_draws: bool | None = None,
) -> Backtest:
    """Fit on the exports before ``cutoff``, forecast ``horizon_weeks`` weeks (or
    ``horizon_months`` calendar months) from it, and compare with the actual counts of leads,
    MQLs, SQLs, valid opportunities, wins and losses after it. ``start``: where the data
    period begins (default: the first lead's day). ``reps`` replications (19 puts P10 and P90
    exactly on order statistics).

    ``start_from``: ``"snapshot"`` starts from the funnel at the cutoff (:func:`lead_snapshot`
    of the exports), ``"warm_up"`` from a pipeline the fitted model fills itself.
    ``arrivals``: ``"forecast"`` (Poisson at the fitted rates) or ``"actual"`` (the leads that
    did arrive, as hourly bursts per source). ``freq``: ``"W"`` (default) or ``"M"``, the
    periods the summary scores (calendar months are counted from replays of the
    replications); ``"M"`` with ``horizon_months``, which ends at a month's end (a cutoff
    inside a month scores that partial month on its own row). ``overrides``: scenario fields
    by dotted path set on the fit (:func:`simfunnel.calibration.fitting.fit`).

    The exports are checked as :func:`simfunnel.calibration.fitting.fit` checks them (placeholder
    dates, calls for unknown leads, ...: :func:`simfunnel.data.crm.check_exports`) before the
    cutoff hides anything. Refused with one line (CalibrationError): a cutoff or start that is
    not a date, ``reps`` below 2 (a band needs two replications), neither or both horizons,
    no lead before the cutoff, and, with forecast arrivals, data (any date of any table) that
    end before the horizon does; with actual arrivals such a horizon runs, with a note.

    ``parameter_draws``: draw the fitted values per replication (the uncertainty ``fit``
    writes; default on), so that the band covers what the fit does not know; ``False`` holds
    them fixed (bands of process noise only).
    """
    freq = _horizon_freq(horizon_weeks, horizon_months, freq)
    if isinstance(reps, bool) or not isinstance(reps, int | np.integer) or reps < 2:
        raise CalibrationError(
            f"reps must be a whole number >= 2: a band needs at least two replications (got "
            f"{reps!r}; 19 puts P10 and P90 on order statistics)"
        )
    _check_choice("arrivals", arrivals, ARRIVALS)
    _check_choice("start_from", start_from, STARTS)
    _check_choice("freq", freq, FREQS)
    cut = parse_timestamp(cutoff, "cutoff")
    if start is not None:
        start = parse_timestamp(start, "start")
    kw = {"style": style, "mapping": mapping, "date_format": date_format}
    kw |= {"encoding": encoding, "sep": sep}
    lt, ct, ot, data_end = _read_exports(leads, calls, opportunities, kw)
    _enough_before(lt, cut)
    origin = _origin(cut)
    end, weeks = _horizon_end(origin, horizon_weeks, horizon_months)
    what = f"{horizon_weeks}-week" if horizon_months is None else f"{horizon_months}-month"
    notes = _data_until(lt, data_end, end, arrivals, what)
    past_leads = _before(lt, cut, _LEAD_DATES, "created")
    past_calls = _before(ct, cut, [], "timestamp") if ct is not None else None
    past_opps = _before(ot, cut, ["close_date"], "created") if ot is not None else None
    calibration = fit(
        past_leads, past_calls, past_opps, start=start, as_of=cut, horizon_weeks=weeks,
        name=f"backtest from {cut:%Y-%m-%d}", overrides=overrides,
    )  # fmt: skip
    data = calibration.scenario_dict()
    names = [s["name"] for s in data["sources"]]
    origin = pd.Timestamp(data["start_date"])
    actual_leads = lt.data.assign(source=lt.data["source"].fillna("unknown"))
    later = actual_leads[(actual_leads["created"] >= origin) & (actual_leads["created"] < end)]
    if arrivals == "actual":
        notes += _actual_note(later, names)
    fkw = {"reps": reps, "seed": seed, "workers": workers, "level": level, "progress": progress,
           "parameter_draws": parameter_draws}  # fmt: skip
    snap, snap_table = None, None
    if start_from == "snapshot":
        data.pop("warm_up", None)
        if arrivals == "actual":
            bursts = _bursts(later["created"], later["source"], names)
            for s in data["sources"]:
                s["rate_per_week"] = 0
                s.pop("seasonality", None)
                s["bursts"] = bursts[s["name"]]
        scenario = scenario_from_dict(data, source=f"<backtest from {cut:%Y-%m-%d}>")
        hazard = sql_hazard(calibration.cohorts) if ct is None else None
        cadence_days = _calendar_days(data)
        snap_table, p_sql = _snapshot(
            lt, cut, ct, ot, max_attempts=int(data["cadence"].get("max_attempts", 6)),
            cadence_days=cadence_days, meeting_days=_meeting_days(calibration), hazard=hazard,
            seed=seed,
        )  # fmt: skip
        unknown = ~snap_table["source"].isin(names)
        if unknown.any():
            notes.append(f"{int(unknown.sum())} leads of sources not in the fit left out of the "
                         "snapshot")  # fmt: skip
            snap_table = snap_table[~unknown].reset_index(drop=True)
            p_sql = p_sql[~unknown.to_numpy()]
        if ct is None:
            notes += _old_mql_note(snap_table, p_sql, cadence_days, hazard is not None)
        snap = read_snapshot(snap_table.drop(columns=["rule"]), scenario)
        fc = forecast(scenario, snapshot=snap, **fkw)
    elif arrivals == "actual":
        warm = round(calibration.scenario().warm_up / WEEK)
        fc = _extended_forecast(data, warm, weeks, actual_leads, names, fkw)
    else:
        fc = forecast(calibration.scenario(), **fkw)
    notes += _deal_value_note(snap_table, calibration)
    low, mid, high = fc.quantile_columns
    actual = _actual_counts(actual_leads, origin, origin + pd.Timedelta(weeks=weeks), "W")
    bands = fc.bands[fc.bands["metric"].isin(list(STAGES))]
    weekly = bands.merge(actual, on=["week", "metric"], how="left")
    weekly = weekly[["week", "week_start", "metric", "actual", "mean", low, mid, high]].copy()
    weekly = _score(weekly, low, high).reset_index(drop=True)
    monthly, cube = None, None
    if freq == "M":
        monthly, cube = _monthly(fc, origin, end, level, actual_leads)
    totals = _totals(fc, weeks, cube if horizon_months is not None else None, level)
    scored = monthly if monthly is not None else weekly
    return Backtest(
        cutoff=cut,
        horizon_weeks=weeks,
        calibration=calibration,
        forecast=fc,
        weekly=weekly,
        summary=_summary(scored, totals, fc, weeks, horizon_months, freq, level),
        freq=freq,
        arrivals=arrivals,
        start_from=start_from,
        monthly=monthly,
        snapshot=snap,
        snapshot_table=snap_table,
        notes=tuple(notes),
        horizon_months=horizon_months,
    )
