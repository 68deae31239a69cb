"""The sales stage: which qualified leads are tossed up, and what the AEs make of them.

The toss-up (SQL) criteria, the AEs' acceptance, sales cycle, win rate, deal value and lost
reasons, and the quality-dependent probabilities they use. The AE team's size over time is in
``teams``.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, field_validator, model_validator

from ..base.money import DEFAULT_CURRENCY, currency_symbol, is_currency, money
from .bounds import MAX_ITEMS, MAX_NAME, MAX_QUALITY_EFFECT, PER_QUALITY, Probability
from .dists import AmountDist, Duration, DurationDist, FieldError, Frozen
from .teams import AETeam


class LogisticRate(Frozen):
    """A probability that depends on quality: logit(p) = logit(probability) + quality_effect * q."""

    probability: Probability = Field(description="Probability for a lead of quality 0.")
    quality_effect: float = Field(
        default=0.0,
        ge=-MAX_QUALITY_EFFECT,
        le=MAX_QUALITY_EFFECT,
        description="Log-odds shift per unit of quality (within +-10).",
        json_schema_extra={"unit": PER_QUALITY},
    )


class Currency(Frozen):
    """The currency of every amount in the scenario: deal values, costs, the value a decision
    weighs. Reports, tables and charts write amounts with it."""

    code: str = Field(
        default=DEFAULT_CURRENCY,
        description="ISO 4217 code of every amount in the scenario, e.g. USD, EUR, GBP, JPY.",
    )
    symbol: str | None = Field(
        default=None,
        min_length=1,
        max_length=8,
        description="How amounts are written, e.g. 'US$'; not set: the code's usual symbol "
        "($, €, £, ¥; the code itself where there is none).",
    )

    @field_validator("code", mode="before")
    @classmethod
    def _known_code(cls, value: object) -> object:
        """An ISO 4217 code, in any case: 'eur' is EUR; an unknown one is refused."""
        if isinstance(value, str):
            code = value.strip().upper()
            if not is_currency(code):
                raise ValueError(
                    f"{value!r} is not an ISO 4217 currency code (for example USD, EUR, GBP, JPY)"
                )
            return code
        return value

    @property
    def shown(self) -> str:
        """The symbol amounts are written with."""
        return self.symbol if self.symbol is not None else currency_symbol(self.code)

    def format(self, value: float, *, compact: bool = True, signed: bool = False) -> str:
        """``value`` in this currency: "$25.3M" (compact) or "$25,298,340"."""
        return money(value, self.code, compact=compact, signed=signed, symbol=self.symbol)


DEFAULT_LOST_REASONS = {"no_decision": 0.4, "competitor": 0.3, "price": 0.2, "timing": 0.1}


class AccountExecutives(Frozen):
    """The AE stage: accept or reject tossed-up leads, run the sales cycle, close."""

    team: AETeam | None = Field(
        default=None,
        description="AE headcount and capacity; not set: unlimited AEs (no waiting).",
    )
    wait_effect: float = Field(
        default=-0.3,
        ge=-MAX_QUALITY_EFFECT,
        le=0,
        description="Log-odds change of acceptance per week a tossed-up lead waited for an "
        "AE: waiting cools the lead down.",
        json_schema_extra={"unit": "log-odds per week"},
    )
    lost_reasons: dict[Annotated[str, Field(max_length=MAX_NAME)], Probability] = Field(
        default_factory=lambda: dict(DEFAULT_LOST_REASONS),
        max_length=MAX_ITEMS,
        description="Why lost opportunities are lost: reason -> share, summing to 1.",
        json_schema_extra={"unit": "reason -> share 0-1"},
    )

    meeting_delay: DurationDist = Field(
        default="2 days",
        validate_default=True,
        description="From toss-up to the first meeting, where the AE accepts or rejects the lead.",
    )
    acceptance: LogisticRate = Field(description="Chance a tossed-up lead is a valid opportunity.")
    sales_cycle: DurationDist = Field(description="From valid opportunity to close (won or lost).")
    win: LogisticRate = Field(description="Chance a valid opportunity is won.")
    deal_value: AmountDist = Field(
        description="Value of an opportunity (currency); finite, at most 10^12 (a trillion).",
        json_schema_extra={"unit": "currency"},
    )
    meeting_hours: Duration = Field(
        default=1.0,
        description="AE time spent on the first meeting of every tossed-up lead, accepted or "
        "not: what a rejected SQL costs the AEs (see `costs.ae_per_hour`).",
    )
    nurture_reasons: tuple[str, ...] | None = Field(
        default=None,
        max_length=MAX_ITEMS,
        description="Lost reasons whose leads go back to marketing nurture (and may come back as "
        "re-MQLs) rather than being closed; needs a nurture section to have an effect. Not set: "
        "'timing' and 'no_decision', where they are among the lost_reasons.",
    )
    rejected_to_nurture: bool = Field(
        default=True,
        description="Whether leads the AE rejects go back to marketing nurture (with a nurture "
        "section) rather than being closed.",
    )

    @model_validator(mode="after")
    def _nurture_reasons_known(self) -> AccountExecutives:
        for i, reason in enumerate(self.nurture_reasons or ()):
            if reason not in self.lost_reasons:
                raise FieldError(
                    ("nurture_reasons", i),
                    f"must be one of the lost_reasons ({', '.join(self.lost_reasons)})",
                    reason,
                )
        return self

    @property
    def reasons_to_nurture(self) -> tuple[str, ...]:
        """The lost reasons that send a lead back to nurture."""
        if self.nurture_reasons is not None:
            return self.nurture_reasons
        return tuple(r for r in ("timing", "no_decision") if r in self.lost_reasons)

    @field_validator("lost_reasons")
    @classmethod
    def _reasons_sum_to_one(cls, value: dict[str, float]) -> dict[str, float]:
        if not value:
            raise ValueError("give at least one reason")
        total = sum(value.values())
        if abs(total - 1.0) > 1e-6:
            raise ValueError(f"shares must sum to 1 (they sum to {total:g})")
        return value


DEFAULT_BANT = {
    "budget": {"probability": 0.5, "quality_effect": 1.0},
    "authority": {"probability": 0.6, "quality_effect": 0.5},
    "need": {"probability": 0.7, "quality_effect": 1.0},
    "timeline": {"probability": 0.5, "quality_effect": 0.5},
}


class TossUp(Frozen):
    """The toss-up (SQL) criteria: which qualified conversations the reps hand to an AE.

    A BANT-style checklist: in a qualifying conversation each criterion is met with a probability
    that rises with the lead's quality, and the lead is tossed up only when at least ``require``
    of them are met; otherwise it goes the 'information_gathering' path (nurture with a
    follow-up). Stricter criteria send fewer, better SQLs: the AE accepts more of them and
    spends less time on rejections. Each lead's answers are drawn once, so every option of a
    comparison sees the same leads answer the same way.
    """

    criteria: dict[Annotated[str, Field(max_length=MAX_NAME)], LogisticRate] = Field(
        default_factory=lambda: {k: dict(v) for k, v in DEFAULT_BANT.items()},
        validate_default=True,
        max_length=MAX_ITEMS,
        description="Criterion -> chance a qualified lead meets it (by quality); budget, "
        "authority, need and timeline by default.",
        json_schema_extra={"unit": "name -> probability and quality effect"},
    )
    require: int = Field(
        default=0,
        ge=0,
        description="How many criteria must be met to toss a lead up; 0 tosses up every "
        "qualified conversation.",
        json_schema_extra={"unit": "criteria"},
    )

    @model_validator(mode="after")
    def _require_fits(self) -> TossUp:
        if self.require > len(self.criteria):
            raise FieldError(
                ("require",),
                f"must be at most the number of criteria ({len(self.criteria)})",
                self.require,
            )
        return self
