"""An experiment's summary as JSON (``run --reps N --format json``).

A run's, an experiment's and a decision's terminal text is their own ``text()``; this is the
one machine-readable form the command line adds.
"""

from __future__ import annotations

import math
from typing import Any

from ..experiments import Experiment


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
