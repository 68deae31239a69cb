"""How many reps: the smallest headcount of one role that meets every target.

``size_team`` finds the smallest headcount of one role that meets every target with a given
probability: each headcount is simulated on the same replications (common random numbers), the
search starts from the analytic estimate (for the targets given), steps down one rep at a time
while the targets still hold (with the default stopping rule: passed over on a first look that
meets them, then while a headcount is not shown to fall short of them), or up in doubling steps and then by bisection, and stops early
when more reps no longer move the targets. The table keeps the headcount one below the answer,
which fails, as the evidence, and today's headcount (the scenario's starting team), so that
the answer reads against what the team has. What the answer pays for is measured, not
asserted: ramp, the learning curve, attrition and leave (those the scenario has) are removed
one at a time at the answer and one below, on the same replications, and the verdict names
those without which one rep fewer would do. A run with no value for a target's metric (no MQL to
time) cannot meet it, and when such runs alone keep the targets out of reach the search stops:
headcount does not bring MQLs. The hiring plan is in :mod:`simfunnel.decisions.hiring`.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Unpack

import pandas as pd

from ..base.units import WEEK
from ..experiments import Experiment, RunOptions, SharedKeywords, decision_pool
from ..results.answer import AnswerBase, Report
from ..scenario import Scenario, with_overrides
from . import charts, reports
from .forecast_start import warm_up_weeks
from .levers import headcount_path, role_name, staff_of
from .measures import (
    Target,
    check_confidence,
    parse_targets,
    sizing_table,
)
from .mechanisms import explain_answer, explanation_words
from .sizing_context import output_words, plan_words, start_words
from .sizing_search import HeadcountRuns, pass_rule, smallest
from .workload import sdr_workload


def analytic_start(scenario: Scenario, role: str, targets: Sequence[Target] = ()) -> int:
    """Where the search starts: for SDRs the analytic estimate (offered load over on-phone
    hours, and Erlang C, :func:`simfunnel.decisions.workload.sdr_workload`) at the targets' own
    service level and occupancy where they give one; the current headcount otherwise."""
    current = staff_of(scenario, role).headcount
    if role != "sdr":
        return max(1, current)
    options: dict[str, float] = {}
    for t in targets:
        if t.metric == "speed_to_lead_1h" and t.op in (">=", ">") and 0 < t.value < 1:
            options["service_level"] = t.value
        if t.metric == "sdr_utilisation" and t.op in ("<=", "<") and 0 < t.value <= 1:
            options["target_occupancy"] = t.value
    estimate = sdr_workload(scenario, **options)
    best = max(estimate.headcount_by_occupancy, estimate.headcount_by_erlang_c)
    return max(1, math.ceil(best)) if math.isfinite(best) else max(1, current)


def _either(names: Sequence[str], word: str = "or") -> str:
    """'ramp', 'ramp or attrition', 'ramp, attrition or leave'."""
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} {word} {names[-1]}"


def _labels(targets: Sequence[Target]) -> str:
    """The targets' metrics in words, each once: 'SDR utilisation and MQLs called within 1 h'."""
    return _either(list(dict.fromkeys(t.label for t in targets)), "and")


def _speed_to_lead(metric: str) -> bool:
    """A speed-to-lead metric: a measure or a report key of the speed_to_lead section."""
    return metric.startswith("speed_to_lead")


def _still(rows: pd.DataFrame, metric: str, a: int, b: int) -> bool:
    """The metric's mean moved less than 0.5% from ``a`` to ``b`` reps (as the plateau rule
    reads it); False when either is n/a or ``a`` is ``b``."""
    x, y = rows[f"{metric}_mean"].loc[a], rows[f"{metric}_mean"].loc[b]
    return a != b and bool(abs(y - x) <= 0.005 * max(abs(x), abs(y), 1e-9))


@dataclass(frozen=True, repr=False)
class Sizing(AnswerBase):
    """The answer of :func:`size_team`: the headcount, and the table that shows it.

    ``table``: one row per headcount tried: ``headcount``, ``today`` (the scenario's own
    headcount), ``answer``, ``p_all_met`` (share of runs meeting every target) and per target
    its mean, P10, P90 (n/a when a run has no value), ``<metric>_missing`` (share of runs
    without one) and ``p_met``; ``runs`` (replications it took) and ``edge`` (why a headcount was
    left on the edge, else empty). ``explanation``: one row per mechanism the role has (ramp,
    learning curve, attrition, leave) and headcount (the answer and one fewer): the share
    of runs meeting every target with it (``p_all_met_with``) and without it (``p_all_met``),
    the binding target's metric with and without it and their paired difference (``diff``,
    ``diff_low``, ``diff_high``, 95% interval), the ``runs`` both rest on, how the pass rate
    without it is ``judged`` one below the answer, and ``one_fewer_would_do`` (on that row: it
    fails with it and is shown to pass without it). ``stop``: why no headcount was found.
    """

    role: str
    targets: tuple[Target, ...]
    confidence: float
    headcount: int | None  # None: no headcount up to the limit meets the targets
    start: int  # where the search started (the analytic estimate)
    table: pd.DataFrame  # one row per headcount tried: P(all met) and each target's metric
    experiments: dict[int, Experiment]
    current: int | None = None  # today's headcount (the scenario's starting team)
    explanation: pd.DataFrame = field(default_factory=pd.DataFrame, repr=False)
    explained: dict[tuple[str, int], Experiment] = field(default_factory=dict, repr=False)
    stop: str = ""  # no answer: why the search stopped (limit, plateau or no value)
    starts: str = ""  # where each run starts, in words (sizing_context.start_words)

    def _name(self, n: int | None) -> str:
        return role_name(self.role, n)

    @property
    def scenario(self) -> Scenario:
        """The scenario as it is today: the run at today's headcount (else at the answer, or
        the largest headcount tried, which differ from it only in the headcount)."""
        now = self.current
        h = now if now is not None and now in self.experiments else self.reported
        return next(iter(self.experiments[h].scenarios.values()))

    @property
    def reported(self) -> int:
        """The headcount the report shows the scenario at: the answer, else the largest tried."""
        return self.headcount if self.headcount is not None else max(self.experiments)

    @property
    def metrics(self) -> list[str]:
        """The targets' metrics, each once, in the order given (one chart each)."""
        return list(dict.fromkeys(t.metric for t in self.targets))

    @property
    def verdict(self) -> str:
        rows = self.table.set_index("headcount")
        p_all = rows["p_all_met"]  # share of runs meeting every target, by headcount
        goals = "; ".join(t.words for t in self.targets)
        have = "" if self.current is None else f"You have {self.current} {self._name(self.current)}"
        today = ""
        if self.current is not None and self.current in rows.index:
            today = (
                f" With today's {self.current}, every target is met in "
                f"{p_all.loc[self.current]:.0%} of runs."
            )
            if "judged" in rows and rows["judged"].any() and not rows["judged"].loc[self.current]:
                n = int(rows["runs"].loc[self.current])
                today = (
                    f" With today's {self.current}, every target was met in "
                    f"{round(p_all.loc[self.current] * n)} of {n} runs (a first look only: "
                    "it does not decide the answer)."
                )
        if self.headcount is None:
            return self._no_answer(rows, have, goals) + today + self._context()
        h = self.headcount
        edge = str(rows["edge"].loc[h]) if "edge" in rows else ""
        text = f"{have}, you need {h}" if have else f"You need {h} {self._name(h)}"
        if self.sure is not None:
            text += f" or {self.sure}"
        text += (
            f": with {h}, every target ({goals}) is met in {p_all.loc[h]:.0%} of "
            f"simulated runs (asked: {self.confidence:.0%})"
        )
        if edge:
            text += (
                f", too close to {self.confidence:.0%} to tell either way "
                f"({edge.removeprefix('on the edge: ')})" + self._one_more(rows, h)
            )
        if h - 1 in rows.index:
            text += f"; with {h - 1}, in only {p_all.loc[h - 1]:.0%}" + self._of_runs(h - 1)
            failing = [
                t.words for t in self.targets if rows[f"p_met: {t}"].loc[h - 1] < self.confidence
            ]
            if failing:
                verb = "is what fails" if len(failing) == 1 else "are what fail"
                text += f" ({' and '.join(failing)} {verb})"
        text += "." + today + self._context() + self._explained() + self._runs()
        return text + self._started()

    def _context(self) -> str:
        """Where the runs start, the plan kept on top, and the answer's output against today's."""
        weeks = self.scenario.horizon / WEEK
        return (
            self.starts
            + plan_words(self.scenario, self.role)
            + output_words(self.experiments, self.headcount, self.current, self.role, weeks)
        )

    def _started(self) -> str:
        """Where the search started: the analytic estimate for SDRs, today's team otherwise."""
        if self.role == "sdr":
            return f" The analytic estimate (a steady flow to fully ramped reps) was {self.start}."
        return f" The search started from {self.start}, today's team (no analytic estimate)."

    def _no_answer(self, rows: pd.DataFrame, have: str, goals: str) -> str:
        """No headcount met the targets: how close the largest came, and why the search
        stopped (:meth:`_why_none`)."""
        top = int(rows.index.max())
        best = []
        for t in self.targets:
            mean, missing = rows[f"{t.metric}_mean"].loc[top], rows[f"{t.metric}_missing"].loc[top]
            if math.isnan(mean) and missing > 0:
                n = int(rows["runs"].loc[top])
                best.append(f"{t.label} has no value in {round(missing * n)} of {n} runs")
            else:
                best.append(f"{t.label} reaches {t.figure(mean)} at {top}")
        return (
            (f"{have}; n" if have else "N")
            + f"o {self.role.upper()} headcount up to {top} meets every target ({goals}) in "
            f"{self.confidence:.0%} of simulated runs; at {top} they are met in "
            f"{rows['p_all_met'].loc[top]:.0%} ({'; '.join(best)})." + self._why_none(rows, top)
        )

    def _why_none(self, rows: pd.DataFrame, top: int) -> str:
        """Why no headcount: the targets still not met at ``top``, and whether more reps had
        stopped moving them (the limit is not headcount), runs without a value kept every
        headcount below the confidence, or the search hit ``max_headcount``. The speed-to-lead
        reason (leads arriving outside working hours) only for a failing speed-to-lead target
        that stopped improving."""
        failing = [t for t in self.targets if rows[f"p_met: {t}"].loc[top] < self.confidence]
        failing = failing or list(self.targets)  # each met alone, seldom together
        if self.stop == "no value":
            blank = [t for t in failing if rows[f"{t.metric}_missing"].loc[top] > 0] or failing
            why = (
                "No MQL reached the SDRs in those runs: that is the scoring threshold or the "
                "lead arrivals, not headcount."
                if all(_speed_to_lead(t.metric) for t in blank)
                else "Those runs had nothing to measure it on, and more reps did not change that."
            )
            return (
                f" {_labels(blank)} had no value in too many runs "
                f"at every headcount tried for the targets to be met in {self.confidence:.0%} "
                f"of runs, and a run without a value cannot meet a target. {why}"
            )
        below = [h for h in rows.index if h < top]
        prev = int(max(below)) if below else top
        flat = [t for t in failing if self.stop == "plateau" or _still(rows, t.metric, prev, top)]
        moving = [t for t in failing if t not in flat]
        text = f" Still not met at {top}: {'; '.join(t.words for t in failing)}."
        if flat:
            said = ", ".join(
                f"{t.label} {t.figure(rows[f'{t.metric}_mean'].loc[prev])} at {prev} and "
                f"{t.figure(rows[f'{t.metric}_mean'].loc[top])} at {top}"
                for t in {t.metric: t for t in flat}.values()  # a metric once
            )
            text += f" More reps stopped moving {'it' if len(flat) == 1 else 'them'} ({said}): "
            text += "the limit is not headcount."
        if moving:
            text += (
                f" The search stopped at its limit of {top} reps while "
                f"{_labels(moving)} still moved: a larger "
                "max_headcount may find one."
            )
        if any(_speed_to_lead(t.metric) for t in flat):
            text += (
                " For speed-to-lead, leads that arrive outside working hours wait for the "
                "morning whatever the team's size."
            )
        return text

    @property
    def sure(self) -> int | None:
        """One more than an answer on the edge, when its pass rate was shown above the
        confidence asked (None otherwise, and when the answer is not on the edge)."""
        rows, h = self.table.set_index("headcount"), self.headcount
        if h is None or "edge" not in rows or not rows["edge"].loc[h] or h + 1 not in rows.index:
            return None
        return h + 1 if rows["judged"].loc[h + 1] == "passes" else None

    def _of_runs(self, h: int) -> str:
        """' of 3 runs' when the explanation measured ``h`` on more runs than the search did
        (its own pass rate there then differs: each names its runs)."""
        e, n = self.explanation, int(self.table.set_index("headcount")["runs"].loc[h])
        more = "runs" in e and bool((e.loc[e["headcount"] == h, "runs"] > n).any())
        return f" of {n} runs" if more else ""

    @staticmethod
    def _one_more(rows: pd.DataFrame, h: int) -> str:
        """What one more than an answer on the edge gives (empty if it was not run)."""
        if h + 1 not in rows.index:
            return ""
        more = f"; with {h + 1}, in {rows['p_all_met'].loc[h + 1]:.0%}"
        if rows["judged"].loc[h + 1] == "passes":
            return more + ", enough beyond doubt"
        return more + ", also on the edge"

    def _runs(self) -> str:
        """How many runs each headcount took and why it stopped (with a stopping rule)."""
        said = []
        for h, exp in sorted(self.experiments.items()):
            if exp.settled is not None and not exp.settled.empty:
                said.append(f"{h}: {exp.settled['why'].iloc[0]}")
        if not said:
            return ""
        return (
            " Each headcount ran until its pass rate was shown above "
            f"{self.confidence:.0%} (at 95%) or below it (at 99%), or ran out of runs "
            f"({'; '.join(said)})."
        )

    def _explained(self) -> str:
        """The measured explanation: what each mechanism costs at the answer and one fewer."""
        if self.headcount is None:
            return ""
        table = self.table
        searched = {int(h): int(n) for h, n in zip(table["headcount"], table["runs"], strict=True)}
        return explanation_words(
            self.explanation, self.headcount, self._name(2), searched, self.confidence
        )

    def plot(self, what: str | None = None, *, ax: Any = None) -> Any:
        """A target's metric against headcount (mean, P10-P90), its target lines, the answer
        and today's headcount. ``what``: the metric of one of the targets (``None``: the first
        target's), e.g. ``speed_to_lead_1h``."""
        metric = what or self.targets[0].metric
        if metric not in self.metrics:
            raise ValueError(f"no target on {metric!r}; plot one of {', '.join(self.metrics)}")
        return charts.sizing_chart(self, metric, ax=ax)

    def summary(self) -> pd.DataFrame:
        """One row per headcount tried and target: the metric's mean, P10 and P90, the share
        of runs meeting the target and of runs meeting every target."""
        rows = [
            {
                "headcount": int(d["headcount"]),
                "target": str(t),
                "metric": t.metric,
                "mean": d[f"{t.metric}_mean"],
                "p10": d[f"{t.metric}_p10"],
                "p90": d[f"{t.metric}_p90"],
                "p_met": d[f"p_met: {t}"],
                "p_all_met": d["p_all_met"],
            }
            for _, d in self.table.iterrows()
            for t in self.targets
        ]
        return pd.DataFrame(rows)

    def tables(self) -> Mapping[str, pd.DataFrame]:
        """``sizing``, and ``explanation`` when the mechanisms were measured."""
        out = {"sizing": self.table}
        if not self.explanation.empty:
            out["explanation"] = self.explanation
        return out

    def charts(self) -> Mapping[str, str | None]:
        """One chart per target metric, named after it."""
        return {m: m for m in self.metrics}

    def text(self) -> str:
        """The verdict, the table of headcounts tried, and the explanation if measured."""
        parts = [self.verdict, reports.sizing_kpis(self).to_string(index=False)]
        if not self.explanation.empty:
            table = self.explanation  # three significant figures, n/a where undefined
            parts.append(table.to_string(index=False, float_format="{:,.3g}".format, na_rep="n/a"))
        return "\n\n".join(parts)

    def report(self) -> Report:
        return reports.sizing_report(self)


def size_team(
    scenario: Scenario,
    role: str = "sdr",
    targets: Sequence[str | Target] = (),
    confidence: float = 0.8,
    reps: int | None = None,
    *,
    max_reps: int | None = None,
    start: int | None = None,
    max_headcount: int = 200,
    explain: bool = True,
    warm_up: int | None = None,
    **keywords: Unpack[SharedKeywords],
) -> Sizing:
    """The smallest headcount of ``role`` whose runs meet every target with probability at
    least ``confidence`` (the share of replications in which all are met).

    Replications (:class:`PassRule`): a headcount judged runs 3, then 11, then ten more at a
    time until its pass rate is shown above ``confidence`` or below it, at most ``max_reps``
    (40). The answer is the smallest headcount not shown to fall short; one on the edge (its
    bounds straddle ``confidence``) has one more run too. Stepping down, a headcount whose
    first 3 runs all meet the targets is not judged (:func:`sizing_search.smallest`). ``reps`` alone fixes the count (judged on
    the share alone); with ``max_reps``, ``reps`` is the first look.

    Today's headcount (the scenario's) is always run too, judged only if the search needs it
    (else its first look: it does not decide the answer). With ``explain`` (the default),
    ramp, learning curve, attrition and leave (those the role has) are removed one at a time at
    the answer and one fewer, on the same replications: two runs of ``reps`` per mechanism.
    ``warm_up`` (weeks): without a snapshot, each run first fills the funnel as a forecast does
    (:func:`_warmed`; 0 starts empty). ``seed``, ``workers``, ``executor``, ``progress``
    (default off here) and ``snapshot`` are those of :func:`simfunnel.run`.
    """
    check_confidence(confidence)  # before any run, as the targets are
    options = RunOptions(progress=False).shared(**keywords)  # many runs: quiet unless asked
    scenario, starts = _warmed(scenario, options, warm_up)
    goals = parse_targets(targets)
    path = headcount_path(scenario, role)
    first = start if start is not None else analytic_start(scenario, role, goals)
    first = max(1, min(first, max_headcount))
    weeks = scenario.horizon / WEEK
    first_batch, rule = pass_rule(reps, max_reps, goals, weeks, confidence)
    with decision_pool(dataclasses.replace(options, settle=rule)) as shared:
        runs = HeadcountRuns(scenario, role, path, goals, confidence, first_batch, shared)
        answer = smallest(runs, first, max_headcount)
        if answer is not None and answer > 1:
            runs.meets(answer - 1)  # the evidence: one fewer fails
        if answer is not None and answer in runs.edge and answer < max_headcount:
            runs.meets(answer + 1)  # the answer may do: does one more surely?
        current = staff_of(scenario, role).headcount
        if 1 <= current <= max_headcount:
            runs.meets(current, judge=False)  # today's team, always in the table
        explanation: pd.DataFrame = pd.DataFrame()
        explained: dict[tuple[str, int], Experiment] = {}
        if explain and answer is not None:
            quiet = dataclasses.replace(shared, settle=None)  # on the search's replications
            explanation, explained = explain_answer(
                scenario, role, answer, runs.tried, goals, confidence, quiet, rule
            )
    table = sizing_table(runs.tried, runs.share, goals, runs.weeks)
    table.insert(1, "today", table["headcount"] == current)
    table.insert(2, "answer", table["headcount"] == answer)
    table["runs"] = [
        runs.tried[int(h)].finished(runs.tried[int(h)].baseline) for h in table["headcount"]
    ]
    table["judged"] = [runs.judged.get(int(h), "") for h in table["headcount"]]
    table["edge"] = [runs.edge.get(int(h), "") for h in table["headcount"]]
    return Sizing(
        role,
        tuple(goals),
        confidence,
        answer,
        first,
        table,
        dict(sorted(runs.tried.items())),
        current=current,
        explanation=explanation,
        explained=explained,
        stop=runs.stop,
        starts=starts,
    )


def _warmed(scenario: Scenario, options: RunOptions, warm_up: int | None) -> tuple[Scenario, str]:
    """The scenario with the warm-up a forecast runs (the scenario's own ``warm_up``, else the
    sales cycle's P90 plus 4 weeks), so that a team is judged on the follow-ups and open deals
    it will meet, not on a funnel that starts empty (which sized AEs at a third of their need
    on a quarter's horizon); and where each run starts, in words."""
    warm, basis = warm_up_weeks(scenario, options.snapshot, warm_up)
    if warm * WEEK != scenario.warm_up:
        scenario = with_overrides(scenario, {"warm_up": f"{warm} weeks"}, source="warm-up")
    return scenario, start_words(warm, basis, options.snapshot is not None)
