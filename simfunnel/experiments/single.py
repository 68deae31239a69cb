"""One run of a scenario: the engine, wrapped in a result.

Why here: ``simulate`` is the unit every experiment repeats; it checks the run's size before
anything is allocated and draws uncertain parameters on the run's own stream.
"""

from __future__ import annotations

import numpy as np

from ..model import Snapshot
from ..model.engine import Engine  # not among the names simfunnel.model exports
from ..results import SimulationResult
from ..scenario import Scenario, check_size
from .draws import draw_for_seed

__all__ = ["simulate"]


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
    fields that drive it (see :mod:`simfunnel.scenario.limits`).
    ``draw_parameters=True``: first draw every ``uncertainty`` entry of the scenario (one value
    each, :func:`simfunnel.scenario.uncertain.draw_parameters`) on a random stream of its own derived
    from ``seed``, then run with the drawn values; ``result.scenario`` holds them. The other
    streams are those of a run without draws, and the same seed draws the same values.
    """
    if not isinstance(scenario, Scenario):
        raise TypeError(
            f"simulate() takes a Scenario (from load_scenario); got {type(scenario).__name__}"
        )
    if draw_parameters and scenario.uncertainty:
        scenario = draw_for_seed(scenario, seed)
    rows = len(snapshot) if snapshot is not None else 0
    check_size(scenario, max_memory=max_memory, snapshot_rows=rows, trace=trace)
    return SimulationResult(Engine(scenario, seed, trace=trace, snapshot=snapshot).run())
