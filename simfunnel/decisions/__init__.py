"""The questions a sales leader asks, each answered on experiments: MQL thresholds, team sizing, hiring plans, forecasts, gaps between runs, diagnosis, and the analytic baselines (queueing, the spreadsheet funnel) they are checked against."""

from __future__ import annotations

from .analytic import (
    contact_share,
    mql_share,
    outbound_revenue,
    reverse_waterfall,
    reverse_waterfall_for,
    scenario_rates,
    spreadsheet_funnel,
)
from .diagnosis import Diagnosis, diagnose, launch_phase
from .forecast_bands import FLOWS, LABELS, METRICS, band_table, weekly_arrays
from .forecast_start import default_warm_up
from .forecasting import Forecast, forecast
from .gap import STEPS, Gap, explain_gap
from .hiring import SLACK, HiringPlan, NoHeadcount, expected_effective, hiring_plan
from .measures import MEASURES, Target
from .objective import (
    KPIS,
    SECTION,
    choose,
    decision_kpis,
    failures,
    marginal,
    parse_costs,
    resolve_costs,
    service_targets,
)
from .options_grid import option_label
from .queueing import erlang_a, erlang_b, erlang_c, mmc_mean_wait
from .sizing import Sizing, size_team
from .stages import DEFAULT_RANGES
from .thresholds import ThresholdComparison, compare_thresholds
from .workload import (
    erlang_a_service_level,
    erlang_a_staffing,
    erlang_c_service_level,
    erlang_c_staffing,
    sdr_workload,
)

__all__ = [
    "DEFAULT_RANGES",
    "FLOWS",
    "KPIS",
    "LABELS",
    "MEASURES",
    "METRICS",
    "SECTION",
    "SLACK",
    "STEPS",
    "Diagnosis",
    "Forecast",
    "Gap",
    "HiringPlan",
    "NoHeadcount",
    "Sizing",
    "Target",
    "ThresholdComparison",
    "band_table",
    "choose",
    "compare_thresholds",
    "contact_share",
    "decision_kpis",
    "default_warm_up",
    "diagnose",
    "erlang_a",
    "erlang_a_service_level",
    "erlang_a_staffing",
    "erlang_b",
    "erlang_c",
    "erlang_c_service_level",
    "erlang_c_staffing",
    "expected_effective",
    "explain_gap",
    "failures",
    "forecast",
    "hiring_plan",
    "launch_phase",
    "marginal",
    "mmc_mean_wait",
    "mql_share",
    "option_label",
    "outbound_revenue",
    "parse_costs",
    "resolve_costs",
    "reverse_waterfall",
    "reverse_waterfall_for",
    "scenario_rates",
    "sdr_workload",
    "service_targets",
    "size_team",
    "spreadsheet_funnel",
    "weekly_arrays",
]
