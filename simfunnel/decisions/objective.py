"""The money in a funnel decision: what an option earns, what it costs, the targets it must meet.

A decision between options (MQL thresholds, toss-up criteria) is ranked on one **objective**, per
replication and option, over the horizon:

    objective = value - cost
    value     = won value + self-serve value + expected won value of the open opportunities
    cost      = sum over roles of mean headcount x yearly cost x years
                + leads x cost per lead (by source)
                + AE meeting hours x costs.ae_per_hour

- *Won value* is ``totals.won_value``; *self-serve value* ``totals.self_serve_value`` (revenue of
  PQLs that buy on their own; 0 when the results do not carry it, and the verdict says so).
- *Open pipeline.* A horizon cuts deals off: opportunities still open at its end were paid for
  (SDR hours, AE meetings) but have not closed. They count at their expected win value,
  ``totals.open_value``: each open opportunity's deal value times its chance to close won, by
  the AE stage's own rule from its lead's quality, so a stricter option's better deals are
  valued as such. Why not the value won per closed deal of the option: pooled over its runs it
  is one noisy factor (about 20 closed deals a run over 8 weeks) that the paired intervals
  cannot see, and it made a worse option "clearly better"; the expected value is known in each
  run from its own open deals. ``open_pipeline=False`` leaves them out. SQLs still waiting for their first meeting at the
  end count neither as value nor as meeting cost.
- *Years* = horizon weeks / 52.18. Headcounts are the mean employed over working days (gaps
  from attrition are not paid). With unlimited AEs (no ``ae.team``) there is no AE headcount, so
  no yearly AE cost; AE time still costs ``ae_per_hour`` per first meeting.
- *AE meeting hours* are ``ae.ae_meeting_hours``: the first meetings held in the period (accepted
  or not, a lead tossed up again after nurture meets again) x ``ae.meeting_hours``. Results
  without that key use SQLs x ``ae.meeting_hours``.
- *Leads* are every lead of the run's table by source (``leads_by_source``); the same leads
  arrive in every option, so this cost moves the level, not the ranking.

Saturation is not a cost term: when SDRs run full, leads wait and go cold, and that shows up as
fewer contacts, SQLs and wins, so in the value. Without any cost (none in the scenario's
``costs`` section, none given) the objective is a count KPI instead, ``valid_opportunities`` by
default (or ``won_value``), and the verdict says so.

**Targets** are service conditions an option must meet, on the mean over replications:
``within_1h >= service_level`` (0.5 by default), and, when given, ``sdr_utilisation <=
max_utilisation``, ``valid_rate >= min_valid_rate`` and ``valid_per_week >=
min_valid_per_week``.

**The KPIs** (:data:`KPIS`) a decision ranks and shows read the KPI registry
(:data:`simfunnel.results.KPIS`): a run KPI as it is (``sqls``, ``within_1h``) names its registry
key once and takes the registry's label and unit; a derived one (the objective, value, cost,
per-week rates, cost per valid opportunity) keeps its own label and names the keys it is computed
from. A key the registry lacks fails on import. The service targets take their words from there.

**The rule** (:func:`choose`): among options that meet every target, take the one with the
highest mean objective; keep the current option instead when it meets every target and the best
is not clearly better than it (the paired 95% interval of best minus current reaches 0). If no
option meets every target, none is recommended.
"""

from __future__ import annotations

import dataclasses
import math
import operator
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ..experiments import Experiment
from ..results import Unit
from ..scenario import Costs, Scenario
from .measures import key_label, registry_kpi

SECTION = "decision"  # the section of the decision KPIs in the experiment's tables
YEAR_WEEKS = 52.18
FALLBACKS = ("valid_opportunities", "won_value")
ROLES = ("sdr", "bdr", "ae")

DEFAULT_SERVICE = 0.5  # share of MQLs called within 1 h a threshold must keep, unless told


@dataclass(frozen=True)
class Kpi:
    """A KPI a decision ranks and shows: its words, its direction, its unit and the KPI registry
    keys it reads (one for a run KPI as it is; several for one ``derived`` from run KPIs, such
    as the cost). Make entries with :func:`mirrored` and :func:`derived`, which check the keys
    against the registry; a chart's ad-hoc ``Kpi(name, label, True)`` is a plain number."""

    name: str
    label: str
    higher_is_better: bool
    unit: Unit | None = None  # None: a plain number
    keys: tuple[str, ...] = ()
    derived: bool = False

    @property
    def percent(self) -> bool:
        return self.unit is Unit.SHARE

    @property
    def money(self) -> bool:
        return self.unit is Unit.MONEY

    @property
    def hours(self) -> bool:
        return self.unit in (Unit.DURATION, Unit.HOURS)

    @property
    def key(self) -> str | None:
        """The registry key of a run KPI as it is (None for a derived or ad-hoc one)."""
        return self.keys[0] if self.keys and not self.derived else None


def mirrored(name: str, key: str, higher_is_better: bool) -> Kpi:
    """A run KPI as it is, under the decision's column ``name``: the registry's words and unit;
    :func:`decision_kpis` reads it off the run's key."""
    return Kpi(name, key_label(key), higher_is_better, registry_kpi(key).unit, (key,))


def derived(
    name: str, label: str, higher_is_better: bool, keys: Sequence[str], unit: Unit | None = None
) -> Kpi:
    """A KPI computed from run KPIs (a rate, a cost, a value): its own words, the registry keys
    it is computed from, and their unit unless it has its own (money, for a cost of headcount)."""
    entries = [registry_kpi(k) for k in keys]
    return Kpi(name, label, higher_is_better, unit or entries[0].unit, tuple(keys), derived=True)


# What the value and the cost are computed from (see the module's docstring).
VALUE_KEYS = ("totals.won_value", "totals.self_serve_value", "totals.open_value")
COST_KEYS = (
    "staffing.sdr_mean_headcount",
    "staffing.bdr_mean_headcount",
    "ae.ae_mean_headcount",
    "leads_by_source.<source>",
    "ae.ae_meeting_hours",
)

KPIS = (
    derived("objective", "objective (value minus cost)", True, VALUE_KEYS + COST_KEYS, Unit.MONEY),
    derived("value", "value (won, self-serve, open pipeline)", True, VALUE_KEYS, Unit.MONEY),
    derived("cost", "cost", False, COST_KEYS, Unit.MONEY),
    derived("mqls_per_week", "MQLs per week", True, ("totals.mqls",)),
    mirrored("sdr_utilisation", "utilisation.sdr", False),
    mirrored("speed_to_lead_median_h", "speed_to_lead.median_h", False),
    mirrored("within_1h", "speed_to_lead.within_1h", True),
    mirrored("backlog_mean", "backlog.mean", False),
    mirrored("sqls", "totals.sqls", True),
    mirrored("ae_meeting_hours", "ae.ae_meeting_hours", False),
    mirrored("valid_opportunities", "totals.valid_opportunities", True),
    mirrored("valid_rate", "rates.sql_to_valid", True),
    mirrored("won", "totals.won", True),
    mirrored("won_value", "totals.won_value", True),
    mirrored("self_serve_value", "totals.self_serve_value", True),
    derived(
        "open_value",
        "open pipeline at expected win value",
        True,
        ("totals.open_value",),
        Unit.MONEY,
    ),
    mirrored("pipeline_value", "totals.pipeline_value", True),
    mirrored("ae_occupancy", "ae.ae_occupancy", False),
    derived("cost_per_sql", "cost per SQL", False, (*COST_KEYS, "totals.sqls"), Unit.MONEY),
    derived(
        "cost_per_valid",
        "cost per valid opportunity",
        False,
        (*COST_KEYS, "totals.valid_opportunities"),
        Unit.MONEY,
    ),
)
BY_NAME = {k.name: k for k in KPIS}


def objective_kpi(costed: bool, fallback: str) -> Kpi:
    """The objective as a decision shows it: value minus cost, in money, when costs are given;
    otherwise the KPI it falls back to (valid opportunities, a count), in that KPI's unit, so
    that a count is never written as money."""
    if costed:
        return BY_NAME["objective"]
    base = BY_NAME[fallback]
    return Kpi("objective", f"objective: {base.label} (no costs)", True, base.unit, base.keys, True)


def shown_kpis(costed: bool, fallback: str) -> tuple[Kpi, ...]:
    """:data:`KPIS` with the objective as :func:`objective_kpi` shows it."""
    return tuple(objective_kpi(costed, fallback) if k.name == "objective" else k for k in KPIS)


# --------------------------------------------------------------------------- costs


@dataclass(frozen=True)
class CostModel:
    """Yearly cost per rep by role, AE cost per meeting hour, cost per lead by source, and
    the AE hours one tossed-up lead takes (``ae.meeting_hours``)."""

    per_year: Mapping[str, float]
    ae_per_hour: float
    per_lead: Mapping[str, float]
    meeting_hours: float

    @property
    def given(self) -> bool:
        """Whether any cost is above 0 (otherwise the objective falls back to a count)."""
        return any(
            v > 0 for v in (*self.per_year.values(), self.ae_per_hour, *self.per_lead.values())
        )

    def missing(self, unlimited_aes: bool) -> list[str]:
        """The cost terms that count as 0, in words, for the verdict's assumptions."""
        out = [f"{r.upper()} salaries" for r in ROLES if not self.per_year.get(r)]
        if unlimited_aes and self.per_year.get("ae"):
            out.append("AE salaries (AEs unlimited in the scenario)")
        if not self.ae_per_hour:
            out.append("AE meeting hours (rejected SQLs cost nothing)")
        if not any(self.per_lead.values()):
            out.append("leads")
        return out


def parse_costs(items: Sequence[str]) -> dict[str, Any]:
    """``KEY=VALUE`` texts (the command's ``--cost``) as a ``costs`` mapping for
    :func:`resolve_costs`: ``sdr``, ``bdr``, ``ae`` (or ``sdr_per_year``...) per rep-year,
    ``ae_per_hour``, ``per_lead.SOURCE``."""
    out: dict[str, Any] = {}
    for item in items:
        key, sep, text = item.partition("=")
        key = key.strip()
        try:
            value = float(text)
        except ValueError:
            raise ValueError(f"--cost {item!r}: write KEY=VALUE, e.g. sdr=90000") from None
        if not sep or not _known_cost_key(key) or value < 0:
            raise ValueError(
                f"--cost {item!r}: the role is one of sdr, bdr, ae (per rep-year), or "
                "ae_per_hour, per_lead.SOURCE, with a value >= 0"
            )
        if key.startswith("per_lead."):
            out.setdefault("per_lead", {})[key.removeprefix("per_lead.")] = value
        else:
            out[key] = value
    return out


def _known_cost_key(key: str) -> bool:
    roles = {*ROLES, *(f"{r}_per_year" for r in ROLES), "ae_per_hour"}
    return key in roles or (key.startswith("per_lead.") and len(key) > len("per_lead."))


def resolve_costs(scenario: Scenario, costs: Mapping[str, Any] | Costs | None = None) -> CostModel:
    """The scenario's ``costs`` section, with ``costs`` on top: a ``Costs`` replaces it; a
    mapping overrides key by key (``{"sdr": 90000}``, ``{"ae_per_hour": 120, "per_lead":
    {"web": 40}}``; a role alone means its yearly cost)."""
    base = scenario.costs
    if isinstance(costs, Costs):
        base, costs = costs, None
    per_year = {r: base.per_year(r) for r in ROLES}
    ae_per_hour = float(base.ae_per_hour)
    per_lead = dict(base.per_lead)
    for key, value in (costs or {}).items():
        if key == "per_lead":
            per_lead |= {str(k): float(v) for k, v in dict(value).items()}
        elif key.startswith("per_lead."):
            per_lead[key.removeprefix("per_lead.")] = float(value)
        elif key.removesuffix("_per_year") in ROLES:
            per_year[key.removesuffix("_per_year")] = float(value)
        elif key == "ae_per_hour":
            ae_per_hour = float(value)
        else:
            raise ValueError(
                f"costs: unknown key {key!r}; use sdr, bdr, ae (per rep-year), ae_per_hour, "
                "per_lead"
            )
    unknown = sorted(set(per_lead) - set(scenario.source_names))
    if unknown:
        raise ValueError(
            f"costs: per_lead {', '.join(unknown)}: not a source ({', '.join(scenario.source_names)})"
        )
    return CostModel(per_year, ae_per_hour, per_lead, float(scenario.ae.meeting_hours))


# --------------------------------------------------------------------------- per replication


def decision_kpis(
    experiment: Experiment,
    weeks: float,
    costs: Mapping[str, Any] | Costs | None = None,
    *,
    open_pipeline: bool = True,
    fallback: str = "valid_opportunities",
) -> pd.DataFrame:
    """Per variant and replication, the KPIs a threshold or headcount decision is judged on,
    the objective among them, as rows in the experiment's ``totals`` form (section
    ``decision``). Costs as in :func:`resolve_costs`, per variant's scenario."""
    if fallback not in FALLBACKS:
        raise ValueError(f"fallback must be one of {', '.join(FALLBACKS)} (got {fallback!r})")
    t = experiment.totals
    wide = (
        t.assign(key=t["section"] + "." + t["metric"])
        .pivot_table(index=["variant", "replication"], columns="key", values="value", dropna=False)
        .reset_index()
    )
    # dropna=False keeps a KPI that is NaN in every run, but also makes every variant x
    # replication pair: keep the runs that exist (a settled comparison runs options unequally).
    ran = t[["variant", "replication"]].drop_duplicates()
    wide = wide.merge(ran, on=["variant", "replication"], how="inner")

    def col(name: str) -> pd.Series:
        return wide[name].astype(float) if name in wide else pd.Series(math.nan, index=wide.index)

    variant = wide["variant"]
    models = {v: resolve_costs(s, costs) for v, s in experiment.scenarios.items()}
    out = pd.DataFrame({"variant": variant, "replication": wide["replication"]})
    for k in KPIS:  # the run KPIs as they are, each read off its registry key
        if k.key is not None:
            out[k.name] = col(k.key)
    out["self_serve_value"] = out["self_serve_value"].fillna(0.0)  # 0 for results without it
    out["mqls_per_week"] = col("totals.mqls") / weeks
    if open_pipeline:
        out["open_value"] = col("totals.open_value").fillna(0.0)
    else:
        out["open_value"] = 0.0
    out["value"] = out["won_value"].fillna(0.0) + out["self_serve_value"] + out["open_value"]
    years = weeks / YEAR_WEEKS
    heads = {
        "sdr": col("staffing.sdr_mean_headcount"),
        "bdr": col("staffing.bdr_mean_headcount"),
        "ae": col("ae.ae_mean_headcount"),
    }
    if BY_NAME["ae_meeting_hours"].key not in wide:
        per_sql = variant.map({v: m.meeting_hours for v, m in models.items()})
        out["ae_meeting_hours"] = out["sqls"] * per_sql
    meeting_hours = out["ae_meeting_hours"]
    cost = pd.Series(0.0, index=wide.index)
    for v, m in models.items():
        rows = variant == v
        c: pd.Series | float = sum(
            heads[r][rows].fillna(0.0) * m.per_year[r] * years for r in ROLES
        )
        c = c + sum(
            col(f"leads_by_source.{s}")[rows].fillna(0.0) * p for s, p in m.per_lead.items()
        )
        c = c + meeting_hours[rows].fillna(0.0) * m.ae_per_hour
        cost.loc[rows] = c
    given = any(m.given for m in models.values())
    out["cost"] = cost
    out["objective"] = out["value"] - cost if given else out[fallback]
    valid, sqls = out["valid_opportunities"], out["sqls"]
    out["cost_per_sql"] = cost / sqls.where(sqls > 0) if given else math.nan
    out["cost_per_valid"] = cost / valid.where(valid > 0) if given else math.nan
    out = out[["variant", "replication", *(k.name for k in KPIS)]]  # in the list's order
    long = out.melt(id_vars=["variant", "replication"], var_name="metric", value_name="_v")
    long = long.rename(columns={"_v": "value"})
    long.insert(1, "section", SECTION)
    return long


def with_decision_kpis(
    experiment: Experiment,
    weeks: float,
    costs: Mapping[str, Any] | Costs | None = None,
    **options: Any,
) -> Experiment:
    """The experiment with its decision KPIs added to ``totals`` (so summary and compare,
    with their intervals, cover them too); ``options`` as in :func:`decision_kpis`."""
    extra = decision_kpis(experiment, weeks, costs, **options)
    params = experiment.params
    extra = extra.merge(params, on="variant", how="left") if params.shape[1] > 1 else extra
    extra["seed"] = experiment.seed
    totals = pd.concat([experiment.totals, extra[experiment.totals.columns]], ignore_index=True)
    return dataclasses.replace(experiment, totals=totals)


# --------------------------------------------------------------------------- targets and rule

_OPS = {">=": operator.ge, "<=": operator.le}


@dataclass(frozen=True)
class Target:
    """A service condition on the mean of an overview column, e.g. ``within_1h >= 0.5``."""

    kpi: str
    op: str
    value: float
    label: str
    percent: bool = False

    def met(self, x: float) -> bool:
        return not (isinstance(x, float) and math.isnan(x)) and _OPS[self.op](x, self.value)

    def show(self, x: float) -> str:
        """A figure to one decimal ('74.5%', '12.3'), whole where that is exact ('50%', '3')
        and above 1,000 ('1,000,000'): a target of 74.5% must not read as 74%."""
        if self.percent:
            return f"{x:.1%}".replace(".0%", "%")
        if abs(x) >= 1000:
            return f"{x:,.0f}"
        return f"{x:,.1f}".removesuffix(".0")

    def __str__(self) -> str:
        return f"{self.label} {self.op} {self.show(self.value)}"

    def described(self) -> str:
        """As :meth:`__str__`, and for the speed target at its default, that it is one: it
        rules options out although nobody asked for it."""
        default = self.kpi == "within_1h" and self.op == ">=" and self.value == DEFAULT_SERVICE
        return str(self) + (": the default, --service-level sets it, 0 drops it" if default else "")

    def failure(self, x: float, ci: tuple[float, float] | None = None) -> str:
        """``MQLs called within 1 h 12% (95% CI 10% to 14%; target >= 50%)``. A share's
        interval is held to 0-100% (a t interval on three runs once read -14% to 153%)."""
        if ci is not None and self.percent:
            ci = (max(ci[0], 0.0), min(ci[1], 1.0))
        interval = "" if ci is None else f"95% CI {self.show(ci[0])} to {self.show(ci[1])}; "
        return f"{self.label} {self.show(x)} ({interval}target {self.op} {self.show(self.value)})"


def service_targets(
    service_level: float | None = DEFAULT_SERVICE,
    max_utilisation: float | None = None,
    min_valid_rate: float | None = None,
    min_valid_per_week: float | None = None,
) -> list[Target]:
    """The targets named by the options; ``None`` (and a minimum of 0) leaves one out."""
    out = []
    if service_level is not None:
        out.append(_kpi_target("within_1h", ">=", service_level))
    if max_utilisation is not None:
        out.append(_kpi_target("sdr_utilisation", "<=", max_utilisation))
    if min_valid_rate is not None:
        out.append(_kpi_target("valid_rate", ">=", min_valid_rate))
    if min_valid_per_week:
        out.append(
            Target("valid_per_week", ">=", min_valid_per_week, "valid opportunities per week")
        )
    return out


def _kpi_target(kpi: str, op: str, value: float) -> Target:
    """A target on a decision KPI, in the KPI's words and unit (so, the registry's)."""
    entry = BY_NAME[kpi]
    return Target(kpi, op, value, entry.label, entry.percent)


def failures(
    row: Mapping[str, float] | pd.Series,
    targets: Sequence[Target],
    ci: Mapping[str, tuple[float, float]] | None = None,
) -> list[str]:
    """The targets a row of the overview is shown to miss, each in words with its figure and,
    from ``ci`` (KPI -> 95% interval of the mean), its interval: the mean misses the target
    and so does the whole interval. A mean that misses with an interval reaching the target
    is within the noise (:func:`marginal`): an option is not ruled out, nor today's forced
    out, by a miss the replications cannot tell from a hit."""
    out = []
    for t in targets:
        x, span = float(row[t.kpi]), (ci or {}).get(t.kpi)
        if not t.met(x) and (span is None or not _reaches(t, span)):
            out.append(t.failure(x, span))
    return out


def _reaches(t: Target, span: tuple[float, float]) -> bool:
    """Whether a 95% interval reaches the target's side (NaN bounds: it does not)."""
    lo, hi = span
    return bool(hi >= t.value) if t.op in (">=", ">") else bool(lo <= t.value)


def marginal(
    row: Mapping[str, float] | pd.Series,
    targets: Sequence[Target],
    ci: Mapping[str, tuple[float, float]],
) -> list[str]:
    """The targets a row meets or misses only within the noise of the replications: the mean
    meets the target and its 95% interval reaches past it, or the mean misses it and its
    interval reaches the target."""
    out = []
    for t in targets:
        x, (lo, hi) = float(row[t.kpi]), ci.get(t.kpi, (math.nan, math.nan))
        past = lo < t.value if t.op in (">=", ">") else hi > t.value
        if (t.met(x) and past) or (not t.met(x) and _reaches(t, (lo, hi))):
            out.append(t.failure(x, (lo, hi)))
    return out


@dataclass(frozen=True)
class Choice:
    """What the rule picked: ``recommended`` (an option, or None), the ``best`` option by
    objective among those meeting every target, and whether the current one was kept because
    the best is not clearly better."""

    recommended: str | None
    best: str | None
    kept_current: bool
    eligible: list[str] = field(default_factory=list)


def choose(overview: pd.DataFrame, current: str) -> Choice:
    """The rule, on an overview indexed by option with ``objective``, ``objective_diff_low``
    (paired 95% interval of option minus current) and ``meets_targets``."""
    ok = overview[overview["meets_targets"] & overview["objective"].notna()]
    if ok.empty:
        return Choice(None, None, False, [])
    best = str(ok["objective"].idxmax())
    eligible = [str(o) for o in ok.index]
    if best != current and current in ok.index:
        low = float(overview["objective_diff_low"].loc[best])
        if np.isnan(low) or low <= 0:
            return Choice(current, best, True, eligible)
    return Choice(best, best, False, eligible)


__all__ = [
    "BY_NAME",
    "FALLBACKS",
    "KPIS",
    "Choice",
    "CostModel",
    "Kpi",
    "Target",
    "choose",
    "decision_kpis",
    "derived",
    "failures",
    "marginal",
    "mirrored",
    "pareto_front",
    "parse_costs",
    "resolve_costs",
    "service_targets",
    "with_decision_kpis",
]


def pareto_front(frame: pd.DataFrame, columns: Sequence[str]) -> pd.Series:
    """Rows that no other row matches or beats on every column and beats on one."""
    values = frame[list(columns)].to_numpy(dtype=float)
    keep = []
    for i, row in enumerate(values):
        dominated = any(
            np.all(other >= row) and np.any(other > row)
            for j, other in enumerate(values)
            if j != i and not np.isnan(other).any()
        )
        keep.append(not dominated and not np.isnan(row).any())
    return pd.Series(keep, index=frame.index)
