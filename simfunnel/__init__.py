"""simfunnel: test sales-funnel decisions on a simulated funnel before making them on the real one.

>>> import simfunnel
>>> scenario = simfunnel.load_scenario("scenarios/inbound_saas.yaml")   # doctest: +SKIP
>>> result = simfunnel.simulate(scenario, seed=1)                       # doctest: +SKIP
>>> result.weekly.head()                                                # doctest: +SKIP
>>> experiment = simfunnel.run(scenario, reps=20)                        # doctest: +SKIP
>>> experiment.summary()                                                 # doctest: +SKIP
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from .base.version import __version__ as __version__

if TYPE_CHECKING:
    from .decisions import Forecast, compare_thresholds, diagnose, forecast, hiring_plan, size_team
    from .experiments import Experiment, run, run_variants, simulate, sweep
    from .model import Snapshot, read_snapshot
    from .results import SimulationResult
    from .scenario import Scenario, ScenarioError, load_scenario

# Where each public name lives. They load on first use, so that importing one layer (reading a
# CRM export, say) does not load the others, and ``simfunnel --help`` starts fast.
_HOME = {
    "Forecast": "decisions",
    "compare_thresholds": "decisions",
    "diagnose": "decisions",
    "forecast": "decisions",
    "hiring_plan": "decisions",
    "size_team": "decisions",
    "Experiment": "experiments",
    "run": "experiments",
    "run_variants": "experiments",
    "simulate": "experiments",
    "sweep": "experiments",
    "Snapshot": "model",
    "read_snapshot": "model",
    "SimulationResult": "results",
    "Scenario": "scenario",
    "ScenarioError": "scenario",
    "load_scenario": "scenario",
}


def __getattr__(name: str) -> Any:
    if name in _HOME:
        value = getattr(importlib.import_module(f".{_HOME[name]}", __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'simfunnel' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *_HOME})


__all__ = [
    "Experiment",
    "Forecast",
    "Scenario",
    "ScenarioError",
    "SimulationResult",
    "Snapshot",
    "compare_thresholds",
    "diagnose",
    "forecast",
    "hiring_plan",
    "load_scenario",
    "read_snapshot",
    "run",
    "run_variants",
    "simulate",
    "size_team",
    "sweep",
]
