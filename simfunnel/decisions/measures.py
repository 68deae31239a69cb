"""What a sizing target reads off a run: the registry's words for a report key, the measures,
``metric op value`` targets, and the per-replication reports they are judged on (for
:func:`simfunnel.decisions.sizing.size_team` and the hiring plan built on it).

A measure that is a run KPI as it is names its key in the KPI registry
(:data:`simfunnel.results.KPIS`) and takes the registry's label and unit; one derived from run
KPIs (a rate per month) keeps its own label and names the keys it reads. A key the registry lacks
fails on import. A target may also name any report key (``totals.won >= 40``): its label is the
registry's too.
"""

from __future__ import annotations

import math
import operator
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from ..base.formatting import fmt
from ..base.units import format_duration
from ..experiments import Experiment
from ..results import KPI, Unit, kpi

WEEKS_PER_MONTH = 52.1775 / 12
_OPS: dict[str, Callable[[float, float], bool]] = {
    ">=": operator.ge,
    "<=": operator.le,
    ">": operator.gt,
    "<": operator.lt,
}

Reader = Callable[[Mapping[str, float], float], float]  # (report, weeks) -> value


def registry_kpi(key: str) -> KPI:
    """The KPI registry's entry of a report key ``section.name`` (a source or a lost reason: its
    section's pattern), so that a decision list naming a key the registry lacks fails at once."""
    section, dot, name = key.partition(".")
    if not dot or not name:
        raise KeyError(f"{key!r} is not a report key: write section.name, e.g. 'totals.won'")
    return kpi(section, name)


def key_label(key: str) -> str:
    """A report key in the registry's words, as the decisions show it: a source or a reason
    named after its section's label (a duration's value carries its own unit: '38 s')."""
    entry = registry_kpi(key)
    name = key.partition(".")[2]
    return f"{entry.label} ({name})" if entry.pattern and name != entry.name else entry.label


@dataclass(frozen=True)
class Measure:
    """A target's metric: its words, how to read it off one replication's KPI report, the
    registry keys it reads (one for a run KPI as it is) and their unit."""

    label: str
    read: Reader
    keys: tuple[str, ...] = ()
    unit: Unit | None = None
    derived: bool = False  # computed from its keys (a rate per month), with a label of its own


def _reader(key: str) -> Reader:
    """Reads one report key, NaN if the run's report lacks it."""
    return lambda r, weeks: r.get(key, math.nan)


def key_measure(key: str) -> Measure:
    """A measure that is a run KPI as it is: the registry's words and unit."""
    return Measure(key_label(key), _reader(key), (key,), registry_kpi(key).unit)


def per_month(key: str, label: str) -> Measure:
    """A count of the horizon as a monthly rate (the count / horizon months)."""
    return Measure(
        label,
        lambda r, weeks: r.get(key, math.nan) / (weeks / WEEKS_PER_MONTH),
        (key,),
        registry_kpi(key).unit,
        derived=True,
    )


MEASURES: dict[str, Measure] = {
    "speed_to_lead_1h": key_measure("speed_to_lead.within_1h"),
    "speed_to_lead_24h": key_measure("speed_to_lead.within_24h"),
    "speed_to_lead_median_h": key_measure("speed_to_lead.median_h"),
    "valid_opps_per_month": per_month(
        "totals.valid_opportunities", "valid opportunities per month"
    ),
    "sqls_per_month": per_month("totals.sqls", "SQLs per month"),
    "wins_per_month": per_month("totals.won", "wins per month"),
    "sdr_utilisation": key_measure("utilisation.sdr"),
    "bdr_utilisation": key_measure("utilisation.bdr"),
    "backlog_mean": key_measure("backlog.mean"),
    "ae_wait_h": key_measure("ae.ae_mean_wait_h"),
    "ae_occupancy": key_measure("ae.ae_occupancy"),
}


def measure_label(metric: str) -> str:
    """A target's metric in words: a measure's label, else the registry's for the report key."""
    return MEASURES[metric].label if metric in MEASURES else key_label(metric)


@dataclass(frozen=True)
class Target:
    """``metric op value``, e.g. ``speed_to_lead_1h >= 0.8``: the metric a measure's name
    (:data:`MEASURES`) or a report key in the KPI registry (``totals.won``)."""

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
        if metric not in MEASURES:
            try:
                registry_kpi(metric)
            except KeyError:
                raise ValueError(
                    f"target {text!r}: no KPI {metric!r} in the KPI registry; a report key is "
                    "section.name, e.g. 'totals.won' (simfunnel/results/kpis.py lists them)"
                ) from None
        return cls(metric, op, float(value)).checked(text)

    def checked(self, text: str | None = None) -> Target:
        """This target, refused (ValueError) when its value is out of the metric's range: a
        share is 0-1, so ``speed_to_lead_1h>80`` (meant as 80%) would never be met, and
        ``>=-1`` always. Why here: before any run, in words that say how to write it."""
        if self.unit is Unit.SHARE and not 0 <= self.value <= 1:
            said = text if text is not None else str(self)
            raise ValueError(
                f"target {said!r}: {self.metric} is a share between 0 and 1 (e.g. 0.8 for 80%); "
                f"{self.value:g} is out of range"
            )
        return self

    @property
    def label(self) -> str:
        """The metric in words, for tables and charts (:func:`measure_label`)."""
        return measure_label(self.metric)

    @property
    def unit(self) -> Unit | None:
        """The unit of the metric's value (a share, a duration...), from the registry."""
        if self.metric in MEASURES:
            return MEASURES[self.metric].unit
        return registry_kpi(self.metric).unit

    def figure(self, value: float) -> str:
        """A value of this target's metric as a person reads it: 80%, 12 min, 1,234."""
        if self.unit is Unit.SHARE:
            return f"{100 * value:.0f}%" if not math.isnan(value) else "n/a"
        if self.unit is Unit.DURATION:
            return format_duration(value)
        return fmt(float(value)) if abs(value) >= 100 else f"{value:,.2f}".rstrip("0").rstrip(".")

    @property
    def words(self) -> str:
        """The target in words: 'MQLs called within 1 h at least 80%'."""
        said = {">=": "at least", "<=": "at most", ">": "above", "<": "below"}[self.op]
        return f"{self.label} {said} {self.figure(self.value)}"

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
    return [t.checked() if isinstance(t, Target) else Target.parse(t) for t in targets]


def check_confidence(confidence: float) -> None:
    """Refuse a confidence outside (0, 1), before any run: a pass rate of n in n runs is never
    shown to be at least 100% (its bound stays below 1), so 1 would run every headcount to the
    most replications and report a failure, and 0 asks nothing."""
    if not 0 < confidence < 1:
        raise ValueError(
            f"confidence must be above 0 and below 1 (got {confidence:g}): it is the share of "
            "simulated runs that must meet every target, e.g. 0.8 for 80%; a pass rate can "
            "never be shown to be at least 100%, so 1 cannot be asked"
        )


def replication_reports(experiment: Experiment) -> list[dict[str, float]]:
    """One dict per replication: 'section.metric' -> value."""
    return reports_of(experiment.totals)


def share_met(reports: Sequence[Mapping[str, float]], goals: Sequence[Target], w: float) -> float:
    """The share of replications (``reports``) that meet every goal, over ``w`` weeks."""
    return float(np.mean([all(g.met(g.value_in(r, w)) for g in goals) for r in reports]))


def reports_of(totals: pd.DataFrame) -> list[dict[str, float]]:
    """One dict per replication of ``totals`` (one variant): 'section.metric' -> value."""
    return [
        dict(zip(rows["section"] + "." + rows["metric"], rows["value"], strict=True))
        for _, rows in totals.groupby("replication", sort=True)
    ]


PASS_LEVEL = 0.95  # one-sided: a pass rate shown above the confidence asked
FAIL_LEVEL = 0.99  # one-sided: shown below it; stricter, since the answer moves on a failure
STEP = 10  # replications added per look once all passing could settle


@dataclass(frozen=True)
class PassRule:
    """A sizing run's stopping rule (:class:`simfunnel.experiments.StoppingRule`): add
    replications until the share of runs meeting every goal is shown above ``confidence`` (the
    Wilson bound at a one-sided 95%) or below it (one-sided 99%), or ``max_reps`` is reached:
    the headcount is then on the edge.

    Why: a pass rate of 9 in 10 is consistent with anything from 60% to 98%, so an 80% rule
    decided on ten runs flips with the seed. :func:`size_team` answers with the smallest
    headcount not shown to fail, so its answer moves only when a headcount that passes is shown
    to fail; the stricter bound on that side makes it rare (under 1% at a true 85% against 80%).
    Looks: ``batch`` runs (none of 3 passing shows an 80% rule failed), then the fewest runs
    that, all passing, show a pass (11 for 80%), then ten more at a time."""

    goals: tuple[Target, ...]
    weeks: float
    confidence: float
    batch: int = 3
    max_reps: int = 40

    @property
    def fewest(self) -> int:
        """The fewest runs whose all passing shows the rate above ``confidence``: the Wilson
        bound of n in n is n / (n + z^2)."""
        if self.confidence >= 1:
            return self.max_reps  # never shown: a 100% rule ends on the edge
        z2 = stats.norm.ppf(PASS_LEVEL) ** 2
        return math.ceil(self.confidence * z2 / (1 - self.confidence) - 1e-9)

    def next_count(self, n: int) -> int:
        """The replications to have at the next look, after ``n``."""
        return self.fewest if n < self.fewest else n + STEP

    def state(
        self,
        totals: pd.DataFrame,
        names: Sequence[str],
        baseline: str,
        previous: pd.DataFrame | None,
    ) -> pd.DataFrame:
        rows = []
        for name in names:
            reports = reports_of(totals[totals["variant"] == name])
            n = len(reports)
            k = sum(all(g.met(g.value_in(r, self.weeks)) for g in self.goals) for r in reports)
            low, high = pass_bounds(k, n)
            judged, status = "", "running"
            why = "the pass rate's bounds straddle the confidence asked"
            if low >= self.confidence:
                judged, status = "passes", "settled"
                why = f"passes: {k} of {n} runs, at least {low:.0%} (95% bound)"
            elif high < self.confidence:
                judged, status = "fails", "settled"
                why = f"fails: {k} of {n} runs, at most {high:.0%} (99% bound)"
            elif n >= self.max_reps:
                judged, status = "on the edge", "limit"
                why = f"on the edge: {k} of {n} runs, {low:.0%} to {high:.0%}"
            rows.append(
                {"variant": name, "replications": n, "passed": k, "low": low, "high": high}
                | {"status": status, "judged": judged, "why": why}
            )
        return pd.DataFrame(rows)


def pass_bounds(k: int, n: int) -> tuple[float, float]:
    """The pass rate's one-sided Wilson bounds: below at :data:`PASS_LEVEL`, above at
    :data:`FAIL_LEVEL` ((0, 1) with no runs)."""
    if n == 0:
        return 0.0, 1.0
    low = pass_interval(k, n, 2 * PASS_LEVEL - 1)[0]
    high = pass_interval(k, n, 2 * FAIL_LEVEL - 1)[1]
    return low, high


def pass_interval(k: int, n: int, level: float = 0.95) -> tuple[float, float]:
    """The Wilson interval of a pass rate of ``k`` in ``n`` runs ((0, 1) with no runs)."""
    if n == 0:
        return 0.0, 1.0
    ci = stats.binomtest(int(k), int(n)).proportion_ci(confidence_level=level, method="wilson")
    return float(ci.low), float(ci.high)


def run_mean(values: Sequence[float] | np.ndarray) -> float:
    """The mean of a metric over runs, NaN (shown n/a) when any run has no value for it (no
    MQL to time, say). Why not the mean of the runs that have one: with one MQL in one run of
    three, that mean is 100% while the target is met in a third of the runs, since a run
    without a value cannot meet a target (:meth:`Target.met`)."""
    arr = np.asarray(values, dtype=float)
    return float(arr.mean()) if arr.size and not np.isnan(arr).any() else math.nan


def sizing_table(
    tried: Mapping[int, Experiment],
    share: Mapping[int, float],
    goals: Sequence[Target],
    weeks: float,
) -> pd.DataFrame:
    """One row per headcount tried: the share of runs meeting every goal, and per goal its
    metric's mean, P10 and P90 (n/a when a run has no value: :func:`run_mean`), the share of
    runs without a value (``<metric>_missing``) and its own share met."""
    rows = []
    for h in sorted(tried):
        reports = replication_reports(tried[h])
        row: dict[str, float] = {"headcount": h, "p_all_met": share[h]}
        for g in goals:
            values = np.array([g.value_in(r, weeks) for r in reports], dtype=float)
            whole = values.size > 0 and not np.isnan(values).any()
            row[f"{g.metric}_mean"] = run_mean(values)
            row[f"{g.metric}_p10"] = float(np.quantile(values, 0.1)) if whole else math.nan
            row[f"{g.metric}_p90"] = float(np.quantile(values, 0.9)) if whole else math.nan
            row[f"{g.metric}_missing"] = float(np.isnan(values).mean()) if values.size else 1.0
            # Per target: two targets may bound the same metric from both sides.
            row[f"p_met: {g}"] = float(np.mean([g.met(v) for v in values]))
        rows.append(row)
    return pd.DataFrame(rows)
