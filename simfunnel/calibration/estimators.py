"""The estimators the fit rests on, each usable alone: binomial and Poisson intervals, rates
per group, Kaplan-Meier, censored maximum-likelihood fits of durations, fits of amounts, and
what a lead score says about conversion (the curve, the threshold trade-off, the MQL cut)."""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

__all__ = [
    "DISTS",
    "fit_amounts",
    "fit_durations",
    "kaplan_meier",
    "km_quantile",
    "mql_threshold",
    "poisson_interval",
    "rate_table",
    "score_curve",
    "threshold_tradeoff",
    "wilson_interval",
]

# The parametric families of durations and amounts, by the name the tables give them.
DISTS = {"lognormal": stats.lognorm, "gamma": stats.gamma, "weibull": stats.weibull_min}


def wilson_interval(k: Any, n: Any, level: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score interval of a binomial share: sound near 0 and 1 and for small n.

    Written out (a few lines) rather than taken from statsmodels' ``proportion_confint``
    (method "wilson", the same numbers): importing statsmodels would slow every fit."""
    k = np.asarray(k, dtype=float)
    n = np.asarray(n, dtype=float)
    z = stats.norm.ppf(0.5 + level / 2)
    with np.errstate(invalid="ignore", divide="ignore"):
        p = k / n
        centre = (p + z * z / (2 * n)) / (1 + z * z / n)
        half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    # At k = 0 or k = n the bound is exactly 0 or 1; rounding must not put it past the rate.
    low = np.where(k == 0, 0.0, centre - half)
    high = np.where(k == n, 1.0, centre + half)
    return low, high


def poisson_interval(count: Any, exposure: Any, level: float = 0.95) -> tuple[Any, Any]:
    """Exact (Garwood) interval of a Poisson rate: count events over exposure units of time."""
    count = np.asarray(count, dtype=float)
    alpha = 1 - level
    low = np.where(count > 0, stats.chi2.ppf(alpha / 2, 2 * count) / 2, 0.0)
    high = stats.chi2.ppf(1 - alpha / 2, 2 * count + 2) / 2
    return low / exposure, high / exposure


def rate_table(groups: Any, success: Any, name: str = "group") -> pd.DataFrame:
    """Share of successes per group with Wilson intervals: ``name, n, k, rate, low, high``."""
    frame = pd.DataFrame({name: np.asarray(groups), "k": np.asarray(success, dtype=float)})
    out = frame.groupby(name, sort=True)["k"].agg(["size", "sum"]).reset_index()
    out.columns = [name, "n", "k"]
    out["k"] = out["k"].astype(int)
    out["rate"] = out["k"] / out["n"]
    out["low"], out["high"] = wilson_interval(out["k"], out["n"])
    return out


def kaplan_meier(time: Any, event: Any) -> pd.DataFrame:
    """Kaplan-Meier survival at each event time (``scipy.stats.ecdf`` on censored data), with
    the numbers at risk and ending there and Greenwood's standard error.

    ``time``: durations; ``event``: True where the end was seen, False where the record was
    still open (right-censored) at that time.
    """
    t = np.asarray(time, dtype=float)
    e = np.asarray(event, dtype=bool)
    ends = np.sort(t[e])
    if not len(ends):
        return pd.DataFrame({"time": [], "at_risk": [], "events": [], "survival": [], "se": []})
    sf = stats.ecdf(stats.CensoredData(uncensored=ends, right=t[~e])).sf
    times = np.unique(ends)
    surv = sf.evaluate(times)
    at_risk = len(t) - np.searchsorted(np.sort(t), times, side="left")
    events = np.searchsorted(ends, times, side="right") - np.searchsorted(ends, times, side="left")
    with np.errstate(divide="ignore", invalid="ignore"):
        se = surv * np.sqrt(np.cumsum(events / (at_risk * (at_risk - events))))
    return pd.DataFrame(
        {
            "time": times,
            "at_risk": at_risk.astype(int),
            "events": events.astype(int),
            "survival": surv,
            "se": se,
        }
    )


def km_quantile(km: pd.DataFrame, q: float) -> float:
    """Smallest time at which the Kaplan-Meier estimate of the CDF reaches q (NaN if never)."""
    hit = km.index[km["survival"] <= 1 - q + 1e-12]
    return float(km.loc[hit[0], "time"]) if len(hit) else math.nan


def _start(name: str, t: np.ndarray) -> tuple[float, float]:
    """Starting shape and scale by moments: the optimiser needs a start near the answer."""
    logs = np.log(t)
    if name == "lognormal":
        return max(float(np.std(logs)), 0.1), float(np.exp(np.mean(logs)))
    mean, var = float(np.mean(t)), max(float(np.var(t)), 1e-9)
    if name == "gamma":
        return max(mean * mean / var, 0.05), var / mean
    return 1.2, mean


def _nll(name: str, theta: np.ndarray, t: np.ndarray, e: np.ndarray) -> float:
    """Censored negative log-likelihood at log shape and log scale ``theta``."""
    shape, scale = np.exp(theta)
    dist = DISTS[name]
    ll = dist.logpdf(t[e], shape, scale=scale).sum() + dist.logsf(t[~e], shape, scale=scale).sum()
    return -float(ll) if np.isfinite(ll) else 1e300


def fit_durations(time: Any, event: Any | None = None, level: float = 0.95) -> pd.DataFrame:
    """Censored maximum-likelihood fits of lognormal, gamma and Weibull, ranked by AIC.

    One row per candidate: ``dist, shape, scale, loglik, aic, delta_aic, ks, median,
    median_low, median_high, p90, mean, cv, n, events, chosen``. Censored records enter the
    likelihood through the survival function. ``ks`` is the largest gap between the fitted
    survival curve and Kaplan-Meier's (a Kolmogorov distance that respects censoring); the
    median's interval is by the delta method on the observed information.
    """
    t = np.asarray(time, dtype=float)
    e = np.ones(len(t), bool) if event is None else np.asarray(event, dtype=bool)
    keep = np.isfinite(t) & (t > 0)
    t, e = t[keep], e[keep]
    if e.sum() < 3:
        raise ValueError(f"too few completed durations to fit ({int(e.sum())}; need 3)")
    km = kaplan_meier(t, e)
    done = t[e]
    if np.ptp(done) == 0 and (t[~e] <= done[0]).all():
        return _fixed_duration(t, e, km)
    z = stats.norm.ppf(0.5 + level / 2)
    censored = stats.CensoredData(uncensored=t[e], right=t[~e])
    rows = [_candidate(name, dist, censored, t, e, km, z) for name, dist in DISTS.items()]
    out = pd.DataFrame(rows).sort_values("aic", kind="stable").reset_index(drop=True)
    out.insert(5, "delta_aic", out["aic"] - out["aic"].min())
    out["chosen"] = out.index == 0
    out.attrs["km_median"] = km_quantile(km, 0.5)
    return out


def _fixed_duration(t: np.ndarray, e: np.ndarray, km: pd.DataFrame) -> pd.DataFrame:
    """Every completed duration is the same (a fixed delay) and no open record has run past
    it: a fixed value, not a distribution fitted to a spike."""
    v = float(t[e][0])
    fixed = {"dist": "fixed", "shape": math.nan, "scale": v, "loglik": math.nan}
    fixed |= {"aic": math.nan, "delta_aic": 0.0, "ks": 0.0, "median": v, "median_low": v}
    fixed |= {"median_high": v, "p90": v, "mean": v, "cv": 0.0, "n": len(t)}
    out = pd.DataFrame([fixed | {"events": int(e.sum()), "chosen": True}])
    out.attrs["km_median"] = km_quantile(km, 0.5)
    return out


def _candidate(
    name: str, dist: Any, censored: Any, t: np.ndarray, e: np.ndarray, km: pd.DataFrame, z: float
) -> dict[str, Any]:
    """One family's censored fit as a row of :func:`fit_durations` (before the ranking)."""
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")  # scipy's optimiser on an awkward candidate
        shape, _, scale = dist.fit(
            censored, *_start(name, t[e])[:1], floc=0, scale=_start(name, t[e])[1]
        )
    x = np.log([shape, scale])
    nll = _nll(name, x, t, e)
    frozen = dist(shape, scale=scale)
    s_fit = frozen.sf(km["time"].to_numpy())
    s_km = km["survival"].to_numpy()
    before = np.concatenate([[1.0], s_km[:-1]])
    ks = float(np.max(np.maximum(np.abs(s_km - s_fit), np.abs(before - s_fit))))
    se = _log_median_se(name, dist, x, t, e)
    median = float(frozen.median())
    mean, var = frozen.stats(moments="mv")
    return {
        "dist": name,
        "shape": float(shape),
        "scale": float(scale),
        "loglik": -nll,
        "aic": 4 + 2 * nll,
        "ks": ks,
        "median": median,
        "median_low": median * math.exp(-z * se),
        "median_high": median * math.exp(z * se),
        "p90": float(frozen.ppf(0.9)),
        "mean": float(mean),
        "cv": float(np.sqrt(var) / mean),
        "n": len(t),
        "events": int(e.sum()),
    }


def _log_median_se(name: str, dist: Any, x: np.ndarray, t: np.ndarray, e: np.ndarray) -> float:
    """Standard error of the log median, by the delta method in log-parameter space on the
    observed information; NaN where the information cannot be inverted."""
    from statsmodels.tools.numdiff import approx_hess3  # a heavy import, needed only here

    try:
        cov = np.linalg.inv(approx_hess3(x, lambda th: _nll(name, th, t, e)))

        def log_median(th: np.ndarray) -> float:
            return float(np.log(dist(np.exp(th[0]), scale=np.exp(th[1])).median()))

        step = 1e-5
        grad = np.array(
            [(log_median(x + d) - log_median(x - d)) / (2 * step) for d in np.eye(2) * step]
        )
        return float(np.sqrt(max(grad @ cov @ grad, 0.0)))
    except np.linalg.LinAlgError:
        return math.nan


def fit_amounts(values: Any) -> pd.DataFrame:
    """Lognormal and gamma fits of positive amounts (deal values), ranked by AIC, with the
    Kolmogorov-Smirnov statistic and p-value of each."""
    x = np.asarray(values, dtype=float)
    x = x[np.isfinite(x) & (x > 0)]
    if len(x) < 3:
        raise ValueError(f"too few positive amounts to fit ({len(x)}; need 3)")
    if np.ptp(x) == 0:  # one price for every deal (a list price): a fixed value, not a fit
        v = float(x[0])
        fixed = {"dist": "fixed", "shape": math.nan, "scale": v, "aic": math.nan, "ks": 0.0}
        fixed |= {"ks_p": 1.0, "median": v, "p90": v, "mean": v, "cv": 0.0, "n": len(x)}
        return pd.DataFrame([fixed | {"chosen": True}])
    rows = []
    for name in ("lognormal", "gamma"):
        dist = DISTS[name]
        shape, _, scale = dist.fit(x, floc=0)
        frozen = dist(shape, scale=scale)
        ks = stats.kstest(x, frozen.cdf)
        mean, var = frozen.stats(moments="mv")
        rows.append(
            {
                "dist": name,
                "shape": float(shape),
                "scale": float(scale),
                "aic": 4 - 2 * float(frozen.logpdf(x).sum()),
                "ks": float(ks.statistic),
                "ks_p": float(ks.pvalue),
                "median": float(frozen.median()),
                "p90": float(frozen.ppf(0.9)),
                "mean": float(mean),
                "cv": float(np.sqrt(var) / mean),
                "n": len(x),
            }
        )
    out = pd.DataFrame(rows).sort_values("aic", kind="stable").reset_index(drop=True)
    out["chosen"] = out.index == 0
    return out


def threshold_tradeoff(scores: Any, converted: Any, thresholds: Any = None) -> pd.DataFrame:
    """For each threshold: the share of leads kept (score at or above it) and of converters
    kept, the conversion rate of those kept, and its Wilson interval.

    The curve practitioners use to check that a stricter threshold still supplies enough
    opportunities (DOMAIN.md, "Setting the threshold").
    """
    s = np.asarray(scores, dtype=float)
    c = np.asarray(converted, dtype=bool)
    ok = np.isfinite(s)
    s, c = s[ok], c[ok]
    if thresholds is None:
        thresholds = np.unique(np.round(np.quantile(s, np.linspace(0, 0.95, 20)), 6))
    rows = []
    for t in np.asarray(thresholds, dtype=float):
        kept = s >= t
        rows.append((t, int(kept.sum()), int((kept & c).sum())))
    out = pd.DataFrame(rows, columns=["threshold", "kept", "converters_kept"])
    out["leads_kept_share"] = out["kept"] / len(s)
    out["converters_kept_share"] = out["converters_kept"] / max(int(c.sum()), 1)
    out["conversion"] = out["converters_kept"] / out["kept"].where(out["kept"] > 0)
    out["low"], out["high"] = wilson_interval(out["converters_kept"], out["kept"])
    return out


def score_curve(scores: Any, converted: Any, bins: int = 10) -> pd.DataFrame:
    """Conversion by score band (quantile bins): ``band, score_low, score_high, n, k, rate,
    low, high``; bins of tied scores are merged."""
    s = pd.Series(np.asarray(scores, dtype=float))
    c = np.asarray(converted, dtype=bool)
    ok = s.notna().to_numpy()
    band = pd.qcut(s[ok], bins, duplicates="drop")
    table = rate_table(band.cat.codes.to_numpy(), c[ok], "band")
    cats = band.cat.categories
    table["score_low"] = [float(cats[i].left) for i in table["band"]]
    table["score_high"] = [float(cats[i].right) for i in table["band"]]
    return table[["band", "score_low", "score_high", "n", "k", "rate", "low", "high"]]


def mql_threshold(scores: np.ndarray, mql: np.ndarray) -> dict[str, Any]:
    """The MQL threshold the data imply: the cut that best separates MQLs by score (a round
    number when one separates them as well), and the share of leads it classifies right."""
    order = np.unique(scores)
    cuts = np.concatenate([order, [order[-1] + 1]])
    errors = np.array([np.sum((scores >= c) != mql) for c in cuts])
    best = int(errors.min())
    good = cuts[errors == best]
    low_cut = float(good.min())
    below = scores[scores < low_cut]
    lower = float(below.max()) if len(below) else low_cut - 1
    rounds = [
        r for r in range(math.floor(lower) + 1, math.ceil(low_cut) + 1) if lower < r <= low_cut
    ]
    value = float(rounds[len(rounds) // 2]) if rounds else (lower + low_cut) / 2
    # Rounded scores blur the cut by a point or two; a whole number nearly as good wins.
    whole = np.arange(math.floor(low_cut) - 1, math.ceil(low_cut) + 2, dtype=float)
    whole_err = np.array([np.sum((scores >= c) != mql) for c in whole])
    if whole_err.min() <= best + max(1, 0.001 * len(scores)):
        value = float(whole[int(np.argmin(whole_err))])
    return {"value": value, "agreement": 1 - best / len(scores), "n": len(scores)}
