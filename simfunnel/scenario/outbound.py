"""Outbound prospecting: the target account list, the BDR team, its cadence and goals.

A section of its own because it combines the other topics: accounts come from a list rather
than arriving (``sources`` has the inbound side), BDRs are a calling team (``teams``) and they
work accounts with a cadence and outcomes of their own (``process``).
"""

from __future__ import annotations

from typing import Any

from pydantic import Field, field_validator

from .bounds import (
    MAX_ACCOUNTS,
    MAX_ACCOUNTS_PER_MONTH,
    MAX_NAME,
    MAX_PER_DAY,
    MIN_RESEARCH,
    mean_at_least,
)
from .dists import DurationDist, Frozen
from .process import Cadence, Outcomes
from .sources import QualityModel
from .teams import CallingStaff


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
        return mean_at_least(value, MIN_RESEARCH)
