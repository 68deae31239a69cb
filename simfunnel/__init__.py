"""simfunnel: test sales-funnel decisions on a simulated funnel before making them on the real one.

>>> import simfunnel
>>> scenario = simfunnel.load_scenario("scenarios/inbound_saas.yaml")   # doctest: +SKIP
>>> result = simfunnel.simulate(scenario, seed=1)                       # doctest: +SKIP
>>> result.weekly.head()                                                # doctest: +SKIP
"""

from __future__ import annotations

import numpy as np

from .results import SimulationResult
from .scenario import Scenario, ScenarioError, load_scenario

__all__ = ["Scenario", "ScenarioError", "SimulationResult", "load_scenario", "simulate"]
__version__ = "0.1.0"


def simulate(
    scenario: Scenario, seed: int | np.random.SeedSequence = 0, *, trace: bool = False
) -> SimulationResult:
    """Run the scenario once. The same seed gives the same result, draw for draw.

    ``trace=True`` also records every event (``result.events``), for checking process logic.
    """
    from .engine import Engine

    if not isinstance(scenario, Scenario):
        raise TypeError(
            f"simulate() takes a Scenario (from load_scenario); got {type(scenario).__name__}"
        )
    return SimulationResult(Engine(scenario, seed, trace=trace).run())
