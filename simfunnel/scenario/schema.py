"""The scenario: one frozen, validated object built from a YAML file.

Everything the engine needs is checked here, once, with errors that name the file and the field,
so the engine can trust its input and never looks at raw dictionaries. This module holds the
top-level ``Scenario`` (with the checks that span sections), its costs and ``ScenarioError``;
the sections are in ``sources``, ``teams``, ``process``, ``sales``, ``outbound`` and
``uncertain``, the bounds in ``bounds``. The field descriptions are the source of
``docs/scenarios.md`` (``tools/docgen.py``).
"""

from __future__ import annotations

import datetime as dt
import functools
import html
import math
from collections import Counter
from collections.abc import Callable
from typing import Annotated, Any

from pydantic import Field, field_validator, model_validator

from ..base.units import MAX_DURATION, WEEK, duration_text, format_duration

# The bounds are re-exported: tools/docgen.py reads them from this module.
from .bounds import (
    MAX_ENGAGEMENTS,
    MAX_ITEMS,
    MAX_NAME,
    MAX_SOURCES,
    MAX_TEXT,
    MAX_WARM_UP_WEEKS,
    Date,
)
from .dists import MAX_AMOUNT, Duration, FieldError, FieldErrors, Frozen
from .outbound import Outbound
from .process import Cadence, Nurture, Outcomes, SpeedToLead
from .sales import AccountExecutives, Currency, TossUp
from .sources import Scoring, Source
from .teams import Calendar, Staffing, Team, calendar_shorthand
from .uncertain import UncertaintyPathError, UncertainValue, resolve

__all__ = ["Costs", "Scenario", "ScenarioError"]


class ScenarioError(Exception):
    """A scenario that cannot be used; ``problems`` holds one line per problem."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


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
    currency: Currency = Field(
        default_factory=Currency,
        description="Currency of every amount (deal values, costs): a code such as 'EUR', or "
        "{code: EUR, symbol: '€'}. Not set: USD, and reports say it was assumed.",
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

    @field_validator("currency", mode="before")
    @classmethod
    def _currency_shorthand(cls, value: Any) -> Any:
        """'EUR' is short for {code: EUR}."""
        return {"code": value} if isinstance(value, str) else value

    @property
    def currency_assumed(self) -> bool:
        """Whether the scenario names no currency (amounts are then shown in USD, said so)."""
        return "currency" not in self.model_fields_set

    @field_validator("calendar", mode="before")
    @classmethod
    def _calendar(cls, value: Any) -> Any:
        return calendar_shorthand(value)

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
            raise FieldError(
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
        """Checks across sections, in a fixed order; every problem found is shown (each check
        stops at its first, the dated ones report every date outside the period)."""
        end = self.start + dt.timedelta(hours=self.horizon)
        checks: list[Callable[[], None]] = [self._sources_fit]
        if self.nurture is not None:
            checks.append(functools.partial(self._nurture_paths_end, self.nurture))
        checks += [functools.partial(self._bursts_in_period, end), self._sdrs_while_leads_arrive]
        if self.outbound is not None:
            checks.append(functools.partial(self._outbound_fits, self.outbound))
        checks += [
            functools.partial(self._plans_in_period, end.date()),
            self._costs_name_sources,
            self._ae_team_staffs,
            self._leave_within_the_year,
        ]
        found: list[FieldError] = []
        for check in checks:
            try:
                check()
            except FieldErrors as many:
                found += many.errors
            except FieldError as one:
                found.append(one)
        if len(found) == 1:
            raise found[0]
        if found:
            raise FieldErrors(found)
        return self

    def _leave_within_the_year(self) -> None:
        """Paid leave is drawn among working days: a rep cannot take more days off a year than
        the calendar has working days (365 off on a five-day week would leave nobody, ever)."""
        cal = self.calendar
        per_year = 365.25 if cal.always_open else len(set(cal.days)) * 365.25 / 7
        teams: list[tuple[tuple[str, ...], float]] = [(("sdr",), self.sdr.pto_days_per_year)]
        if self.outbound is not None:
            teams.append((("outbound", "bdr"), self.outbound.bdr.pto_days_per_year))
        found = [
            FieldError(
                (*path, "pto_days_per_year"),
                f"must be below the calendar's {per_year:.0f} working days a year",
                days,
            )
            for path, days in teams
            if days >= per_year
        ]
        if found:
            raise FieldErrors(found)

    def _ae_team_staffs(self) -> None:
        """An AE team that never has anyone would leave every SQL waiting."""
        if self.ae.team is not None and not self.ae.team.may_staff():
            raise FieldError(
                ("ae", "team", "headcount"),
                "needs at least 1 AE (now or hired in ae.team.plan); leave out ae.team for "
                "unlimited AEs",
                0,
            )

    def _sources_fit(self) -> None:
        """Source names are unique (results are keyed by them) and the MQL threshold is on
        the sources' score scale (else every lead, or none, would be an MQL)."""
        names = [s.name for s in self.sources]
        duplicates = sorted(n for n, k in Counter(names).items() if k > 1)
        if duplicates:
            raise FieldError(("sources",), "source names must be unique", duplicates)
        low = min(s.score.min for s in self.sources)
        high = max(s.score.max for s in self.sources)
        if not low <= self.scoring.threshold <= high:
            raise FieldError(
                ("scoring", "threshold"),
                f"must be on the sources' score scale, from {low:g} to {high:g} "
                "(score.min to score.max)",
                self.scoring.threshold,
            )

    def _bursts_in_period(self, end: dt.datetime) -> None:
        """Every burst starts inside the simulated period: one outside would never arrive."""
        found = [
            FieldError(
                ("sources", i, "bursts", j, "start"),
                f"must fall inside the simulated period, from {self.start:%Y-%m-%d} "
                f"up to (not including) {end:%Y-%m-%d %H:%M}",
                burst.start.isoformat(sep=" ", timespec="minutes"),
            )
            for i, src in enumerate(self.sources)
            for j, burst in enumerate(src.bursts)
            if not self.start <= burst.start < end
        ]
        if found:
            raise FieldErrors(found)

    def _sdrs_while_leads_arrive(self) -> None:
        """Someone must work the leads that arrive, or they would pile up unseen."""
        leads_arrive = any(
            s.rate_per_week > 0 or any(b.leads for b in s.bursts) for s in self.sources
        )
        if leads_arrive and not self.sdr.may_staff():
            raise FieldError(
                ("sdr", "headcount"),
                "needs at least 1 SDR (now or hired in sdr.plan) while leads arrive",
                0,
            )

    def _outbound_fits(self, out: Outbound) -> None:
        """The target list has a name of its own in results, and BDRs to work its accounts."""
        if out.accounts.name in [s.name for s in self.sources]:
            raise FieldError(
                ("outbound", "accounts", "name"),
                "must differ from the inbound source names",
                out.accounts.name,
            )
        if (out.accounts.initial or out.accounts.added_per_month) and not out.bdr.may_staff():
            raise FieldError(
                ("outbound", "bdr", "headcount"),
                "needs at least 1 BDR (now or hired in outbound.bdr.plan) while the target "
                "list has accounts",
                0,
            )

    def _plans_in_period(self, end_date: dt.date) -> None:
        """Every dated headcount change of every team falls inside the simulated period."""
        teams: list[tuple[tuple[str, ...], Staffing]] = [(("sdr",), self.sdr)]
        if self.ae.team is not None:
            teams.append((("ae", "team"), self.ae.team))
        if self.outbound is not None:
            teams.append((("outbound", "bdr"), self.outbound.bdr))
        found = [
            FieldError(
                (*path, "plan", i, "date"),
                f"must fall inside the simulated period, from {self.start_date} up "
                f"to (not including) {end_date}",
                change.date.isoformat(),
            )
            for path, team in teams
            for i, change in enumerate(team.plan)
            if not self.start_date <= change.date < end_date
        ]
        if found:
            raise FieldErrors(found)

    def _costs_name_sources(self) -> None:
        """A cost per lead is for a source of this scenario: another name is a typo."""
        for key in self.costs.per_lead:
            if key not in self.source_names:
                raise FieldError(
                    ("costs", "per_lead", key),
                    f"must be a source name ({', '.join(self.source_names)})",
                    key,
                )

    @model_validator(mode="after")
    def _uncertain_values_resolve(self) -> Scenario:
        """Each uncertainty entry names one number of this scenario that its distribution can
        hold; checked here so that a bad entry is refused on loading, not mid-forecast."""
        seen: dict[str, int] = {}
        for i, entry in enumerate(self.uncertainty):
            try:
                target = resolve(self, entry.path)
            except UncertaintyPathError as exc:
                raise FieldError(("uncertainty", i, "path"), str(exc), entry.path) from None
            if target.path in seen:
                raise FieldError(
                    ("uncertainty", i, "path"),
                    f"names the same field as uncertainty[{seen[target.path]}]",
                    entry.path,
                )
            seen[target.path] = i
            if entry.dist == "beta" and not target.probability:
                raise FieldError(
                    ("uncertainty", i, "dist"),
                    f"a beta draws from 0 to 1, but {entry.path} is not a probability or share "
                    f"(bounds {target.bounds_text}); use gamma or lognormal",
                    entry.dist,
                )
        return self

    def _repr_html_(self) -> str:
        """A compact summary for notebooks: period, sources, threshold and teams."""
        rows = [
            ("period", f"{self.period} from {self.start_date}"),
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
    def period(self) -> str:
        """The horizon as a person says it: '52 weeks', '1 week', and for a horizon that is not
        whole weeks its own length, '10 days', '90 min' (``weeks`` counts a partial week as
        one, which reads wrong: '1 weeks' for a day)."""
        weeks = self.horizon / (7 * 24)
        if weeks >= 1 and abs(weeks - round(weeks)) < 1e-9:
            return f"{round(weeks)} week{'' if round(weeks) == 1 else 's'}"
        return format_duration(self.horizon)

    @property
    def start(self) -> dt.datetime:
        return dt.datetime.combine(self.start_date, dt.time())
