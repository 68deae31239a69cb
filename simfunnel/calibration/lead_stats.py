"""What the lead table (and the opportunities table) tells, as the tables the fit reports:
arrivals per source with their weekly counts, dispersion and seasonality, conversions per
stage, stage durations with censoring, deal values, and the score's curve and MQL cut."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, cast

import numpy as np
import pandas as pd
from scipy import stats

from ..data import ExportTable
from .estimators import (
    fit_amounts,
    fit_durations,
    kaplan_meier,
    mql_threshold,
    poisson_interval,
    score_curve,
    threshold_tradeoff,
    wilson_interval,
)
from .records import days, warn

__all__ = [
    "ArrivalTables",
    "arrival_tables",
    "conversion_table",
    "cycle",
    "deal_value_fits",
    "office_share",
    "score_tables",
    "seasonality",
    "stage_durations",
    "weekly_counts",
]

SEASON_YEARS = 2  # seasonality by week of year needs every week of the year seen this often
SEASON_P = 0.01  # ... and weekly counts over-dispersed at this level
# Default calendar (scenario defaults): Monday-Friday 09:00-18:00, for the office-hours share.
OFFICE = (9.0, 18.0)
# A source's seasonality: the multipliers by ISO week (or None), the basis and the kind.
Season = tuple[dict[int, float] | None, str, str]


# --------------------------------------------------------------------------- arrivals


@dataclass(frozen=True, eq=False)
class ArrivalTables:
    """The arrival side of the lead table: rates per source (``fit``'s ``arrivals``), leads
    per source and week, their dispersion, each source's seasonality, and notes on it."""

    rates: pd.DataFrame
    weekly: pd.DataFrame
    dispersion: pd.DataFrame
    seasons: dict[str, Season]
    notes: list[str]


def arrival_tables(
    inside: pd.DataFrame, start: pd.Timestamp, as_of: pd.Timestamp, weeks: float
) -> ArrivalTables:
    """Arrivals per source over the period (``inside``: the leads created in it), their
    weekly counts up to the last lead, dispersion and seasonality."""
    rates = _arrival_rates(inside, weeks)
    notes = []
    last_lead = inside["created"].max()
    lead_end = min(as_of, last_lead.normalize() + pd.Timedelta(days=1))
    if as_of - last_lead > pd.Timedelta(weeks=2):
        notes.append(
            f"the last lead was created {last_lead:%Y-%m-%d}, {(as_of - last_lead).days} days "
            f"before the as-of date {as_of:%Y-%m-%d}: weekly counts stop there, rates still "
            "divide by the whole period"
        )
    weekly = weekly_counts(inside["created"], inside["source"], start, lead_end)
    dispersion = _dispersion(weekly)
    seasons = {
        src: seasonality(weekly[weekly["source"] == src], dispersion[dispersion["source"] == src])
        for src in rates["source"]
    }
    notes += [
        f"sources[{src}]: no seasonality: {why}"
        for src, (by_week, why, kind) in seasons.items()
        if by_week is None and kind == "derived"
    ]
    return ArrivalTables(rates, weekly, dispersion, seasons, notes)


def _arrival_rates(inside: pd.DataFrame, weeks: float) -> pd.DataFrame:
    """Leads per source and week over the whole period, with the exact Poisson interval and
    the office-hours share."""
    arrivals = []
    for src, group in inside.groupby("source", sort=True):
        n = len(group)
        low, high = poisson_interval(n, weeks)
        office = office_share(group["created"])
        arrivals.append(
            {
                "source": src,
                "leads": n,
                "weeks": weeks,
                "rate_per_week": n / weeks,
                "low": float(low),
                "high": float(high),
                "office_hours_share": office[0] if office else math.nan,
                "office_low": office[1] if office else math.nan,
                "office_high": office[2] if office else math.nan,
            }
        )
    return pd.DataFrame(arrivals)


def _dispersion(weekly: pd.DataFrame) -> pd.DataFrame:
    """Per source, the index of dispersion of the weekly counts and the p-value of a constant
    Poisson rate: whether the weeks vary more than counting noise."""
    dispersion = []
    for src, group in weekly.groupby("source"):
        x = group["leads"].to_numpy(float)
        if len(x) >= 2 and x.mean() > 0:
            d = float(((x - x.mean()) ** 2).sum() / x.mean())
            p = float(stats.chi2.sf(d, len(x) - 1))
        else:
            d, p = math.nan, math.nan
        dispersion.append({"source": src, "weeks": len(x), "dispersion": d, "p_value": p})
    return pd.DataFrame(dispersion, columns=["source", "weeks", "dispersion", "p_value"])


# --------------------------------------------------------------------------- seasonality


def office_share(times: pd.Series) -> tuple[float, float, float, int] | None:
    """Share of arrivals within the default calendar's hours (Mon-Fri 09:00-18:00)."""
    if times.empty or (times.dt.hour.eq(0) & times.dt.minute.eq(0)).all():
        return None  # dates only: the time of day is unknown
    hour = times.dt.hour + times.dt.minute / 60
    inside = (times.dt.day_of_week < 5) & (hour >= OFFICE[0]) & (hour < OFFICE[1])
    k, n = int(inside.sum()), len(times)
    low, high = wilson_interval(k, n)
    return k / n, float(low), float(high), n


def weekly_counts(
    created: pd.Series, source: pd.Series, start: pd.Timestamp, end: pd.Timestamp
) -> pd.DataFrame:
    """Leads per source and full week from ``start`` to ``end`` (the end of the lead data, not
    the as-of date: a week after the last lead holds no data, not zero leads), with the ISO
    year and week of each week's first day and the multiplier against the source's mean."""
    full_weeks = max(int((end - start).total_seconds() // 604800), 0)
    week = ((created - start).dt.total_seconds() // 604800).astype(int)
    rows = []
    for name in sorted(source.unique()):
        counts = np.bincount(week[(source == name) & (week < full_weeks)], minlength=full_weeks)
        counts = counts[:full_weeks]
        mean = counts.mean() if full_weeks else math.nan
        for w, c in enumerate(counts):
            week_start = start + pd.Timedelta(weeks=w)
            iso = week_start.isocalendar()
            rows.append(
                {
                    "source": name,
                    "week": w,
                    "week_start": week_start,
                    "iso_year": int(iso.year),
                    "iso_week": int(iso.week),
                    "leads": int(c),
                    "multiplier": c / mean if mean else math.nan,
                }
            )
    columns = ["source", "week", "week_start", "iso_year", "iso_week", "leads", "multiplier"]
    return pd.DataFrame(rows, columns=columns)


def _middle_near_one(values: np.ndarray) -> float:
    """The median, but with an even count the middle value nearer 1 (not their mean): with two
    years, a week high in one and normal in the other is normal; a peak must show in at least
    half the years."""
    v = np.sort(values)
    n = len(v)
    if n % 2:
        return float(v[n // 2])
    a, b = float(v[n // 2 - 1]), float(v[n // 2])
    return a if abs(a - 1) <= abs(b - 1) else b


def _years_covered(weeks: pd.DataFrame) -> int:
    """How many times the data cover the year: the fewest years holding any of ISO weeks
    1-52 (week 53 exists in some years only)."""
    years = weeks.groupby("iso_week")["iso_year"].nunique()
    return int(min(years.get(w, 0) for w in range(1, 53)))


def seasonality(weeks: pd.DataFrame, disp: pd.DataFrame) -> Season:
    """A source's multipliers by ISO week, or None, with the basis and kind of the choice.

    A week-of-year multiplier rests only on the years whose data hold that week, and is
    written only when the data cover the year at least SEASON_YEARS times and the weekly
    counts are over-dispersed; per week it is the median across years of week / mean
    (:func:`_middle_near_one`), so a one-off week (a trade show) does not recur every year.
    """
    covered = _years_covered(weeks) if len(weeks) else 0
    if covered < SEASON_YEARS:
        span = (
            f"{weeks['week_start'].min():%Y-%m-%d} to "
            f"{weeks['week_start'].max() + pd.Timedelta(weeks=1):%Y-%m-%d}"
            if len(weeks)
            else "none"
        )
        why = (
            f"the lead data cover {len(weeks)} full weeks ({span}): seasonality by week of "
            f"year needs every week of the year covered at least twice; none written"
        )
        return None, why, "derived"
    p = float(disp["p_value"].iloc[0]) if len(disp) else math.nan
    if not p < SEASON_P:
        return None, f"weekly counts consistent with a constant rate (p={p:.2g})", "fitted"
    by_week: dict[int, float] = {}
    for iso_week, group in weeks.groupby("iso_week"):
        ratios = group["multiplier"].to_numpy(float)
        if len(ratios) >= SEASON_YEARS:
            # The stubs type a group key as any scalar; the iso_week column holds ints.
            by_week[int(cast(int, iso_week))] = round(_middle_near_one(ratios), 3)
    why = (
        f"weekly counts over-dispersed (index {disp['dispersion'].iloc[0]:.1f} on "
        f"{len(weeks) - 1} df, p={p:.2g}), the year covered {covered} times; per ISO week, the "
        "median of week / mean over the years holding it (of an even count, the middle value "
        "nearer 1), so a one-off week does not recur"
    )
    return by_week, why, "fitted"


# --------------------------------------------------------------------------- conversions


def conversion_table(L: pd.DataFrame) -> pd.DataFrame:
    """Conversion per stage and source (and ``all``): ``stage, source, n, k, rate, low,
    high``, with Wilson intervals. SQLs still in status ``sql`` are not yet decided."""
    status = L["status"].fillna("").str.lower()
    is_mql = L["mql_date"].notna()
    is_sql = L["sql_date"].notna()
    is_opp = L["opportunity_date"].notna()
    is_won = L["won_date"].notna()
    is_lost = L["lost_date"].notna()
    stage_defs = [
        ("lead->mql", pd.Series(True, index=L.index), is_mql),
        ("mql->sql", is_mql, is_sql),
        ("sql->opportunity", is_sql & ~(status == "sql"), is_opp),
        ("opportunity->won", is_won | is_lost, is_won),
    ]
    conv = []
    for stage, base, hit in stage_defs:
        for src in [*sorted(L["source"].unique()), "all"]:
            mask = base if src == "all" else base & (L["source"] == src)
            n, k = int(mask.sum()), int((mask & hit).sum())
            low, high = wilson_interval(k, n)
            conv.append(
                {
                    "stage": stage,
                    "source": src,
                    "n": n,
                    "k": k,
                    "rate": k / n if n else math.nan,
                    "low": float(low),
                    "high": float(high),
                }
            )
    return pd.DataFrame(conv)


# --------------------------------------------------------------------------- durations and values


def stage_durations(
    L: pd.DataFrame, ot: ExportTable | None, as_of: pd.Timestamp
) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, pd.Series], list[str]]:
    """Meeting delay (SQL -> opportunity) and sales cycle (opportunity -> close): the candidate
    fits of each, Kaplan-Meier, the chosen fit per stage, and notes on durations left out."""
    notes = []
    duration_tables, km_tables = [], []
    is_both = L["sql_date"].notna() & L["opportunity_date"].notna()
    stages = {"sales_cycle": cycle(L, ot, as_of)}
    delay = days(L.loc[is_both, "opportunity_date"] - L.loc[is_both, "sql_date"])
    stages["meeting_delay"] = (delay, np.ones(len(delay), bool), "SQL date to opportunity date")
    chosen: dict[str, pd.Series] = {}
    for stage, (t, e, basis) in stages.items():
        ok = np.isfinite(t) & (t > 0)
        if (~ok).any():
            notes.append(f"{stage}: {int((~ok).sum())} durations of 0 days or less left out")
        if e[ok].sum() >= 3:
            table = fit_durations(t[ok], e[ok])
            table.insert(0, "stage", stage)
            table["km_median"] = table.attrs["km_median"]
            table["basis"] = basis
            duration_tables.append(table)
            chosen[stage] = table.iloc[0]
            km = kaplan_meier(t[ok], e[ok])
            km.insert(0, "stage", stage)
            km_tables.append(km)
    durations = pd.concat(duration_tables, ignore_index=True) if duration_tables else pd.DataFrame()
    survival = pd.concat(km_tables, ignore_index=True) if km_tables else pd.DataFrame()
    return durations, survival, chosen, notes


def cycle(
    L: pd.DataFrame, ot: ExportTable | None, as_of: pd.Timestamp
) -> tuple[np.ndarray, np.ndarray, str]:
    """Days from opportunity to close, open ones censored at ``as_of``: from the lead table
    when it has opportunity dates, else from the opportunities table."""
    opp = L[L["opportunity_date"].notna()]
    if len(opp):
        close = opp["won_date"].fillna(opp["lost_date"])
        event = close.notna().to_numpy()
        t = days(close.fillna(as_of) - opp["opportunity_date"])
        return t, event, "opportunity date to won/lost date; open ones censored at the as-of date"
    if ot is not None and not ot.data.empty:
        o = ot.data
        event = (o["close_date"].notna() & o["won"].notna()).to_numpy()
        close = o["close_date"].where(pd.Series(event, index=o.index)).fillna(as_of)
        return days(close - o["created"]), event, "opportunity created to close; open censored"
    return np.array([]), np.array([], bool), ""


def deal_value_fits(L: pd.DataFrame, ot: ExportTable | None) -> pd.DataFrame:
    """Fits of the deal amounts: the lead table's for its opportunities, else the
    opportunities table's; empty with fewer than 3 positive amounts."""
    amounts = L.loc[L["opportunity_date"].notna(), "amount"].dropna()
    if amounts.empty and ot is not None:
        amounts = ot.data["amount"].dropna()
    return fit_amounts(amounts) if (amounts > 0).sum() >= 3 else pd.DataFrame()


# --------------------------------------------------------------------------- scores


def score_tables(
    L: pd.DataFrame, lt: ExportTable, warned: list[dict[str, Any]]
) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, Any] | None]:
    """Score -> conversion: the score curve, the threshold trade-off and the MQL cut the data
    imply, when at least 20 leads have scores that differ; else empty, with a warning when a
    score column was given but says nothing."""
    scored = L["score"].notna()
    score_tab, thresholds = pd.DataFrame(), pd.DataFrame()
    threshold = None
    score_col = lt.columns.get("score")
    synthetic = "score curve and threshold skipped; synthetic scores per source are used"
    if score_col and not scored.any():
        blanked = lt.report[(lt.report["column"] == score_col) & (lt.report["action"] == "blanked")]
        if len(blanked):
            warn(
                warned,
                lt.path,
                score_col,
                f"no usable score ({len(blanked)} values blanked, see the report): {synthetic}",
            )
    elif scored.sum() >= 20:
        s = L.loc[scored, "score"].to_numpy(float)
        if np.ptp(s) == 0:
            warn(
                warned,
                lt.path,
                score_col,
                f"every lead has the same score ({s[0]:g}), so it cannot tell MQLs apart: "
                f"{synthetic}",
            )
        else:
            converted = L["sql_date"].notna()[scored].to_numpy()
            score_tab = score_curve(s, converted)
            thresholds = threshold_tradeoff(s, converted)
            threshold = mql_threshold(s, L["mql_date"].notna()[scored].to_numpy())
    elif scored.any():
        warn(
            warned,
            lt.path,
            score_col,
            f"only {int(scored.sum())} leads have a score (fewer than 20): {synthetic}",
        )
    return score_tab, thresholds, threshold
