"""Calibration from CRM exports: read lead, call and opportunity tables, fit, write a scenario.

A simulation is only as credible as its parameters, and teams have CRM exports rather than
parameters. This module reads the three tables a team can pull (``read_leads``, ``read_calls``,
``read_opportunities``: a documented column mapping per style, dates in any common format,
every bad row reported with its line and never dropped silently), fits what the data can give
(``fit``: arrivals, conversions, stage durations with censoring, call rates, deal values, the
score curve) and writes a scenario that runs, with each fitted value's interval and basis in a
comment and the capacity figures the data cannot give marked as assumptions.

Two choices shape the scenario it writes (docs/calibration.md says more):

- rates are the *observed* ones, so speed-to-lead decay is switched off (``speed_to_lead:
  {enabled: false}``): the data show contact and qualification at the team's present response
  times, and applying the default decay on top would count it twice;
- quality effects are set to 0: exports do not show latent quality, so the fitted
  probabilities are averages over the leads seen. The score curve (``score_curve``) shows how
  much the score says, for setting them by hand.
"""

from __future__ import annotations

import copy
import math
import os
import re
import secrets
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml
from scipy import stats

# The readers live in simfunnel.data.crm; their names are imported back so that
# ``from simfunnel.calibration.fitting import read_leads, CalibrationError, ...`` keeps working.
from ..base.files import save_figure, write_csv
from ..data import (
    CalibrationError,
    ExportTable,
    check_exports,
    parse_timestamp,
    read_calls,
    read_leads,
    read_opportunities,
)
from ..data.crm import CONTROL_CHARS
from ..scenario import (
    MAX_LOG,
    MAX_SHAPE,
    MAX_SIGMA,
    ScenarioError,
    load_scenario,
    overridden,
    path_parts,
    scenario_from_dict,
    set_path,
    show_path,
)
from .recent import present_rates

__all__ = [
    "Calibration",
    "CalibrationError",
    "ExportTable",
    "fit",
    "fit_amounts",
    "fit_durations",
    "kaplan_meier",
    "poisson_interval",
    "rate_table",
    "read_calls",
    "read_leads",
    "read_opportunities",
    "threshold_tradeoff",
    "wilson_interval",
]

Z95 = 1.959963984540054
# What a fit needs (docs/calibration.md, "What is refused, and why"): below these it refuses.
MIN_LEADS = 30  # usable leads created in the data period
MIN_MQLS = 5  # leads with an MQL date
SMALL_SAMPLE = 10  # a value fitted from fewer events than this is kept with a warning
SHORT_PERIOD_WEEKS = 4  # a data period shorter than this is kept with a warning
SEASON_YEARS = 2  # seasonality by week of year needs every week of the year seen this often
SEASON_P = 0.01  # ... and weekly counts over-dispersed at this level
# Default calendar (scenario defaults): Monday-Friday 09:00-18:00, for the office-hours share.
_OFFICE = (9.0, 18.0)
_CONTACT_OUTCOMES = ("information_gathering", "postponed", "no_prospect", "do_not_call")
_DEFAULT_SHARES = {
    "information_gathering": 0.25,
    "postponed": 0.10,
    "no_prospect": 0.25,
    "do_not_call": 0.05,
}


# --------------------------------------------------------------------------- small statistics


def wilson_interval(k: Any, n: Any, level: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score interval of a binomial share: sound near 0 and 1 and for small n."""
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
    return pd.DataFrame({"time": times, "at_risk": at_risk.astype(int),
                         "events": events.astype(int), "survival": surv, "se": se})  # fmt: skip


def _km_quantile(km: pd.DataFrame, q: float) -> float:
    """Smallest time at which the Kaplan-Meier estimate of the CDF reaches q (NaN if never)."""
    hit = km.index[km["survival"] <= 1 - q + 1e-12]
    return float(km.loc[hit[0], "time"]) if len(hit) else math.nan


_DISTS = {"lognormal": stats.lognorm, "gamma": stats.gamma, "weibull": stats.weibull_min}


def _start(name: str, t: np.ndarray) -> tuple[float, float]:
    logs = np.log(t)
    if name == "lognormal":
        return max(float(np.std(logs)), 0.1), float(np.exp(np.mean(logs)))
    mean, var = float(np.mean(t)), max(float(np.var(t)), 1e-9)
    if name == "gamma":
        return max(mean * mean / var, 0.05), var / mean
    return 1.2, mean


def _nll(name: str, theta: np.ndarray, t: np.ndarray, e: np.ndarray) -> float:
    shape, scale = np.exp(theta)
    dist = _DISTS[name]
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
        # Every completed duration is the same (a fixed delay) and no open record has run
        # past it: a fixed value, not a distribution fitted to a spike.
        v = float(done[0])
        fixed = {"dist": "fixed", "shape": math.nan, "scale": v, "loglik": math.nan}
        fixed |= {"aic": math.nan, "delta_aic": 0.0, "ks": 0.0, "median": v, "median_low": v}
        fixed |= {"median_high": v, "p90": v, "mean": v, "cv": 0.0, "n": len(t)}
        out = pd.DataFrame([fixed | {"events": int(e.sum()), "chosen": True}])
        out.attrs["km_median"] = _km_quantile(km, 0.5)
        return out
    from statsmodels.tools.numdiff import approx_hess3  # a heavy import, needed only here

    z = stats.norm.ppf(0.5 + level / 2)
    censored = stats.CensoredData(uncensored=t[e], right=t[~e])
    rows = []
    for name, dist in _DISTS.items():
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")  # scipy's optimiser on an awkward candidate
            shape, _, scale = dist.fit(censored, *_start(name, t[e])[:1], floc=0,
                                       scale=_start(name, t[e])[1])  # fmt: skip
        x = np.log([shape, scale])
        nll = _nll(name, x, t, e)
        frozen = dist(shape, scale=scale)
        s_fit = frozen.sf(km["time"].to_numpy())
        s_km = km["survival"].to_numpy()
        before = np.concatenate([[1.0], s_km[:-1]])
        ks = float(np.max(np.maximum(np.abs(s_km - s_fit), np.abs(before - s_fit))))
        # Delta method for the median, in log-parameter space.
        try:
            cov = np.linalg.inv(approx_hess3(x, lambda th, name=name: _nll(name, th, t, e)))

            def log_median(th: np.ndarray, dist: Any = dist) -> float:
                return float(np.log(dist(np.exp(th[0]), scale=np.exp(th[1])).median()))

            step = 1e-5
            grad = np.array(
                [(log_median(x + d) - log_median(x - d)) / (2 * step) for d in np.eye(2) * step]
            )
            se = float(np.sqrt(max(grad @ cov @ grad, 0.0)))
        except np.linalg.LinAlgError:
            se = math.nan
        median = float(frozen.median())
        mean, var = frozen.stats(moments="mv")
        rows.append(
            {
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
        )
    out = pd.DataFrame(rows).sort_values("aic", kind="stable").reset_index(drop=True)
    out.insert(5, "delta_aic", out["aic"] - out["aic"].min())
    out["chosen"] = out.index == 0
    out.attrs["km_median"] = _km_quantile(km, 0.5)
    return out


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
        dist = _DISTS[name]
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


# --------------------------------------------------------------------------- fitting


def _days(delta: pd.Series) -> np.ndarray:
    return delta.dt.total_seconds().to_numpy(dtype=float) / 86400.0


def _fmt(x: float, digits: int = 3) -> str:
    return f"{x:.{digits}g}" if isinstance(x, float | int) and math.isfinite(x) else "n/a"


def _days_text(days: float) -> str:
    return f"{round(float(days), 2):g} days"


def _param(
    rows: list[dict[str, Any]], path: str, value: Any, low: Any = None, high: Any = None,
    basis: str = "", kind: str = "fitted",
) -> None:  # fmt: skip
    rows.append(
        {"parameter": path, "value": value, "low": low, "high": high, "basis": basis, "kind": kind}
    )


def _as_table(x: ExportTable | str | Path | None, reader: Any, **kw: Any) -> ExportTable | None:
    if x is None or isinstance(x, ExportTable):
        return x
    return reader(x, **kw)


# How each kind of parameter is marked in the YAML comments.
_TAGS = {"assumption": "ASSUMPTION", "user": "SET BY THE USER"}


@dataclass(eq=False)
class Calibration:
    """What :func:`fit` found, as tidy tables, and the scenario it implies.

    Tables: ``arrivals`` (per source: leads, weeks, rate per week and its exact Poisson
    interval, office-hours share), ``weekly`` (per source and week: leads and the multiplier
    against the mean), ``dispersion`` (per source: index of dispersion of weekly counts and the
    p-value of a constant Poisson rate), ``conversion`` (per stage and source: n, k, rate,
    Wilson interval), ``durations`` (per stage: the candidate fits, ``chosen`` by AIC),
    ``survival`` (Kaplan-Meier per stage), ``deal_values`` (fits of the amounts),
    ``score_curve`` and ``thresholds`` (when scores exist), ``attempts`` (leads by number of
    calls), ``by_attempt`` (connect and contact rates by attempt number), ``call_durations``,
    ``parameters`` (every scenario value written, with its interval, basis and whether it was
    fitted, assumed or set by the user), ``capacity`` (per role and month, the owners active:
    SDRs from the call log's reps, AEs from the deals' owners), ``overrides`` (the values the
    user set) and ``report`` (every row excluded or changed, and why, and the ``warnings``:
    values fitted from small samples, a score column that says nothing).
    """

    tables: dict[str, ExportTable]
    start: pd.Timestamp
    as_of: pd.Timestamp
    horizon_weeks: int
    arrivals: pd.DataFrame
    weekly: pd.DataFrame
    dispersion: pd.DataFrame
    conversion: pd.DataFrame
    durations: pd.DataFrame
    survival: pd.DataFrame
    deal_values: pd.DataFrame
    score_curve: pd.DataFrame
    thresholds: pd.DataFrame
    attempts: pd.DataFrame
    by_attempt: pd.DataFrame
    call_durations: pd.DataFrame
    parameters: pd.DataFrame
    notes: list[str]
    _scenario: dict[str, Any]
    warnings: list[dict[str, Any]] = field(default_factory=list)
    capacity: pd.DataFrame = field(default_factory=pd.DataFrame)
    overrides: dict[str, Any] = field(default_factory=dict)
    cohorts: Any = (
        None  # the cohort model (simfunnel.calibration.cohorts.CohortModel), if it could be fitted
    )

    @property
    def report(self) -> pd.DataFrame:
        """Every problem of every table read, with file, line, column, problem and action, and
        the fit's warnings (``action = warning``)."""
        columns = ["file", "line", "column", "problem", "value", "action"]
        frames = [t.report for t in self.tables.values() if not t.report.empty]
        if self.warnings:
            frames.append(pd.DataFrame(self.warnings, columns=columns).astype({"line": "Int64"}))
        if not frames:
            return pd.DataFrame(columns=columns)
        return pd.concat(frames, ignore_index=True)

    def scenario_dict(self) -> dict[str, Any]:
        """The fitted scenario as plain data (``scenario_from_dict`` reads it)."""
        return _plain(self._scenario)

    def scenario(self) -> Any:
        """The fitted scenario, validated."""
        return scenario_from_dict(self.scenario_dict(), source="<calibration>")

    def to_yaml(self) -> str:
        """The scenario as YAML, each section preceded by comments with the fitted values,
        their 95% intervals and bases, and the assumptions marked ASSUMPTION."""
        data = self.scenario_dict()
        lines = [
            "# Scenario fitted by simfunnel.calibration.fitting: every value below is either FITTED from",
            "# the exports (with its 95% interval and what it rests on) or an ASSUMPTION that",
            "# the data cannot give: check the assumptions before trusting capacity questions.",
        ]
        for t in self.tables.values():
            lines.append(
                f"# {t.kind}: {t.path}: {t.rows_read} rows, {len(t.data)} used, "
                f"{t.excluded} excluded (see the calibration report); dates {t.date_format}"
            )
        lines.append(
            f"# data period: {self.start:%Y-%m-%d %H:%M} to {self.as_of:%Y-%m-%d %H:%M} "
            f"({(self.as_of - self.start).total_seconds() / 604800:.1f} weeks)"
        )
        lines.extend(f"# note: {n}" for n in self.notes)
        lines.extend(
            f"# WARNING {w['column'] + ': ' if w['column'] else ''}{w['problem']}"
            for w in self.warnings
        )
        params = self.parameters
        for _, p in params[params["kind"] == "check"].iterrows():
            lines.append(
                f"# CHECK {p['parameter']} = {_fmt(p['value'], 4)} (95% {_fmt(p['low'], 4)} to "
                f"{_fmt(p['high'], 4)}): {p['basis']}"
            )
        for key, value in data.items():
            mine = params[params["parameter"].str.split(".").str[0].str.split("[").str[0] == key]
            if len(mine):
                lines.append("")
            if key == "uncertainty":
                lines += [
                    "",
                    "# UNCERTAINTY: how far each value fitted from data may be off (the estimate's",
                    "# standard error, not the week-to-week noise the simulation adds). `simfunnel",
                    "# forecast` draws them once per replication, so its bands cover both;",
                    "# --no-parameter-draws holds the values above fixed.",
                ]
            for _, p in mine.iterrows():
                interval = ""
                if p["low"] is not None and not pd.isna(p["low"]):
                    interval = f" (95% {_fmt(p['low'], 4)} to {_fmt(p['high'], 4)})"
                tag = _TAGS.get(p["kind"], str(p["kind"]).upper())
                value_text = _fmt(p["value"], 4) if isinstance(p["value"], float) else p["value"]
                lines.append(f"# {tag} {p['parameter']} = {value_text}{interval}: {p['basis']}")
            flow = None if isinstance(value, dict | list) else False
            if key == "uncertainty":  # one field a line: the bases are sentences
                flow = False
            dumped = yaml.safe_dump({key: _plain(value)}, sort_keys=False, default_flow_style=flow)
            lines.append(dumped.rstrip("\n"))
        # A comment is one line: a line break (or any control character) in a file name or a
        # source name would end it early and put the rest into the YAML.
        lines = [CONTROL_CHARS.sub(" ", x) if x.startswith("#") else x for x in lines]
        return "\n".join(lines) + "\n"

    def write_scenario(self, path: str | Path) -> Path:
        """Write the commented scenario YAML and return the path: to a temporary name first,
        loaded back and checked there, and only then renamed over ``path``, so a scenario that
        fails its own check never replaces a good file (CalibrationError, naming the CSV
        column behind the bad value)."""
        path = Path(path)
        if path.is_dir():
            raise CalibrationError(f"{path}: a directory; name the scenario file to write")
        _validate(self._scenario, self.tables)
        text = self.to_yaml()
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise CalibrationError(
                f"{path.parent}: cannot make the folder ({exc.strerror})"
            ) from None
        temporary = path.with_name(f".tmp-{secrets.token_hex(4)}-{path.name}")
        try:
            temporary.write_text(text, encoding="utf-8")
            load_scenario(temporary)
            os.replace(temporary, path)
        except ScenarioError as exc:
            raise CalibrationError(_one_line(_blame(exc.problems, self.tables))) from None
        except OSError as exc:
            raise CalibrationError(f"{path}: cannot write it ({exc.strerror or exc})") from None
        finally:
            temporary.unlink(missing_ok=True)
        return path

    def plot(self, stage: str = "sales_cycle", ax: Any = None) -> Any:
        """Kaplan-Meier survival of a stage against the chosen parametric fit; returns the axes."""
        if ax is None:
            import matplotlib.pyplot as plt

            _, ax = plt.subplots(figsize=(7, 4))
        km = self.survival[self.survival["stage"] == stage]
        if km.empty:
            raise ValueError(f"no durations for stage {stage!r}")
        ax.step(km["time"], km["survival"], where="post", label="Kaplan-Meier", color="C0")
        best = self.durations[(self.durations["stage"] == stage) & self.durations["chosen"]]
        if len(best):
            b = best.iloc[0]
            x = np.linspace(0, float(km["time"].max()), 200)
            if b["dist"] == "fixed":
                sf = (x < b["median"]).astype(float)
                label = f"fixed at {b['median']:g} days"
            else:
                sf = _DISTS[b["dist"]](b["shape"], scale=b["scale"]).sf(x)
                label = f"{b['dist']} (AIC best, KS {b['ks']:.3f})"
            ax.plot(x, sf, "--", color="C1", label=label)
        ax.set_xlabel("days")
        ax.set_ylabel("share still open")
        ax.set_title(f"{stage}: censored records included")
        ax.legend()
        ax.grid(alpha=0.3)
        return ax

    def save(self, directory: str | Path, *, dpi: int = 100) -> dict[str, Path]:
        """Write the calibration report to ``directory`` (created if need be); return the paths
        by name.

        ``arrivals.csv``, ``conversion.csv``, ``durations.csv``, ``deal_values.csv``,
        ``parameters.csv`` and ``report.csv`` always (a table the data could not give is
        written with its header only, or empty); the other tables (``weekly``, ``dispersion``,
        ``survival``, ``score_curve``, ``thresholds``, ``attempts``, ``by_attempt``,
        ``call_durations``, ``capacity``) when they have rows; ``survival_<stage>.png``,
        Kaplan-Meier against the chosen fit (:meth:`plot`), per stage with durations; and
        ``scenario.yaml``, the commented scenario (:meth:`write_scenario`).
        """
        from matplotlib.figure import Figure

        out = Path(directory)
        try:
            out.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise CalibrationError(f"{out}: cannot make the folder ({exc.strerror})") from None
        paths: dict[str, Path] = {}
        always = ("arrivals", "conversion", "durations", "deal_values", "parameters", "report")
        optional = ("weekly", "dispersion", "survival", "score_curve", "thresholds", "attempts",
                    "by_attempt", "call_durations", "capacity")  # fmt: skip
        for name in (*always, *optional):
            table = getattr(self, name)
            if name in optional and table.empty:
                continue
            paths[name] = out / f"{name}.csv"
            write_csv(table, paths[name])  # atomic, text cells made inert for spreadsheets
        stages = list(dict.fromkeys(self.survival["stage"])) if not self.survival.empty else []
        for stage in stages:
            fig = Figure(figsize=(7, 4))
            self.plot(stage, ax=fig.subplots())
            fig.tight_layout()
            paths[f"survival_{stage}"] = out / f"survival_{stage}.png"
            save_figure(fig, paths[f"survival_{stage}"], dpi=dpi)
        paths["scenario"] = self.write_scenario(out / "scenario.yaml")
        return paths

    def __repr__(self) -> str:
        n = len(self.tables["leads"].data) if "leads" in self.tables else 0
        return (
            f"Calibration({n} leads, {self.start:%Y-%m-%d} to {self.as_of:%Y-%m-%d}, "
            f"{len(self.parameters)} parameters, {len(self.report)} report rows)"
        )


def _plain(value: Any) -> Any:
    """Plain Python values for YAML (numpy scalars are not)."""
    if isinstance(value, dict):
        return {_plain(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    return value


def _office_share(times: pd.Series) -> tuple[float, float, float, int] | None:
    """Share of arrivals within the default calendar's hours (Mon-Fri 09:00-18:00)."""
    if times.empty or (times.dt.hour.eq(0) & times.dt.minute.eq(0)).all():
        return None  # dates only: the time of day is unknown
    hour = times.dt.hour + times.dt.minute / 60
    inside = (times.dt.day_of_week < 5) & (hour >= _OFFICE[0]) & (hour < _OFFICE[1])
    k, n = int(inside.sum()), len(times)
    low, high = wilson_interval(k, n)
    return k / n, float(low), float(high), n


def _weekly_counts(
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
    return pd.DataFrame(rows, columns=["source", "week", "week_start", "iso_year", "iso_week",
                                       "leads", "multiplier"])  # fmt: skip


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


def _seasonality(
    weeks: pd.DataFrame, disp: pd.DataFrame
) -> tuple[dict[int, float] | None, str, str]:
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
    by_week = {}
    for iso_week, group in weeks.groupby("iso_week"):
        ratios = group["multiplier"].to_numpy(float)
        if len(ratios) >= SEASON_YEARS:
            by_week[int(iso_week)] = round(_middle_near_one(ratios), 3)
    why = (
        f"weekly counts over-dispersed (index {disp['dispersion'].iloc[0]:.1f} on "
        f"{len(weeks) - 1} df, p={p:.2g}), the year covered {covered} times; per ISO week, the "
        "median of week / mean over the years holding it (of an even count, the middle value "
        "nearer 1), so a one-off week does not recur"
    )
    return by_week, why, "fitted"


def fit(
    leads: ExportTable | str | Path,
    calls: ExportTable | str | Path | None = None,
    opportunities: ExportTable | str | Path | None = None,
    *,
    style: str = "hubspot",
    mapping: Any = None,
    date_format: str | None = None,
    start: Any = None,
    as_of: Any = None,
    horizon_weeks: int = 13,
    name: str = "fitted",
    encoding: str | None = None,
    sep: str | None = None,
    overrides: Mapping[str, Any] | None = None,
    since: Any = None,
    half_life_weeks: float | None = None,
) -> Calibration:
    """Fit a scenario from exports (paths, or tables from the ``read_*`` functions).

    ``start`` and ``as_of`` bound the period the data cover (defaults: the day of the first
    lead, and the latest plausible date in any table, :func:`simfunnel.data.crm.check_exports`):
    arrival rates divide by it, and records still open at ``as_of`` are right-censored there.
    The scenario written starts at ``as_of`` and runs ``horizon_weeks``, after a warm-up long
    enough to fill the pipeline. ``overrides``: scenario fields by dotted path (``{"sdr.headcount":
    32, "sources[web].rate_per_week": 70}``) that the user knows better than the exports; set
    after the fit, validated like a scenario file, marked "set by the user" in the YAML.
    Arrival rates and the MQL->SQL and SQL->opportunity rates describe the present where the
    cohort model finds it differs from the average (:mod:`simfunnel.calibration.recent`); ``since`` and
    ``half_life_weeks`` choose its window (default: all cohorts, or those since a detected
    shift).

    Refused with :class:`CalibrationError` (one line): fewer than ``MIN_LEADS`` usable leads
    in the period or fewer than ``MIN_MQLS`` MQLs, and a scenario that would fail its own
    validation (naming the CSV column behind the bad value). Values fitted from fewer than
    ``SMALL_SAMPLE`` events are kept with a warning (``warnings``, the report and the YAML).
    """
    kw = {"style": style, "mapping": mapping, "date_format": date_format}
    kw |= {"encoding": encoding, "sep": sep}
    lt = _as_table(leads, read_leads, **kw)
    ct = _as_table(calls, read_calls, **kw)
    ot = _as_table(opportunities, read_opportunities, **kw)
    if lt is None:
        raise CalibrationError("fit needs a lead table")
    if isinstance(horizon_weeks, bool) or not isinstance(horizon_weeks, int) or horizon_weeks < 1:
        raise CalibrationError(f"horizon_weeks must be a whole number >= 1 (got {horizon_weeks!r})")
    t0 = parse_timestamp(start, "start") if start is not None else None
    if len(lt.data) < MIN_LEADS:  # before the checks across tables, which would say less
        _enough(lt, lt.data, pd.Series(False, index=lt.data.index), None, None)
    lt, ct, ot, t1 = check_exports(lt, ct, ot, as_of=as_of)
    tables = {"leads": lt} | ({"calls": ct} if ct else {}) | ({"opportunities": ot} if ot else {})
    L = lt.data.copy()
    L["source"] = L["source"].fillna("unknown")
    notes: list[str] = []
    warned: list[dict[str, Any]] = []
    params: list[dict[str, Any]] = []
    if t0 is None:
        t0 = L["created"].min().normalize()
    weeks = (t1 - t0).total_seconds() / 604800
    if weeks <= 0:
        raise CalibrationError(
            f"{lt.path}: the data period is empty (start {t0:%Y-%m-%d %H:%M} is not before the "
            f"as-of date {t1:%Y-%m-%d %H:%M})"
        )
    outside = (L["created"] < t0) | (L["created"] > t1)
    if outside.any():
        notes.append(f"{int(outside.sum())} leads created outside the period left out of rates")
    _enough(lt, L, outside, t0, t1)
    if weeks < SHORT_PERIOD_WEEKS:
        _warn(warned, lt.path, lt.columns.get("created"), f"the data period is {weeks * 7:.1f} "
              f"days ({t0:%Y-%m-%d %H:%M} to {t1:%Y-%m-%d %H:%M}): rates from under "
              f"{SHORT_PERIOD_WEEKS} weeks")  # fmt: skip

    # Arrivals per source.
    inside = L[~outside]
    arrivals = []
    for src, group in inside.groupby("source", sort=True):
        n = len(group)
        low, high = poisson_interval(n, weeks)
        office = _office_share(group["created"])
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
    arrivals_df = pd.DataFrame(arrivals)
    last_lead = inside["created"].max()
    lead_end = min(t1, last_lead.normalize() + pd.Timedelta(days=1))
    if t1 - last_lead > pd.Timedelta(weeks=2):
        notes.append(
            f"the last lead was created {last_lead:%Y-%m-%d}, {(t1 - last_lead).days} days "
            f"before the as-of date {t1:%Y-%m-%d}: weekly counts stop there, rates still divide "
            "by the whole period"
        )
    weekly = _weekly_counts(inside["created"], inside["source"], t0, lead_end)
    dispersion = []
    for src, group in weekly.groupby("source"):
        x = group["leads"].to_numpy(float)
        if len(x) >= 2 and x.mean() > 0:
            d = float(((x - x.mean()) ** 2).sum() / x.mean())
            p = float(stats.chi2.sf(d, len(x) - 1))
        else:
            d, p = math.nan, math.nan
        dispersion.append({"source": src, "weeks": len(x), "dispersion": d, "p_value": p})
    dispersion_df = pd.DataFrame(dispersion, columns=["source", "weeks", "dispersion", "p_value"])
    seasons = {
        src: _seasonality(weekly[weekly["source"] == src],
                          dispersion_df[dispersion_df["source"] == src])
        for src in arrivals_df["source"]
    }  # fmt: skip
    notes += [
        f"sources[{src}]: no seasonality: {why}"
        for src, (by_week, why, kind) in seasons.items()
        if by_week is None and kind == "derived"
    ]

    # Conversions per stage and source.
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
                {"stage": stage, "source": src, "n": n, "k": k,
                 "rate": k / n if n else math.nan, "low": float(low), "high": float(high)}
            )  # fmt: skip
    conversion = pd.DataFrame(conv)
    cohorts, arrivals_df, conversion, said = present_rates(
        L[~outside], t0, t1, arrivals_df, conversion, since, half_life_weeks
    )
    notes.extend(said)

    def conv_row(stage: str) -> pd.Series:
        c = conversion
        return c[(c["stage"] == stage) & (c["source"] == "all")].iloc[0]

    # Durations: meeting delay (SQL -> opportunity) and sales cycle (opportunity -> close).
    duration_tables, km_tables = [], []
    cycle_t, cycle_e, cycle_basis = _cycle(L, ot, t1)
    stages = {"sales_cycle": (cycle_t, cycle_e, cycle_basis)}
    delay = _days(L.loc[is_sql & is_opp, "opportunity_date"] - L.loc[is_sql & is_opp, "sql_date"])
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

    # Deal values.
    amounts = L.loc[is_opp, "amount"].dropna()
    if amounts.empty and ot is not None:
        amounts = ot.data["amount"].dropna()
    deal_values = fit_amounts(amounts) if (amounts > 0).sum() >= 3 else pd.DataFrame()

    # Score -> conversion, and the threshold.
    scored = L["score"].notna()
    score_tab, thresholds = pd.DataFrame(), pd.DataFrame()
    threshold = None
    score_col = lt.columns.get("score")
    synthetic = "score curve and threshold skipped; synthetic scores per source are used"
    if score_col and not scored.any():
        blanked = lt.report[(lt.report["column"] == score_col) & (lt.report["action"] == "blanked")]
        if len(blanked):
            _warn(warned, lt.path, score_col, f"no usable score ({len(blanked)} values blanked, "
                  f"see the report): {synthetic}")  # fmt: skip
    elif scored.sum() >= 20:
        s = L.loc[scored, "score"].to_numpy(float)
        if np.ptp(s) == 0:
            _warn(warned, lt.path, score_col, f"every lead has the same score ({s[0]:g}), so it "
                  f"cannot tell MQLs apart: {synthetic}")  # fmt: skip
        else:
            converted = is_sql[scored].to_numpy()
            score_tab = score_curve(s, converted)
            thresholds = threshold_tradeoff(s, converted)
            threshold = _threshold(s, is_mql[scored].to_numpy())
    elif scored.any():
        _warn(warned, lt.path, score_col, f"only {int(scored.sum())} leads have a score (fewer "
              f"than 20): {synthetic}")  # fmt: skip

    # Calls (those for leads not in the lead table were excluded by check_exports).
    attempts_df, by_attempt, call_durations = pd.DataFrame(), pd.DataFrame(), pd.DataFrame()
    call_fit: dict[str, Any] = {}
    if ct is not None and not ct.data.empty:
        attempts_df, by_attempt, call_durations, call_fit = _fit_calls(ct.data, L)
    capacity = _capacity(ct, ot, call_fit.get("reps", []), t0, t1)
    active = _active_last_month(capacity)
    notes.extend(_capacity_notes(capacity, active))

    uncertain: list[dict[str, Any]] = []
    scenario = _build_scenario(
        name, t1, horizon_weeks, arrivals_df, seasons, L, conv_row, chosen,
        deal_values, threshold, call_fit, params, ot, active, cohorts=cohorts, uncertain=uncertain,
    )  # fmt: skip
    if uncertain:
        scenario["uncertainty"] = uncertain
    _small_samples(warned, tables, arrivals_df, conversion, chosen, deal_values, call_fit)
    _collapsed_stages(warned, lt, L, cohorts)
    _validate(scenario, tables)
    scenario = _known_by_the_user(scenario, _apply_overrides(scenario, overrides or {}, params),
                                  overrides or {})  # fmt: skip
    return Calibration(
        tables=tables,
        start=t0,
        as_of=t1,
        horizon_weeks=horizon_weeks,
        arrivals=arrivals_df,
        weekly=weekly,
        dispersion=dispersion_df,
        conversion=conversion,
        durations=durations,
        survival=survival,
        deal_values=deal_values,
        score_curve=score_tab,
        thresholds=thresholds,
        attempts=attempts_df,
        by_attempt=by_attempt,
        call_durations=call_durations,
        parameters=pd.DataFrame(params),
        notes=notes,
        _scenario=scenario,
        warnings=warned,
        cohorts=cohorts,
        capacity=capacity,
        overrides=dict(overrides or {}),
    )


def _enough(lt: ExportTable, L: pd.DataFrame, outside: pd.Series, t0: Any, t1: Any) -> None:
    """Refuse a fit the data cannot support: fewer than MIN_LEADS leads in the period, or
    fewer than MIN_MQLS MQLs."""
    n = int((~outside).sum())
    if n < MIN_LEADS:
        where = f" created {t0:%Y-%m-%d} to {t1:%Y-%m-%d}" if outside.any() else ""
        raise CalibrationError(
            f"{lt.path}: {n} usable lead{'' if n == 1 else 's'}{where} ({lt.rows_read} read, "
            f"{lt.excluded} excluded: see the report); a fit needs at least {MIN_LEADS}"
        )
    mqls = int(L["mql_date"].notna().sum())
    if mqls < MIN_MQLS:
        column = lt.columns.get("mql_date")
        what = f"column '{column}'" if column else "no MQL date column"
        raise CalibrationError(
            f"{lt.path}: {mqls} MQLs ({what}) among {len(L)} leads; a fit needs at least {MIN_MQLS}"
        )


def _warn(rows: list[dict[str, Any]], path: str, column: Any, text: str) -> None:
    rows.append(
        {"file": path, "line": None, "column": column or "", "problem": text, "value": None,
         "action": "warning"}
    )  # fmt: skip


# Conversion stage -> the lead-table field that counts its successes.
_STAGE_FIELD = {
    "lead->mql": "mql_date",
    "mql->sql": "sql_date",
    "sql->opportunity": "opportunity_date",
    "opportunity->won": "won_date",
}


def _collapsed_stages(
    warned: list[dict[str, Any]], lt: ExportTable, L: pd.DataFrame, model: Any
) -> None:
    """A thin export (won dates without SQL or opportunity dates) fits MQL->SQL at 0, and the
    scenario would forecast no wins: say so loudly, with the MQL->won conversion the export
    does show (censored cohorts, :mod:`simfunnel.calibration.cohorts`) and where to get its forecast."""
    gaps = [c for c in ("sql_date", "opportunity_date") if L[c].isna().all()]
    if not gaps or L["won_date"].isna().all() or model is None:
        return
    won = model.report()
    won = won[won["stage"] == "won"]
    rate = float((won["rate"] * won["n"]).sum() / won["n"].sum())
    median = float(won["median_days"].iloc[0])
    names = " and ".join({"sql_date": "SQL dates", "opportunity_date": "opportunity dates"}[c]
                         for c in gaps)  # fmt: skip
    _warn(warned, lt.path, lt.columns.get(gaps[0]),
          f"COLLAPSED STAGES: the export has won dates but no {names}, so MQL->SQL, "
          f"SQL->opportunity and opportunity->won cannot be fitted and this scenario forecasts "
          f"no wins from new MQLs. The export shows MQL->won at {rate:.1%} after a median "
          f"{median:.0f} days (censored cohorts): `simfunnel outlook` forecasts from that, or "
          "state the stages with --set")  # fmt: skip


def _small_samples(
    rows: list[dict[str, Any]], tables: dict[str, ExportTable], arrivals: pd.DataFrame,
    conversion: pd.DataFrame, chosen: dict[str, pd.Series], deal_values: pd.DataFrame,
    calls: dict[str, Any],
) -> None:  # fmt: skip
    """A warning for each value fitted from fewer than SMALL_SAMPLE events."""
    lt = tables["leads"]
    few = f"fewer than {SMALL_SAMPLE}"
    for _, a in arrivals.iterrows():
        if a["leads"] < SMALL_SAMPLE:
            _warn(rows, lt.path, lt.columns.get("source"), f"source {a['source']!r}: rate from "
                  f"{int(a['leads'])} leads ({few}): 95% {a['low']:.2f} to {a['high']:.2f} a week")  # fmt: skip
    for _, c in conversion[conversion["source"] == "all"].iterrows():
        if 0 < c["n"] < SMALL_SAMPLE:
            _warn(rows, lt.path, lt.columns.get(_STAGE_FIELD[c["stage"]]),
                  f"{c['stage']}: {int(c['k'])} of {int(c['n'])} ({few}): 95% "
                  f"{c['low']:.2f} to {c['high']:.2f}")  # fmt: skip
    for stage, row in chosen.items():
        if row["events"] < SMALL_SAMPLE:
            field_ = "won_date" if stage == "sales_cycle" else "opportunity_date"
            _warn(rows, lt.path, lt.columns.get(field_), f"{stage}: fitted from "
                  f"{int(row['events'])} completed durations ({few})")  # fmt: skip
    if not deal_values.empty and deal_values["n"].iloc[0] < SMALL_SAMPLE:
        _warn(rows, lt.path, lt.columns.get("amount"),
              f"deal value: fitted from {int(deal_values['n'].iloc[0])} amounts ({few})")  # fmt: skip
    if calls:
        ct = tables["calls"]
        for what, n, column in (
            ("cadence.connect_probability", calls["dials"], "outcome"),
            ("cadence.contact_probability", calls["connects"], "outcome"),
            ("outcomes.probabilities.qualified", calls["contacts"], "outcome"),
            ("cadence.max_attempts and gaps", calls["never_contacted"], "lead_id"),
        ):
            if n < SMALL_SAMPLE:
                _warn(rows, ct.path, ct.columns.get(column), f"{what}: fitted from {int(n)} "
                      f"{'leads never contacted' if 'attempts' in what else 'calls'} ({few})")  # fmt: skip


# Scenario setting (its path's start) -> the export fields behind it, the likeliest first.
_BLAME: tuple[tuple[str, tuple[tuple[str, str], ...]], ...] = (
    ("sources", (("leads", "source"), ("leads", "created"))),
    ("scoring", (("leads", "score"), ("leads", "mql_date"))),
    ("cadence.durations", (("calls", "duration_s"),)),
    ("cadence.gaps", (("calls", "timestamp"),)),
    ("cadence.max_attempts", (("calls", "lead_id"),)),
    ("cadence", (("calls", "outcome"),)),
    ("outcomes", (("leads", "status"), ("leads", "sql_date"), ("calls", "outcome"))),
    ("sdr", (("calls", "rep"),)),
    ("ae.acceptance", (("leads", "opportunity_date"), ("leads", "sql_date"))),
    ("ae.win", (("leads", "won_date"), ("opportunities", "won"), ("opportunities", "stage"))),
    ("ae.sales_cycle", (("leads", "won_date"), ("opportunities", "close_date"))),
    ("ae.meeting_delay", (("leads", "opportunity_date"), ("leads", "sql_date"))),
    ("ae.deal_value", (("leads", "amount"), ("opportunities", "amount"))),
    ("", (("leads", "created"),)),
)


def _blame(problems: list[str], tables: dict[str, ExportTable]) -> str:
    """A scenario problem as one line naming the export file and column behind the value."""
    first = str(problems[0])
    parts = first.split(": ", 2)
    loc, what = (parts[1], parts[2]) if len(parts) == 3 else ("", first)
    plain = loc.replace("[", ".").replace("]", "")
    if plain.startswith("sources") and ".score" in plain:
        plain = "scoring"
    for prefix, fields in _BLAME:
        if plain.startswith(prefix):
            for kind, name in fields:
                table = tables.get(kind)
                if table is not None and name in table.columns:
                    more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
                    return (
                        f"{table.path}: column '{table.columns[name]}' ({name}) gives the "
                        f"fitted {loc or 'scenario'} a value the scenario refuses: {what}{more}; "
                        "no scenario written"
                    )
    return f"{tables['leads'].path}: the fitted scenario is refused ({first}); no scenario written"


def _validate(scenario: dict[str, Any], tables: dict[str, ExportTable]) -> None:
    """The fitted scenario must pass the scenario's own validation; else one line naming the
    CSV column behind the bad value."""
    try:
        scenario_from_dict(_plain(scenario), source="<fitted>")
    except ScenarioError as exc:
        raise CalibrationError(_one_line(_blame(exc.problems, tables))) from None


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


def _cycle(
    L: pd.DataFrame, ot: ExportTable | None, as_of: pd.Timestamp
) -> tuple[np.ndarray, np.ndarray, str]:
    """Days from opportunity to close, open ones censored at ``as_of``: from the lead table
    when it has opportunity dates, else from the opportunities table."""
    opp = L[L["opportunity_date"].notna()]
    if len(opp):
        close = opp["won_date"].fillna(opp["lost_date"])
        event = close.notna().to_numpy()
        t = _days(close.fillna(as_of) - opp["opportunity_date"])
        return t, event, "opportunity date to won/lost date; open ones censored at the as-of date"
    if ot is not None and not ot.data.empty:
        o = ot.data
        event = (o["close_date"].notna() & o["won"].notna()).to_numpy()
        close = o["close_date"].where(pd.Series(event, index=o.index)).fillna(as_of)
        return _days(close - o["created"]), event, "opportunity created to close; open censored"
    return np.array([]), np.array([], bool), ""


def _threshold(scores: np.ndarray, mql: np.ndarray) -> dict[str, Any]:
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


def _fit_calls(
    calls: pd.DataFrame, L: pd.DataFrame
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, dict[str, Any]]:
    c = calls.sort_values(["lead_id", "timestamp"], kind="stable").copy()
    c["attempt"] = c.groupby("lead_id").cumcount() + 1
    c["connected"] = c["outcome"].isin(["connect", "contact"])
    c["contacted"] = c["outcome"] == "contact"
    per_lead = c.groupby("lead_id").agg(
        calls=("attempt", "size"), contacts=("contacted", "sum"), first=("timestamp", "min")
    )
    attempts = per_lead["calls"].value_counts().sort_index().rename_axis("attempts")
    attempts_df = attempts.rename("leads").reset_index()
    attempts_df["share"] = attempts_df["leads"] / attempts_df["leads"].sum()
    rows = []
    for k, g in c.groupby("attempt"):
        dials, conn, cont = len(g), int(g["connected"].sum()), int(g["contacted"].sum())
        cl, ch = wilson_interval(conn, dials)
        tl, th = wilson_interval(cont, conn)
        rows.append(
            {"attempt": int(k), "dials": dials, "connects": conn, "contacts": cont,
             "connect_rate": conn / dials, "connect_low": float(cl), "connect_high": float(ch),
             "contact_rate": cont / conn if conn else math.nan, "contact_low": float(tl),
             "contact_high": float(th)}
        )  # fmt: skip
    by_attempt = pd.DataFrame(rows)
    dials, conn, cont = len(c), int(c["connected"].sum()), int(c["contacted"].sum())
    never = per_lead[per_lead["contacts"] == 0]
    max_attempts = (
        int(never["calls"].mode().iloc[0]) if len(never) else int(per_lead["calls"].max())
    )
    # Gaps between attempts of leads worked through the whole cadence without contact.
    full = never.index[never["calls"] == max_attempts]
    cf = c[c["lead_id"].isin(full)]
    gap_h = (cf.groupby("lead_id")["timestamp"].diff().dt.total_seconds() / 3600).to_numpy()
    # Gaps of a day or more count in working days (Mon-Fri, the calendar the fitted scenario
    # assumes), as the scenario's cadence does: Friday to Monday is one day, not three.
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
    # Durations by outcome.
    dur_rows = []
    if c["duration_s"].notna().any():
        for outcome, g in c.groupby("outcome"):
            x = g["duration_s"].dropna().to_numpy(float)
            if len(x):
                dur_rows.append(
                    {"outcome": outcome, "n": len(x), "median_s": float(np.median(x)),
                     "p90_s": float(np.quantile(x, 0.9)), "mean_s": float(np.mean(x))}
                )  # fmt: skip
    call_durations = pd.DataFrame(dur_rows)
    # Qualification per conversation: SQLs among the leads called, over their contacts.
    called = L[L["lead_id"].isin(per_lead.index)]
    sqls = int(called["sql_date"].notna().sum())
    # Outcomes per conversation. A lead's conversations end at its first terminal outcome
    # (qualified, no prospect, do not call), so each earlier one was information gathering or
    # postponed: the terminal ones are counted from the final status, the rest split between
    # the two in the ratio of final statuses information_gathering : postponed.
    contacted = per_lead.index[per_lead["contacts"] > 0]
    final = (
        called.loc[called["lead_id"].isin(contacted) & called["sql_date"].isna(), "status"]
        .fillna("")
        .str.lower()
    )
    final_counts = final.value_counts()
    has_status = bool(called["status"].notna().any())
    no_prospect = int(final_counts.get("no_prospect", 0))
    do_not_call = int(final_counts.get("do_not_call", 0))
    info, later = (
        int(final_counts.get("information_gathering", 0)),
        int(final_counts.get("postponed", 0)),
    )
    open_talks = max(cont - sqls - no_prospect - do_not_call, 0)
    ratio = info / (info + later) if info + later else 0.25 / 0.35
    shares = {
        "information_gathering": open_talks * ratio,
        "postponed": open_talks * (1 - ratio),
        "no_prospect": no_prospect,
        "do_not_call": do_not_call,
    }
    reps = calls["rep"].dropna()
    fit_out = {
        "dials": dials,
        "connects": conn,
        "contacts": cont,
        "connect": (conn / dials, *map(float, wilson_interval(conn, dials))),
        "contact": (cont / conn if conn else math.nan, *map(float, wilson_interval(cont, conn))),
        "qualified": (sqls / cont if cont else math.nan, *map(float, wilson_interval(sqls, cont))),
        "sqls": sqls,
        "outcome_counts": shares if has_status else {},
        "max_attempts": max_attempts,
        "never_contacted": len(never),
        "gaps_h": gaps,
        "durations": call_durations,
        "reps": sorted(set(reps[reps.str.upper().str.startswith("SDR")])) or sorted(set(reps)),
        "mql_per_week": None,
    }
    return attempts_df, by_attempt, call_durations, fit_out


def _duration_dist(row: pd.Series) -> Any:
    """A chosen duration fit as a scenario distribution (Weibull, which the schema lacks, as
    20 equally likely quantiles of the fitted curve)."""
    if row["cv"] < 0.01:  # all but fixed: lognormal needs p90 above the median
        return _days_text(row["median"])  # type: ignore[return-value]
    if row["dist"] == "lognormal":
        return {"dist": "lognormal", "median": _days_text(row["median"]),
                "p90": _days_text(row["p90"])}  # fmt: skip
    if row["dist"] == "gamma":
        return {"dist": "gamma", "mean": _days_text(row["mean"]), "cv": round(row["cv"], 4)}
    q = stats.weibull_min(row["shape"], scale=row["scale"]).ppf((np.arange(20) + 0.5) / 20)
    return {"dist": "empirical", "values": [_days_text(v) for v in q]}


def _seconds_dist(median: float, p90: float) -> Any:
    if p90 <= median * 1.0001:
        return f"{round(median, 1):g} s"
    return {"dist": "lognormal", "median": f"{round(median, 1):g} s", "p90": f"{round(p90, 1):g} s"}


def _build_scenario(
    name: str, as_of: pd.Timestamp, horizon_weeks: int, arrivals: pd.DataFrame,
    seasons: dict[str, tuple[Any, str, str]], L: pd.DataFrame, conv_row: Any,
    chosen: dict[str, pd.Series], deal_values: pd.DataFrame, threshold: dict[str, Any] | None,
    calls: dict[str, Any], params: list[dict[str, Any]], ot: ExportTable | None,
    active: dict[str, tuple[int, str]], *, cohorts: Any = None,
    uncertain: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:  # fmt: skip
    """The scenario dict; ``params`` gets a row per value written, and ``uncertain`` an
    ``uncertainty`` entry per value fitted from data (see :func:`_uncertain`)."""
    P = params
    U: list[dict[str, Any]] = uncertain if uncertain is not None else []
    start = (as_of + pd.Timedelta(days=1)).normalize() if as_of != as_of.normalize() else as_of
    # Scores: real ones when the export has them, else a synthetic normal score per source
    # placed so that P(score >= 50) is the source's MQL share.
    sources = []
    mql_by_source = {}
    for _, row in arrivals.iterrows():
        src = row["source"]
        mine = L["source"] == src
        n, k = int(mine.sum()), int((mine & L["mql_date"].notna()).sum())
        mql_by_source[src] = (k, n)
        source: dict[str, Any] = {"name": str(src), "rate_per_week": round(row["rate_per_week"], 3)}
        _param(P, f"sources[{src}].rate_per_week", row["rate_per_week"], row["low"], row["high"],
               f"{row['leads']} leads over {row['weeks']:.1f} weeks (Poisson)")  # fmt: skip
        _rate_uncertainty(U, str(src), len(sources), source["rate_per_week"], row, cohorts)
        if math.isfinite(row["office_hours_share"]):
            source["office_hours_share"] = round(row["office_hours_share"], 4)
            _param(P, f"sources[{src}].office_hours_share", row["office_hours_share"],
                   row["office_low"], row["office_high"],
                   "share created Mon-Fri 09:00-18:00 (the calendar assumed below)")  # fmt: skip
        else:
            _param(P, f"sources[{src}].office_hours_share", 0.7, basis="dates have no time of "
                   "day: default kept", kind="assumption")  # fmt: skip
        by_week, why, kind = seasons[src]
        if by_week:
            source["seasonality"] = {"by_week": by_week}
            _param(P, f"sources[{src}].seasonality.by_week", f"{len(by_week)} weeks", basis=why)
        else:
            _param(P, f"sources[{src}].seasonality", "none", basis=why, kind=kind)
        scores = L.loc[mine, "score"].dropna()
        if threshold is not None and len(scores) >= 2:
            lo, hi = float(min(0.0, scores.min())), float(max(100.0, scores.max()))
            source["score"] = {"mean": round(float(scores.mean()), 3),
                               "sd": round(float(scores.std()), 3), "min": lo, "max": hi}  # fmt: skip
            _param(P, f"sources[{src}].score", f"mean {scores.mean():.2f}, sd {scores.std():.2f}",
                   basis=f"{len(scores)} scores (normal, clipped)")  # fmt: skip
        else:
            share = min(max(k / n if n else 0.5, 1e-4), 1 - 1e-4)
            mean = 50 + 10 * stats.norm.ppf(share)
            source["score"] = {"mean": round(float(mean), 3), "sd": 10.0}
            _param(P, f"sources[{src}].score", "synthetic", basis=f"no scores: normal sd 10 placed"
                   f" so {share:.1%} score >= 50, the MQL share seen", kind="derived")  # fmt: skip
        source["score"]["reliability"] = 0.6
        sources.append(source)
    _param(P, "sources[].score.reliability / quality", "defaults",
           basis="latent quality is not in exports; quality effects are set to 0 below",
           kind="assumption")  # fmt: skip
    if threshold is not None:
        thr = threshold["value"]
        _param(P, "scoring.threshold", thr,
               basis=f"cut that best separates MQLs by score: agrees on "
               f"{threshold['agreement']:.2%} of {threshold['n']} leads")  # fmt: skip
    else:
        thr = 50.0
        _param(P, "scoring.threshold", thr, basis="no scores: synthetic scale", kind="derived")
    mql = conv_row("lead->mql")
    _param(P, "(MQL share)", mql["rate"], mql["low"], mql["high"],
           f"{mql['k']} MQLs of {mql['n']} leads", kind="check")  # fmt: skip

    # Cadence and outcomes.
    cadence: dict[str, Any]
    outcomes_p: dict[str, float]
    mql_sql = conv_row("mql->sql")
    if calls:
        cp, cl, ch = calls["connect"]
        tp, tl, th = calls["contact"]
        qp, ql, qh = calls["qualified"]
        cadence = {
            "max_attempts": calls["max_attempts"],
            "connect_probability": round(cp, 4),
            "contact_probability": round(tp, 4),
        }
        if calls["gaps_h"] and len(calls["gaps_h"]) == calls["max_attempts"] - 1:
            cadence["gaps"] = [f"{g:g} h" for g in calls["gaps_h"]]
        _param(P, "cadence.connect_probability", cp, cl, ch,
               f"{calls['connects']} connects of {calls['dials']} dials")  # fmt: skip
        _param(P, "cadence.contact_probability", tp, tl, th,
               f"{calls['contacts']} contacts of {calls['connects']} connects (observed, decay "
               "included)")  # fmt: skip
        _param(P, "cadence.max_attempts", calls["max_attempts"],
               basis=f"most common number of calls of the {calls['never_contacted']} leads "
               "never contacted")  # fmt: skip
        if "gaps" in cadence:
            _param(P, "cadence.gaps", ", ".join(cadence["gaps"]),
                   basis="median gap between attempts of leads called to the end of the cadence,"
                   " in whole working days, Mon-Fri (observed gaps include waits for working time)")  # fmt: skip
        durations = calls["durations"]
        if not durations.empty:
            d = durations.set_index("outcome")
            spec = {}
            for out, key in (("no_answer", "no_connect"), ("connect", "connect"),
                             ("contact", "conversation")):  # fmt: skip
                if out in d.index:
                    spec[key] = _seconds_dist(d.at[out, "median_s"], d.at[out, "p90_s"])
                    _param(P, f"cadence.durations.{key}", d.at[out, "median_s"],
                           basis=f"median seconds of {int(d.at[out, 'n'])} calls "
                           f"(p90 {d.at[out, 'p90_s']:.0f} s), lognormal by median and p90")  # fmt: skip
            cadence["durations"] = spec
        qualified = min(max(qp, 0.0), 1.0)
        qualified_from: tuple[str, Any, Any] | None = ("contacts", calls["sqls"], calls["contacts"])
        _param(
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
            _param(P, "outcomes.probabilities (others)", ", ".join(
                f"{k} {v:.3f}" for k, v in rest.items()),
                basis=f"{total:.0f} conversations not qualified: no prospect and do not call from "
                "final statuses; the earlier conversations of a lead were information gathering "
                "or postponed, split as their final statuses", kind="derived")  # fmt: skip
        else:
            s = sum(_DEFAULT_SHARES.values())
            rest = {k: v / s for k, v in _DEFAULT_SHARES.items()}
            _param(P, "outcomes.probabilities (others)", "defaults' proportions",
                   basis="no lead status column", kind="assumption")  # fmt: skip
        outcomes_p = {"qualified": qualified} | {k: (1 - qualified) * v for k, v in rest.items()}
        team, basis = _sdr_headcount(calls["reps"], active.get("sdr"))
        _param(P, "sdr.headcount", team, basis=basis, kind="assumption")
    else:
        cadence = {"connect_probability": 0.4, "contact_probability": 0.5}
        reach = 1 - (1 - 0.2) ** 6
        qualified = min(mql_sql["rate"] / reach, 1.0) if mql_sql["n"] else 0.3
        qualified_from = ("mql->sql", mql_sql, reach) if mql_sql["n"] else None
        s = sum(_DEFAULT_SHARES.values())
        outcomes_p = {"qualified": qualified} | {
            k: (1 - qualified) * v / s for k, v in _DEFAULT_SHARES.items()
        }
        _param(P, "cadence.connect/contact_probability", "0.4 / 0.5", basis="no call log",
               kind="assumption")  # fmt: skip
        _param(P, "outcomes.probabilities.qualified", qualified,
               basis=f"MQL->SQL {mql_sql['rate']:.3f} over the assumed reach of 6 attempts "
               f"({reach:.3f})", kind="derived")  # fmt: skip
        weekly_mql = mql_sql["n"] / max(arrivals["weeks"].max(), 1e-9)
        team = max(1, math.ceil(weekly_mql * 4 * (5 / 60) / (40 * 0.7)))
        _param(P, "sdr.headcount", team, basis="no call log: MQLs a week x 4 attempts x 5 min "
               "over 28 phone hours a rep", kind="assumption")  # fmt: skip
    total = sum(outcomes_p.values())
    outcomes_p = {k: round(v / total, 6) for k, v in outcomes_p.items()}
    outcomes_p["qualified"] = round(
        1 - sum(v for k, v in outcomes_p.items() if k != "qualified"), 6
    )
    _qualified_uncertainty(U, outcomes_p["qualified"], qualified_from)
    mql_sql_p = (mql_sql["rate"], mql_sql["low"], mql_sql["high"])
    _param(P, "(MQL->SQL)", mql_sql_p[0], mql_sql_p[1], mql_sql_p[2],
           f"{mql_sql['k']} SQLs of {mql_sql['n']} MQLs (recent MQLs may still convert)",
           kind="check")  # fmt: skip
    _param(P, "sdr.shrinkage / calendar", "0.3 / Mon-Fri 09:00-18:00",
           basis="not in exports: scenario defaults", kind="assumption")  # fmt: skip

    # AE stage.
    acc = conv_row("sql->opportunity")
    win = conv_row("opportunity->won")
    if not win["n"] and ot is not None and not ot.data.empty:
        won = ot.data["won"]
        k, n = int((won == True).sum()), int(won.notna().sum())  # noqa: E712
        wl, wh = wilson_interval(k, n)
        win = pd.Series({"rate": k / n if n else math.nan, "low": wl, "high": wh, "k": k, "n": n})
    acceptance = float(acc["rate"]) if acc["n"] else 0.7
    win_p = float(win["rate"]) if win["n"] else 0.25
    _param(P, "ae.acceptance.probability", acceptance, acc["low"], acc["high"],
           f"{acc['k']} opportunities of {acc['n']} SQLs"
           if acc["n"] else "no SQLs", kind="fitted" if acc["n"] else "assumption")  # fmt: skip
    _param(P, "ae.win.probability", win_p, win["low"], win["high"],
           f"{win['k']} won of {win['n']} closed" if win["n"] else "no closed deals",
           kind="fitted" if win["n"] else "assumption")  # fmt: skip
    ae: dict[str, Any] = {
        "acceptance": {"probability": round(acceptance, 4), "quality_effect": 0},
        "win": {"probability": round(win_p, 4), "quality_effect": 0},
    }
    if acc["n"]:
        _share_uncertainty(U, "ae.acceptance.probability", acc, "opportunities of", "SQLs")
    if win["n"]:
        _share_uncertainty(U, "ae.win.probability", win, "won of", "closed")
    for stage, key in (("meeting_delay", "meeting_delay"), ("sales_cycle", "sales_cycle")):
        if stage in chosen:
            row = chosen[stage]
            ae[key] = _duration_dist(row)
            _param(P, f"ae.{key}", f"{row['dist']}, median {row['median']:.1f} days",
                   row["median_low"], row["median_high"],
                   f"{row['events']} completed of {row['n']} ({row['n'] - row['events']} "
                   f"censored), censored MLE chosen by AIC; KS distance to Kaplan-Meier "
                   f"{row['ks']:.3f}; Kaplan-Meier median {row['km_median']:.1f} days")  # fmt: skip
        elif key == "sales_cycle":
            ae[key] = {"dist": "lognormal", "median": "45 days", "p90": "90 days"}
            _param(P, "ae.sales_cycle", "45/90 days", basis="no closed opportunities",
                   kind="assumption")  # fmt: skip
    if not deal_values.empty:
        b = deal_values.iloc[0]
        if b["dist"] == "fixed":
            ae["deal_value"] = round(float(b["median"]), 2)  # float: no overflow at 1e308
        elif b["dist"] == "lognormal":
            ae["deal_value"] = {"dist": "lognormal", "median": round(float(b["median"]), 2),
                                "p90": round(float(b["p90"]), 2)}  # fmt: skip
        else:
            ae["deal_value"] = {"dist": "gamma", "mean": round(float(b["mean"]), 2),
                                "cv": round(b["cv"], 4)}  # fmt: skip
        _param(P, "ae.deal_value", f"{b['dist']}, median {b['median']:.0f}, mean {b['mean']:.0f}",
               basis=f"{int(b['n'])} amounts, chosen by AIC; KS {b['ks']:.3f} "
               f"(p={b['ks_p']:.2g})")  # fmt: skip
    else:
        ae["deal_value"] = 10000
        _param(P, "ae.deal_value", 10000, basis="no amounts", kind="assumption")
    basis = "AE headcount and room are not in the exports"
    if "ae" in active:
        n_ae, month = active["ae"]
        owners = "deal owner was" if n_ae == 1 else "deal owners were"
        basis = (f"AE room (the deals each can hold) is not in the exports; {n_ae} {owners} "
                 f"active in {month}")  # fmt: skip
    _param(P, "ae.team", "unlimited", basis=basis, kind="assumption")
    cycle_p90 = 0.0
    if "sales_cycle" in chosen:
        cycle_p90 = float(chosen["sales_cycle"]["p90"])
    warm = min(52, math.ceil(cycle_p90 / 7) + 4)
    _param(P, "warm_up", f"{warm} weeks", basis="sales-cycle p90 plus 4 weeks, so the pipeline "
           "is full when the forecast starts", kind="derived")  # fmt: skip
    outcome_eff = {k: 0 for k in ("qualified", *_CONTACT_OUTCOMES)}
    return {
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
        "outcomes": {"probabilities": outcomes_p, "quality_effect": outcome_eff},
        "ae": ae,
    }


# --------------------------------------------------------------------------- uncertainty
# What fit knows about how far each fitted value may be off, written as the scenario's
# ``uncertainty`` section (docs/scenarios.md): a forecast draws them once per replication, so
# its bands cover the estimates' error as well as the process's luck.


def _uncertain(
    U: list[dict[str, Any]], path: str, dist: str, a: float, b: float, basis: str
) -> None:
    """Add an entry if its parameters are usable (finite, in the schema's ranges); a value
    whose spread cannot be said (no events) gets none rather than a made-up one."""
    a, b = float(a), float(b)
    if not (math.isfinite(a) and math.isfinite(b) and 0 < b <= MAX_SHAPE and abs(a) <= MAX_SHAPE):
        return
    if dist == "lognormal" and (abs(a) > MAX_LOG or b > MAX_SIGMA):
        return
    if dist == "beta" and not a > 0:
        return
    U.append({"path": path, "dist": dist, "a": round(a, 6), "b": round(b, 6), "basis": basis})


def _rate_uncertainty(
    U: list[dict[str, Any]], src: str, index: int, written: float, row: pd.Series, cohorts: Any
) -> None:
    """A source's weekly rate: lognormal about the written rate. Its sigma, the relative
    standard error: the count model's (sd of its log level at the as-of date, from the fit's
    covariance) when its level is the rate written, else Poisson's 1 / sqrt(leads)."""
    if not written > 0:
        return
    fit = cohorts.arrivals.get(src) if cohorts is not None else None
    now = fit.rate_now() if fit is not None else math.nan
    if fit is not None and math.isclose(float(row["rate_per_week"]), now, rel_tol=1e-9):
        sigma = math.sqrt(max(float(fit.cov[0, 0]), 0.0))
        basis = (f"the count model's level now ({'+'.join(fit.terms)}, {fit.leads} leads over "
                 f"{fit.weeks} weeks): sd of its log from the fit's covariance")  # fmt: skip
    elif row["leads"] > 0:
        sigma = 1 / math.sqrt(float(row["leads"]))
        basis = (f"{row['leads']} leads over {row['weeks']:.1f} weeks: Poisson, relative sd "
                 "1/sqrt(leads)")  # fmt: skip
    else:
        return
    # By name, as the comments write it, unless the name would read as a number or not at all.
    plain = re.fullmatch(r"[^\[\]]+", src) and src.strip() == src and not src.isdigit()
    path = f"sources[{src if plain else index}].rate_per_week"
    _uncertain(U, path, "lognormal", math.log(written), sigma, basis)


def _share_uncertainty(
    U: list[dict[str, Any]], path: str, row: pd.Series, hits: str, of: str
) -> None:
    """A conversion fitted from k of n: beta(k + 0.5, n - k + 0.5) (Jeffreys). When the rate
    written is not k / n (the cure-fraction rate of :mod:`simfunnel.calibration.recent`, open leads
    censored), a beta with the same mean and the sd of its 95% interval instead: centred on
    the counts it would pull the forecast back to the rate the fit set aside."""
    k, n, rate = float(row["k"]), float(row["n"]), float(row["rate"])
    if not (n > 0 and math.isfinite(rate)):
        return
    if math.isclose(rate, k / n, rel_tol=1e-9, abs_tol=1e-12):
        k = min(max(k, 0.0), n)
        basis = f"{k:.0f} {hits} {n:.0f} {of}: beta(k + 0.5, n - k + 0.5)"
        _uncertain(U, path, "beta", k + 0.5, n - k + 0.5, basis)
        return
    sd = (float(row["high"]) - float(row["low"])) / (2 * Z95)
    if not (0 < rate < 1 and sd > 0) or sd**2 >= rate * (1 - rate):
        return
    size = rate * (1 - rate) / sd**2 - 1  # a beta's variance is p (1 - p) / (a + b + 1)
    interval = f"95% {row['low']:.3g} to {row['high']:.3g}"
    basis = (f"{rate:.4g} with open leads censored (cure-fraction fit, {interval}): beta of "
             f"that mean and sd, worth {size:.0f} outcomes")  # fmt: skip
    _uncertain(U, path, "beta", rate * size, (1 - rate) * size, basis)


def _qualified_uncertainty(
    U: list[dict[str, Any]], written: float, source: tuple[str, Any, Any] | None
) -> None:
    """The qualified outcome's probability. From a call log it is k SQLs of n contacts:
    beta(k + 0.5, n - k + 0.5). Without one it is derived from MQL->SQL over an assumed reach:
    lognormal about the written value with sigma the MQL->SQL rate's relative standard error,
    sqrt((1 - p) / k) for k SQLs (from its 95% interval when the cure-fraction rate was used);
    the assumed reach adds an error no export can measure, and is not in it."""
    if source is None:
        return
    path = "outcomes.probabilities.qualified"
    if source[0] == "contacts":
        k, n = float(source[1]), float(source[2])
        if n > 0:
            k = min(max(k, 0.0), n)
            basis = f"{k:.0f} SQLs of {n:.0f} contacts: beta(k + 0.5, n - k + 0.5)"
            _uncertain(U, path, "beta", k + 0.5, n - k + 0.5, basis)
        return
    row, reach = source[1], source[2]
    p, k, n = float(row["rate"]), float(row["k"]), float(row["n"])
    if not (0 < written < 1 and p > 0 and k > 0):
        return  # 1 is the cap of MQL->SQL over the reach, not an estimate to draw about
    if math.isclose(p, k / n, rel_tol=1e-9):
        sigma = math.sqrt((1 - p) / k)
        how = f"{k:.0f} SQLs of {n:.0f} MQLs, relative sd sqrt((1 - p) / k)"
    else:
        sigma = (float(row["high"]) - float(row["low"])) / (2 * Z95) / p
        how = f"MQL->SQL {p:.3g} with open leads censored, relative sd from its 95% interval"
    basis = f"derived from MQL->SQL over the assumed reach {reach:.3f}: {how}"
    _uncertain(U, path, "lognormal", math.log(written), sigma, basis)


def _known_by_the_user(
    fitted: dict[str, Any], scenario: dict[str, Any], overrides: Mapping[str, Any]
) -> dict[str, Any]:
    """The scenario without the uncertainty entries of fields the user set: a value set by
    hand is not an estimate (unless the user set the uncertainty section itself)."""
    entries = scenario.get("uncertainty")
    if not overrides or not entries or any(str(p).strip().startswith("uncertainty")
                                           for p in overrides):  # fmt: skip
        return scenario
    drop = overridden(scenario_from_dict(_plain(fitted), "<calibration>"), map(str, overrides))
    kept = [e for e, d in zip(entries, drop, strict=True) if not d]
    if kept:
        scenario["uncertainty"] = kept
    else:
        scenario.pop("uncertainty")
    return scenario


# --------------------------------------------------------------------------- capacity

# Who works which side of the funnel, by the table that names them.
_ROLES = (("sdr", "calls", "rep"), ("ae", "opportunities", "owner"))


def _activity(ct: ExportTable | None, ot: ExportTable | None, reps: list[str]) -> pd.DataFrame:
    """Every dated act of a named owner: ``role, owner, when``. Calls by the reps the fit
    counts as SDRs; deals created, and closed (an open deal's close date is a plan, not an
    act), by their owner."""
    frames = []
    if ct is not None and not ct.data.empty:
        c = ct.data[ct.data["rep"].isin(reps)]
        frames.append(pd.DataFrame({"role": "sdr", "owner": c["rep"], "when": c["timestamp"]}))
    if ot is not None and not ot.data.empty and ot.data["owner"].notna().any():
        o = ot.data[ot.data["owner"].notna()]
        closed = o["close_date"].where(o["won"].notna())
        for when in (o["created"], closed):
            frames.append(pd.DataFrame({"role": "ae", "owner": o["owner"], "when": when}))
    if not frames:
        return pd.DataFrame(columns=["role", "owner", "when"])
    return pd.concat(frames, ignore_index=True).dropna(subset=["when"])


def _capacity(
    ct: ExportTable | None, ot: ExportTable | None, reps: list[str], start: pd.Timestamp,
    as_of: pd.Timestamp,
) -> pd.DataFrame:  # fmt: skip
    """Owners active per role and calendar month: ``role, table, column, month, active,
    complete``. An owner counts in every month from their first act to their last (a quiet
    month is not a leaver); ``complete`` says the month lies wholly in the data period."""
    columns = ["role", "table", "column", "month", "active", "complete"]
    acts = _activity(ct, ot, reps)
    if acts.empty:
        return pd.DataFrame(columns=columns)
    span = acts.groupby(["role", "owner"])["when"].agg(["min", "max"])
    rows = []
    for role, table, column in _ROLES:
        if role not in span.index.get_level_values("role"):
            continue
        mine = span.loc[role]
        months = pd.period_range(mine["min"].min(), mine["max"].max(), freq="M")
        for month in months:
            first, end = month.start_time, (month + 1).start_time
            active = int(((mine["min"] < end) & (mine["max"] >= first)).sum())
            complete = bool(first >= start.normalize() and end <= as_of)
            rows.append((role, table, column, str(month), active, complete))
    return pd.DataFrame(rows, columns=columns)


def _active_last_month(capacity: pd.DataFrame) -> dict[str, tuple[int, str]]:
    """Per role, the owners active in the last complete month before the as-of date, and
    that month: today's team, not every name the history holds."""
    out: dict[str, tuple[int, str]] = {}
    if capacity.empty:
        return out
    for role, group in capacity[capacity["complete"]].groupby("role"):
        last = group.iloc[-1]
        out[str(role)] = (int(last["active"]), str(last["month"]))
    return out


def _capacity_notes(capacity: pd.DataFrame, active: dict[str, tuple[int, str]]) -> list[str]:
    """One note per role: the owners active in the last months (the capacity table has all)."""
    notes = []
    names = {"sdr": "SDRs (the call log's reps)", "ae": "AEs (the deals' owners)"}
    for role, group in capacity.groupby("role", sort=False):
        tail = group.iloc[-6:]
        recent = ", ".join(f"{m} {a}" for m, a in zip(tail["month"], tail["active"], strict=True))
        last = f"; last complete month {active[role][1]}" if role in active else ""
        notes.append(
            f"capacity: {names[role]} active by month (Calibration.capacity), latest: "
            f"{recent}{last}"
        )
    return notes


def _sdr_headcount(reps: list[str], active: tuple[int, str] | None) -> tuple[int, str]:
    """The SDR headcount and its basis: the reps active in the last complete month before the
    as-of date (leavers and joiners of the past do not count), else every rep seen."""
    check = "check against the roster (part-timers, leavers)"
    if active is not None and active[0] > 0:
        n, month = active
        return n, (
            f"{n} owners active in {month} (the last complete month before the as-of date; a "
            f"rep is active from their first call to their last), of {len(reps)} in the whole "
            f"call log: {check}"
        )
    return len(reps) or 1, (
        f"distinct SDRs in the call log ({len(reps)}; no complete month of calls): {check}"
    )


# --------------------------------------------------------------------------- overrides

_NAMED_SOURCE = re.compile(r"^sources\[([^\]]*[^\d\]][^\]]*)\]")


def _by_index(path: str, data: dict[str, Any]) -> str:
    """``sources[web].x`` as ``sources.0.x`` (the form the YAML comments use, by name)."""
    match = _NAMED_SOURCE.match(path.strip())
    if match is None:
        return path.strip()
    names = [str(s.get("name")) for s in data.get("sources", [])]
    if match.group(1) not in names:
        raise CalibrationError(
            f"overrides: {path}: no source named {match.group(1)!r} (the fit has "
            f"{', '.join(names)}); write sources[NAME].field or sources.N.field"
        )
    return f"sources.{names.index(match.group(1))}{path.strip()[match.end() :]}"


def _by_name(path: str, data: dict[str, Any]) -> str:
    """``sources.0.x`` as ``sources[web].x``: the parameter names of the fitted values."""
    parts = path.split(".")
    if len(parts) > 1 and parts[0] == "sources" and parts[1].isdigit():
        sources = data.get("sources", [])
        if int(parts[1]) < len(sources):
            return ".".join([f"sources[{sources[int(parts[1])]['name']}]", *parts[2:]])
    return path


def _mark_user(params: list[dict[str, Any]], name: str, value: Any) -> None:
    """The parameter row of an overridden field says it was set by the user, and what the fit
    had given (a field the fit did not report gets a row of its own)."""
    for row in params:
        if row["parameter"] == name:
            was = _fmt(row["value"], 4) if isinstance(row["value"], float) else row["value"]
            row.update(value=value, low=None, high=None, kind="user",
                       basis=f"set by the user (the fit gave {was}: {row['basis']})")  # fmt: skip
            return
    _param(params, name, value, basis="set by the user", kind="user")


def _apply_overrides(
    scenario: dict[str, Any], overrides: Mapping[str, Any], params: list[dict[str, Any]]
) -> dict[str, Any]:
    """The fitted scenario with the user's values set by dotted path (the machinery of
    ``simfunnel.experiments.experiment.with_overrides``), validated like a scenario file: a bad path or
    value is one line naming the path and what was expected."""
    if not overrides:
        return scenario
    if not isinstance(overrides, Mapping):
        raise CalibrationError(
            f"overrides: a mapping of field path -> value, e.g. {{'sdr.headcount': 32}} (got "
            f"{type(overrides).__name__})"
        )
    data = copy.deepcopy(scenario)
    shown = []
    for path, value in overrides.items():
        if not isinstance(path, str):
            raise CalibrationError(f"overrides: {path!r}: a path is text, like sdr.headcount")
        plain = _by_index(path, data)
        try:
            path_parts(plain, "overrides")
            set_path(data, plain, copy.deepcopy(value), "overrides")
        except ScenarioError as exc:
            raise CalibrationError(_one_line(exc.problems[0])) from None
        parts = path_parts(plain, "overrides")
        name = _by_name(".".join(parts), data)
        shown.append((name, show_path(parts)))
        _mark_user(params, name, value)
    try:
        scenario_from_dict(_plain(data), source="overrides")
    except ScenarioError as exc:
        raise CalibrationError(_one_line(_override_problem(exc.problems, shown))) from None
    return data


def _override_problem(problems: list[str], shown: list[tuple[str, str]]) -> str:
    """The problem that names an overridden path (its name as the user wrote it), else the
    first; with how many more there are."""
    named = [str(p) for p in problems if any(f" {plain}" in str(p) for _, plain in shown)]
    first = named[0] if named else str(problems[0])
    for name, plain in shown:
        first = first.replace(f": {plain}", f": {name}", 1) if name != plain else first
    if not named:  # a fitted field that no longer fits with the user's value
        first += f" (after setting {', '.join(name for name, _ in shown)})"
    more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
    return f"{first}{more}; expected as in a scenario file (docs/scenarios.md)"
