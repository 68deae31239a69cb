"""How the SDRs work a lead: the cadence, speed-to-lead decay, outcomes and nurture.

Touches and their gaps and odds, the rep time each takes, how response time cools a lead,
what a conversation leads to, and how leads below the threshold engage and come back as
re-MQLs. What happens once a lead is tossed up to an AE is in ``sales``.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import Field, field_validator, model_validator

from ..base.units import HOUR, MINUTE, format_duration
from .bounds import (
    MAX_ATTEMPTS,
    MAX_ITEMS,
    MAX_NURTURE_EFFECT,
    MAX_QUALITY_EFFECT,
    MAX_SCORE,
    MIN_ENGAGEMENT,
    MIN_GAP,
    MIN_REPLY,
    PER_QUALITY,
    Probability,
    mean_at_least,
)
from .dists import AmountDist, Duration, DurationDist, FieldError, Frozen


class OutcomePath(StrEnum):
    """What a conversation outcome does with the lead next."""

    TOSS_UP = "toss_up"  # an SQL: tossed up to an AE
    FOLLOW_UP = "follow_up"  # interested later: the follow-up cadence, then nurture
    CALLBACK = "callback"  # a callback later (the next budget period or a delay), then nurture
    CLOSED = "closed"  # not called again


@dataclass(frozen=True)
class OutcomeKind:
    """One outcome of a conversation: its name (the scenario's field), its path, the end state
    it leaves the lead in (a ``simfunnel.model.State`` by name), its share of conversations
    when a fit has no data for it, and how a table names it."""

    name: str
    path: OutcomePath
    end_state: str
    default_share: float
    label: str


# Every outcome, in the order the engine draws them. The first is the only one that tosses up
# (the speed-to-lead decay scales it). Adding an outcome: an entry here, its two fields in
# OutcomeProbabilities and QualityEffects below, and its end state in model.states.State
# (docs/architecture.md walks through an example).
OUTCOME_KINDS = (
    OutcomeKind("qualified", OutcomePath.TOSS_UP, "sql", 0.0, "meeting booked"),
    OutcomeKind(
        "information_gathering",
        OutcomePath.FOLLOW_UP,
        "information_gathering",
        0.25,
        "interested later",
    ),
    OutcomeKind("postponed", OutcomePath.CALLBACK, "postponed", 0.10, "call back later"),
    OutcomeKind("no_prospect", OutcomePath.CLOSED, "no_prospect", 0.25, "no prospect"),
    OutcomeKind("do_not_call", OutcomePath.CLOSED, "do_not_call", 0.05, "do not call"),
)
OUTCOMES = tuple(kind.name for kind in OUTCOME_KINDS)
if [k for k in OUTCOME_KINDS if k.path == OutcomePath.TOSS_UP] != [OUTCOME_KINDS[0]]:
    raise ImportError("OUTCOME_KINDS: the first outcome, and only it, tosses up")


class CallDurations(Frozen):
    """Rep time per attempt, by how far the call got; after-call work is added to each."""

    no_connect: DurationDist = Field(
        default="1.5 min",
        validate_default=True,
        description="Dial with no answer, busy or voicemail.",
    )
    connect: DurationDist = Field(
        default="3 min",
        validate_default=True,
        description="Reached the company (reception) but not the person.",
    )
    conversation: DurationDist = Field(
        default="10 min", validate_default=True, description="Reached the person: the conversation."
    )
    after_call_work: DurationDist = Field(
        default="2 min",
        validate_default=True,
        description="Logging and follow-up email after every call attempt.",
    )
    email: DurationDist = Field(
        default="5 min",
        validate_default=True,
        description="Writing and sending one email touch of the cadence (see "
        "`cadence.email_touches`); no after-call work is added.",
    )


class Cadence(Frozen):
    """How a lead is worked until contact: attempts, gaps, and per-attempt odds."""

    max_attempts: int = Field(
        default=6,
        ge=1,
        le=MAX_ATTEMPTS,
        description="Attempts without contact before the lead goes back to nurture.",
        json_schema_extra={"unit": "attempts"},
    )
    gaps: tuple[Annotated[Duration, Field(ge=MIN_GAP)], ...] = Field(
        default=(24.0, 48.0, 48.0, 72.0, 96.0),
        max_length=MAX_ATTEMPTS,
        description="Time from one attempt to the next: one value for all, or max_attempts - 1 "
        "values, each at least 1 min. An attempt due outside working hours waits for the next "
        "working time.",
    )
    gap_unit: Literal["auto", "working_days", "calendar"] = Field(
        default="auto",
        description="How whole days in `gaps` count: 'working_days' skips the calendar's days off "
        "(a 1-day gap from Friday lands on Monday, so attempts stay on days 0, 1, 3, 5 of the "
        "working week), 'calendar' counts every day. 'auto': working days when the calendar has "
        "days off, calendar days on a 24/7 calendar. Hours beyond whole days are added as hours.",
    )
    connect_probability: Probability = Field(
        description="Chance a dial reaches the company (connect), per attempt."
    )
    contact_probability: Probability = Field(
        description="Chance a connected call reaches the person (contact), before speed-to-lead decay."
    )
    durations: CallDurations = Field(
        default_factory=CallDurations, description="Rep time per attempt."
    )
    email_touches: tuple[Annotated[int, Field(ge=1, le=MAX_ATTEMPTS)], ...] = Field(
        default=(),
        max_length=MAX_ATTEMPTS,
        description="Which touches of the cadence are emails rather than calls, by number "
        "(1-based, at most max_attempts), e.g. [2, 4] for call, email, call, email, call, call. "
        "An email touch costs `durations.email` of rep time and may get a reply. A cadence with "
        "email touches sends no automated email after failed calls.",
        json_schema_extra={"unit": "touch numbers"},
    )
    email_reply_probability: Probability = Field(
        default=0.0,
        description="Share of emails that get a reply asking for a call back (a priority call): "
        "the email touches, or, in a cadence without them, the automated email sent after "
        "each call attempt without contact.",
    )
    email_reply_after: DurationDist = Field(
        default={"dist": "exponential", "mean": "1 day"},
        validate_default=True,
        description="From the failed attempt (and its email) to the reply; a mean of at least "
        "1 min.",
    )

    @field_validator("email_reply_after")
    @classmethod
    def _reply_takes_time(cls, value: Any) -> Any:
        # Instant replies to instant failed calls could loop for ever at one moment.
        return mean_at_least(value, MIN_REPLY)

    @model_validator(mode="after")
    def _gaps_fit(self) -> Cadence:
        needed = self.max_attempts - 1
        if needed and len(self.gaps) not in (1, needed):
            raise FieldError(
                ("gaps",),
                f"needs 1 value or max_attempts - 1 = {needed} values, one per gap",
                len(self.gaps),
            )
        for i, touch in enumerate(self.email_touches):
            if touch > self.max_attempts:
                raise FieldError(
                    ("email_touches", i),
                    f"must be a touch number from 1 to max_attempts = {self.max_attempts}",
                    touch,
                )
        if len(set(self.email_touches)) < len(self.email_touches):
            raise FieldError(
                ("email_touches",), "touch numbers must not repeat", self.email_touches
            )
        if self.max_attempts and len(set(self.email_touches)) == self.max_attempts:
            raise FieldError(
                ("email_touches",),
                "at least one touch must be a call (nobody can be reached by email alone)",
                self.email_touches,
            )
        return self

    def gap(self, attempt: int) -> float:
        """Hours from attempt number ``attempt`` (1-based) to the next one."""
        return self.gaps[0] if len(self.gaps) == 1 else self.gaps[attempt - 1]


DecayTable = Annotated[
    dict[Duration, Annotated[float, Field(ge=0, le=1)]], Field(max_length=MAX_ITEMS)
]

# Shaped on the published lead-response figures in DOMAIN.md (HBR 2011; MIT/InsideSales 2007),
# read as the studies measure them: the chance that a lead is qualified, given the response time
# of the cadence that answers it (every attempt of that cadence carrying the multipliers), is
# about 7x higher for a response in the first hour than in the second, and over 60x higher than
# for a response after 24 hours, for the usual inbound cadences (1 to 6 attempts, connect and
# contact odds from 0.3 to 1). tests/model/test_theory.py checks these ratios.
DEFAULT_CONTACT_DECAY = {0.0: 1.0, 5 * MINUTE: 1.0, 30 * MINUTE: 0.6, 1.0: 0.5, 2.0: 0.4, 24.0: 0.3}
DEFAULT_QUALIFY_DECAY = {
    0.0: 1.0,
    5 * MINUTE: 1.0,
    30 * MINUTE: 0.8,
    1.0: 0.27,
    2.0: 0.032,
    24.0: 0.02,
}


class SpeedToLead(Frozen):
    """Leads go cold: the response time to an inquiry sets the contact and qualification odds.

    As the published studies measure it, the response time is the time from the inquiry (the
    lead becoming an MQL, a re-MQL, or a reply to an email) to the first attempt of the cadence
    that answers it. Every attempt of that cadence carries the multipliers fixed then: a retry on
    day 3 is not a 3-day-late response. Follow-ups and callbacks at a time agreed with the lead
    are conversations the lead expects and carry ``agreed_factor`` instead.
    """

    enabled: bool = Field(default=True, description="false switches decay off (multipliers of 1).")
    contact: DecayTable = Field(
        default_factory=lambda: dict(DEFAULT_CONTACT_DECAY),
        description="Response time -> multiplier on contact_probability; interpolated linearly in "
        "log(1 + minutes), flat beyond the last point.",
        json_schema_extra={"unit": "duration -> multiplier 0-1"},
    )
    qualify: DecayTable = Field(
        default_factory=lambda: dict(DEFAULT_QUALIFY_DECAY),
        description="Response time -> multiplier on the 'qualified' outcome probability; "
        "interpolated like contact.",
        json_schema_extra={"unit": "duration -> multiplier 0-1"},
    )
    applies_to: Literal["response", "every_touch"] = Field(
        default="response",
        description="'response': the multipliers are fixed by the response time of each cadence "
        "(as measured by HBR 2011 and MIT/InsideSales 2007). 'every_touch': the older reading, "
        "the lead's age at every touch since its cadence started; it implies that a retry the "
        "next day qualifies at 2.5% of a fresh call's odds and a callback at a time the lead "
        "asked for is a day-late response, so few SQLs ever come from later attempts.",
    )
    agreed_factor: Annotated[float, Field(gt=0, le=1)] = Field(
        default=1.0,
        description="Multiplier on contact and qualification odds of follow-up and callback "
        "cadences (a time agreed with the lead): 1 means as good as an instant response.",
        json_schema_extra={"unit": "multiplier 0-1"},
    )
    patience: DurationDist | None = Field(
        default=None,
        description="How long a new MQL stays warm if nobody calls it: one not attempted within "
        "its patience goes cold (end state 'cold', lost to the SDR process). Not set: MQLs "
        "wait for ever. Exponential patience makes the team an M/M/c+M (Erlang A) queue.",
    )

    @field_validator("contact", "qualify")
    @classmethod
    def _non_empty(cls, value: dict[float, float]) -> dict[float, float]:
        if not value:
            raise ValueError("give at least one point, or set enabled: false")
        return dict(sorted(value.items()))


class OutcomeProbabilities(Frozen):
    """Outcome shares after a contact with a fresh lead of quality 0; they must sum to 1."""

    qualified: Probability = Field(description="Meeting booked: an SQL, tossed up to an AE.")
    information_gathering: Probability = Field(
        description="Interested later: back to nurture, with a follow-up cadence."
    )
    postponed: Probability = Field(
        description="'Reconsider next term': a callback later, not a loss."
    )
    no_prospect: Probability = Field(description="Bought elsewhere or not a fit: closed.")
    do_not_call: Probability = Field(description="Asked not to be called: closed.")

    @model_validator(mode="after")
    def _sum_to_one(self) -> OutcomeProbabilities:
        total = sum(getattr(self, k) for k in OUTCOMES)
        if not math.isclose(total, 1.0, abs_tol=1e-6):
            raise ValueError(f"outcome probabilities must sum to 1 (got {total:.4g})")
        return self


class QualityEffects(Frozen):
    """How strongly latent quality shifts each outcome (log-odds per unit of quality).

    Each within +-10: with quality within +-5 and a spread of at most 5, the odds stay finite.
    """

    qualified: float = Field(
        default=0.8,
        ge=-MAX_QUALITY_EFFECT,
        le=MAX_QUALITY_EFFECT,
        description="Better leads qualify more often.",
        json_schema_extra={"unit": PER_QUALITY},
    )
    information_gathering: float = Field(
        default=0.0,
        ge=-MAX_QUALITY_EFFECT,
        le=MAX_QUALITY_EFFECT,
        description="Shift of 'information_gathering'.",
        json_schema_extra={"unit": PER_QUALITY},
    )
    postponed: float = Field(
        default=0.0,
        ge=-MAX_QUALITY_EFFECT,
        le=MAX_QUALITY_EFFECT,
        description="Shift of 'postponed'.",
        json_schema_extra={"unit": PER_QUALITY},
    )
    no_prospect: float = Field(
        default=-0.6,
        ge=-MAX_QUALITY_EFFECT,
        le=MAX_QUALITY_EFFECT,
        description="Better leads are less often no prospect.",
        json_schema_extra={"unit": PER_QUALITY},
    )
    do_not_call: float = Field(
        default=-0.3,
        ge=-MAX_QUALITY_EFFECT,
        le=MAX_QUALITY_EFFECT,
        description="Better leads less often ask not to be called.",
        json_schema_extra={"unit": PER_QUALITY},
    )


class Outcomes(Frozen):
    """What happens after a contact; each outcome is its own path."""

    probabilities: OutcomeProbabilities = Field(
        description="Outcome probabilities for a lead of quality 0 contacted fresh; must sum to 1."
    )
    quality_effect: QualityEffects = Field(
        default_factory=QualityEffects,
        description="Log-odds shift per unit of quality, per outcome (multinomial logit).",
    )
    follow_ups: tuple[Duration, ...] = Field(
        default=(14 * 24 * HOUR, 30 * 24 * HOUR),
        max_length=MAX_ATTEMPTS,
        description="After 'information_gathering': a follow-up cadence at each of these times "
        "after the first such conversation (about 2 weeks and 1 month); one is used each time "
        "the lead is again 'information_gathering'. Then it goes to nurture.",
    )
    callback_after: DurationDist = Field(
        default="90 days",
        validate_default=True,
        description="After 'postponed' (the stated time), the callback cadence starts this much "
        "later.",
    )
    budget_periods: tuple[Annotated[str, Field(pattern=r"^\d\d-\d\d$")], ...] = Field(
        default=(),
        max_length=366,
        description="Starts of budget-planning periods as 'MM-DD', e.g. ['04-01', '10-01'].",
        json_schema_extra={"unit": "'MM-DD'"},
    )
    budget_period_share: Probability = Field(
        default=0.0,
        description="Share of 'postponed' leads called back at the start of the next budget "
        "period instead of after callback_after.",
    )
    max_callbacks: int = Field(
        default=1,
        ge=0,
        le=MAX_ATTEMPTS,
        description="Callback cadences per lead; then it goes to nurture.",
        json_schema_extra={"unit": "cadences"},
    )

    @model_validator(mode="after")
    def _budget_periods_given(self) -> Outcomes:
        if self.budget_period_share > 0 and not self.budget_periods:
            raise FieldError(
                ("budget_periods",),
                "give the budget-period starts when budget_period_share is above 0",
                [],
            )
        for i, text in enumerate(self.budget_periods):
            try:
                dt.date(2024, int(text[:2]), int(text[3:]))  # a leap year accepts 02-29
            except ValueError:
                raise FieldError(("budget_periods", i), "not a valid month and day", text) from None
        return self


class Nurture(Frozen):
    """Marketing nurture: engagement moves the score of leads below the threshold, and those
    that cross it become MQLs again (re-MQLs)."""

    engagement_every: DurationDist = Field(
        default={"dist": "exponential", "mean": "4 weeks"},
        validate_default=True,
        description="Time between engagement events (email clicks, visits, downloads) of a "
        "lead of quality 0; exponential means engagement is a Poisson process. A mean of at "
        "least 1 h, and at most 100,000 engagements expected within `age_out` of a lead 4 "
        "standard deviations above its source's mean quality.",
    )
    quality_effect: float = Field(
        default=0.5,
        ge=-MAX_NURTURE_EFFECT,
        le=MAX_NURTURE_EFFECT,
        description="Log-rate change of engagement per unit of quality: better leads engage "
        "more, so re-MQLs are better than average. Within +-3.",
        json_schema_extra={"unit": "log-rate per unit of quality"},
    )
    score_jump: AmountDist = Field(
        default=10.0,
        validate_default=True,
        description="Score points an engagement event adds.",
        json_schema_extra={"unit": "score points"},
    )
    decay_per_week: float = Field(
        default=2.0,
        ge=0,
        le=MAX_SCORE,
        description="Score points lost per week of inactivity (linear, down to the source's "
        "score.min).",
        json_schema_extra={"unit": "score points per week"},
    )
    cool_down: Duration = Field(
        default=30 * 24.0,
        description="Least time from entering nurture to a re-MQL, so a lead just given up on "
        "is not handed straight back (at least 1 day).",
    )
    age_out: Duration = Field(
        default=180 * 24.0,
        gt=0,
        description="A lead that has not re-MQLed this long after entering nurture leaves it "
        "(end state 'aged_out').",
    )
    recycle_penalty: float = Field(
        default=20.0,
        ge=0,
        le=MAX_SCORE,
        description="Score points taken off a lead recycled after the last failed attempt.",
        json_schema_extra={"unit": "score points"},
    )

    @field_validator("engagement_every")
    @classmethod
    def _engagement_takes_time(cls, value: Any) -> Any:
        # A zero time between engagements would never let the clock move on, and every
        # engagement is one step of every nurture path: a tiny one takes for ever.
        return mean_at_least(value, MIN_ENGAGEMENT)

    @field_validator("cool_down")
    @classmethod
    def _at_least_a_day(cls, value: float) -> float:
        # Nurture paths are walked once a day; a shorter cool-down could re-MQL in the past.
        if value < 24.0:
            raise ValueError(f"must be at least 1 day (got {format_duration(value)})")
        return value
