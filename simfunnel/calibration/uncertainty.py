"""How far each fitted value may be off, written as the scenario's ``uncertainty`` section
(docs/scenarios.md): a forecast draws the entries once per replication, so its bands cover the
estimates' error as well as the process's luck. Values set by the user are not estimates and
get no entry."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any

import pandas as pd

from ..scenario import MAX_LOG, MAX_SHAPE, MAX_SIGMA, overridden, scenario_from_dict
from .cohorts import CohortModel
from .records import plain_values

__all__ = [
    "Z95",
    "known_by_the_user",
    "qualified_uncertainty",
    "rate_uncertainty",
    "share_uncertainty",
]

Z95 = 1.959963984540054


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


def rate_uncertainty(
    U: list[dict[str, Any]],
    src: str,
    index: int,
    written: float,
    row: pd.Series,
    cohorts: CohortModel | None,
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
        basis = (
            f"the count model's level now ({'+'.join(fit.terms)}, {fit.leads} leads over "
            f"{fit.weeks} weeks): sd of its log from the fit's covariance"
        )
    elif row["leads"] > 0:
        sigma = 1 / math.sqrt(float(row["leads"]))
        basis = (
            f"{row['leads']} leads over {row['weeks']:.1f} weeks: Poisson, relative sd "
            "1/sqrt(leads)"
        )
    else:
        return
    # By name, as the comments write it, unless the name would read as a number or not at all.
    plain = re.fullmatch(r"[^\[\]]+", src) and src.strip() == src and not src.isdigit()
    path = f"sources[{src if plain else index}].rate_per_week"
    _uncertain(U, path, "lognormal", math.log(written), sigma, basis)


def share_uncertainty(
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
    basis = (
        f"{rate:.4g} with open leads censored (cure-fraction fit, {interval}): beta of "
        f"that mean and sd, worth {size:.0f} outcomes"
    )
    _uncertain(U, path, "beta", rate * size, (1 - rate) * size, basis)


def qualified_uncertainty(
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


def known_by_the_user(
    fitted: dict[str, Any], scenario: dict[str, Any], overrides: Mapping[str, Any]
) -> dict[str, Any]:
    """The scenario without the uncertainty entries of fields the user set: a value set by
    hand is not an estimate (unless the user set the uncertainty section itself)."""
    entries = scenario.get("uncertainty")
    if not overrides or not entries:
        return scenario
    if any(str(p).strip().startswith("uncertainty") for p in overrides):
        return scenario
    drop = overridden(
        scenario_from_dict(plain_values(fitted), "<calibration>"), map(str, overrides)
    )
    kept = [e for e, d in zip(entries, drop, strict=True) if not d]
    if kept:
        scenario["uncertainty"] = kept
    else:
        scenario.pop("uncertainty")
    return scenario
