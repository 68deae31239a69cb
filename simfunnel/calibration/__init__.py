"""From CRM exports to a scenario, and checks of its forecasts: the estimators, the fit and the scenario it builds, cohort conversion and arrival models, and backtests (single cutoff and rolling)."""

from __future__ import annotations

from .backtesting import STAGES, Backtest, SQLHazard, backtest, lead_snapshot, sql_hazard
from .cohort_forecast import forecast_cohorts
from .cohorts import cohort_drift, fit_cohorts
from .fitting import (
    MIN_LEADS,
    Calibration,
    CalibrationError,
    fit,
    fit_durations,
    kaplan_meier,
    rate_table,
    read_calls,
    read_leads,
    read_opportunities,
    score_curve,
    threshold_tradeoff,
    wilson_interval,
)
from .rolling import BASELINES, central_share, crps, rolling_backtest
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
