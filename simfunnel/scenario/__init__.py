"""The scenario: what a funnel is, as validated data.

The schema by topic (sources, teams, process, sales, outbound; bounds below them all), reading scenario files with errors that name the file and field, distributions, uncertain values and where they point, overrides by dotted path, and the size limits of a run. Nothing here runs a simulation.
"""

from __future__ import annotations

from .bounds import MAX_LOG, MAX_SHAPE, MAX_SIGMA
from .dists import DurationDist, Pool, uniform
from .limits import (
    BYTES_PER_LEAD,
    DEFAULT_MAX_MEMORY,
    GIB,
    MAX_MEMORY_ENV,
    check_size,
    estimate,
    memory_limit,
    parse_size,
)
from .load import MAX_NODES, MAX_PROBLEMS, load_scenario, parse_scenario, scenario_from_dict
from .outbound import Outbound
from .overrides import (
    overridden,
    path_parts,
    scenario_to_dict,
    set_path,
    show_path,
    with_overrides,
)
from .process import (
    DEFAULT_CONTACT_DECAY,
    DEFAULT_QUALIFY_DECAY,
    OUTCOME_KINDS,
    OUTCOMES,
    Cadence,
    Nurture,
    OutcomeKind,
    OutcomePath,
    Outcomes,
)
from .sales import DEFAULT_BANT, Currency
from .schema import Costs, Scenario, ScenarioError
from .sources import ScoreModel, Source
from .teams import WEEKDAYS, CallingStaff, Staffing
from .uncertain import Target, UncertaintyPathError, UncertainValue, resolve

__all__ = [
    "BYTES_PER_LEAD",
    "DEFAULT_BANT",
    "DEFAULT_CONTACT_DECAY",
    "DEFAULT_MAX_MEMORY",
    "DEFAULT_QUALIFY_DECAY",
    "GIB",
    "MAX_LOG",
    "MAX_MEMORY_ENV",
    "MAX_NODES",
    "MAX_PROBLEMS",
    "MAX_SHAPE",
    "MAX_SIGMA",
    "OUTCOMES",
    "OUTCOME_KINDS",
    "WEEKDAYS",
    "Cadence",
    "CallingStaff",
    "Costs",
    "Currency",
    "DurationDist",
    "Nurture",
    "Outbound",
    "OutcomeKind",
    "OutcomePath",
    "Outcomes",
    "Pool",
    "Scenario",
    "ScenarioError",
    "ScoreModel",
    "Source",
    "Staffing",
    "Target",
    "UncertainValue",
    "UncertaintyPathError",
    "check_size",
    "estimate",
    "load_scenario",
    "memory_limit",
    "overridden",
    "parse_scenario",
    "parse_size",
    "path_parts",
    "resolve",
    "scenario_from_dict",
    "scenario_to_dict",
    "set_path",
    "show_path",
    "uniform",
    "with_overrides",
]
