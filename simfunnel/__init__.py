"""simfunnel: test sales-funnel decisions on a simulated funnel before making them on the real one.

>>> import simfunnel
>>> scenario = simfunnel.load_scenario("scenarios/inbound_saas.yaml")   # doctest: +SKIP
>>> result = simfunnel.simulate(scenario, seed=1)                       # doctest: +SKIP
>>> result.weekly.head()                                                # doctest: +SKIP
>>> experiment = simfunnel.run(scenario, reps=20)                        # doctest: +SKIP
>>> experiment.summary()                                                 # doctest: +SKIP
"""

from __future__ import annotations

import numpy as np

from .diagnose import diagnose
from .experiments import Experiment, run, run_variants, sweep
from .forecast import Forecast, forecast
from .hiring import hiring_plan
from .results import SimulationResult
from .scenario import Scenario, ScenarioError, load_scenario
from .sizing import size_team
from .snapshot import Snapshot, read_snapshot
from .thresholds import compare_thresholds

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
__version__ = "0.1.0"


def simulate(
    scenario: Scenario,
    seed: int | np.random.SeedSequence = 0,
    *,
    trace: bool = False,
    snapshot: Snapshot | None = None,
    max_memory: int | float | str | None = None,
    draw_parameters: bool = False,
) -> SimulationResult:
    """Run the scenario once. The same seed gives the same result, draw for draw.

    ``trace=True`` also records every event (``result.events``), for checking process logic.
    ``snapshot`` (from :func:`read_snapshot`) starts the run from today's open leads and
    opportunities instead of an empty funnel.
    ``max_memory``: the most memory the run may need, as bytes or a size such as ``"16GiB"``
    (default: the environment variable ``SIMFUNNEL_MAX_MEMORY``, else 4 GiB). A run estimated
    to need more is refused before anything is allocated, with a ``ScenarioError`` naming the
    fields that drive it (see :mod:`simfunnel.limits`).
    ``draw_parameters=True``: first draw every ``uncertainty`` entry of the scenario (one value
    each, :func:`simfunnel.uncertainty.draw_parameters`) on a random stream of its own derived
    from ``seed``, then run with the drawn values; ``result.scenario`` holds them. The other
    streams are those of a run without draws, and the same seed draws the same values.
    """
    from .engine import Engine
    from .limits import check_size

    if not isinstance(scenario, Scenario):
        raise TypeError(
            f"simulate() takes a Scenario (from load_scenario); got {type(scenario).__name__}"
        )
    if draw_parameters and scenario.uncertainty:
        from .uncertainty import draw_for_seed

        scenario = draw_for_seed(scenario, seed)
    rows = len(snapshot) if snapshot is not None else 0
    check_size(scenario, max_memory=max_memory, snapshot_rows=rows, trace=trace)
    return SimulationResult(Engine(scenario, seed, trace=trace, snapshot=snapshot).run())
