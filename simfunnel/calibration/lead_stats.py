"""What the lead table (and the opportunities table) tells, as the tables the fit reports:
arrivals per source with their weekly counts, dispersion and seasonality, conversions per
stage, stage durations with censoring, deal values, and the score's curve and MQL cut."""

from __future__ import annotations

import math
from collections.abc import Sequence
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
from .gaps import Gap, export_gaps
from .records import days, warn

__all__ = [
    "ArrivalTables",
    "arrival_tables",
    "closes_from",
    "conversion_table",
    "cycle",
    "deal_value_fits",
    "office_share",
    "score_tables",
    "seasonality",
    "stage_durations",
    "stand_in_stages",
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
    notes: list[str] = []
    lead_end = min(as_of, inside["created"].max().normalize() + pd.Timedelta(days=1))
    gaps = export_gaps(inside["created"])
    weekly = weekly_counts(inside["created"], inside["source"], start, lead_end, gaps)
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
    created: pd.Series,
    source: pd.Series,
    start: pd.Timestamp,
    end: pd.Timestamp,
    gaps: Sequence[Gap] = (),
) -> pd.DataFrame:
    """Leads per source and full week from ``start`` to ``end`` (the end of the lead data, not
    the as-of date: a week after the last lead holds no data, not zero leads), with the ISO
    year and week of each week's first day and the multiplier against the source's mean.
    Weeks whose middle falls in a gap of the export (:mod:`simfunnel.calibration.gaps`) hold
    no data either, and are left out."""
    full_weeks = max(int((end - start).total_seconds() // 604800), 0)
    week = ((created - start).dt.total_seconds() // 604800).astype(int)
    mids = [start + pd.Timedelta(days=7 * w + 3.5) for w in range(full_weeks)]
    kept = [w for w, m in enumerate(mids) if not any(a < m < b for a, b in gaps)]
    keep = set(kept)
    rows = []
    for name in sorted(source.unique()):
        counts = np.bincount(week[(source == name) & (week < full_weeks)], minlength=full_weeks)
        counts = counts[:full_weeks]
        mean = counts[kept].mean() if kept else math.nan
        for w, c in enumerate(counts):
            if w not in keep:
                continue
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


def stand_in_stages(
    L: pd.DataFrame, columns: dict[str, str]
) -> tuple[pd.DataFrame, dict[str, str], list[str]]:
    """The leads with the opportunity date standing in for a missing SQL date, which stage
    stands in for which, and a note saying so.

    An export without SQL dates still dates its opportunities, and a lead that became an
    opportunity was an SQL first: without the stand-in, MQL->SQL would be fitted as 0 and the
    scenario would forecast no opportunities at all. With it, MQL->SQL is MQL->opportunity
    and every SQL is accepted."""
    if not (L["sql_date"].isna().all() and L["opportunity_date"].notna().any()):
        return L, {}, []
    why = "no SQL date column" if "sql_date" not in columns else "no SQL date in any row"
    column = columns.get("opportunity_date", "opportunity_date")
    L = L.assign(sql_date=L["opportunity_date"])
    note = (
        f"the lead table has {why}: the opportunity date ('{column}') stands in for it (a lead "
        "that became an opportunity was an SQL first), so MQL->SQL is MQL->opportunity, "
        "acceptance is 1 and the meeting delay keeps its default"
    )
    return L, {"sql_date": "opportunity_date"}, [note]


def closes_from(columns: dict[str, str], dated: set[str], ot: ExportTable | None) -> str:
    """Which table tells how deals closed: ``leads`` when the lead table has both won and
    lost date columns, else ``opportunities`` when that table has closed deals, else
    ``partial`` (a lead table with one of the two: lost deals look open, or won ones) or
    ``leads`` (with neither, nothing closed). Beside an opportunities table with closed deals,
    the lead table's columns count only if they hold a date (``dated``): blank ones once sent
    the sales cycle to its default while that table held thousands of closed deals."""
    have = {"won_date", "lost_date"} & set(columns)
    closed_deals = ot is not None and ot.data["won"].notna().any()
    if len(have) == 2 and not (closed_deals and dated < have):
        return "leads"
    if closed_deals:
        return "opportunities"
    return "partial" if have else "leads"


def _deal_conversion(L: pd.DataFrame, ot: ExportTable | None, closes: str) -> list[dict]:
    """The opportunity->won rows when the lead table cannot give them: from the closed deals
    of the opportunities table (by the source of their lead), or none (``partial``)."""
    sources = [*sorted(L["source"].unique()), "all"]
    rows = []
    deals = ot.data if ot is not None and closes == "opportunities" else None
    if deals is not None:
        lead_source = L.drop_duplicates("lead_id").set_index("lead_id")["source"]
        source = deals["lead_id"].map(lead_source).fillna("unknown")
    for src in sources:
        n = k = 0
        if deals is not None:
            mine = deals["won"].notna() & ((source == src) if src != "all" else True)
            n, k = int(mine.sum()), int((mine & (deals["won"] == True)).sum())  # noqa: E712
        low, high = wilson_interval(k, n)
        rate = k / n if n else math.nan
        rows.append({"stage": "opportunity->won", "source": src, "n": n, "k": k, "rate": rate})
        rows[-1] |= {"low": float(low), "high": float(high)}
    return rows


def conversion_table(
    L: pd.DataFrame, ot: ExportTable | None = None, closes: str = "leads"
) -> pd.DataFrame:
    """Conversion per stage and source (and ``all``): ``stage, source, n, k, rate, low,
    high``, with Wilson intervals. SQLs still in status ``sql`` are not yet decided. Won of
    closed from the lead table, or as :func:`closes_from` says."""
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
    if closes != "leads":
        conv = [c for c in conv if c["stage"] != "opportunity->won"]
        conv += _deal_conversion(L, ot, closes)
    return pd.DataFrame(conv)


# --------------------------------------------------------------------------- durations and values


def _same_day(stage: str, t: np.ndarray, e: np.ndarray, basis: str) -> pd.DataFrame:
    """A stage whose every completed duration is 0 (closed on the day, and at the time, it
    opened): a fixed duration of 0 days, not "no durations"."""
    row = {"stage": stage, "dist": "fixed", "shape": math.nan, "scale": 0.0}
    row |= {"loglik": math.nan, "aic": math.nan, "delta_aic": 0.0, "ks": 0.0, "median": 0.0}
    row |= {"median_low": 0.0, "median_high": 0.0, "p90": 0.0, "mean": 0.0, "cv": 0.0}
    row |= {"n": len(t), "events": int(e.sum()), "chosen": True, "km_median": 0.0}
    return pd.DataFrame([row | {"basis": f"{basis}; every completed one took 0 days"}])


def stage_durations(
    L: pd.DataFrame,
    ot: ExportTable | None,
    as_of: pd.Timestamp,
    closes: str = "leads",
    stand_ins: dict[str, str] | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, pd.Series], list[str]]:
    """Meeting delay (SQL -> opportunity) and sales cycle (opportunity -> close): the candidate
    fits of each, Kaplan-Meier, the chosen fit per stage, and notes on durations left out.
    No meeting delay when the opportunity date stands in for the SQL date (it would be 0)."""
    notes = []
    duration_tables, km_tables = [], []
    is_both = L["sql_date"].notna() & L["opportunity_date"].notna()
    stages = {"sales_cycle": cycle(L, ot, as_of, closes)}
    if "sql_date" not in (stand_ins or {}):
        delay = days(L.loc[is_both, "opportunity_date"] - L.loc[is_both, "sql_date"])
        basis = "SQL date to opportunity date"
        stages["meeting_delay"] = (delay, np.ones(len(delay), bool), basis)
    chosen: dict[str, pd.Series] = {}
    for stage, (t, e, basis) in stages.items():
        done = t[e]
        if len(done) and (done == 0).all():
            notes.append(
                f"{stage}: all {len(done)} completed on the day and time they began (0 days): "
                "a fixed duration of 0 days (does the CRM stamp both dates at once?)"
            )
            duration_tables.append(_same_day(stage, t, e, basis))
            chosen[stage] = duration_tables[-1].iloc[0]
            continue
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
    L: pd.DataFrame, ot: ExportTable | None, as_of: pd.Timestamp, closes: str = "leads"
) -> tuple[np.ndarray, np.ndarray, str]:
    """Days from opportunity to close, open ones censored at ``as_of``: from the lead table
    when it has opportunity dates and tells the closes (:func:`closes_from`), else from the
    opportunities table. A lead table with won dates only (or lost only) gives the closes it
    has, uncensored: its other deals may be open or closed the other way."""
    opp = L[L["opportunity_date"].notna()] if closes != "opportunities" else L.iloc[:0]
    if len(opp) and closes == "partial":
        close = opp["won_date"].fillna(opp["lost_date"]).dropna()
        t = days(close - opp.loc[close.index, "opportunity_date"])
        return t, np.ones(len(t), bool), "opportunity date to close, the closes dated only"
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
    """Fits of the deal amounts: the lead table's for its opportunities (every amount it has
    when it dates no opportunity: an amount is a deal's), else the opportunities table's;
    empty with fewer than 3 positive amounts."""
    deals = L["opportunity_date"].notna()
    amounts = L.loc[deals if deals.any() else L.index, "amount"].dropna()
    if amounts.empty and ot is not None:
        amounts = ot.data["amount"].dropna()
    return fit_amounts(amounts) if (amounts > 0).sum() >= 3 else pd.DataFrame()


# --------------------------------------------------------------------------- scores


def _one_sided_threshold(s: np.ndarray, every: bool) -> dict[str, Any]:
    """The threshold when every scored lead is an MQL (or none is): no cut separates them, so
    the lowest score, which every lead passes (or just above the highest, which none does)."""
    low, high = float(s.min()), float(s.max())
    if every:
        value = max(float(math.floor(low)), min(0.0, low))
        said = f"every one of the {len(s)} scored leads is an MQL"
        then = f"the threshold is the lowest score ({value:g}): every lead passes"
    else:
        value = min(float(math.ceil(high)) + 1, max(100.0, high))
        said = f"none of the {len(s)} scored leads is an MQL"
        then = f"the threshold is above the highest score ({value:g}): no lead passes"
    basis = f"{said}, so the score cannot separate MQLs; {then}"
    return {"value": value, "agreement": 1.0, "n": len(s), "basis": basis}


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
            mql = L["mql_date"].notna()[scored].to_numpy()
            if 0 < mql.sum() < len(mql):
                threshold = mql_threshold(s, mql)
            else:
                threshold = _one_sided_threshold(s, bool(mql.all()))
                warn(warned, lt.path, score_col, threshold["basis"])
    elif scored.any():
        warn(
            warned,
            lt.path,
            score_col,
            f"only {int(scored.sum())} leads have a score (fewer than 20): {synthetic}",
        )
    return score_tab, thresholds, threshold
