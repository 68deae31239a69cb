"""Confidence intervals over replications: the t half-width of a mean, safe ratios, KPI names as
a user writes them (``won`` or ``totals.won``), and the precision report that decides whether an
experiment with ``precision=`` targets needs another batch.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Mapping, Sequence

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy import stats

__all__ = ["kpi_key", "precision_report", "ratio", "t_half_width"]


def t_half_width(
    sd: pd.Series, n: pd.Series, level: float, df: pd.Series | None = None
) -> pd.Series:
    """Half-width of the t interval of a mean: t(level, df) * sd / sqrt(n); df = n - 1."""
    n_arr = n.to_numpy(dtype=float)
    dof = np.where(n_arr > 1, n_arr - 1, np.nan) if df is None else df.to_numpy(dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        q = stats.t.ppf((1.0 + level) / 2.0, dof)
        return pd.Series(q * sd.to_numpy(dtype=float) / np.sqrt(n_arr), index=sd.index)


def ratio(numerator: npt.ArrayLike, denominator: npt.ArrayLike) -> np.ndarray:
    """numerator / denominator with x / 0 = inf for x > 0 and 0 / 0 = NaN."""
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.asarray(numerator, dtype=float) / np.asarray(denominator, dtype=float)


def kpi_key(name: str, totals: pd.DataFrame) -> tuple[str, str]:
    """``section.metric`` or a bare metric (the first section that has it, in report order)."""
    pairs = list(dict.fromkeys(zip(totals["section"], totals["metric"], strict=True)))
    if "." in name:
        section, metric = name.split(".", 1)
        if (section, metric) in pairs:
            return section, metric
    for section, metric in pairs:
        if metric == name:
            return section, metric
    known = [f"{s}.{m}" for s, m in pairs]
    hint = difflib.get_close_matches(name, known + [m for _, m in pairs], n=1)
    extra = f"; did you mean {hint[0]!r}?" if hint else ""
    raise ValueError(f"no KPI {name!r} in the report{extra}")


def precision_report(
    totals: pd.DataFrame, targets: Mapping[str, float], names: Sequence[str], level: float = 0.95
) -> pd.DataFrame:
    """Relative half-width of each named KPI's mean, per variant, against its target."""
    rows = []
    keys = {name: kpi_key(name, totals) for name in targets}
    g = totals.groupby(["variant", "section", "metric"], sort=False)["value"]
    stats_ = pd.DataFrame({"n": g.count(), "mean": g.mean(), "sd": g.std(ddof=1)})
    stats_["half_width"] = t_half_width(stats_["sd"], stats_["n"], level)
    for variant in names:
        for name, target in targets.items():
            section, metric = keys[name]
            key = (variant, section, metric)
            found = key in stats_.index
            # pandas-stubs reject a full MultiIndex row key given as a tuple; pandas takes it.
            row = stats_.loc[key] if found else (0, *[math.nan] * 3)  # type: ignore[index]
            n, mean, _, half = row
            rel = 0.0 if half == 0 else float(half / abs(mean)) if mean else math.inf
            rows.append(
                {
                    "variant": variant,
                    "kpi": f"{section}.{metric}",
                    "n": int(n),
                    "mean": mean,
                    "half_width": half,
                    "rel_half_width": rel,
                    "target": float(target),
                    "reached": bool(rel <= target),  # NaN (too few values) is not reached
                }
            )
    return pd.DataFrame(rows)
