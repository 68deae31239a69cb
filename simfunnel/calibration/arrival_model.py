"""Arrivals of an export: a negative-binomial count model of weekly leads per source.

Forecast arrivals from the whole-period average are far off when a business grows or a
market moves. Weekly counts are a negative-binomial regression (statsmodels GLM) on a level,
a level and a trend, and with two years of history a yearly cycle; the terms are chosen by
what they would have forecast, the trend is damped past the as-of date, and the level error
the model leaves is measured on forecasts from earlier origins, for the forecast to draw.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import cast

import numpy as np
import pandas as pd

__all__ = ["ARRIVAL_WEEKS", "ArrivalFit", "fit_arrivals", "recency"]

ARRIVAL_WEEKS = 52  # arrivals are fitted on at most the last year of the window
HOLDOUT_WEEKS = 8  # arrival models are chosen on how they would have forecast these
DRIFT_WEEKS = 13  # the level's unexplained error is measured on forecasts this long
# Without a stated weighting, arrivals weigh recent weeks more: a level alone follows the
# last weeks closely (a season or a market moves it, and the forecast starts from where it is
# now), a trend needs a longer window to tell a slope from noise, as Holt's method gives its
# level a faster smoothing than its trend.
LEVEL_HALF_LIFE_WEEKS = 2.0
LEVEL_MIN_LEADS = 100  # ... but long enough that the level rests on this many leads (+/-10%)
TREND_HALF_LIFE_WEEKS = 13.0
SEASON_WEEKS = 104  # a yearly cycle needs the history to cover the year twice
TREND_DAMPING_YEARS = 0.25  # a trend's effect saturates after about a quarter
# What weekly counts can support, whatever the regression says (a source that stopped, a burst
# at the end of the history, a weighting that leaves a few leads' worth): no forecast week
# draws more than MAX_RATE_FACTOR times the busiest week seen, a damped trend moves the level
# by at most that factor, and no coefficient's standard error passes MAX_LOG_SD on the log
# scale (a factor e), so that a draw of the parameters cannot ask for billions of leads.
MAX_RATE_FACTOR = 4.0
MAX_LOG_SD = 1.0
MAX_TREND_PER_YEAR = math.log(MAX_RATE_FACTOR) / TREND_DAMPING_YEARS


@dataclass(frozen=True)
class ArrivalFit:
    """A source's weekly arrivals: a negative-binomial regression on the chosen terms.

    ``beta``/``cov`` on the log scale; ``terms`` names the columns ("level", "trend",
    "sin", "cos"); ``alpha`` the overdispersion (0: Poisson). Trend is per year, from the
    as-of date."""

    source: str
    terms: tuple[str, ...]
    beta: np.ndarray
    cov: np.ndarray
    alpha: float
    weeks: int
    leads: int
    scores: dict[str, float]  # per candidate: mean absolute error over the holdout weeks
    drift: float = 0.0  # variance of the log level the model does not explain (see _drift)
    cap: float = math.inf  # the most leads a week the forecast draws (MAX_RATE_FACTOR)
    bounded: tuple[str, ...] = ()  # what was held to what the data support, in words

    def design(self, t_years: np.ndarray, doy: np.ndarray) -> np.ndarray:
        cols = {
            "level": np.ones_like(t_years),
            "trend": t_years,
            "sin": np.sin(2 * np.pi * doy / 365.25),
            "cos": np.cos(2 * np.pi * doy / 365.25),
        }
        return np.column_stack([cols[t] for t in self.terms])

    def future_time(self, t_years: np.ndarray) -> np.ndarray:
        """A trend's time axis past the as-of date, damped: growth seen in the history is
        carried on for about a quarter and then held, as a damped trend does (an exponential
        trend extrapolated for a year would promise what no one can see)."""
        tau = TREND_DAMPING_YEARS
        return np.where(t_years > 0, tau * (1 - np.exp(-np.maximum(t_years, 0) / tau)), t_years)

    def rate_now(self) -> float:
        """Leads per week at the as-of date (trend at 0; a yearly cycle averages out)."""
        return float(math.exp(self.beta[0]))


def _weekly(created: pd.Series, since: pd.Timestamp, as_of: pd.Timestamp) -> pd.DataFrame:
    """Counts per week ending at ``as_of`` (so the last week is whole); the first week may be
    partial and carries its exposure."""
    weeks = max(1, math.ceil((as_of - since) / pd.Timedelta(weeks=1)))
    ends = as_of - pd.to_timedelta(np.arange(weeks)[::-1] * 7, unit="D")
    starts = ends - pd.Timedelta(weeks=1)
    # The stubs type a difference of dates as Series[Any], which they will not divide.
    age = cast("pd.Series[pd.Timedelta]", as_of - created)
    k = np.floor((age / pd.Timedelta(weeks=1)).to_numpy(float)).astype(int)
    counts = np.bincount(weeks - 1 - k[(k >= 0) & (k < weeks)], minlength=weeks)
    first = pd.DatetimeIndex(starts).where(starts > since, since)
    exposure = np.clip(((ends - first) / pd.Timedelta(weeks=1)), 0.0, 1.0)
    mid = starts + pd.Timedelta(days=3.5)
    return pd.DataFrame(
        {
            "start": starts,
            "count": counts,
            "exposure": np.asarray(exposure),
            "t": ((mid - as_of) / pd.Timedelta(days=365.25)).to_numpy(float),
            "doy": mid.day_of_year.to_numpy(float),
        }
    )


def _glm(y: np.ndarray, x: np.ndarray, offset: np.ndarray, weights: np.ndarray) -> tuple:
    """Negative-binomial GLM (overdispersion by moments from a Poisson fit; Poisson when there
    is none): coefficients, their covariance, the overdispersion and the AIC."""
    import statsmodels.api as sm  # a heavy import, needed only here

    if 0 < weights.max() < 1e-6:  # a half-life of minutes: only the ratios count, keep them
        weights = weights / weights.max()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pois = sm.GLM(y, x, family=sm.families.Poisson(), offset=offset, var_weights=weights).fit()
        mu = pois.mu
        alpha = max(0.0, float(np.sum(weights * ((y - mu) ** 2 - y)) / np.sum(weights * mu**2)))
        family = (
            sm.families.NegativeBinomial(alpha=alpha) if alpha > 1e-6 else sm.families.Poisson()
        )
        res = sm.GLM(y, x, family=family, offset=offset, var_weights=weights).fit()
    aic = float(res.aic) + (2 if alpha > 1e-6 else 0)
    return np.asarray(res.params), np.asarray(res.cov_params()), alpha, aic


def fit_arrivals(
    source: str,
    created: pd.Series,
    since: pd.Timestamp,
    as_of: pd.Timestamp,
    half_life_weeks: float | None,
    gaps: Sequence[tuple[pd.Timestamp, pd.Timestamp]] = (),
) -> ArrivalFit:
    """Negative-binomial regression of weekly counts on a level, a level and a trend, and
    with two years of history a yearly cycle too. The terms are chosen by how well each
    would have forecast the last HOLDOUT_WEEKS weeks from the weeks before them (a trend
    fitted to a launch ramp forecasts badly, however well it fits), by AIC when the history
    is shorter than 12 weeks a level only; the chosen terms are then fitted on every week.
    Without ``half_life_weeks`` a level alone weighs the weeks with a half-life of
    LEVEL_HALF_LIFE_WEEKS (longer for a small source, to rest on LEVEL_MIN_LEADS), a trend
    with TREND_HALF_LIFE_WEEKS, a yearly cycle not at all. The fit is then held to what
    weekly counts support (:func:`_bounded`); a source with no lead in the window gets the
    level of half a lead over it (:func:`_silent`)."""
    w = _weekly(created, since, as_of)
    starts = w["start"].to_numpy("datetime64[ns]")
    for a, b in gaps:  # weeks of an export gap hold no data (simfunnel.calibration.gaps)
        overlap = np.minimum(starts + np.timedelta64(7, "D"), b.to_datetime64()) - np.maximum(
            starts, a.to_datetime64()
        )
        lost = np.clip(overlap / np.timedelta64(7, "D"), 0.0, None)
        w["exposure"] = w["exposure"].to_numpy(float) - lost
    w = w[w["exposure"] > 0.05]
    age = w["t"].to_numpy() * -52.18
    y, offset = w["count"].to_numpy(float), np.log(w["exposure"].to_numpy(float))
    cap = MAX_RATE_FACTOR * max(float(y.max()) if len(y) else 0.0, 1.0)
    if y.sum() == 0:
        return _silent(source, w, cap)

    def half_life(terms: tuple[str, ...]) -> float | None:
        if half_life_weeks is not None:
            return half_life_weeks
        if "sin" in terms:  # a yearly cycle is seen only on the whole of two years
            return None
        if terms != ("level",):
            return TREND_HALF_LIFE_WEEKS
        # Exponential weights with half-life h hold about 2h/ln 2 weeks' worth of leads.
        per_week = float(w["count"].sum() / max(w["exposure"].sum(), 1e-9))
        return max(LEVEL_HALF_LIFE_WEEKS, LEVEL_MIN_LEADS * math.log(2) / 2 / max(per_week, 1e-9))

    options: list[tuple[str, ...]] = [("level",)]
    if len(w) >= 8:
        options.append(("level", "trend"))
    if as_of - since >= pd.Timedelta(weeks=SEASON_WEEKS):
        options.append(("level", "trend", "sin", "cos"))
    t, doy = w["t"].to_numpy(), w["doy"].to_numpy()
    scores: dict[str, float] = {}
    fits = {}
    h = min(HOLDOUT_WEEKS, len(w) // 3)
    if h < 4:  # too short to judge a trend by what it would have forecast: a level only
        options = options[:1]
    for terms in options:
        probe = ArrivalFit(source, terms, np.zeros(len(terms)), np.eye(len(terms)), 0.0, 0, 0, {})
        weights = recency(age, half_life(terms))
        fits[terms] = _glm(y, probe.design(t, doy), offset, weights)
        if len(options) == 1:
            scores["+".join(terms)] = math.nan
        elif y[:-h].sum() == 0:  # no lead before the holdout: nothing to judge it from
            scores["+".join(terms)] = math.inf
        else:
            t0 = t[-h - 1] + 0.5 / 52.18  # the holdout's origin, as the as-of date is the fit's
            b, *_ = _glm(y[:-h], probe.design(t[:-h] - t0, doy[:-h]), offset[:-h], weights[:-h])
            pred = np.exp(probe.design(probe.future_time(t[-h:] - t0), doy[-h:]) @ b + offset[-h:])
            scores["+".join(terms)] = float(np.mean(np.abs(pred - y[-h:])))
    best = min(options, key=lambda terms: (np.nan_to_num(scores["+".join(terms)]), len(terms)))
    beta, cov, alpha, _ = fits[best]
    beta, cov, said = _bounded(best, beta, cov, cap)
    drift = _drift(best, y, t, doy, offset, recency(age, half_life(best)))
    if drift > MAX_LOG_SD**2:  # a factor e either way is all weekly counts can support
        said = (*said, f"level error sd {math.sqrt(drift):.2g} (log scale) held to {MAX_LOG_SD:g}")
        drift = MAX_LOG_SD**2
    return ArrivalFit(
        source, best, beta, cov, alpha, len(w), int(y.sum()), scores, drift, cap, said
    )


def _silent(source: str, w: pd.DataFrame, cap: float) -> ArrivalFit:
    """A source with no lead in the window: a regression has nothing to fit (its level runs
    to minus infinity), so the level is half a lead over the window's weeks, the Jeffreys
    estimate for no event, with a factor e of uncertainty."""
    weeks = max(float(w["exposure"].sum()), 1.0)
    return ArrivalFit(
        source,
        ("level",),
        np.array([math.log(0.5 / weeks)]),
        np.array([[MAX_LOG_SD**2]]),
        0.0,
        len(w),
        0,
        {"level": math.nan},
        0.0,
        cap,
        (f"no lead in the {weeks:.0f} weeks fitted: half a lead over them assumed",),
    )


def _bounded(
    terms: tuple[str, ...], beta: np.ndarray, cov: np.ndarray, cap: float
) -> tuple[np.ndarray, np.ndarray, tuple[str, ...]]:
    """The coefficients held to what weekly counts support (see MAX_RATE_FACTOR): the level
    at most the cap, a trend within +/-MAX_TREND_PER_YEAR, each standard error at most
    MAX_LOG_SD (a trend's at most MAX_LOG_SD over its damping time), correlations kept; and
    what was held, in words. A regression that runs off (a source that stopped, a burst at
    the very end) would otherwise draw rates of e^40."""
    beta, said = beta.astype(float).copy(), []
    if beta[0] > math.log(cap):
        said.append(f"level {math.exp(beta[0]):,.0f} a week held to {cap:,.0f}")
        beta[0] = math.log(cap)
    limits = np.full(len(terms), MAX_LOG_SD)
    if "trend" in terms:
        i = terms.index("trend")
        limits[i] = MAX_LOG_SD / TREND_DAMPING_YEARS
        if abs(beta[i]) > MAX_TREND_PER_YEAR:
            said.append(
                f"trend {beta[i]:+.1f} a year (log scale) held to {MAX_TREND_PER_YEAR:+.1f}"
                if beta[i] > 0
                else f"trend {beta[i]:+.1f} a year (log scale) held to {-MAX_TREND_PER_YEAR:+.1f}"
            )
            beta[i] = float(np.clip(beta[i], -MAX_TREND_PER_YEAR, MAX_TREND_PER_YEAR))
    cov = np.asarray(cov, float)
    if not np.isfinite(cov).all():
        said.append(f"standard errors not finite: held to {MAX_LOG_SD:g} (log scale)")
        return beta, np.diag(limits**2), tuple(said)
    sd = np.sqrt(np.maximum(np.diag(cov), 0.0))
    scale = np.where(sd > limits, limits / np.maximum(sd, 1e-300), 1.0)
    if (scale < 1).any():
        said.append(f"standard errors up to {np.nanmax(sd):.2g} (log scale) held to {MAX_LOG_SD:g}")
        cov = cov * np.outer(scale, scale)
    return beta, cov, tuple(said)


def _drift(
    terms: tuple[str, ...],
    y: np.ndarray,
    t: np.ndarray,
    doy: np.ndarray,
    offset: np.ndarray,
    weights: np.ndarray,
) -> float:
    """Variance of the log level's error that the model does not explain (a season the
    history is too short to fit, a drifting market): from forecasts of a quarter's totals
    (DRIFT_WEEKS, fewer in a short history) made at every second week of the history with
    eight weeks before it, less the counting noise. Origins all through the year, so that a
    season's swings are in it. A yearly cycle is judged only from origins with two years
    before them (as it is fitted); without two such origins, the trend model's error is
    used."""
    h = min(DRIFT_WEEKS, max(HOLDOUT_WEEKS, len(y) // 3))
    probe = ArrivalFit("", terms, np.zeros(len(terms)), np.eye(len(terms)), 0.0, 0, 0, {})
    first = SEASON_WEEKS if "sin" in terms else HOLDOUT_WEEKS
    if "sin" in terms and len(y) - h - first < 2:
        return _drift(("level", "trend"), y, t, doy, offset, weights)
    errors, noise = [], []
    for end in range(len(y) - h, first - 1, -2):
        if y[:end].sum() == 0:  # no lead before this origin: nothing to forecast from
            continue
        t0 = t[end - 1] + 0.5 / 52.18
        b, *_ = _glm(y[:end], probe.design(t[:end] - t0, doy[:end]), offset[:end], weights[:end])
        future = slice(end, end + h)
        pred = np.exp(
            probe.design(probe.future_time(t[future] - t0), doy[future]) @ b + offset[future]
        ).sum()
        errors.append(math.log((y[future].sum() + 0.5) / (pred + 0.5)))
        noise.append(1 / max(pred, 1.0))
    if len(errors) < 2:
        return 0.0
    return max(0.0, float(np.mean(np.square(errors)) - np.mean(noise)))


def recency(age_weeks: np.ndarray, half_life_weeks: float | None) -> np.ndarray:
    if half_life_weeks is None:
        return np.ones_like(age_weeks, dtype=float)
    return np.power(0.5, np.maximum(age_weeks, 0.0) / half_life_weeks)


# --------------------------------------------------------------------------- the model
