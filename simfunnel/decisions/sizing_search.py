"""The search of :func:`simfunnel.decisions.sizing.size_team`: which headcounts to run, and how
far to run each.

Why a search of its own: the answer is the smallest headcount not shown to fall short of the
targets, so only the headcounts around that boundary need to be judged on their bounds (up to
40 runs each); the others only need a first look. Stepping down from the start, a headcount
whose first runs all meet the targets is passed over on that first look (the one below it,
judged on more runs, decides), since more reps never lower the pass rate.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from ..base.units import WEEK
from ..experiments import Experiment, RunOptions, run
from ..scenario import Scenario, with_overrides
from .measures import (
    MEASURES,
    PassRule,
    Target,
    pass_bounds,
    replication_reports,
    share_met,
)

__all__ = ["HeadcountRuns", "pass_rule", "smallest"]


@dataclass
class HeadcountRuns:
    """The runs of one search, by headcount: each headcount is simulated once, on the same
    seeds, and judged on the share of replications that meet every target."""

    scenario: Scenario
    role: str
    path: str  # the scenario field of the role's headcount
    goals: Sequence[Target]
    confidence: float
    reps: int  # the first batch (with a rule) or the fixed count
    options: RunOptions  # how each headcount's experiment runs (its stopping rule, if any)
    tried: dict[int, Experiment] = field(default_factory=dict)
    edge: dict[int, str] = field(default_factory=dict)  # headcounts the rule left on the edge
    judged: dict[int, str] = field(default_factory=dict)  # passes, fails or on the edge (a rule)
    share: dict[int, float] = field(default_factory=dict)
    level: dict[int, list[float]] = field(default_factory=dict)  # each target's mean metric
    valued: dict[int, tuple[int, int]] = field(default_factory=dict)  # runs with every value, runs
    stop: str = ""  # why the search ended without an answer: limit, plateau or no value
    looked: set[int] = field(default_factory=set)  # run for a first look only, not yet judged

    @property
    def weeks(self) -> float:
        return self.scenario.horizon / WEEK

    def meets(self, h: int, judge: bool = True) -> bool:
        """Whether ``h`` reps meet every target in at least ``confidence`` of the runs: with a
        stopping rule, unless their pass rate is shown below it (on the edge, they may).
        ``judge=False``: only the first look, for a headcount that does not decide the answer
        (judged later, the first look's runs are reused: the decision's pool remembers them)."""
        if h not in self.tried or (judge and h in self.looked):
            scenario = with_overrides(
                self.scenario, {self.path: h}, source=f"{self.role} headcount {h}"
            )
            options = self.options if judge else dataclasses.replace(self.options, settle=None)
            self.tried[h] = run(scenario, self.reps, options=options)
            if not judge and self.options.settle is not None:
                self.looked.add(h)
            else:
                self.looked.discard(h)
            settled = self.tried[h].settled
            if settled is not None and "judged" in settled:
                self.judged[h] = str(settled["judged"].iloc[0])
                if self.judged[h] == "on the edge":
                    self.edge[h] = str(settled["why"].iloc[0])
            reports = replication_reports(self.tried[h])
            for g in self.goals:
                if g.metric not in MEASURES and g.metric not in reports[0]:
                    known = ", ".join(sorted(k for k in reports[0] if k.startswith("totals.")))
                    raise ValueError(f"target {g}: no KPI {g.metric!r} in the report; e.g. {known}")
            self.share[h] = share_met(reports, self.goals, self.weeks)
            values = np.array(
                [[g.value_in(r, self.weeks) for g in self.goals] for r in reports], dtype=float
            )
            ok = ~np.isnan(values)  # the plateau reads the runs that have a value
            self.level[h] = [
                float(values[ok[:, i], i].mean()) if ok[:, i].any() else math.nan
                for i in range(len(self.goals))
            ]
            self.valued[h] = (int(ok.all(axis=1).sum()), len(reports))
        if h in self.judged:  # judged on its bounds: only a headcount shown to fail is out
            return self.judged[h] != "fails"
        return self.share[h] >= self.confidence

    def holds(self, h: int) -> bool:
        """Whether ``h`` meets the targets on its first look, or else on its bounds: a first
        look that meets them is enough to bound the answer; one that does not is judged."""
        return self.meets(h, judge=False) or self.meets(h)

    def unvalued(self, h: int) -> bool:
        """The runs of ``h`` where a target's metric has no value (no MQL to time, say) alone
        keep it below the confidence: even if every other run met the targets, its pass rate
        would fall short (shown so on its bounds, with a stopping rule)."""
        k, n = self.valued[h]
        if h in self.judged:
            return pass_bounds(k, n)[1] < self.confidence
        return k < self.confidence * n

    def flat(self, a: int, b: int) -> bool:
        """More reps changed nothing: every target's metric moved less than 0.5%."""
        return all(
            abs(y - x) <= 0.005 * max(abs(x), abs(y), 1e-9)
            for x, y in zip(self.level[a], self.level[b], strict=True)
        )


def pass_rule(
    reps: int | None,
    max_reps: int | None,
    goals: Sequence[Target],
    weeks: float,
    confidence: float,
) -> tuple[int, PassRule | None]:
    """The first batch and the stopping rule: ``reps`` alone fixes the count (no rule)."""
    if reps is not None and max_reps is None:
        return reps, None
    batch = reps if reps is not None else PassRule.batch
    most = max_reps if max_reps is not None else PassRule.max_reps
    rule = PassRule(tuple(goals), weeks, confidence, batch=batch, max_reps=max(most, batch))
    return batch, rule


def smallest(runs: HeadcountRuns, first: int, max_headcount: int) -> int | None:
    """The search: from ``first`` down while the targets hold, or else up in doubling steps and
    then by bisection; None (``runs.stop`` says why) at the limit, on a plateau, or when runs
    without a value keep the targets out of reach: at once if no run of ``first`` has one, else
    at two headcounts in a row (more reps did not bring values).

    A headcount whose first look meets the targets is taken on that look (it bounds the answer
    from above, or is passed over stepping down); one whose first look does not is judged on its
    bounds. The answer found is judged too: shown to fall short after all, the next one up is.
    With a fixed count of runs, a first look is the whole judgement: the same steps."""
    if runs.holds(first):
        h = first
        while h > 1 and runs.meets(h - 1, judge=False):
            h -= 1
        while h > 1 and runs.meets(h - 1):
            h -= 1
        return _judged(runs, h, max_headcount)
    if runs.valued[first][0] == 0 or first == max_headcount:
        runs.stop = "no value" if runs.valued[first][0] == 0 else "limit"
        return None
    low, high = first, None  # low falls short
    step = 1
    while high is None:
        nxt = min(max_headcount, low + step)
        if runs.holds(nxt):
            high = nxt
        elif runs.unvalued(nxt) and (runs.unvalued(low) or runs.valued[nxt][0] == 0):
            runs.stop = "no value"
            return None
        elif nxt == max_headcount or (runs.share[nxt] == 0 and step > 1 and runs.flat(low, nxt)):
            runs.stop = "limit" if nxt == max_headcount else "plateau"
            return None  # the limit, or a plateau: headcount no longer moves the targets
        else:
            low, step = nxt, step * 2
    while high - low > 1:  # the first that meets lies in (low, high]
        mid = (low + high) // 2
        if runs.holds(mid):
            high = mid
        else:
            low = mid
    return _judged(runs, high, max_headcount)


def _judged(runs: HeadcountRuns, h: int, max_headcount: int) -> int | None:
    """``h``, judged on its bounds; shown to fall short after all (its first runs met the
    targets by luck), the next headcount up that is not."""
    while not runs.meets(h):
        if h >= max_headcount:
            runs.stop = "limit"
            return None
        h += 1
    return h
