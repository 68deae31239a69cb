"""Running the model: one run (``simulate``), parameter draws per run, and experiments of many replications with their store and executors."""

from __future__ import annotations

from .draws import draw_for_seed, draw_parameters, off_centre
from .experiment import Experiment, run, run_variants, sweep
from .options import (
    RunKeywords,
    RunnerKeywords,
    RunOptions,
    SharedKeywords,
    decision_pool,
    runner_keywords,
)
from .replicate import ReplicationError, replication_seed
from .settle import Settle, settle_plan, settle_text
from .single import simulate
from .store import DiscardedPartWarning, ExperimentError

__all__ = [
    "DiscardedPartWarning",
    "Experiment",
    "ExperimentError",
    "ReplicationError",
    "RunKeywords",
    "RunOptions",
    "RunnerKeywords",
    "Settle",
    "SharedKeywords",
    "decision_pool",
    "draw_for_seed",
    "draw_parameters",
    "off_centre",
    "replication_seed",
    "run",
    "run_variants",
    "runner_keywords",
    "settle_plan",
    "settle_text",
    "simulate",
    "sweep",
]
