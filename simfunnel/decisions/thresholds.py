"""Compare MQL thresholds, and toss-up criteria, before changing the real ones.

Lowering the threshold sends more, weaker MQLs to the same SDRs; stricter toss-up criteria
(``toss_up.require``: how many BANT criteria a lead must meet) send the AEs fewer, better SQLs.
A spreadsheet scales every stage by the volume; the simulation shows what happens to capacity,
speed-to-lead and, through them, to valid opportunities, wins and money. Every option (a
threshold, or a threshold and a toss-up requirement of a grid) runs on the same replications
(common random numbers: the same leads arrive), so each difference against the current option
is the option's, not luck's.

Options are ranked on an objective with money in it (value won, self-serve value and open
pipeline at expected win value, minus rep, lead and AE-meeting cost), subject to service
targets; the rule and its terms are in :mod:`simfunnel.decisions.objective`. Saturated SDRs (utilisation
>= ``saturation``) are flagged, not excluded: leads that wait and go cold already cost value.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Unpack

import numpy as np
import pandas as pd

from ..base.units import WEEK
from ..experiments import (
    Experiment,
    RunOptions,
    Settle,
    SharedKeywords,
    decision_pool,
    run_variants,
    settle_plan,
    settle_text,
)
from ..results import Unit, unit_text
from ..results.answer import AnswerBase, Report
from ..scenario import Costs, Scenario, with_overrides
from . import charts, reports
from .analytic import spreadsheet_funnel
from .gap import Gap, explain_gap
from .objective import (
    DEFAULT_SERVICE,
    KPIS,
    SECTION,
    Choice,
    Target,
    choose,
    failures,
    marginal,
    objective_kpi,
    pareto_front,
    resolve_costs,
    service_targets,
    shown_kpis,
    with_decision_kpis,
)
from .options_grid import check_inputs, option_grid


@dataclass(frozen=True, repr=False)
class ThresholdComparison(AnswerBase):
    """Options side by side: KPIs with intervals, differences against the current option, the
    objective, failed targets and flags, the Pareto set and a recommendation (rule in
    :mod:`simfunnel.decisions.objective`). ``table`` is the overview."""

    experiment: Experiment
    thresholds: tuple[float, ...]
    current: float  # the scenario's own threshold
    kpis: pd.DataFrame  # option, threshold, sql_require, kpi, mean, ci_*, diff, diff_*
    overview: pd.DataFrame  # one row per option: KPI means, objective interval, flags
    recommended: str | None  # an option label, e.g. "MQL 40" or "MQL 40 / SQL 2 of 4"
    reason: str
    gap: Gap | None = None  # spreadsheet vs simulation at the current option
    sql_requires: tuple[int, ...] = ()
    current_option: str = ""
    targets: tuple[Target, ...] = ()
    saturation: float = 0.9
    costed: bool = False
    fallback: str = "valid_opportunities"
    assumptions: str = ""
    choice: Choice | None = None

    def kpi(self, name: str) -> pd.DataFrame:
        """One KPI across options."""
        return self.kpis[self.kpis["kpi"] == name].reset_index(drop=True)

    @property
    def table(self) -> pd.DataFrame:
        """The overview: one row per option, the figures the verdict reads."""
        return self.overview

    @property
    def scenario(self) -> Scenario:
        """The scenario as it is today: the current option's."""
        return self.experiment.scenarios[self.experiment.baseline]

    @property
    def criteria(self) -> int:
        """How many toss-up criteria the scenario lists (an SQL meets some of them)."""
        return len(self.scenario.toss_up.criteria)

    @property
    def options(self) -> list[str]:
        return self.overview["option"].tolist()

    @property
    def recommended_threshold(self) -> float | None:
        return None if self.recommended is None else float(self._row(self.recommended)["threshold"])

    @property
    def pareto(self) -> list[str]:
        """Options no other beats on valid opportunities, speed-to-lead and valid rate."""
        return self.overview.loc[self.overview["pareto"], "option"].tolist()

    @property
    def objective_name(self) -> str:
        return "value minus cost" if self.costed else self.fallback.replace("_", " ")

    @property
    def rule(self) -> str:
        """The rule applied, in one sentence."""
        targets = ", ".join(t.described() for t in self.targets) or "none set"
        return (
            f"Rule: among options not shown to miss a target ({targets}), take the highest mean "
            f"{self.objective_name} over the horizon, but keep the current option unless another "
            "is clearly better (paired 95% interval above 0); SDR saturation is flagged, not "
            "excluded."
        )

    def _row(self, option: str) -> pd.Series:
        """The overview's row of one option."""
        row = self.overview.set_index("option").loc[option]
        assert isinstance(row, pd.Series), f"option {option!r} twice in the overview"
        return row

    def _fmt(self, x: float, signed: bool = False) -> str:
        if self.costed or self.fallback == "won_value":
            return self.scenario.currency.format(x, signed=signed)
        return f"{x:+,.0f}" if signed else f"{x:,.0f}"

    def _diff(self, option: str) -> str:
        r = self._row(option)
        return (
            f"{self._fmt(r['objective_diff'], True)} (95% CI {self._fmt(r['objective_diff_low'], True)}"
            f" to {self._fmt(r['objective_diff_high'], True)})"
        )

    def _flags(self, option: str) -> list[str]:
        r = self._row(option)
        out = []
        if r["saturated"]:
            out.append(
                f"at {option} the SDRs run at {r['sdr_utilisation']:.0%} (saturated): leads wait and "
                "go cold, which the figures count, and any surge will hit speed-to-lead first"
            )
        if r["ae_occupancy"] >= self.saturation:
            out.append(f"at {option} the AEs are {r['ae_occupancy']:.0%} full")
        if r["marginal_targets"]:
            out.append(
                f"at {option} a target is met or missed within the noise: {r['marginal_targets']}"
            )
        return out

    @property
    def verdict(self) -> str:
        """What to do, why, what could go wrong, the current option's targets, the rule and
        the assumptions, one short paragraph."""
        points, rest = self.verdict_parts()
        warning = [p for p in rest[:1] if p.startswith("WARNING")]
        said = [f"{h}: {t}" for h, t in points]
        return " ".join([*warning, *said, *rest[len(warning) :]])

    def verdict_parts(self) -> tuple[list[tuple[str, str]], list[str]]:
        """The verdict in pieces: (heading, sentence) for what to do, why and what could go
        wrong; then the rest in order (a warning first, if any; the current option's targets,
        the rule, the assumptions)."""
        cur, rec = self.current_option, self.recommended
        o = self.overview.set_index("option")
        rest = []
        if not self.costed:
            rest.append(
                f"WARNING: NO COSTS in the scenario or given, so options are ranked on "
                f"{self.objective_name} alone, which ignores what extra leads, SDR hours and "
                "rejected SQLs cost; add a costs section or --cost to rank on value minus cost."
            )
        if rec is None:
            do = "no option is recommended."
        elif rec == cur:
            do = f"keep {cur}."
        else:
            do = f"move from {cur} to {rec}."
        points = [("Do", do), ("Why", self.reason.removeprefix("Why: "))]
        if rec is not None:
            flags = self._flags(rec)
            r = self._row(rec)
            risk = (
                "; ".join(flags) + "."
                if flags
                else f"nothing flagged at {rec} (SDRs at {r['sdr_utilisation']:.0%}, "
                f"{r['within_1h']:.0%} of MQLs called within 1 h)."
            )
            points.append(("What could go wrong", risk + self._unsettled(rec)))
        fails, near = o["failed_targets"].loc[cur], o["marginal_targets"].loc[cur]
        if fails:
            rest.append(f"The current {cur} fails its targets: {fails}.")
        elif near:
            rest.append(f"The current {cur} is not shown to miss a target (within the noise).")
        else:
            rest.append(f"The current {cur} meets every target.")
        rest.append(self.rule)
        settled, rule = self.experiment.settled, self.experiment.settle
        if settled is not None and isinstance(rule, Settle):
            rest.append(settle_text(settled, rule, self.fallback.replace("_", " ")))
        rest.append(f"Assumptions over the {self.scenario.weeks:g} weeks: {self.assumptions}")
        return points, rest

    def _unsettled(self, option: str) -> str:
        """What to add to the risk when the option's difference was not settled to the
        precision asked (it ran to the most replications allowed)."""
        state, rule = self.experiment.settled, self.experiment.settle
        if state is None or not isinstance(rule, Settle) or option == self.current_option:
            return ""
        row = state.set_index("variant").loc[option]
        if row["status"] != "limit":
            return ""
        return (
            f" Its difference from today is known only to +/-{row['relative_half_width']:.1%} "
            f"of today's level, not the {rule.relative:.0%} asked: it stopped at "
            f"{row['replications']} replications (--max-reps allows more)."
        )

    def plot(
        self,
        what: str | None = None,
        *,
        ax: Any = None,
        x: str = "within_1h",
        y: str = "valid_opportunities",
    ) -> Any:
        """One chart. ``what``: a KPI name (``KPIS``, e.g. ``objective``, ``within_1h``;
        ``None``: ``valid_opportunities``) for that KPI against the threshold, mean and 95%
        interval, one line per toss-up requirement in a grid, saturated options marked; or
        ``"tradeoff"`` for the trade-off plane, each option a point on ``x`` and ``y`` (KPI
        names), the Pareto set joined up."""
        if what == "tradeoff":
            return charts.threshold_tradeoff(self, x, y, ax=ax)
        kpi = what or "valid_opportunities"
        if kpi not in set(self.kpis["kpi"]):
            raise ValueError(f"unknown chart {kpi!r}: a KPI of KPIS, or 'tradeoff'")
        return charts.threshold_kpi(self, kpi, ax=ax)

    def summary(self) -> pd.DataFrame:
        """Every KPI per option with its interval and its paired change (one row each)."""
        return self.kpis

    def tables(self) -> Mapping[str, pd.DataFrame]:
        """``thresholds`` and ``overview``; ``settled``: how far each option ran, and why."""
        out = {"thresholds": self.kpis, "overview": self.overview}
        if self.experiment.settled is not None:
            out["settled"] = self.experiment.settled
        return out

    def charts(self) -> Mapping[str, str | None]:
        return {
            "valid_opportunities": "valid_opportunities",
            "objective": "objective",
            "tradeoff": "tradeoff",
        }

    def text(self) -> str:
        """The verdict, then one row per KPI and one column per option (today's marked), each
        figure in its unit and currency; each option's failed and marginal targets; the
        spreadsheet gap at the current option."""
        o = self.overview.set_index("option")
        money = self.scenario.currency
        rows = {}
        for k in shown_kpis(self.costed, self.fallback):
            if k.name in o.columns and o[k.name].notna().any():
                rows[k.label] = [
                    unit_text(v, k.unit or Unit.NUMBER, money).strip() for v in o[k.name]
                ]
        unit = objective_kpi(self.costed, self.fallback).unit or Unit.NUMBER

        def signed(x: float) -> str:
            if unit is Unit.MONEY:
                return money.format(x, signed=True)
            text = unit_text(x, unit, money).strip()
            return text if text.startswith("-") or text in ("0", "n/a") else f"+{text}"

        rows["objective, change vs today (95% CI)"] = [
            f"{signed(d)} ({signed(lo)} to {signed(hi)})"
            for d, lo, hi in zip(
                o["objective_diff"], o["objective_diff_low"], o["objective_diff_high"], strict=True
            )
        ]
        names = [f"{n} (today)" if n == self.current_option else str(n) for n in o.index]
        lines = [self.verdict, "", pd.DataFrame(rows, index=names).T.to_string()]
        for option, fails, near in zip(
            o.index, o["failed_targets"], o["marginal_targets"], strict=True
        ):
            if fails:
                lines.append(f"{option} fails: {fails}")
            if near:
                lines.append(f"{option} meets or misses only within the noise: {near}")
            if o["saturated"].loc[option]:
                busy = o["sdr_utilisation"].loc[option]
                lines.append(f"{option} is saturated: SDRs {busy:.0%} busy, leads wait and go cold")
        if self.gap is not None:
            gap = f"Spreadsheet against simulation at {self.current_option}: {self.gap.verdict}"
            lines += ["", gap]
        return "\n".join(lines)

    def report(self) -> Report:
        return reports.threshold_report(self)


def compare_thresholds(
    scenario: Scenario,
    thresholds: Sequence[float],
    reps: int | None = None,
    *,
    precision: float | None = None,
    max_reps: int | None = None,
    sql_require: Sequence[int] | None = None,
    costs: Mapping[str, Any] | Costs | None = None,
    service_level: float | None = DEFAULT_SERVICE,
    max_utilisation: float | None = None,
    min_valid_rate: float | None = None,
    min_valid_per_week: float | None = 0.0,
    saturation: float = 0.9,
    open_pipeline: bool = True,
    fallback: str = "valid_opportunities",
    explain: bool = True,
    **keywords: Unpack[SharedKeywords],
) -> ThresholdComparison:
    """Run every option (and the current one) on common random numbers and compare.

    Replications: by default in batches until each option's paired difference in the ranking
    KPI (``fallback``) against today is known to ``precision`` (default +/-2%) of today's
    level, or the option is clearly below the best, at most ``max_reps`` (default 40) each
    (:class:`simfunnel.experiments.Settle`); ``reps`` alone runs that fixed count instead.
    ``thresholds``: MQL thresholds; ``sql_require``: toss-up requirements (how many of the
    ``toss_up.criteria`` a lead must meet); together a grid, the scenario's own values always
    added. ``costs``: on top of the scenario's ``costs`` section (see
    :func:`simfunnel.decisions.objective.resolve_costs`; ``{"sdr": 90000}`` is a yearly cost per rep).
    Targets, on the mean over replications (``None`` leaves one out): ``service_level`` (least
    share of MQLs called within an hour), ``max_utilisation`` (SDRs), ``min_valid_rate`` (AE
    acceptance), ``min_valid_per_week``. ``saturation``: SDR utilisation flagged as saturated.
    ``open_pipeline``: count opportunities open at the horizon at expected win value.
    ``fallback``: the objective without costs (``valid_opportunities`` or ``won_value``).
    ``explain``: also measure why the current option's valid opportunities differ from the
    spreadsheet's (:func:`simfunnel.decisions.gap.explain_gap`, on the same seeds).
    ``seed``, ``workers``, ``executor``, ``progress`` and ``snapshot`` are those of
    :func:`simfunnel.run`.
    """
    settings = RunOptions().shared(**keywords)  # run's defaults: a progress bar
    check_inputs(scenario, thresholds, sql_require, fallback)
    model = resolve_costs(scenario, costs)
    values, requires, options, current = option_grid(scenario, thresholds, sql_require)
    grid = len(requires) > 1
    variants = {
        name: {"scoring.threshold": t} | ({"toss_up.require": r} if grid else {})
        for name, (t, r) in options.items()
    }
    # Options may stop when clearly below the best only if they are ranked on the KPI settled.
    ranked = not model.given
    rule = settle_plan(reps, precision, max_reps, f"totals.{fallback}", ranked=ranked)
    experiment, gap = _run(scenario, variants, current, rule, reps, settings, explain)
    weeks = scenario.horizon / WEEK
    kpi_options = {"open_pipeline": open_pipeline, "fallback": fallback}
    experiment = with_decision_kpis(experiment, weeks, costs, **kpi_options)
    table = _table(experiment, options, current)
    overview = _overview(table, options, weeks, scenario, current, saturation)
    targets = service_targets(service_level, max_utilisation, min_valid_rate, min_valid_per_week)
    choice = _judge(overview, table, targets, weeks, current)
    unlimited = scenario.ae.team is None
    comparison = ThresholdComparison(
        experiment=experiment,
        thresholds=tuple(values),
        current=float(scenario.scoring.threshold),
        kpis=table,
        overview=overview,
        recommended=choice.recommended,
        reason="",
        gap=gap,
        sql_requires=tuple(requires),
        current_option=current,
        targets=tuple(targets),
        saturation=saturation,
        costed=model.given,
        fallback=fallback,
        assumptions=_assumptions(model, model.given, unlimited, open_pipeline, experiment),
        choice=choice,
    )
    return _with_reason(comparison)


def _run(
    scenario: Scenario,
    variants: dict[str, dict[str, Any]],
    current: str,
    plan: tuple[int, Settle | None],
    reps: int | None,
    settings: RunOptions,
    explain: bool,
) -> tuple[Experiment, Gap | None]:
    """The options on one pool until settled (or ``reps`` each), then the gap explanation on
    as many replications as today's option ran, reusing its runs as the full model."""
    first, rule = plan
    with decision_pool(dataclasses.replace(settings, settle=rule)) as shared:
        experiment = run_variants(scenario, variants, first, baseline=current, options=shared)
        if not explain:
            return experiment, None
        gap_reps = reps if rule is None and reps is not None else experiment.finished(current)
        quiet = dataclasses.replace(shared, settle=None, progress=False)
        return experiment, explain_gap(scenario, "valid_opportunities", gap_reps, options=quiet)


def _judge(
    overview: pd.DataFrame,
    table: pd.DataFrame,
    targets: Sequence[Target],
    weeks: float,
    current: str,
) -> Choice:
    """Apply the rule: mark in ``overview`` (in place) each option's failed and marginal
    targets, whether it meets them all and whether it is recommended; the choice made."""
    intervals = [_intervals(table, o, weeks) for o in overview["option"]]
    rows = [row for _, row in overview.iterrows()]
    overview["failed_targets"] = [
        "; ".join(failures(r, targets, ci)) for r, ci in zip(rows, intervals, strict=True)
    ]
    overview["marginal_targets"] = [
        "; ".join(marginal(r, targets, ci)) for r, ci in zip(rows, intervals, strict=True)
    ]
    overview["meets_targets"] = overview["failed_targets"] == ""
    choice = choose(overview.set_index("option"), current)
    overview["recommended"] = overview["option"] == choice.recommended
    return choice


def _table(
    experiment: Experiment, options: Mapping[str, tuple[float, int]], current: str
) -> pd.DataFrame:
    summary = experiment.summary()
    summary = summary[summary["section"] == SECTION]
    table = summary[["variant", "metric", "mean", "ci_low", "ci_high"]].rename(
        columns={"metric": "kpi"}
    )
    if len(options) > 1:
        diffs = experiment.compare()
        diffs = diffs[diffs["section"] == SECTION]
        d = diffs[["variant", "metric", "diff", "ci_low", "ci_high"]].rename(
            columns={"metric": "kpi", "ci_low": "diff_low", "ci_high": "diff_high"}
        )
        table = table.merge(d, on=["variant", "kpi"], how="left")
    else:
        table = table.assign(diff=np.nan, diff_low=np.nan, diff_high=np.nan)
    table.loc[table["variant"] == current, ["diff", "diff_low", "diff_high"]] = 0.0
    table = table.rename(columns={"variant": "option"})
    table.insert(1, "threshold", table["option"].map(lambda o: options[o][0]))
    table.insert(2, "sql_require", table["option"].map(lambda o: options[o][1]))
    order = {k.name: i for i, k in enumerate(KPIS)}
    table = table.assign(_k=table["kpi"].map(order))
    table = table.sort_values(["_k", "threshold", "sql_require"], kind="stable")
    return table.drop(columns="_k").reset_index(drop=True)


def _overview(
    table: pd.DataFrame,
    options: Mapping[str, tuple[float, int]],
    weeks: float,
    scenario: Scenario,
    current: str,
    saturation: float,
) -> pd.DataFrame:
    wide = table.pivot(index="option", columns="kpi", values="mean")
    wide = wide[[k.name for k in KPIS if k.name in wide]]
    obj = table[table["kpi"] == "objective"].set_index("option")
    out = pd.DataFrame(
        {
            "option": list(options),
            "threshold": [t for t, _ in options.values()],
            "sql_require": [r for _, r in options.values()],
        }
    )
    out = out.join(wide, on="option")
    out["valid_per_week"] = out["valid_opportunities"] / weeks
    for src, dst in (("ci_low", "objective_low"), ("ci_high", "objective_high")):
        out[dst] = out["option"].map(obj[src])
    for src in ("diff", "diff_low", "diff_high"):
        out[f"objective_{src}"] = out["option"].map(obj[src])
    out["saturated"] = out["sdr_utilisation"] >= saturation
    out["current"] = out["option"] == current
    out["spreadsheet_valid"] = [
        _sheet_valid(with_overrides(scenario, {"scoring.threshold": t}), weeks)
        for t in out["threshold"]
    ]
    out["pareto"] = pareto_front(out, ("valid_opportunities", "within_1h", "valid_rate"))
    return out.sort_values(["threshold", "sql_require"]).reset_index(drop=True)


def _intervals(table: pd.DataFrame, option: str, weeks: float) -> dict[str, tuple[float, float]]:
    """KPI -> 95% interval of the mean for one option (valid per week from valid opportunities)."""
    rows = table[table["option"] == option].set_index("kpi")
    out = {str(k): (float(r["ci_low"]), float(r["ci_high"])) for k, r in rows.iterrows()}
    lo, hi = out.get("valid_opportunities", (math.nan, math.nan))
    out["valid_per_week"] = (lo / weeks, hi / weeks)
    return out


def _assumptions(
    model: Any, costed: bool, unlimited: bool, open_pipeline: bool, experiment: Experiment
) -> str:
    """The objective's formula in words, with the costs it counts."""
    currency = experiment.scenario.currency
    value = "value = won value + self-serve value"
    if "self_serve_value" not in set(experiment.totals["metric"]):
        value += " (absent from the results: counted as 0)"
    value += (
        " + opportunities open at the horizon at their expected win value (each one's deal "
        "value times its chance to close won)"
        if open_pipeline
        else " (opportunities open at the horizon left out)"
    )
    if not costed:
        return value + "; no costs."
    cost = (
        "cost = mean headcount x yearly cost x years + leads x cost per lead + AE hours in "
        f"first meetings ({model.meeting_hours:g} h each, accepted or not) x "
        f"{currency.format(model.ae_per_hour)} per hour"
    )
    zero = model.missing(unlimited)
    return f"{value}; {cost}" + (f"; counted as 0: {', '.join(zero)}." if zero else ".")


def _with_reason(c: ThresholdComparison) -> ThresholdComparison:
    o = c.overview.set_index("option")
    ch, cur, name = c.choice, c.current_option, c.objective_name
    if ch is None or ch.recommended is None:
        best = str(o["objective"].idxmax())
        reason = (
            f"Why: every option is shown to miss a target; the highest {name}, {best}, misses "
            f"{o['failed_targets'].loc[best]}. Relax a target or add capacity."
        )
    elif ch.kept_current:
        assert ch.best is not None  # the current option is kept only against a best one
        reason = (
            f"Why: the best option on {name}, {ch.best}, is not clearly better than the current "
            f"one: {c._diff(ch.best)}; {_counts(c, c._row(ch.best), c._row(cur))}."
        )
    elif ch.recommended == cur:
        others = o.drop(index=cur)
        others = others[others["meets_targets"]]
        reason = (
            f"Why: it has the highest {name} ({c._fmt(o['objective'].loc[cur])}) of the options "
            "not shown to miss a target"
        )
        if not others.empty:
            nxt = str(others["objective"].idxmax())
            reason += f"; the next, {nxt}, differs by {c._diff(nxt)}"
        reason += "."
    else:
        r, k = c._row(ch.recommended), c._row(cur)
        lead = (
            f"Why: the current option fails its targets and {ch.recommended} has the highest "
            f"{name} of those that meet them: "
            if not k["meets_targets"]
            else f"Why: {name} "
        )
        reason = (
            f"{lead}{c._fmt(r['objective'])} against {c._fmt(k['objective'])} now, "
            f"{c._diff(ch.recommended)}; {_counts(c, r, k)}."
        )
    return dataclasses.replace(c, reason=reason)


def _counts(c: ThresholdComparison, option: pd.Series, current: pd.Series) -> str:
    """``valid opportunities 130 against 157, wins 25 against 29, valid rate 75% against 74%``
    (valid opportunities left out when they are the objective)."""
    counts = [("wins", "won", "{:,.0f}"), ("valid rate", "valid_rate", "{:.0%}")]
    if c.costed or c.fallback != "valid_opportunities":
        counts.insert(0, ("valid opportunities", "valid_opportunities", "{:,.0f}"))
    return ", ".join(
        f"{label} {fmt.format(option[key])} against {fmt.format(current[key])}"
        for label, key, fmt in counts
    )


def _sheet_valid(scenario: Scenario, weeks: float) -> float:
    """Valid opportunities a spreadsheet expects over the period (no capacity, no decay)."""
    funnel = spreadsheet_funnel(scenario)
    return float(funnel.loc[funnel["source"] == "total", "valid_per_week"].iloc[0]) * weeks


__all__ = ["ThresholdComparison", "compare_thresholds"]
