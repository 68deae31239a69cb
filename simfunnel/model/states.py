"""Where a lead can be: the end states of a run, in funnel order, the outcomes of a conversation,
and the per-desk counters.

Why here: the engine, the AE stage, the start from a CRM snapshot and the results all name states;
they read them from this one module.
"""

from __future__ import annotations

from enum import IntEnum

from ..scenario import OUTCOME_KINDS, OUTCOMES, OutcomePath

DAY_HOURS = 24.0


class State(IntEnum):
    """Where a lead ends the run, in funnel order: every lead ends in exactly one of them.

    The value is the lead's code in the state arrays the engine hands to the results.
    """

    NURTURE = 0  # scored below the MQL threshold, still in nurture
    AGED_OUT = 1  # left nurture after nurture.age_out without becoming an MQL again
    ON_LIST = 2  # outbound account still on the target list, not yet researched
    UNTOUCHED = 3  # MQL (or researched account) never attempted
    COLD = 4  # MQL not attempted within its patience: went cold, lost to the SDR process
    WORKING = 5  # in a cadence: waiting for its next attempt or in the queue
    RECYCLED = 6  # no contact after the last attempt ("6-call-out"): back to nurture
    INFORMATION_GATHERING = 7  # contacted, interested later: nurture with a follow-up
    POSTPONED = 8  # contacted, asked for a callback later
    NO_PROSPECT = 9  # contacted, not a fit: closed
    DO_NOT_CALL = 10  # contacted, asked not to be called: closed
    SQL = 11  # tossed up to an AE, first meeting not yet held
    REJECTED = 12  # the AE did not accept it as a valid opportunity
    OPEN_OPPORTUNITY = 13  # valid opportunity still open at the end
    WON = 14
    LOST = 15
    SELF_SERVE_WON = 16  # a PQL nobody reached during its trial bought on its own


# The states by name, in code order: what tables and lead files write.
END_STATES = tuple(state.name.lower() for state in State)

# The engine keeps states in lists of plain ints and compares them in its hot loop: these are
# the codes as ints (an IntEnum member there would only be slower).
NURTURE = int(State.NURTURE)
AGED_OUT = int(State.AGED_OUT)
ON_LIST = int(State.ON_LIST)
UNTOUCHED = int(State.UNTOUCHED)
COLD = int(State.COLD)
WORKING = int(State.WORKING)
RECYCLED = int(State.RECYCLED)
INFO = int(State.INFORMATION_GATHERING)
POSTPONED = int(State.POSTPONED)
NO_PROSPECT = int(State.NO_PROSPECT)
DNC = int(State.DO_NOT_CALL)
SQL = int(State.SQL)
REJECTED = int(State.REJECTED)
OPEN_OPP = int(State.OPEN_OPPORTUNITY)
WON = int(State.WON)
LOST = int(State.LOST)
SELF_SERVE = int(State.SELF_SERVE_WON)


# Each conversation outcome by its position in the scenario's OUTCOMES (the engine's draw): the
# state it leaves the lead in and its path, as plain ints for the engine's hot loop.
OUTCOME_STATE = tuple(int(State[kind.end_state.upper()]) for kind in OUTCOME_KINDS)
_PATH_CODE = {path: code for code, path in enumerate(OutcomePath)}  # each path as a plain int
TOSS_UP = _PATH_CODE[OutcomePath.TOSS_UP]
FOLLOW_UP = _PATH_CODE[OutcomePath.FOLLOW_UP]
CALLBACK = _PATH_CODE[OutcomePath.CALLBACK]
CLOSED = _PATH_CODE[OutcomePath.CLOSED]
OUTCOME_PATH = tuple(_PATH_CODE[kind.path] for kind in OUTCOME_KINDS)
NURTURED = frozenset((FOLLOW_UP, CALLBACK))  # paths that call the lead again, then nurture
# A qualified lead that fails the toss-up criteria is interested later: the first follow-up.
HELD_BACK_OUTCOME = OUTCOME_PATH.index(FOLLOW_UP)
# States nurture may act on: unreached leads, and those a followed-up or called-back outcome
# left there (information gathering, postponed).
IN_NURTURE = frozenset(
    (
        NURTURE,
        RECYCLED,
        *(s for s, p in zip(OUTCOME_STATE, OUTCOME_PATH, strict=True) if p in NURTURED),
    )
)
CALLABLE = frozenset((UNTOUCHED, WORKING))  # states of leads waiting in a queue
RETURNED = frozenset((REJECTED, LOST))  # AE outcomes that may go back to nurture
# A PQL may buy self-serve at the end of its trial unless the AEs hold it, it bought already, or
# it told the rep it is not a prospect (bought elsewhere): being reached does not stop a buyer.
SELF_SERVE_FROM = frozenset(
    (NURTURE, AGED_OUT, UNTOUCHED, COLD, WORKING, DNC, REJECTED, *IN_NURTURE)
)
ROLES = ("sdr", "bdr")
# Per-desk weekly counters, kept as plain lists during the run.
DESK_COUNTERS = (
    "dials",
    "connects",
    "contacts",
    "emails",
    "email_replies",
    "recycled",
    "researched",
    "held_back",  # qualified conversations that failed the toss-up criteria
    *OUTCOMES,
)
