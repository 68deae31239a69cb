"""Who works and when: the reps' calendar and the SDR, BDR and AE teams over time.

A team's size at the start, its dated hires and exits, ramp-up, attrition and back-fills, the
share of a calling rep's time off the phones, and its daily goals. What the reps do with their
time is in ``process``; the AE stage itself is in ``sales``.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import Field, field_validator, model_validator

from ..base.units import DAY, MAX_DURATION, MINUTE
from .bounds import (
    MAX_ATTRITION,
    MAX_HEADCOUNT,
    MAX_OPEN_PER_AE,
    MAX_PER_DAY,
    MAX_PLAN,
    MAX_RAMP_MONTHS,
    Date,
)
from .dists import Duration, FieldError, Frozen

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


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


def calendar_shorthand(value: Any) -> Any:
    if isinstance(value, str) and value.strip().lower() in {"24/7", "always", "always_open"}:
        return {"always_open": True}
    return value


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
        description="Reps who leave that day by plan (the most recent joiners first), at most "
        "those the plan has on the team that day; not back-filled.",
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

    @model_validator(mode="after")
    def _exits_within_the_team(self) -> Staffing:
        """Planned exits cannot take more reps than the plan has on the team that day (the
        starting headcount plus earlier and same-day hires, minus earlier exits): the extra
        leavers would silently not exist."""
        on_team = self.headcount
        for i, change in sorted(enumerate(self.plan), key=lambda pair: pair[1].date):
            on_team += change.hire
            if change.leave > on_team:
                raise FieldError(
                    ("plan", i, "leave"),
                    f"{change.leave} leave on {change.date}, but by the plan only {on_team} are "
                    "on the team that day (headcount plus hires, minus earlier exits)",
                    change.leave,
                )
            on_team -= change.leave
        return self

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
        "on top of `shrinkage` and the calendar's holidays; below the calendar's working days "
        "a year.",
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
