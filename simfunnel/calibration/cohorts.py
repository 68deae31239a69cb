"""Cohort models of a funnel export: every stage's delayed conversion with a cure fraction,
arrivals by a count model, and the window of cohorts they are fitted on, as of a date.

A CRM export is a snapshot: a lead created last week that has not converted yet is not a
lead that failed. Counting it as one (the naive cohort rate) biases every recent rate down,
most of all when the business grows. Here each stage is fitted as *time to event with a cure
fraction*: a lead reaches the stage with probability ``pi`` after a lognormal delay, and a
lead still open at the as-of date is censored at its age, not counted as a failure. Each
stage is fitted from the stage before it that the export dates. Arrivals are
:mod:`simfunnel.calibration.arrival_model`'s count model. A shift in conversion between cohorts is tested by a
likelihood-ratio test over every weekly split (Bonferroni-adjusted); when one is found the
fit keeps the recent regime. Every fit keeps its covariance, so a forecast can draw the
parameters as well as the process (:mod:`simfunnel.calibration.cohort_forecast`). One stage's
fit is :mod:`simfunnel.calibration.stage_fit`'s, the shift and drift tests are
:mod:`simfunnel.calibration.shifts`'; this module puts them together in :func:`fit_cohorts`.

Nothing here imports the simulation engine: these are statistics of the export.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd
from scipy import special, stats

from ..data import CalibrationError
from .arrival_model import ARRIVAL_WEEKS, ArrivalFit, fit_arrivals, recency
from .gaps import export_gaps, gap_words
from .shifts import cohort_drift, cohort_shifts
from .stage_fit import STAGE_DATES, STAGE_LABELS, StageFit, fit_stage, stage_view, timedeltas

__all__ = ["MIN_COHORT_LEADS", "CohortInputError", "CohortModel", "check_half_life", "fit_cohorts"]

MIN_COHORT_LEADS = 30  # leads in the window below which a fit is noise (as fit's MIN_LEADS)
MAX_QUIET_WEEKS = ARRIVAL_WEEKS  # an as-of date this long after the last lead is refused
START_SLACK_WEEKS = 13  # a start this long before the first lead adds weeks of no lead
QUIET_WEEKS = 2  # weeks without a lead before the as-of date that are said loudly ...
QUIET_EXPECTED = 5.0  # ... when the year before would have brought this many in them


class CohortInputError(CalibrationError, ValueError):
    """An option or an export the cohort model cannot use (a half-life of 0, a ``since``
    outside the data, an as-of date a year past the last lead, a forecast too large to
    draw): a ValueError for the Python interface, one line and exit code 2 on the command
    line (a CalibrationError)."""


@dataclass(frozen=True)
class CohortModel:
    """What :func:`fit_cohorts` found: arrivals per source, a cure-fraction fit per stage,
    the cohort-shift tests, the window used, and notes a reader must see."""

    as_of: pd.Timestamp
    since: pd.Timestamp
    half_life_weeks: float | None
    window: str  # how the window was chosen, in words
    arrivals: dict[str, ArrivalFit]
    stages: dict[str, StageFit]
    shifts: pd.DataFrame
    cohorts: pd.DataFrame
    leads: pd.DataFrame  # the leads the open-lead forecast starts from (created <= as_of)
    offsets: np.ndarray  # hours into the week of past arrivals, to place new ones
    present: tuple[str, ...] = ()  # the stage date columns the export has
    missing: dict[str, str] = field(default_factory=dict)  # stage -> why not forecast
    notes: tuple[str, ...] = ()

    def report(self) -> pd.DataFrame:
        """One row per stage and source: n, events, fitted rate with its 95% interval (from
        the fit's covariance), the delay's median and P90 and how it was fitted."""
        rows = []
        for stage, f in self.stages.items():
            sd = np.sqrt(np.diag(f.cov)) if f.cov is not None else None
            for i, s in enumerate(f.sources):
                k, n = f.events[s], f.n[s]
                if sd is None:  # the Beta posterior, events weighted as n is
                    kw = f.weighted_events.get(s, k)
                    low, high = stats.beta.ppf([0.025, 0.975], kw + 0.5, n - kw + 0.5)
                else:
                    z = f.theta[2 + i] + np.array([-1.96, 1.96]) * sd[2 + i]
                    low, high = special.expit(z)
                rows.append(
                    {
                        "stage": stage,
                        "source": s,
                        "n": round(n, 1),
                        "events": k,
                        "rate": f.pi()[s],
                        "low": float(low),
                        "high": float(high),
                        "median_days": f.median_days(),
                        "p90_days": f.p90_days(),
                        "fit": f.kind,
                    }
                )
        for stage, why in self.missing.items():
            rows.append({"stage": stage, "source": "all", "fit": f"not forecast: {why}"})
        return pd.DataFrame(rows)

    def arrivals_table(self) -> pd.DataFrame:
        """One row per source: the arrival model's terms, its rate now, trend and errors."""
        return pd.DataFrame(
            [
                {
                    "source": a.source,
                    "weeks": a.weeks,
                    "leads": a.leads,
                    "terms": "+".join(a.terms),
                    "per_week_now": a.rate_now(),
                    "trend_per_year": (math.exp(a.beta[1]) - 1) if "trend" in a.terms else 0.0,
                    "overdispersion": a.alpha,
                    "level_error_sd": math.sqrt(a.drift),
                }
                for a in self.arrivals.values()
            ]
        )


def _check(leads: pd.DataFrame) -> None:
    """Refuse a lead table without the columns every fit needs."""
    missing = {"created", "source"} - set(leads.columns)
    if missing:
        raise ValueError(f"the lead table lacks {', '.join(sorted(missing))}")


def check_half_life(value: Any, what: str = "half_life_weeks (--half-life)") -> None:
    """Refuse a half-life that is not a finite number of weeks above 0: 0 divides by zero, a
    negative one weighs the oldest cohorts most (and counts a lead millions of times)."""
    if value is None:
        return
    ok = isinstance(value, numbers.Real) and not isinstance(value, bool)
    if not ok or not math.isfinite(float(value)) or float(value) <= 0:
        raise CohortInputError(f"{what} must be a finite number of weeks above 0 (got {value!r})")


def _check_period(
    known: pd.DataFrame, as_of: pd.Timestamp, start: Any, since: Any
) -> tuple[pd.Timestamp | None, pd.Timestamp | None]:
    """Refuse, before any fitting, a period the data cannot support: no lead by the as-of
    date, an as-of date (or cutoff) over a year after the last lead (nothing to forecast
    arrivals from), a ``start`` long before the first lead (its weeks would count as weeks
    without a lead), a ``since`` before the data or leaving fewer than MIN_COHORT_LEADS
    leads. Returns ``start`` and ``since`` as timestamps."""
    start = pd.Timestamp(start) if start is not None else None
    since = pd.Timestamp(since) if since is not None else None
    if known.empty:
        raise CohortInputError(
            f"no lead created by the as-of date {as_of:%Y-%m-%d}: nothing to fit"
        )
    first, last = known["created"].min(), known["created"].max()
    quiet = (as_of - last) / pd.Timedelta(weeks=1)
    if quiet > MAX_QUIET_WEEKS:
        raise CohortInputError(
            f"the as-of date {as_of:%Y-%m-%d} is {quiet:.0f} weeks after the last lead created "
            f"({last:%Y-%m-%d}): with no lead in the year before it there is nothing to forecast "
            f"arrivals from; give an as-of date or cutoff within {MAX_QUIET_WEEKS} weeks of the "
            "last lead"
        )
    if start is not None and first - start > pd.Timedelta(weeks=START_SLACK_WEEKS):
        raise CohortInputError(
            f"start {start:%Y-%m-%d} (--start) is {(first - start).days // 7} weeks before the "
            f"first lead ({first:%Y-%m-%d}): those weeks would be fitted as weeks without a lead; "
            f"give a start within {START_SLACK_WEEKS} weeks of the first lead, or leave it out"
        )
    begin = start if start is not None else first.normalize()
    if since is not None and since < begin:
        raise CohortInputError(
            f"since {since:%Y-%m-%d} (--since) is before the data (the first lead "
            f"{first:%Y-%m-%d}): give a date from {begin:%Y-%m-%d} on, or leave it out"
        )
    frm = since if since is not None else begin
    n = int((known["created"] >= frm).sum())
    if n < MIN_COHORT_LEADS:
        what = f"since {frm:%Y-%m-%d} (--since)" if since is not None else f"from {frm:%Y-%m-%d}"
        raise CohortInputError(
            f"{n} leads created {what} to the as-of date {as_of:%Y-%m-%d} (the last on "
            f"{last:%Y-%m-%d}): the cohort model needs at least {MIN_COHORT_LEADS}"
        )
    return start, since


def _weight_note(
    frame: pd.DataFrame, as_of: pd.Timestamp, half_life_weeks: float | None
) -> list[str]:
    """Say loudly when a half-life leaves the fit fewer than MIN_COHORT_LEADS leads' worth of
    weight (a half-life of hours): every rate then rests on a handful of leads or the priors."""
    if half_life_weeks is None:
        return []
    age = (timedeltas(as_of - frame["created"]) / pd.Timedelta(weeks=1)).to_numpy(float)
    worth = float(recency(age, half_life_weeks).sum())
    if worth >= MIN_COHORT_LEADS:
        return []
    return [
        f"WARNING: a half-life of {half_life_weeks:g} weeks leaves the fit {worth:.1f} leads' "
        f"worth of weight (of {len(frame):,}): its rates rest on the priors, not on the data; "
        f"give a half-life that keeps at least {MIN_COHORT_LEADS} leads' worth"
    ]


def _quiet_note(frame: pd.DataFrame, as_of: pd.Timestamp) -> list[str]:
    """Say loudly when the last weeks before the as-of date have no lead although the year
    before would have brought several (an export cut short, a wrong as-of date): the arrival
    model then forecasts from that silence."""
    last = frame["created"].max()
    gap = (as_of - last) / pd.Timedelta(weeks=1)
    span = max(min(ARRIVAL_WEEKS, (last - frame["created"].min()) / pd.Timedelta(weeks=1)), 1.0)
    recent = int((frame["created"] >= last - pd.Timedelta(weeks=span)).sum())
    expected = recent / span * gap
    if gap < QUIET_WEEKS or expected < QUIET_EXPECTED:
        return []
    return [
        f"WARNING: no lead created in the last {math.floor(gap)} weeks before "
        f"{as_of:%Y-%m-%d} (the last on {last:%Y-%m-%d}; at the rate of the weeks before it, "
        f"about {expected:,.0f} were due): arrivals are forecast from that silence, at the rate "
        "the data support now; check that the export is complete and the as-of date right"
    ]


def fit_cohorts(
    leads: pd.DataFrame,
    as_of: Any,
    *,
    start: Any = None,
    since: Any = None,
    half_life_weeks: float | None = None,
) -> CohortModel:
    """Fit arrivals and every stage the lead table dates, as of ``as_of``.

    ``leads``: canonical columns (``created``, ``source`` and the stage dates of
    :data:`STAGE_DATES` the export has). ``start``: where the history begins (default: the
    first lead). ``since``: use only cohorts created from then (the arrivals too);
    ``half_life_weeks``: weight each lead (and each week of arrivals) by its recency. With
    neither, cohort shifts are tested and the fit keeps the cohorts since the most significant
    one (the model's ``window`` says which it used, and why).
    """
    _check(leads)
    check_half_life(half_life_weeks)
    as_of = pd.Timestamp(as_of)
    start, since = _check_period(leads[leads["created"] <= as_of], as_of, start, since)
    frame, first = _known_leads(leads, as_of, start)
    sources = sorted(frame["source"].unique())
    notes = [*_quiet_note(frame, as_of), *_weight_note(frame, as_of, half_life_weeks)]
    present, missing = _dated_stages(frame, leads, as_of)
    chosen_since = pd.Timestamp(since) if since is not None else first
    # First pass on all history: fits, then the cohort-shift tests on it.
    fits = _stage_fits(frame, present, as_of, None, sources, notes=[])
    shifts, cohorts = cohort_shifts(frame, fits, as_of, list(present.values()))
    windows: dict[str, pd.Timestamp] = {}
    if since is not None or half_life_weeks is not None:
        window = _chosen_window(since, chosen_since, first, half_life_weeks)
        windows = dict.fromkeys(present, chosen_since)
    else:
        window, windows, said = _shift_windows(shifts, first)
        notes.extend(said)
    if windows or half_life_weeks is not None:
        fits = _stage_fits(frame, present, as_of, half_life_weeks, sources, notes, windows)
    else:
        notes.extend(_stage_fits_notes(fits))
    _add_drift(fits, cohorts, windows, chosen_since, notes)
    arrivals = _arrival_fits(frame, sources, chosen_since, as_of, half_life_weeks, notes)
    notes.extend(
        f"arrivals of {s}: held to what the weekly counts support ({'; '.join(a.bounded)})"
        for s, a in arrivals.items()
        if a.bounded
    )
    return CohortModel(
        as_of=as_of,
        since=chosen_since,
        half_life_weeks=half_life_weeks,
        window=window,
        arrivals=arrivals,
        stages=fits,
        shifts=shifts,
        cohorts=cohorts,
        leads=frame,
        offsets=_week_offsets(frame),
        present=tuple(present.values()),
        missing=missing,
        notes=tuple(notes),
    )


def _known_leads(
    leads: pd.DataFrame, as_of: pd.Timestamp, start: Any
) -> tuple[pd.DataFrame, pd.Timestamp]:
    """The leads as known at the as-of date (later stage dates blanked) from ``start`` (default:
    the first lead's day), and that start: the fit must not see the future."""
    frame = leads[leads["created"] <= as_of].copy()
    frame["source"] = frame["source"].fillna("unknown").astype(str)
    for col in STAGE_DATES.values():
        if col in frame:
            frame.loc[frame[col] > as_of, col] = pd.NaT  # not known at the as-of date
    first = pd.Timestamp(start) if start is not None else frame["created"].min().normalize()
    return frame[frame["created"] >= first], first


def _dated_stages(
    frame: pd.DataFrame, leads: pd.DataFrame, as_of: pd.Timestamp
) -> tuple[dict[str, str], dict[str, str]]:
    """The stages the export dates by the as-of date (stage -> date column), and why each
    other one is not forecast: a stage with no date cannot be fitted. ``leads``: the table as
    given, to tell a column that is blank from one whose dates all come after the as-of date."""
    missing: dict[str, str] = {}
    present = {}
    for stage, col in STAGE_DATES.items():
        label = STAGE_LABELS[col]
        article = "an" if label.startswith(("MQL", "SQL", "o")) else "a"
        if col not in frame:
            missing[stage] = f"the export has no {label} column"
        elif frame[col].notna().any():
            present[stage] = col
        elif leads[col].notna().any():
            later = leads[col].min()
            day = "%Y-%m-%d %H:%M" if later.normalize() == as_of.normalize() else "%Y-%m-%d"
            missing[stage] = (
                f"no lead has {article} {label} by the as-of date {as_of:{day}} (the "
                f"export's first is {later:{day}}, after it)"
            )
        else:
            missing[stage] = f"no lead in the export has any {label}"
    return present, missing


def _chosen_window(
    since: Any, chosen_since: pd.Timestamp, first: pd.Timestamp, half_life_weeks: float | None
) -> str:
    """The window the user chose (``since``, a half-life), in words for the model's ``window``."""
    window = (
        f"cohorts from {chosen_since:%Y-%m-%d} (--since)"
        if since is not None
        else f"all cohorts from {first:%Y-%m-%d}"
    )
    if half_life_weeks is not None:
        window += f", weighted by recency with a half-life of {half_life_weeks:g} weeks"
    return window


def _shift_windows(
    shifts: pd.DataFrame, first: pd.Timestamp
) -> tuple[str, dict[str, pd.Timestamp], list[str]]:
    """Without a user window: per stage whose conversion shifted, the first cohort kept (the
    change), the window in words and what to tell the reader about each shift."""
    windows: dict[str, pd.Timestamp] = {}
    said = []
    for _, top in (shifts[shifts["shift"]] if len(shifts) else shifts).iterrows():
        windows[top["stage"]] = pd.Timestamp(top["change"])
        said.append(
            f"{top['stage']} from cohorts of {top['change']:%Y-%m-%d} on: its "
            f"conversion shifted from {top['before']:.1%} to {top['after']:.1%} "
            f"(likelihood-ratio test, adjusted p = {top['p_value']:.2g})"
        )
    window = "; ".join(said) + "; other stages" if said else "every stage"
    window += f" from all cohorts since {first:%Y-%m-%d}"
    return window, windows, said


def _add_drift(
    fits: dict[str, StageFit],
    cohorts: pd.DataFrame,
    windows: dict[str, pd.Timestamp],
    since: pd.Timestamp,
    notes: list[str],
) -> None:
    """Set each stage fit's between-cohort drift (over the cohorts of its window), in place,
    and say where conversion varies beyond chance: the forecast draws the next cohorts' rate."""
    for stage, f in fits.items():
        rows = cohorts[cohorts["stage"] == stage] if len(cohorts) else cohorts
        tau2 = cohort_drift(rows, windows.get(stage, since)) if len(rows) else 0.0
        fits[stage] = replace(f, drift=tau2)
        if tau2 > 0.01:  # a standard deviation of 10% on the odds, or more
            notes.append(
                f"{stage}: conversion varies between monthly cohorts beyond chance "
                f"(standard deviation of the log odds {math.sqrt(tau2):.2f}); the "
                "forecast draws the next cohorts' rate with it"
            )


def _arrival_fits(
    frame: pd.DataFrame,
    sources: list[str],
    since: pd.Timestamp,
    as_of: pd.Timestamp,
    half_life_weeks: float | None,
    notes: list[str],
) -> dict[str, ArrivalFit]:
    """Each source's arrival model, on the window's arrivals (at most the last year when the
    history is under two years: one year cannot tell a season from a one-off)."""
    arrivals_from = since
    if as_of - arrivals_from < pd.Timedelta(weeks=2 * ARRIVAL_WEEKS):  # no yearly cycle to fit
        notes.append(
            f"arrivals: {(as_of - arrivals_from) / pd.Timedelta(weeks=1):.0f} weeks of history, "
            "under two years, so no yearly season is fitted (one year could not tell a season "
            "from a one-off): a seasonal lull or peak ahead is not foreseen, only the level's "
            "past errors widen the band; compare the same month last year"
        )
        arrivals_from = max(arrivals_from, as_of - pd.Timedelta(weeks=ARRIVAL_WEEKS))
    arriving = frame[(frame["created"] >= arrivals_from) & (frame["created"] <= as_of)]
    gaps = export_gaps(arriving["created"])
    if gaps:
        notes.append("WARNING: arrivals: " + gap_words(gaps, arriving["created"]))
    return {
        s: fit_arrivals(
            s,
            arriving.loc[arriving["source"] == s, "created"],
            arrivals_from,
            as_of,
            half_life_weeks,
            gaps,
        )
        for s in sources
    }


def _week_offsets(frame: pd.DataFrame) -> np.ndarray:
    """Hours into the week of each past arrival: new leads are placed at these offsets."""
    week_start = frame["created"].dt.normalize() - pd.to_timedelta(
        frame["created"].dt.day_of_week, "D"
    )
    return ((frame["created"] - week_start) / pd.Timedelta(hours=1)).to_numpy(float)


def _stage_fits(
    frame: pd.DataFrame,
    present: dict[str, str],
    as_of: pd.Timestamp,
    half_life_weeks: float | None,
    sources: list[str],
    notes: list[str],
    windows: dict[str, pd.Timestamp] | None = None,
) -> dict[str, StageFit]:
    """Fit every stage on the leads at its risk; ``windows``: per stage, the first parent
    date kept (a cohort shift, or ``since``)."""
    fits = {}
    for stage, col in present.items():
        view = stage_view(frame, col, present.values())
        if windows and stage in windows:
            view = view[view["parent"] >= windows[stage]]
        age_weeks = (timedeltas(as_of - view["parent"]) / pd.Timedelta(weeks=1)).to_numpy(float)
        view = view.assign(_w=recency(age_weeks, half_life_weeks))
        fit, said = fit_stage(stage, view, col, as_of, view["_w"].to_numpy(), sources)
        fits[stage] = fit
        notes.extend(said)
    return fits


def _stage_fits_notes(fits: dict[str, StageFit]) -> list[str]:
    """What the first pass assumed (a delay's shape, for too few events), when it is kept."""
    return [
        f"{s}: {sum(f.events.values())} events, too few for the delay's shape: sigma 1 assumed"
        for s, f in fits.items()
        if f.kind == "assumed_shape"
    ]
