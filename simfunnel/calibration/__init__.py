"""From CRM exports to a scenario, and checks of its forecasts: the estimators, the fit and the scenario it builds, cohort conversion and arrival models, and backtests (single cutoff and rolling)."""

from __future__ import annotations

from ..data import CalibrationError, read_calls, read_leads, read_opportunities
from .backtest_result import STAGES, Backtest
from .backtesting import backtest
from .checks import MIN_LEADS
from .cohort_forecast import CohortForecast, forecast_cohorts
from .cohorts import fit_cohorts
from .estimators import (
    fit_durations,
    kaplan_meier,
    rate_table,
    score_curve,
    threshold_tradeoff,
    wilson_interval,
)
from .fit_result import Calibration
from .fitting import fit
from .hazard import SQLHazard, sql_hazard
from .pipeline import open_pipeline
from .rolling import rolling_backtest
from .rolling_result import RollingBacktest
from .scores import BASELINES, central_share, crps
from .shifts import cohort_drift
from .snapshot import lead_snapshot
from .synthetic import CASES, METRICS, SyntheticExport, synthetic_export

__all__ = [
    "BASELINES",
    "CASES",
    "METRICS",
    "MIN_LEADS",
    "STAGES",
    "Backtest",
    "Calibration",
    "CalibrationError",
    "CohortForecast",
    "RollingBacktest",
    "SQLHazard",
    "SyntheticExport",
    "backtest",
    "central_share",
    "cohort_drift",
    "crps",
    "fit",
    "fit_cohorts",
    "fit_durations",
    "forecast_cohorts",
    "kaplan_meier",
    "lead_snapshot",
    "open_pipeline",
    "rate_table",
    "read_calls",
    "read_leads",
    "read_opportunities",
    "rolling_backtest",
    "score_curve",
    "sql_hazard",
    "synthetic_export",
    "threshold_tradeoff",
    "wilson_interval",
]
