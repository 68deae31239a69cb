"""What a sizing target reads off a run: the measures, ``metric op value`` targets, and the
per-replication reports they are judged on (for :func:`simfunnel.decisions.sizing.size_team`
and the hiring plan built on it)."""

from __future__ import annotations

import math
import operator
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from ..experiments import Experiment

WEEKS_PER_MONTH = 52.1775 / 12
_OPS: dict[str, Callable[[float, float], bool]] = {
    ">=": operator.ge,
    "<=": operator.le,
    ">": operator.gt,
    "<": operator.lt,
}


@dataclass(frozen=True)
class Measure:
    """A target's metric: how to read it off one replication's KPI report."""

    label: str
    read: Callable[[Mapping[str, float], float], float]  # (report, weeks) -> value


def _per_month(key: str) -> Callable[[Mapping[str, float], float], float]:
    return lambda r, weeks: r.get(key, math.nan) / (weeks / WEEKS_PER_MONTH)


MEASURES: dict[str, Measure] = {
    "speed_to_lead_1h": Measure(
        "share of MQLs called within 1 h", lambda r, w: r.get("speed_to_lead.within_1h", math.nan)
    ),
    "speed_to_lead_24h": Measure(
        "share of MQLs called within 24 h",
        lambda r, w: r.get("speed_to_lead.within_24h", math.nan),
    ),
    "speed_to_lead_median_h": Measure(
        "median hours to first attempt", lambda r, w: r.get("speed_to_lead.median_h", math.nan)
    ),
    "valid_opps_per_month": Measure(
        "valid opportunities per month", _per_month("totals.valid_opportunities")
    ),
    "sqls_per_month": Measure("SQLs per month", _per_month("totals.sqls")),
    "wins_per_month": Measure("wins per month", _per_month("totals.won")),
    "sdr_utilisation": Measure("SDR utilisation", lambda r, w: r.get("utilisation.sdr", math.nan)),
    "bdr_utilisation": Measure("BDR utilisation", lambda r, w: r.get("utilisation.bdr", math.nan)),
    "backlog_mean": Measure("untouched MQLs waiting", lambda r, w: r.get("backlog.mean", math.nan)),
    "ae_wait_h": Measure(
        "hours a tossed-up lead waits for an AE", lambda r, w: r.get("ae.ae_mean_wait_h", math.nan)
    ),
    "ae_occupancy": Measure("AE occupancy", lambda r, w: r.get("ae.ae_occupancy", math.nan)),
}


@dataclass(frozen=True)
class Target:
    """``metric op value``, e.g. ``speed_to_lead_1h >= 0.8``."""

    metric: str
    op: str
    value: float

    @classmethod
    def parse(cls, text: str) -> Target:
        match = re.fullmatch(r"\s*([A-Za-z0-9_.]+)\s*(>=|<=|>|<)\s*([-+0-9.eE]+)\s*", text)
        if match is None:
            raise ValueError(
                f"target {text!r}: write METRIC>=VALUE (or <=, >, <), e.g. 'speed_to_lead_1h>=0.8'"
            )
        metric, op, value = match.groups()
        if metric not in MEASURES and "." not in metric:
            raise ValueError(
                f"target {text!r}: unknown metric {metric!r}; use one of "
                f"{', '.join(MEASURES)}, or a report key such as 'totals.won'"
            )
        return cls(metric, op, float(value))

    def value_in(self, report: Mapping[str, float], weeks: float) -> float:
        if self.metric in MEASURES:
            return MEASURES[self.metric].read(report, weeks)
        return report.get(self.metric, math.nan)

    def met(self, value: float) -> bool:
        return not math.isnan(value) and _OPS[self.op](value, self.value)

    def __str__(self) -> str:
        return f"{self.metric} {self.op} {self.value:g}"


def parse_targets(targets: Sequence[str | Target]) -> list[Target]:
    """Targets given as text or as :class:`Target`, parsed; at least one is needed."""
    if not targets:
        raise ValueError("give at least one target, e.g. ['speed_to_lead_1h>=0.8']")
    return [t if isinstance(t, Target) else Target.parse(t) for t in targets]


def replication_reports(experiment: Experiment) -> list[dict[str, float]]:
    """One dict per replication: 'section.metric' -> value."""
    t = experiment.totals
    out = []
    for _, rows in t.groupby("replication", sort=True):
        out.append(dict(zip(rows["section"] + "." + rows["metric"], rows["value"], strict=True)))
    return out


def share_met(reports: Sequence[Mapping[str, float]], goals: Sequence[Target], w: float) -> float:
    """The share of replications (``reports``) that meet every goal, over ``w`` weeks."""
    return float(np.mean([all(g.met(g.value_in(r, w)) for g in goals) for r in reports]))
