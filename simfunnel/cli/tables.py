"""Figures as a sales leader reads them in a terminal or as JSON: an experiment's summary as
JSON, a diagnosis as text, shares. A run's and an experiment's aligned tables are their own
``text()`` (``simfunnel.results``, ``simfunnel.experiments``).

Why apart from the commands: the same formatting serves `run`, `sweep` and the decision commands.
"""

from __future__ import annotations

import math
from typing import Any

from ..experiments import Experiment
from .common import NA


def json_value(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value.item() if hasattr(value, "item") else value


def experiment_json(experiment: Experiment, level: float = 0.95) -> dict[str, Any]:
    """Replications as JSON-ready data: per section and KPI, n, mean, sd, interval, P10/50/90."""
    summary: dict[str, dict[str, Any]] = {}
    for row in experiment.summary(level).itertuples(index=False):
        summary.setdefault(str(row.section), {})[str(row.metric)] = {
            key: json_value(getattr(row, key))
            for key in ("n", "mean", "sd", "ci_low", "ci_high", "p10", "p50", "p90")
        }
    scenario = next(iter(experiment.scenarios.values()))
    return {
        "scenario": scenario.name,
        "seed": experiment.seed,
        "reps": experiment.reps,
        "level": level,
        "complete": experiment.complete,
        "summary": summary,
        "failures": experiment.failures.drop(columns="traceback").to_dict("records"),
    }


def diagnosis_text(found: Any) -> str:
    """A Diagnosis as ``str(diagnosis)`` shows it, with "n/a" where a figure is undefined."""
    fmt = "{:.3f}".format
    cols = ["stage", "rate", "low", "high", "status", "uplift", "bottleneck"]
    parts = [found.verdict, found.table[cols].to_string(index=False, float_format=fmt, na_rep=NA)]
    if not found.activity.empty:
        parts.append(found.activity.to_string(index=False, float_format="{:.2f}".format, na_rep=NA))
    cap = ["role", "binds", "weeks_binding", "mean_level", "peak_level"]
    if not found.capacity.empty:
        parts.append(found.capacity[cap].to_string(index=False, float_format=fmt, na_rep=NA))
    if not found.levers.empty:
        cols = ["what", "valid_gain", "valid_low", "valid_high", "valid_gain_share"]
        cols += ["won_gain", "won_low", "won_high", "binding"]
        levers = found.levers[cols]
        parts.append(levers.to_string(index=False, float_format="{:.2f}".format, na_rep=NA))
    return "\n\n".join(parts)


def share_text(value: float) -> str:
    return f"{value:.0%}" if math.isfinite(value) else NA
