"""A gap in the export (months without a single lead amid a steady flow: a migration, a filter)
is found, said, and left out of the weeks the arrival rates are measured over. Counted as weeks
without leads it cut every rate by its share of the history, and the cohort model's arrivals,
judged on forecasts into the gap, drew a level error that pulled the forecast's median to 0."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from simfunnel.calibration import fit, synthetic_export
from simfunnel.calibration.cohort_forecast import forecast_cohorts
from simfunnel.calibration.cohorts import fit_cohorts
from simfunnel.calibration.gaps import GAP_EXPECTED, export_gaps
from simfunnel.data import read_leads

GAP = (pd.Timestamp("2023-04-01"), pd.Timestamp("2023-06-15"))


@pytest.fixture(scope="module")
def export(tmp_path_factory) -> dict[str, Path]:
    """A year of steady leads, and the same with ten weeks of it cut out."""
    tmp = tmp_path_factory.mktemp("gaps")
    path = synthetic_export("steady", seed=3, months=12).write(tmp / "whole")
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    created = pd.to_datetime(frame["Create Date"])
    cut = tmp / "cut.csv"
    frame[~((created > GAP[0]) & (created < GAP[1]))].to_csv(cut, index=False)
    return {"whole": path, "cut": cut}


def test_a_long_silence_amid_a_steady_flow_is_a_gap_and_a_holiday_is_not() -> None:
    rng = np.random.default_rng(0)
    days = np.sort(rng.uniform(0, 365, 3000))  # about 8 leads a day
    start = pd.Timestamp("2026-01-01")
    created = pd.Series(start + pd.to_timedelta(days, unit="D"))
    assert export_gaps(created) == []
    holiday = created[(days < 100) | (days > 110)]  # ten days off: not a gap
    assert export_gaps(holiday) == []
    gap = created[(days < 100) | (days > 160)]
    ((a, b),) = export_gaps(gap)
    assert a < start + pd.Timedelta(days=100) < start + pd.Timedelta(days=160) < b
    # A thin flow has long silences by chance: 20 leads a year expect under GAP_EXPECTED in
    # any silence shorter than half a year.
    thin = created.iloc[::150]
    assert GAP_EXPECTED > 20 / 365 * 180 and export_gaps(thin) == []


def test_fit_measures_rates_over_the_weeks_with_data_and_warns(export) -> None:
    whole, cut = fit(export["whole"]), fit(export["cut"])
    said = [str(w["problem"]) for w in cut.warnings if "a gap in the export" in str(w["problem"])]
    assert said and "no lead at all from 2023-03-31" in said[0]
    a = whole.arrivals.set_index("source")
    b = cut.arrivals.set_index("source")
    for source in a.index:  # the cut rate inside the whole export's 95% interval
        assert a.loc[source, "low"] <= b.loc[source, "rate_per_week"] <= a.loc[source, "high"]
    assert not [w for w in whole.warnings if "a gap in the export" in str(w["problem"])]


def test_the_cohort_forecast_of_leads_is_not_pulled_to_zero(export) -> None:
    frames = {k: read_leads(p).data for k, p in export.items()}
    as_of = pd.Timestamp("2023-12-01")
    end = pd.Timestamp("2024-03-01")
    medians = {}
    for name, frame in frames.items():
        model = fit_cohorts(frame, as_of)
        fc = forecast_cohorts(model, end, reps=200, seed=0)
        leads = fc.samples[fc.metrics.index("leads")].sum(axis=1)  # horizon totals
        medians[name] = float(np.median(leads))
        if name == "cut":
            assert any(n.startswith("WARNING: arrivals: no lead at all") for n in model.notes)
    assert medians["cut"] == pytest.approx(medians["whole"], rel=0.15)
