"""Where leads come from: inbound sources, their arrivals, scores and quality, and the MQL threshold.

Arrival rates with seasonality and one-off bursts, the lead score the marketing tool gives
(a noisy signal of latent quality), free-trial sources, and the threshold on that score that
decides which leads the SDRs work. The outbound target list is in ``outbound``.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from pydantic import Field, field_validator, model_validator

from ..base.units import HOUR
from .bounds import (
    MAX_BURST,
    MAX_BURSTS,
    MAX_MULTIPLIER,
    MAX_NAME,
    MAX_QUALITY_EFFECT,
    MAX_QUALITY_MEAN,
    MAX_QUALITY_SD,
    MAX_RATE,
    MAX_SCORE,
    PER_QUALITY,
    Probability,
    date_in_range,
)
from .dists import AmountDist, Duration, Frozen


class Seasonality(Frozen):
    """Multipliers on a source's weekly rate; both kinds may be given and then multiply."""

    by_month: dict[
        Annotated[int, Field(ge=1, le=12)], Annotated[float, Field(ge=0, le=MAX_MULTIPLIER)]
    ] = Field(
        default_factory=dict,
        description="Month number (1-12) -> multiplier, at most 100; missing months are 1.",
        json_schema_extra={"unit": "month -> multiplier"},
    )
    by_week: dict[
        Annotated[int, Field(ge=1, le=53)], Annotated[float, Field(ge=0, le=MAX_MULTIPLIER)]
    ] = Field(
        default_factory=dict,
        description="ISO week of year (1-53) -> multiplier, at most 100; missing weeks are 1.",
        json_schema_extra={"unit": "ISO week -> multiplier"},
    )


class Burst(Frozen):
    """A one-off batch of leads, such as badge scans from a trade show."""

    start: dt.datetime = Field(
        description="When the burst begins, local time without a time zone (a date alone means "
        "midnight); must fall inside the simulated period."
    )
    leads: int = Field(
        ge=0,
        le=MAX_BURST,
        description="Exactly this many leads arrive (at most 1,000,000).",
        json_schema_extra={"unit": "leads"},
    )
    over: Duration = Field(
        default=3 * 24 * HOUR,
        description="Spread evenly at random over this duration ('0 h' puts them all at start).",
    )

    @field_validator("start", mode="before")
    @classmethod
    def _date_is_midnight(cls, value: Any) -> Any:
        if isinstance(value, bool | int | float):
            raise ValueError("write a date and time as 'YYYY-MM-DD HH:MM'")
        if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
            return dt.datetime.combine(value, dt.time())
        return value

    @field_validator("start")
    @classmethod
    def _local_time(cls, value: dt.datetime) -> dt.datetime:
        if value.tzinfo is not None:
            # The clock is the calendar's local time: an offset would be a second clock.
            raise ValueError("give a local time without a time zone, e.g. '2026-03-02 09:00'")
        return date_in_range(value)


class ScoreModel(Frozen):
    """The lead score the MA tool gives: a noisy signal of latent quality."""

    mean: float = Field(
        ge=-MAX_SCORE,
        le=MAX_SCORE,
        description="Mean score of this source's leads (points, usually 0-100).",
        json_schema_extra={"unit": "score points"},
    )
    sd: float = Field(
        ge=0,
        le=MAX_SCORE,
        description="Standard deviation of the score (points).",
        json_schema_extra={"unit": "score points"},
    )
    reliability: Probability = Field(
        default=0.6,
        description="Correlation between score and latent quality within the source "
        "(0 = score says nothing, 1 = score is quality).",
        json_schema_extra={"unit": "correlation 0-1"},
    )
    min: float = Field(
        default=0.0,
        ge=-MAX_SCORE,
        le=MAX_SCORE,
        description="Lower clip of the score: scores are clipped to [min, max]; min < max.",
        json_schema_extra={"unit": "score points"},
    )
    max: float = Field(
        default=100.0,
        ge=-MAX_SCORE,
        le=MAX_SCORE,
        description="Upper clip of the score.",
        json_schema_extra={"unit": "score points"},
    )

    @model_validator(mode="after")
    def _range(self) -> ScoreModel:
        if not self.min < self.max:
            raise ValueError(f"need min < max (got min={self.min}, max={self.max})")
        return self


class QualityModel(Frozen):
    """Latent lead quality on a log-odds scale: what really drives qualification and wins."""

    mean: float = Field(
        default=0.0,
        ge=-MAX_QUALITY_MEAN,
        le=MAX_QUALITY_MEAN,
        description="Mean quality (0 = the scenario's reference lead); within +-5, so that no "
        "odds computed from quality overflow.",
        json_schema_extra={"unit": "quality (log-odds scale)"},
    )
    sd: float = Field(
        default=1.0,
        ge=0,
        le=MAX_QUALITY_SD,
        description="Spread (standard deviation) of quality across leads; at most 5.",
        json_schema_extra={"unit": "quality (log-odds scale)"},
    )


class ProductTrial(Frozen):
    """Free-trial sign-ups (PQLs): at the end of the trial, a lead nobody has reached may buy
    on its own (self-serve) and leaves the SDRs' list; otherwise it carries on as before."""

    trial_length: Duration = Field(default=14 * 24.0, gt=0, description="Length of the trial.")
    self_serve_probability: Probability = Field(
        default=0.05,
        description="Chance that a PQL of quality 0 not reached by the end of its trial buys "
        "self-serve.",
    )
    quality_effect: float = Field(
        default=0.5,
        ge=-MAX_QUALITY_EFFECT,
        le=MAX_QUALITY_EFFECT,
        description="Log-odds shift of self-serve buying per unit of quality (within +-10).",
        json_schema_extra={"unit": PER_QUALITY},
    )
    self_serve_value: AmountDist = Field(
        default=1000.0,
        validate_default=True,
        description="Value of a self-serve purchase (currency).",
        json_schema_extra={"unit": "currency"},
    )


class Source(Frozen):
    """An inbound lead source (web form, white paper, seminar, free trial...)."""

    name: str = Field(
        min_length=1, max_length=MAX_NAME, description="Unique name, used in results."
    )
    rate_per_week: float = Field(
        ge=0,
        le=MAX_RATE,
        description="Mean leads per week (Poisson arrivals), before seasonality; bursts come on "
        "top. At most 1,000,000; the leads of the whole run must also fit in memory (see "
        "Limits).",
        json_schema_extra={"unit": "leads per week"},
    )
    office_hours_share: Probability = Field(
        default=0.7,
        description="Share of leads that arrive during the calendar's working hours; "
        "the rest arrive evenly outside them. Ignored for a 24/7 calendar.",
        json_schema_extra={"unit": "share 0-1"},
    )
    seasonality: Seasonality = Field(default_factory=Seasonality, description="Rate multipliers.")
    bursts: tuple[Burst, ...] = Field(
        default=(), max_length=MAX_BURSTS, description="One-off batches of leads."
    )
    score: ScoreModel = Field(description="Lead score distribution (normal, clipped).")
    quality: QualityModel = Field(
        default_factory=QualityModel, description="Latent quality distribution (normal)."
    )
    pql: ProductTrial | None = Field(
        default=None,
        description="Set for a free-trial source: its leads are PQLs (product-qualified leads).",
    )


class Scoring(Frozen):
    """Which leads the SDRs work: the MQL threshold on the lead score."""

    threshold: float = Field(
        ge=-MAX_SCORE,
        le=MAX_SCORE,
        description="MQL threshold: leads scoring at or above it go to the SDRs, the rest to "
        "nurture. On the sources' score scale: from the lowest `score.min` to the highest "
        "`score.max` of the sources.",
        json_schema_extra={"unit": "score points"},
    )
