"""The reps' work: a rep's working life on shift, account research, and one touch of a lead
(call or email) with everything that follows from it, for both desks.

Where is a call attempt decided? In :meth:`Calls._attempt`: whether it connects, reaches the
lead, and which outcome the conversation has (:meth:`Calls._contact`), then the lead's next step
(a retry, recycling, a follow-up or callback cadence, a toss-up to the AEs). This is the hot path
of the engine: desk and engine attributes are bound to locals where a loop reads them.
"""

from __future__ import annotations

import bisect
import math
from heapq import heappop

from simpy.events import ProcessGenerator

from ..base.units import WEEK
from ..scenario import OUTCOMES
from .ae import logistic
from .desk import Desk, ProspectingDesk
from .queues import Queues
from .states import (
    CALLABLE,
    CALLBACK,
    DAY_HOURS,
    FOLLOW_UP,
    HELD_BACK_OUTCOME,
    NURTURED,
    OUTCOME_PATH,
    OUTCOME_STATE,
    RECYCLED,
    TOSS_UP,
    UNTOUCHED,
    WORKING,
)
from .worktime import Shift


class Calls(Queues):
    """The reps' processes and one touch of a lead, on the run's state and queues."""

    # ------------------------------------------------------------------ reps

    def _rep(self, desk: Desk, rep: int, shift: Shift) -> ProcessGenerator:
        """A rep's working life: on shift, take the next ready touch (or research an account)."""
        env = self.env
        timeout = env.timeout
        attempt = self._attempt
        heap = desk.heap
        fresh, retry = desk.fresh, desk.retry
        due = desk.due
        horizon = self.horizon
        state = self.state
        queued = self.queued
        prospecting = desk if isinstance(desk, ProspectingDesk) else None
        seg_end = -math.inf  # end of the on-phone interval the rep was last found in
        while True:
            now = env.now
            if now >= seg_end:
                on = shift.next_on(now)
                if on > now:
                    if on >= horizon:
                        return
                    yield timeout(on - now)
                    continue
                seg_end = shift.segment_end()
            if due.at <= now:
                self._release_due(desk, now)
            if prospecting and prospecting.accounts and prospecting.research_due(rep, now):
                lead, duration = self._research(prospecting, rep, now)
                if now + duration > seg_end:
                    self._overtime(desk, rep, now, shift.off_time(now, now + duration))
                yield timeout(duration)
                self._push(desk, lead, env.now)  # researched: ready for its first touch
                continue
            if fresh:
                lead = fresh.popleft()[2]
            elif retry:
                lead = retry.popleft()[2]
            elif heap:
                lead = heappop(heap)[3]
            else:
                if due.at < desk.timer_at:
                    self._arm(desk, due.at)
                wake = env.event()
                desk.idle.append((wake, rep))
                desk.idle_changes += 1
                yield wake
                continue
            queued[lead] = False
            if state[lead] not in CALLABLE:
                continue  # went cold or bought self-serve while waiting
            duration = attempt(desk, lead, rep, now)
            if now + duration > seg_end:
                self._overtime(desk, rep, now, shift.off_time(now, now + duration))
            yield timeout(duration)

    def _overtime(self, desk: Desk, rep: int, now: float, hours: float) -> None:
        """A task started on shift ran past its end: the rep finishes it, off the on-phone hours
        (a long one may run on into the next shift: only the time between counts here).

        Busy hours count only on-phone time, so utilisation stays a share of available time;
        the time past the end is kept apart as overtime.
        """
        week = int(now // WEEK)
        desk.busy -= hours
        desk.w_busy[week] -= hours
        desk.rep_busy[rep] -= hours
        desk.overtime += hours

    def _research(self, desk: ProspectingDesk, rep: int, now: float) -> tuple[int, float]:
        """Take the next account off the target list: the account, and the research time."""
        lead, duration = desk.take_account(rep, now)
        self._busy(desk, rep, int(now // WEEK), duration)
        self.researched_at[lead] = now + duration
        self.state[lead] = UNTOUCHED
        self.cycle_start[lead] = now + duration
        self.odds_contact[lead] = math.nan
        if self.trace is not None:
            self.trace.append((now, "research", lead, rep, None))
        return lead, duration

    # ------------------------------------------------------------------ one touch
    def _attempt(self, desk: Desk, lead: int, rep: int, now: float) -> float:
        """Touch ``lead`` at ``now``: decide how far the call gets and what follows; return rep time."""
        week = int(now // WEEK)
        attempts = self.attempts
        if attempts[lead] == 0:
            self.first_attempt[lead] = now
            if desk.tracks_backlog:
                self._backlog_step(-1, now)
        attempts[lead] += 1
        self.cycle_attempts[lead] += 1
        self.state[lead] = WORKING
        odds: tuple[float, float] | None = None  # worked out when needed (see _odds)
        if desk.cadence_odds:
            # The response time of this cadence, fixed at its first touch.
            contact = self.odds_contact[lead]
            if contact == contact:
                odds = (contact, self.odds_qualify[lead])
            else:
                age = now - self.cycle_start[lead]
                odds = (desk.contact_decay(age), desk.qualify_decay(age))
                self.odds_contact[lead], self.odds_qualify[lead] = odds
        call_back = self.call_back
        if (
            desk.email_touches
            and self.cycle_attempts[lead] in desk.email_touches
            and lead not in call_back
        ):
            return self._email(desk, lead, rep, now, week)
        if call_back:
            call_back.discard(lead)
        desk.w_dials[week] += 1
        desk.rep_dials[rep] += 1
        if desk.day_dials is not None:
            desk.day_dials[rep][int(now // DAY_HOURS)] += 1
        trace = self.trace
        if desk.skill or trace is not None:
            odds = self._odds(desk, lead, rep, now, odds)
            if self.odds_trace is not None:
                self.odds_trace.append((now, lead, *odds))
        if desk.u_connect() >= desk.connect_p:
            result = "no_connect"
            duration = desk.d_no_connect() + desk.d_acw()
        else:
            desk.w_connects[week] += 1
            if odds is None:
                odds = self._odds(desk, lead, rep, now, None)
            if desk.u_contact() >= desk.contact_p * odds[0]:
                result = "connect"
                duration = desk.d_connect() + desk.d_acw()
            else:
                desk.w_contacts[week] += 1
                duration = desk.d_conversation() + desk.d_acw()
                if trace is not None:
                    trace.append((now, "attempt", lead, rep, "contact"))
                desk.rep_contacts[rep] += 1
                self._contact(desk, lead, rep, now, now + duration, odds[1], week)
                self._busy(desk, rep, week, duration)
                return duration
        if trace is not None:
            trace.append((now, "attempt", lead, rep, result))
        desk.busy += duration
        desk.w_busy[week] += duration
        desk.rep_busy[rep] += duration
        self._no_contact(desk, lead, rep, now, duration, week, desk.auto_email)
        return duration

    def _odds(
        self, desk: Desk, lead: int, rep: int, now: float, odds: tuple[float, float] | None
    ) -> tuple[float, float]:
        """The multipliers on contact and qualification odds of this touch by this rep: the
        cadence's speed-to-lead ones (``odds``, or the lead's age now under the per-touch
        reading), times the rep's learning curve. Only worked out when a touch needs them."""
        if odds is None:
            if desk.decays:
                age = now - self.cycle_start[lead]
                odds = (desk.contact_decay(age), desk.qualify_decay(age))
            else:
                odds = (1.0, 1.0)
        if desk.skill:
            spell = desk.spells[rep]
            month = spell.tenure_month(now) if spell.ramps else -1
            if 0 <= month < len(desk.skill):
                m = desk.skill[month]
                odds = (odds[0] * m, odds[1] * m)
        return odds

    def _email(self, desk: Desk, lead: int, rep: int, now: float, week: int) -> float:
        """An email touch of the cadence: rep time, a chance of a reply, then the next touch."""
        duration = desk.d_email()
        desk.w["emails"][week] += 1
        desk.rep_emails[rep] += 1
        if self.trace is not None:
            self.trace.append((now, "email", lead, rep, None))
        self._busy(desk, rep, week, duration)
        self._no_contact(desk, lead, rep, now, duration, week, True)
        return duration

    def _busy(self, desk: Desk, rep: int, week: int, duration: float) -> None:
        """Count a task's rep time: on the desk, its week and the rep."""
        desk.busy += duration
        desk.w_busy[week] += duration
        desk.rep_busy[rep] += duration

    def _no_contact(
        self, desk: Desk, lead: int, rep: int, now: float, duration: float, week: int, email: bool
    ) -> None:
        """After a touch without contact: maybe a reply to the email, then a retry or recycling."""
        done = self.cycle_attempts[lead]
        last = done >= desk.touches
        if (
            email
            and desk.reply_p > 0
            and not (last and lead in self.late_reply)
            and desk.u_reply() < desk.reply_p
        ):
            reply = now + duration + desk.d_reply()
            if reply < self.horizon:
                self.later.add(reply - now, self._on_reply, (desk, lead, self.attempts[lead]))
        if last:
            self.state[lead] = RECYCLED
            desk.w["recycled"][week] += 1
            if self.trace is not None:
                self.trace.append((now, "recycled", lead, rep, None))
            nurture = self.scenario.nurture
            if nurture is not None:
                score = self.re_mql_score.get(lead, self.score[lead])
                self._to_nurture(desk, lead, now, score - nurture.recycle_penalty)
        else:
            # The next touch: the same time of day some working days on (see
            # WorkCalendar.after_working_days), or some hours on.
            k = done - 1
            days = desk.gap_days[k]
            if days:
                day = int(now // 24.0)
                target = desk.gap_targets[k][day]
                at = (
                    math.inf
                    if target < 0
                    else target * 24.0 + (now - day * 24.0) + desk.gap_rest[k]
                )
            else:
                at = now + desk.gaps[k]
            if at < self.horizon:
                self.seq += 1
                desk.due.add(k, (at, self.seq, lead, self.retry_token.get(lead, 0)))
                if desk.idle and at < desk.timer_at:
                    self._arm(desk, at)

    def _contact(
        self, desk: Desk, lead: int, rep: int, now: float, end: float, decay: float, week: int
    ) -> None:
        """Pick the outcome of a conversation (``decay``: the speed-to-lead multiplier on
        'qualified') and start its path."""
        q = self.quality[lead]
        weights = [
            p * math.exp(b * q) if p > 0 else 0.0
            for p, b in zip(desk.outcome_p, desk.outcome_beta, strict=True)
        ]
        total = sum(weights)
        # The first outcome tosses up: the decay scales it, the others share what it loses.
        first = weights[0] / total
        qualified = first * decay
        rest = 1.0 - first
        scale = (1.0 - qualified) / rest if rest > 0 else 0.0
        u = desk.u_outcome()
        k = 0
        acc = qualified
        last = len(weights) - 1
        while u >= acc and k < last:
            k += 1
            acc += weights[k] / total * scale
        path = OUTCOME_PATH[k]
        if path == TOSS_UP and self.toss_require and not self._meets_criteria(lead, q):
            desk.w["held_back"][week] += 1
            k = HELD_BACK_OUTCOME  # not tossed up: interested, followed up later
            path = FOLLOW_UP
        desk.w_outcomes[k][week] += 1
        self.state[lead] = OUTCOME_STATE[k]
        self.contacted_at[lead] = now
        if path in NURTURED and math.isnan(self.nurtured_at[lead]):
            self.nurtured_at[lead] = end
        if self.trace is not None:
            self.trace.append((end, "outcome", lead, None, OUTCOMES[k]))
        outcomes = desk.outcomes
        if path == TOSS_UP:
            self.sql_at[lead] = end
            self.sql_rep[lead] = rep
            self.ae.toss_up(lead, end)
        elif path == FOLLOW_UP and self.follow_ups[lead] < len(outcomes.follow_ups):
            first = self.info_start[lead]
            if math.isnan(first):
                first = self.info_start[lead] = now
            at = first + outcomes.follow_ups[self.follow_ups[lead]]
            self.follow_ups[lead] += 1
            self._schedule_cycle(desk, lead, max(at, end), now, at_end=at <= end)
        elif path == CALLBACK and self.callbacks[lead] < outcomes.max_callbacks:
            self.callbacks[lead] += 1
            if desk.budget_starts and desk.u_budget() < outcomes.budget_period_share:
                i = bisect.bisect_right(desk.budget_starts, end)
                at = desk.budget_starts[i] if i < len(desk.budget_starts) else math.inf
            else:
                at = now + desk.d_callback()
            self._schedule_cycle(desk, lead, at, now)
        elif path in NURTURED:  # follow-ups or callbacks used up: back to marketing
            self._to_nurture(desk, lead, end, self.re_mql_score.get(lead, self.score[lead]))

    def _meets_criteria(self, lead: int, quality: float) -> bool:
        """Whether a qualified lead meets enough toss-up criteria (its answers are its own)."""
        u = self.streams.lead_rng("toss_up", lead).random(len(self.toss_criteria))
        met = sum(
            1
            for ui, (base, effect) in zip(u.tolist(), self.toss_criteria, strict=True)
            if ui < logistic(base + effect * quality)
        )
        return met >= self.toss_require
