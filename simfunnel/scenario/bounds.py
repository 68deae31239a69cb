"""Bounds and field types shared by every part of the scenario schema.

The limits that follow from what the fields mean (``docs/scenarios.md``, "Limits", lists them
all), the types several sections use (a calendar date, a probability) and the checks they share.
Nothing here is a section of a scenario file: the sections are in ``sources``, ``teams``,
``process``, ``sales``, ``outbound`` and ``schema``.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, TypeVar

from pydantic import AfterValidator, BeforeValidator, Field

from ..base.units import HOUR, MINUTE, duration_text

Probability = Annotated[float, Field(ge=0, le=1)]
# Bounds that follow from what the fields mean (docs/scenarios.md, "Limits", lists them all).
MIN_DATE = dt.date(1990, 1, 1)
MAX_DATE = dt.date(2100, 12, 31)
MAX_WARM_UP_WEEKS = 260  # 5 years
MAX_SOURCES = 1000
MAX_NAME = 200  # characters of a name
MAX_TEXT = 10_000  # characters of a description
MAX_RATE = 1_000_000  # leads per week of one source
MAX_BURST = 1_000_000  # leads of one burst
MAX_BURSTS = 100_000  # bursts of one source (a backtest gives each actual arrival its own)
MAX_MULTIPLIER = 100.0  # a seasonality multiplier
MAX_SCORE = 1e6  # score points, either side of 0
MAX_QUALITY_MEAN = 5.0  # quality (log-odds scale), either side of 0
MAX_QUALITY_SD = 5.0
MAX_QUALITY_EFFECT = 10.0  # log-odds per unit of quality, either side of 0
MAX_NURTURE_EFFECT = 3.0  # log-rate of engagement per unit of quality, either side of 0
MAX_ENGAGEMENTS = 100_000  # engagements of the most engaged lead within nurture.age_out
MAX_HEADCOUNT = 10_000  # reps of a team at the start, or hired on one date
MAX_PLAN = 1000  # dated changes of a headcount plan
MAX_ATTRITION = 12.0  # exits per rep-year: a mean tenure of one month
MAX_RAMP_MONTHS = 120
MAX_ACCOUNTS = 10_000_000  # accounts on the outbound list at the start
MAX_ACCOUNTS_PER_MONTH = 1_000_000
MAX_ATTEMPTS = 100  # touches of a cadence
MAX_PER_DAY = 10_000  # a daily goal
MAX_OPEN_PER_AE = 10_000
MAX_ITEMS = 1000  # entries of a list or mapping with no bound of its own
MIN_GAP = MINUTE  # between two touches of a cadence
MIN_REPLY = MINUTE  # mean time to an email reply
MIN_RESEARCH = MINUTE  # mean research time of an outbound account
MIN_ENGAGEMENT = HOUR  # mean time between nurture engagements
MAX_SHAPE = 1e12  # a beta or gamma parameter (a count of events, a rate's inverse scale)
MAX_LOG = 100.0  # |mu| of a lognormal uncertainty: exp(mu) stays far inside a float
MAX_SIGMA = 10.0  # sigma of a lognormal uncertainty: a factor of e^10 either way is ignorance


PER_QUALITY = "log-odds per unit of quality"
D = TypeVar("D", bound=dt.date)


def _date_text(value: Any) -> Any:
    """A date is written as text (YYYY-MM-DD): a bare number would be read as a timestamp."""
    if isinstance(value, bool | int | float):
        raise ValueError("write a date as YYYY-MM-DD")
    return value


def date_in_range(value: D) -> D:
    """A date, or the day of a date and time, from MIN_DATE to MAX_DATE: the calendar's range."""
    day = value.date() if isinstance(value, dt.datetime) else value
    if not MIN_DATE <= day <= MAX_DATE:
        raise ValueError(f"must be from {MIN_DATE} to {MAX_DATE} (got {day.isoformat()!r})")
    return value


Date = Annotated[dt.date, BeforeValidator(_date_text), AfterValidator(date_in_range)]
"""A calendar date from 1990-01-01 to 2100-12-31."""


def mean_at_least(value: Any, least: float) -> Any:
    """A distribution of durations whose mean is at least ``least`` hours."""
    if not value.mean >= least:
        raise ValueError(
            f"needs a mean of at least {duration_text(least)} (got {duration_text(value.mean)})"
        )
    return value
