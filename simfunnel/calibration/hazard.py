"""The fitted chance that an open MQL becomes an SQL, by its age: the hazard the lead snapshot
draws old MQLs with when the exports have no call log.

Without a call log, nothing says whether an MQL created weeks before the cutoff is still being
worked. Settling every old one writes off the SQLs some of them still bring; the cohort model's
cure-fraction fit of the MQL->SQL stage (:mod:`simfunnel.calibration.stage_fit`) says how likely
an MQL still open at its age is to convert. :func:`sql_hazard` builds that hazard from a fitted
cohort model; :func:`simfunnel.calibration.snapshot.lead_snapshot` draws with it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from .cohort_forecast import pi_per_lead, survival
from .stage_fit import StageFit, parent_column

__all__ = ["Hazard", "SQLHazard", "fresh_rates", "sql_hazard"]

# (ages in days since the MQL date, sources) -> the chance of an SQL later, per lead.
Hazard = Callable[[np.ndarray, np.ndarray], np.ndarray]


@dataclass(frozen=True)
class SQLHazard:
    """The fitted chance that an MQL still open at its age becomes an SQL later, from the
    cohort model's cure-fraction fit of the MQL->SQL stage
    (:mod:`simfunnel.calibration.stage_fit`).

    Called with the ages in days since the MQL date and the sources, it returns
    ``pi*S(a) / (1 - pi*(1 - S(a)))`` per lead (``pi`` the source's rate, ``S`` the delay's
    survival), as :mod:`simfunnel.calibration.cohort_forecast` draws open leads (no known-out
    term: an MQL is not known never to become an SQL). :meth:`fresh` is ``pi``, the conversion
    of a fresh MQL. Sources the fit pooled (or never saw) take the pooled rate."""

    fit: StageFit

    def __call__(self, ages_days: np.ndarray, sources: np.ndarray) -> np.ndarray:
        """Each lead's chance of an SQL later, at its age (days) and source."""
        age = np.asarray(ages_days, dtype=float)
        pi = self.fresh(sources)
        s = np.where(age > 0, survival(self.fit, self.fit.theta, np.maximum(age, 0.0)), 1.0)
        with np.errstate(invalid="ignore", divide="ignore"):
            p = pi * s / (1 - pi * (1 - s))
        return np.clip(np.nan_to_num(p, nan=0.0), 0.0, 1.0)

    def fresh(self, sources: np.ndarray) -> np.ndarray:
        """The stage's rate for each lead's source: what a fresh MQL converts at."""
        codes, names = pd.factorize(np.asarray(sources, dtype=object))
        return pi_per_lead(self.fit, self.fit.theta, codes, [str(n) for n in names])


def sql_hazard(cohorts: Any) -> SQLHazard | None:
    """The MQL->SQL hazard of a cohort model (``Calibration.cohorts``), or None when there is
    no model, it has no ``sqls`` stage, or that stage is not counted from the MQL date."""
    if cohorts is None or "sqls" not in getattr(cohorts, "stages", {}):
        return None
    if parent_column("sql_date", cohorts.present) != "mql_date":
        return None
    return SQLHazard(cohorts.stages["sqls"])


def fresh_rates(hazard: Hazard, sources: np.ndarray) -> np.ndarray:
    """A fresh MQL's chance: the hazard's own ``fresh`` rates, else the hazard at age 0."""
    fresh = getattr(hazard, "fresh", None)
    if fresh is not None:
        return np.asarray(fresh(sources), dtype=float)
    return np.asarray(hazard(np.zeros(len(sources)), sources), dtype=float)
