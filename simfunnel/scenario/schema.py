"""The scenario: one frozen, validated object built from a YAML file.

Everything the engine needs is checked here, once, with errors that name the file and the field,
so the engine can trust its input and never looks at raw dictionaries. The field descriptions
below are the source of ``docs/scenarios.md`` (``python -m simfunnel.docgen``).
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections import Counter
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BeforeValidator,
    Field,
    field_validator,
    model_validator,
)

from ..base.units import DAY, HOUR, MAX_DURATION, MINUTE, WEEK, duration_text, format_duration
from .dists import MAX_AMOUNT, AmountDist, Duration, DurationDist, FieldError, Frozen

Probability = Annotated[float, Field(ge=0, le=1)]
_FieldError = FieldError  # a problem that belongs to one named field, raised by a validator

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


def _date_text(value: Any) -> Any:
    """A date is written as text (YYYY-MM-DD): a bare number would be read as a timestamp."""
    if isinstance(value, bool | int | float):
        raise ValueError("write a date as YYYY-MM-DD")
    return value


def _date_in_range(value: dt.date) -> dt.date:
    day = value.date() if isinstance(value, dt.datetime) else value
    if not MIN_DATE <= day <= MAX_DATE:
        raise ValueError(f"must be from {MIN_DATE} to {MAX_DATE} (got {day.isoformat()!r})")
    return value


Date = Annotated[dt.date, BeforeValidator(_date_text), AfterValidator(_date_in_range)]
"""A calendar date from 1990-01-01 to 2100-12-31."""
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_PER_QUALITY = "log-odds per unit of quality"
OUTCOMES = ("qualified", "information_gathering", "postponed", "no_prospect", "do_not_call")


class ScenarioError(Exception):
    """A scenario that cannot be used; ``problems`` holds one line per problem."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


def _mean_at_least(value: Any, least: float) -> Any:
    """A distribution of durations whose mean is at least ``least`` hours."""
    if not value.mean >= least:
        raise ValueError(
            f"needs a mean of at least {duration_text(least)} (got {duration_text(value.mean)})"
        )
    return value


# --------------------------------------------------------------------------- calendar


class Calendar(Frozen):
    """When reps work. Leads keep arriving outside these hours; they wait."""

    always_open: bool = Field(
        default=False,
        description="true for a 24/7 operation; days, hours and holidays are then ignored.",
    )
    days: tuple[Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"], ...] = Field(
        default=("mon", "tue", "wed", "thu", "fri"),
        min_length=1,
        description="Working days of the week.",
    )
    hours: str = Field(
        default="09:00-18:00",
        description="Daily working hours, 'HH:MM-HH:MM' (local time), within one day.",
        json_schema_extra={"unit": "'HH:MM-HH:MM', local time"},
    )
    holidays: tuple[Date, ...] = Field(
        default=(),
        max_length=round(MAX_DURATION / DAY),
        description="Dates on which nobody works, e.g. [2026-01-01, 2026-12-25]; each from "
        "1990-01-01 to 2100-12-31.",
    )

    @field_validator("hours")
    @classmethod
    def _hours_format(cls, value: str) -> str:
        match = re.fullmatch(r"\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*", value)
        if match is None:
            raise ValueError("write hours as 'HH:MM-HH:MM', for example '09:00-18:00'")
        h0, m0, h1, m1 = (int(x) for x in match.groups())
        if h0 > 24 or h1 > 24 or m0 > 59 or m1 > 59:
            raise ValueError("hours and minutes out of range")
        if not (h0 * 60 + m0) < (h1 * 60 + m1) <= 24 * 60:
            raise ValueError("opening time must be before closing time, within one day")
        return value

    @property
    def open_close(self) -> tuple[float, float]:
        """Opening and closing time of day, in hours."""
        if self.always_open:
            return 0.0, 24.0
        h0, m0, h1, m1 = (int(x) for x in re.findall(r"\d+", self.hours))
        return h0 + m0 * MINUTE, h1 + m1 * MINUTE


def _calendar_shorthand(value: Any) -> Any:
    if isinstance(value, str) and value.strip().lower() in {"24/7", "always", "always_open"}:
        return {"always_open": True}
    return value


# --------------------------------------------------------------------------- sources


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
        return _date_in_range(value)


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
        json_schema_extra={"unit": _PER_QUALITY},
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


# --------------------------------------------------------------------------- team and process


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


class HeadcountChange(Frozen):
    """A dated step in the headcount plan: hires join, planned exits leave (not back-filled)."""

    date: Date = Field(description="Day the change takes effect (at the start of the day).")
    hire: int = Field(
        default=0,
        ge=0,
        le=MAX_HEADCOUNT,
        description="New reps who join that day; they ramp up along `ramp`.",
        json_schema_extra={"unit": "reps"},
    )
    leave: int = Field(
        default=0,
        ge=0,
        le=MAX_HEADCOUNT,
        description="Reps who leave that day by plan (the most recent joiners first); "
        "not back-filled.",
        json_schema_extra={"unit": "reps"},
    )


class Staffing(Frozen):
    """A team whose size changes over time: the starting headcount, a plan, ramp and attrition."""

    headcount: int = Field(
        ge=0,
        le=MAX_HEADCOUNT,
        description="Reps at the start of the run, fully ramped; for SDRs at least 1 while leads "
        "arrive (or hires in `plan`). A whole number, at most 10,000.",
        json_schema_extra={"unit": "reps"},
    )
    ramp: tuple[Annotated[float, Field(gt=0, le=1)], ...] = Field(
        default=(),
        max_length=MAX_RAMP_MONTHS,
        description="Productivity of a new hire by month of tenure, e.g. [0.25, 0.5, 0.75]: "
        "the share of a full rep's phone time they have (the rest is training); 1 afterwards. "
        "Applies to hires and back-fills, not to the starting team.",
        json_schema_extra={"unit": "share 0-1 per month"},
    )
    attrition_per_year: float = Field(
        default=0.0,
        ge=0,
        le=MAX_ATTRITION,
        description="Rate at which reps leave at random (exits per rep-year; 0.5 means a mean "
        "tenure of 2 years; at most 12, a mean tenure of a month). Each leaver is back-filled "
        "after `backfill_after`.",
        json_schema_extra={"unit": "per rep-year"},
    )
    backfill_after: Duration = Field(
        default=8 * 7 * 24.0,
        description="Hiring delay: from a random exit to the start of the replacement, who "
        "then ramps.",
    )
    plan: tuple[HeadcountChange, ...] = Field(
        default=(), max_length=MAX_PLAN, description="Dated hires and planned exits, in any order."
    )

    def may_staff(self) -> bool:
        """Whether anyone ever works: someone at the start or a hire later."""
        return self.headcount > 0 or any(change.hire for change in self.plan)


class CallingStaff(Staffing):
    """A team on the phones: its size over time, plus the share of time it is not calling."""

    shrinkage: float = Field(
        default=0.3,
        ge=0,
        lt=1,
        description="Share of paid hours not available for calls (meetings, email, training). "
        "Modelled as one block a day per rep, staggered across the team.",
        json_schema_extra={"unit": "share 0-1"},
    )
    pto_days_per_year: float = Field(
        default=0.0,
        ge=0,
        le=365,
        description="Paid time off per rep: days off drawn at random among working days, "
        "on top of `shrinkage` and the calendar's holidays.",
        json_schema_extra={"unit": "days per rep-year"},
    )
    skill_ramp: tuple[Annotated[float, Field(gt=0, le=1)], ...] = Field(
        default=(),
        max_length=MAX_RAMP_MONTHS,
        description="Learning curve of a new hire by month of tenure, e.g. [0.6, 0.8, 0.9]: a "
        "multiplier on their contact and qualification odds (1 afterwards). It comes on top of "
        "`ramp` (which is about hours); like it, it applies to hires and back-fills, and to the "
        "starting team only when `starting_tenure_months` says they are new.",
        json_schema_extra={"unit": "multiplier 0-1 per month"},
    )
    starting_tenure_months: float | None = Field(
        default=None,
        ge=0,
        le=600,
        description="Tenure of the starting team at the start of the run; 0 for a team launched "
        "on start_date, whose reps then ramp and learn like hires. Not set: fully ramped.",
        json_schema_extra={"unit": "months"},
    )


class DialGoal(Frozen):
    """A daily activity goal of each rep: measured, not enforced."""

    dials_per_day: int = Field(
        default=0,
        ge=0,
        le=MAX_PER_DAY,
        description="Dials each rep aims at per working day; not a limit, measured: results "
        "give the share of rep-days that reached it (0: no goal). A launch-phase team is "
        "judged on it.",
        json_schema_extra={"unit": "dials per rep-day"},
    )


class Team(CallingStaff):
    """The SDRs who work inbound MQLs."""

    goals: DialGoal = Field(default_factory=DialGoal, description="Daily activity goal per SDR.")

    queue_rule: Literal["new_first", "fifo", "score"] = Field(
        default="new_first",
        description="Which ready lead a free rep calls next: 'new_first' (first attempts before "
        "retries, each oldest first: speed-to-lead), 'fifo' (oldest ready first) or 'score' "
        "(highest score first).",
    )


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
        return _mean_at_least(value, MIN_REPLY)

    @model_validator(mode="after")
    def _gaps_fit(self) -> Cadence:
        needed = self.max_attempts - 1
        if needed and len(self.gaps) not in (1, needed):
            raise _FieldError(
                ("gaps",),
                f"needs 1 value or max_attempts - 1 = {needed} values, one per gap",
                len(self.gaps),
            )
        for i, touch in enumerate(self.email_touches):
            if touch > self.max_attempts:
                raise _FieldError(
                    ("email_touches", i),
                    f"must be a touch number from 1 to max_attempts = {self.max_attempts}",
                    touch,
                )
        if len(set(self.email_touches)) < len(self.email_touches):
            raise _FieldError(
                ("email_touches",), "touch numbers must not repeat", self.email_touches
            )
        if self.max_attempts and len(set(self.email_touches)) == self.max_attempts:
            raise _FieldError(
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
# contact odds from 0.3 to 1). tests/test_theory.py checks these ratios.
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
    """Outcome shares after a contact with a fresh lead of quality 0; the five must sum to 1."""

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
        json_schema_extra={"unit": _PER_QUALITY},
    )
    information_gathering: float = Field(
        default=0.0,
        ge=-MAX_QUALITY_EFFECT,
        le=MAX_QUALITY_EFFECT,
        description="Shift of 'information_gathering'.",
        json_schema_extra={"unit": _PER_QUALITY},
    )
    postponed: float = Field(
        default=0.0,
        ge=-MAX_QUALITY_EFFECT,
        le=MAX_QUALITY_EFFECT,
        description="Shift of 'postponed'.",
        json_schema_extra={"unit": _PER_QUALITY},
    )
    no_prospect: float = Field(
        default=-0.6,
        ge=-MAX_QUALITY_EFFECT,
        le=MAX_QUALITY_EFFECT,
        description="Better leads are less often no prospect.",
        json_schema_extra={"unit": _PER_QUALITY},
    )
    do_not_call: float = Field(
        default=-0.3,
        ge=-MAX_QUALITY_EFFECT,
        le=MAX_QUALITY_EFFECT,
        description="Better leads less often ask not to be called.",
        json_schema_extra={"unit": _PER_QUALITY},
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
            raise _FieldError(
                ("budget_periods",),
                "give the budget-period starts when budget_period_share is above 0",
                [],
            )
        for i, text in enumerate(self.budget_periods):
            try:
                dt.date(2024, int(text[:2]), int(text[3:]))  # a leap year accepts 02-29
            except ValueError:
                raise _FieldError(
                    ("budget_periods", i), "not a valid month and day", text
                ) from None
        return self


class LogisticRate(Frozen):
    """A probability that depends on quality: logit(p) = logit(probability) + quality_effect * q."""

    probability: Probability = Field(description="Probability for a lead of quality 0.")
    quality_effect: float = Field(
        default=0.0,
        ge=-MAX_QUALITY_EFFECT,
        le=MAX_QUALITY_EFFECT,
        description="Log-odds shift per unit of quality (within +-10).",
        json_schema_extra={"unit": _PER_QUALITY},
    )


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
        return _mean_at_least(value, MIN_ENGAGEMENT)

    @field_validator("cool_down")
    @classmethod
    def _at_least_a_day(cls, value: float) -> float:
        # Nurture paths are walked once a day; a shorter cool-down could re-MQL in the past.
        if value < 24.0:
            raise ValueError(f"must be at least 1 day (got {format_duration(value)})")
        return value


class TargetAccounts(Frozen):
    """The outbound target list: accounts picked from the ideal customer profile (ICP)."""

    name: str = Field(
        default="outbound",
        min_length=1,
        max_length=MAX_NAME,
        description="Name of the list in results (the source column); must differ from the "
        "inbound source names.",
    )
    initial: int = Field(
        ge=0,
        le=MAX_ACCOUNTS,
        description="Accounts on the list at the start of the run (at most 10,000,000).",
        json_schema_extra={"unit": "accounts"},
    )
    added_per_month: int = Field(
        default=0,
        ge=0,
        le=MAX_ACCOUNTS_PER_MONTH,
        description="Accounts added to the list on the first day of every calendar month after "
        "the start (list replenishment).",
        json_schema_extra={"unit": "accounts per month"},
    )
    icp_fit: QualityModel = Field(
        default_factory=QualityModel,
        description="ICP fit of the accounts: their latent quality (normal), on the same scale "
        "as inbound lead quality; it drives outcomes, acceptance and wins alike.",
    )


class ActivityGoals(Frozen):
    """Daily activity goals of each BDR."""

    new_accounts_per_day: int = Field(
        default=0,
        ge=0,
        le=MAX_PER_DAY,
        description="Accounts each BDR researches and starts a cadence on every working day "
        "before turning to due touches (0: research only when no touch is due).",
        json_schema_extra={"unit": "accounts per BDR-day"},
    )
    dials_per_day: int = Field(
        default=0,
        ge=0,
        le=MAX_PER_DAY,
        description="Dials each BDR aims at per working day; not a limit, measured: results "
        "give the share of BDR-days that reached it (0: no goal).",
        json_schema_extra={"unit": "dials per BDR-day"},
    )


class Outbound(Frozen):
    """Outbound prospecting: BDRs research accounts from a target list and work them with a
    cadence of calls and emails; qualified conversations are SGLs tossed up to the AEs."""

    accounts: TargetAccounts = Field(description="The target account list.")
    bdr: CallingStaff = Field(description="The BDR team: headcount, ramp, attrition, leave.")
    research: DurationDist = Field(
        default="15 min",
        validate_default=True,
        description="BDR time spent researching one account before its first touch; a mean of "
        "at least 1 min.",
    )
    cadence: Cadence = Field(
        description="The outbound cadence: touches (calls and `email_touches`), gaps and the "
        "(lower) connect and contact odds of cold prospects."
    )
    outcomes: Outcomes = Field(description="Outcomes after a BDR conversation.")
    goals: ActivityGoals = Field(
        default_factory=ActivityGoals, description="Daily activity goals per BDR."
    )

    @field_validator("research")
    @classmethod
    def _research_takes_time(cls, value: Any) -> Any:
        return _mean_at_least(value, MIN_RESEARCH)


DEFAULT_LOST_REASONS = {"no_decision": 0.4, "competitor": 0.3, "price": 0.2, "timing": 0.1}


class AETeam(Staffing):
    """The AEs: how many, and how many open opportunities each can carry at once."""

    max_open_per_ae: int = Field(
        ge=1,
        le=MAX_OPEN_PER_AE,
        description="Most opportunities one fully ramped AE carries at once (from the first "
        "meeting being booked to the close); a ramping AE carries its ramp share of it, at "
        "least 1. Tossed-up leads wait, first come first served, while every AE is full.",
        json_schema_extra={"unit": "opportunities per AE"},
    )


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
                raise _FieldError(
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
            raise _FieldError(
                ("require",),
                f"must be at most the number of criteria ({len(self.criteria)})",
                self.require,
            )
        return self


class Costs(Frozen):
    """What the funnel costs, for decisions that weigh value won against cost."""

    sdr_per_year: float = Field(
        default=0.0,
        ge=0,
        le=MAX_AMOUNT,
        description="Loaded cost of one SDR.",
        json_schema_extra={"unit": "currency per rep-year"},
    )
    bdr_per_year: float = Field(
        default=0.0,
        ge=0,
        le=MAX_AMOUNT,
        description="Loaded cost of one BDR.",
        json_schema_extra={"unit": "currency per rep-year"},
    )
    ae_per_year: float = Field(
        default=0.0,
        ge=0,
        le=MAX_AMOUNT,
        description="Loaded cost of one AE.",
        json_schema_extra={"unit": "currency per rep-year"},
    )
    ae_per_hour: float = Field(
        default=0.0,
        ge=0,
        le=MAX_AMOUNT,
        description="Cost of an hour of AE time spent on first meetings (`ae.meeting_hours`), "
        "on top of any yearly cost: the price of junk SQLs.",
        json_schema_extra={"unit": "currency per hour"},
    )
    per_lead: dict[str, Annotated[float, Field(ge=0, le=MAX_AMOUNT)]] = Field(
        default_factory=dict,
        max_length=MAX_SOURCES + 1,
        description="Source name -> cost of one lead from it (media, events, list purchase).",
        json_schema_extra={"unit": "source -> currency per lead"},
    )

    def per_year(self, role: str) -> float:
        """The loaded yearly cost of one rep of ``role`` ('sdr', 'bdr' or 'ae')."""
        return float(getattr(self, f"{role}_per_year"))


# --------------------------------------------------------------------------- uncertainty


class UncertainValue(Frozen):
    """A value of the scenario that is not known exactly, and how far it may be off. A fitted
    rate is an estimate: from 80 closed deals a win rate of 0.31 could as well be 0.25 or 0.4,
    and runs that hold it fixed give bands of process noise only, too narrow whenever the
    estimate is off. `simfunnel forecast` (and `simulate`/`run` with `draw_parameters=True`)
    draws every entry once per replication, before the run, and runs the process with the
    drawn values, so its bands cover what is not known as well as luck (`--no-parameter-draws`
    holds the values fixed; `Forecast.variance_split()` says how much of the spread each
    makes). `simfunnel fit` writes an entry for each arrival rate and conversion it fitted from
    data; add one by hand for a value known only roughly, e.g. `{path: ae.win.probability, dist:
    beta, a: 25.5, b: 55.5, basis: 25 won of 80 closed}`. A draw outside the field's bounds is
    clipped into them (a drawn qualification rate of 1.2 is 1, a strict bound is approached
    from inside), and a gamma or lognormal entry leaves a field that is 0 at 0 (switched off);
    a drawn outcome probability scales the other four so that the five still sum
    to 1, and a drawn `ae.lost_reasons` share scales the other reasons likewise. Entries are
    drawn in order on a random stream of their own: the same seed draws the same values, and
    the streams of arrivals, outcomes and deals are those of a run without draws. A field set
    with `--set` or an override is known: its entry is dropped.
    """

    path: str = Field(
        min_length=1,
        max_length=MAX_NAME,
        description="The field, as a dotted path the way `--set` writes it: `ae.win.probability`, "
        "`sources[web].rate_per_week` (a source by name or by number, `sources[0]`). It must "
        "name a number (a rate, probability, share, multiplier; a duration in hours), not a "
        "count, a section or a distribution, and be named by one entry only.",
    )
    dist: Literal["beta", "gamma", "lognormal"] = Field(
        description="'beta' (shapes a and b, mean a / (a + b); only for a probability or "
        "share, a field bounded by 0 and 1), 'gamma' (shape a, rate b; mean a / b) or "
        "'lognormal' (the log of the value is normal with mean a and sd b; median exp(a)).",
    )
    a: float = Field(
        ge=-MAX_SHAPE,
        le=MAX_SHAPE,
        description="The first parameter: beta's first shape or gamma's shape, above 0; or the "
        "lognormal's mu, the log of the median, any sign, within +-100.",
        json_schema_extra={"unit": "as dist"},
    )
    b: float = Field(
        gt=0,
        le=MAX_SHAPE,
        description="The second parameter, above 0: beta's second shape, gamma's rate, or the "
        "lognormal's sigma (the relative standard error, for a small one), at most 10.",
        json_schema_extra={"unit": "as dist"},
    )
    basis: str = Field(
        max_length=MAX_TEXT,
        description="What the spread rests on, e.g. '25 won of 80 closed, beta(k + 0.5, "
        "n - k + 0.5)'.",
    )

    @model_validator(mode="after")
    def _parameters(self) -> UncertainValue:
        if self.dist in ("beta", "gamma") and not self.a > 0:
            raise _FieldError(("a",), f"must be above 0 for a {self.dist}", self.a)
        if self.dist == "lognormal":
            if abs(self.a) > MAX_LOG:
                raise _FieldError(("a",), f"a lognormal's mu must be within +-{MAX_LOG:g}", self.a)
            if self.b > MAX_SIGMA:
                raise _FieldError(
                    ("b",), f"a lognormal's sigma must be at most {MAX_SIGMA:g}", self.b
                )
        return self


# --------------------------------------------------------------------------- scenario


class Scenario(Frozen):
    """A complete, validated description of a funnel; build it with :func:`load_scenario`."""

    name: str = Field(default="scenario", max_length=MAX_NAME, description="Shown in reports.")
    description: str = Field(default="", max_length=MAX_TEXT, description="Free text.")
    start_date: Date = Field(
        description="First day simulated (the clock starts at its midnight); from 1990-01-01 "
        "to 2100-12-31."
    )
    horizon: Duration = Field(
        gt=0,
        le=MAX_DURATION,
        description="Length of the simulated period, e.g. '52 weeks'; at most 10 years.",
    )
    warm_up: Duration = Field(
        default=0.0,
        le=MAX_WARM_UP_WEEKS * WEEK,
        description="Simulated before start_date and then discarded, in whole weeks, e.g. "
        "'8 weeks': queues, cadences, nurture and open opportunities fill up, so the reported "
        "period does not start from an empty funnel. Leads from the warm-up still open at "
        "start_date carry on (and count as carried in). At most 260 weeks (5 years).",
    )
    calendar: Annotated[
        Calendar,
        Field(description="Working calendar of the reps; '24/7' is short for {always_open: true}."),
    ] = Field(default_factory=Calendar)
    sources: tuple[Source, ...] = Field(
        min_length=1,
        max_length=MAX_SOURCES,
        description="Inbound lead sources (at most 1,000); names must be unique.",
    )
    scoring: Scoring = Field(description="MQL threshold.")
    sdr: Team = Field(description="The SDR team.")
    cadence: Cadence = Field(description="Call cadence and per-attempt odds.")
    speed_to_lead: SpeedToLead = Field(
        default_factory=SpeedToLead, description="Decay of contact and qualification odds."
    )
    outcomes: Outcomes = Field(description="Outcomes after a contact.")
    nurture: Nurture | None = Field(
        default=None,
        description="Score dynamics in nurture and re-MQLs; not set: nurture is where leads stay.",
    )
    outbound: Outbound | None = Field(
        default=None,
        description="Outbound prospecting by BDRs; not set: an inbound-only funnel.",
    )
    ae: AccountExecutives = Field(description="The AE stage.")
    toss_up: TossUp = Field(
        default_factory=TossUp,
        description="Toss-up (SQL) criteria beside the MQL threshold; by default every "
        "qualified conversation is tossed up.",
    )
    costs: Costs = Field(
        default_factory=Costs,
        description="Costs per rep, AE hour and lead; decisions weigh them against value won.",
    )
    uncertainty: tuple[UncertainValue, ...] = Field(
        default=(),
        max_length=MAX_ITEMS,
        description="Values not known exactly (fitted rates, rough guesses), each with the "
        "distribution of what it may be; a forecast draws them once per replication, so its "
        "bands cover what is not known as well as luck. Empty: every value is taken as exact.",
    )

    @field_validator("calendar", mode="before")
    @classmethod
    def _calendar(cls, value: Any) -> Any:
        return _calendar_shorthand(value)

    @field_validator("warm_up")
    @classmethod
    def _whole_weeks(cls, value: float) -> float:
        # Weekly results start at start_date: a warm-up of whole weeks keeps weeks whole.
        weeks = value / (7 * 24)
        if abs(weeks - round(weeks)) > 1e-9:
            raise ValueError(f"must be whole weeks (got {format_duration(value)})")
        return value

    def _nurture_paths_end(self, nurture: Nurture) -> None:
        """Refuse engagement so frequent that walking the nurture paths would take for ever:
        each engagement is one step of the walk, for the most engaged lead too."""
        shift = max(
            abs(nurture.quality_effect) * (abs(s.quality.mean) + 4 * s.quality.sd)
            for s in self.sources
        )
        per_lead = nurture.age_out / nurture.engagement_every.mean * math.exp(shift)
        if per_lead > MAX_ENGAGEMENTS:
            raise _FieldError(
                ("nurture", "engagement_every"),
                f"too frequent: a lead 4 sd above its source's mean quality would engage about "
                f"{per_lead:,.0f} times within age_out ({duration_text(nurture.age_out)}), "
                f"more than {MAX_ENGAGEMENTS:,}; engage less often, shorten age_out or lower "
                "quality_effect",
                duration_text(nurture.engagement_every.mean),
            )

    def extended(self) -> Scenario:
        """The scenario the engine runs: warm-up weeks added before the start."""
        if not self.warm_up:
            return self
        return self.model_copy(
            update={
                "start_date": self.start_date - dt.timedelta(hours=self.warm_up),
                "horizon": self.horizon + self.warm_up,
                "warm_up": 0.0,
            }
        )

    @model_validator(mode="after")
    def _consistent(self) -> Scenario:
        names = [s.name for s in self.sources]
        duplicates = sorted(n for n, k in Counter(names).items() if k > 1)
        if duplicates:
            raise _FieldError(("sources",), "source names must be unique", duplicates)
        low = min(s.score.min for s in self.sources)
        high = max(s.score.max for s in self.sources)
        if not low <= self.scoring.threshold <= high:
            raise _FieldError(
                ("scoring", "threshold"),
                f"must be on the sources' score scale, from {low:g} to {high:g} "
                "(score.min to score.max)",
                self.scoring.threshold,
            )
        if self.nurture is not None:
            self._nurture_paths_end(self.nurture)
        end = self.start + dt.timedelta(hours=self.horizon)
        for i, src in enumerate(self.sources):
            for j, burst in enumerate(src.bursts):
                if not self.start <= burst.start < end:
                    raise _FieldError(
                        ("sources", i, "bursts", j, "start"),
                        f"must fall inside the simulated period {self.start:%Y-%m-%d} to "
                        f"{end:%Y-%m-%d %H:%M}",
                        burst.start.isoformat(sep=" ", timespec="minutes"),
                    )
        leads_arrive = any(
            s.rate_per_week > 0 or any(b.leads for b in s.bursts) for s in self.sources
        )
        if leads_arrive and not self.sdr.may_staff():
            raise _FieldError(
                ("sdr", "headcount"),
                "needs at least 1 SDR (now or hired in sdr.plan) while leads arrive",
                0,
            )
        end_date = end.date()
        teams: list[tuple[tuple[str, ...], Staffing]] = [(("sdr",), self.sdr)]
        if self.ae.team is not None:
            teams.append((("ae", "team"), self.ae.team))
        out = self.outbound
        if out is not None:
            teams.append((("outbound", "bdr"), out.bdr))
            if out.accounts.name in names:
                raise _FieldError(
                    ("outbound", "accounts", "name"),
                    "must differ from the inbound source names",
                    out.accounts.name,
                )
            if (out.accounts.initial or out.accounts.added_per_month) and not out.bdr.may_staff():
                raise _FieldError(
                    ("outbound", "bdr", "headcount"),
                    "needs at least 1 BDR (now or hired in outbound.bdr.plan) while the target "
                    "list has accounts",
                    0,
                )
        for path, team in teams:
            for i, change in enumerate(team.plan):
                if not self.start_date <= change.date < end_date:
                    raise _FieldError(
                        (*path, "plan", i, "date"),
                        f"must fall inside the simulated period {self.start_date} to {end_date}",
                        change.date.isoformat(),
                    )
        for key in self.costs.per_lead:
            if key not in self.source_names:
                raise _FieldError(
                    ("costs", "per_lead", key),
                    f"must be a source name ({', '.join(self.source_names)})",
                    key,
                )
        if self.ae.team is not None and not self.ae.team.may_staff():
            raise _FieldError(
                ("ae", "team", "headcount"),
                "needs at least 1 AE (now or hired in ae.team.plan); leave out ae.team for "
                "unlimited AEs",
                0,
            )
        return self

    @model_validator(mode="after")
    def _uncertain_values_resolve(self) -> Scenario:
        """Each uncertainty entry names one number of this scenario that its distribution can
        hold; checked here so that a bad entry is refused on loading, not mid-forecast."""
        from .uncertain import UncertaintyPathError, resolve

        seen: dict[str, int] = {}
        for i, entry in enumerate(self.uncertainty):
            try:
                target = resolve(self, entry.path)
            except UncertaintyPathError as exc:
                raise _FieldError(("uncertainty", i, "path"), str(exc), entry.path) from None
            if target.path in seen:
                raise _FieldError(
                    ("uncertainty", i, "path"),
                    f"names the same field as uncertainty[{seen[target.path]}]",
                    entry.path,
                )
            seen[target.path] = i
            if entry.dist == "beta" and not target.probability:
                raise _FieldError(
                    ("uncertainty", i, "dist"),
                    f"a beta draws from 0 to 1, but {entry.path} is not a probability or share "
                    f"(bounds {target.bounds_text}); use gamma or lognormal",
                    entry.dist,
                )
        return self

    def _repr_html_(self) -> str:
        """A compact summary for notebooks: period, sources, threshold and teams."""
        import html

        rows = [
            ("period", f"{self.weeks} weeks from {self.start_date}"),
            ("MQL threshold", f"{self.scoring.threshold:g}"),
            ("SDRs", str(self.sdr.headcount)),
        ]
        rows += [
            (f"source {s.name}", f"{s.rate_per_week:g} leads/week, score {s.score.mean:g}")
            for s in self.sources
        ]
        if self.outbound is not None:
            acc = self.outbound.accounts
            rows.append(("BDRs", str(self.outbound.bdr.headcount)))
            rows.append(
                (f"target list {acc.name}", f"{acc.initial:,} + {acc.added_per_month:,}/month")
            )
        team = self.ae.team
        rows.append(
            (
                "AEs",
                "unlimited" if team is None else f"{team.headcount} x {team.max_open_per_ae} open",
            )
        )
        body = "".join(
            f"<tr><th style='text-align:left'>{html.escape(k)}</th><td>{html.escape(v)}</td></tr>"
            for k, v in rows
        )
        return f"<div><p><b>{html.escape(self.name)}</b></p><table>{body}</table></div>"

    @property
    def source_names(self) -> list[str]:
        """Names of the lead sources in results: the inbound sources, then the outbound list."""
        names = [s.name for s in self.sources]
        if self.outbound is not None:
            names.append(self.outbound.accounts.name)
        return names

    @property
    def weeks(self) -> int:
        """Number of (possibly partial) weeks in the horizon."""
        return max(1, math.ceil(self.horizon / (7 * 24) - 1e-9))

    @property
    def start(self) -> dt.datetime:
        return dt.datetime.combine(self.start_date, dt.time())
