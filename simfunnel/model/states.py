"""Where a lead can be: the end states of a run, in funnel order, and the per-desk counters.

Why here: the engine, the start from a CRM snapshot and the results all name states; they read
them from this one module.
"""

from __future__ import annotations

from ..scenario import OUTCOMES

DAY_HOURS = 24.0

# End states, in funnel order. Every lead ends the run in exactly one of them.
END_STATES = (
    "nurture",  # scored below the MQL threshold, still in nurture
    "aged_out",  # left nurture after nurture.age_out without becoming an MQL again
    "on_list",  # outbound account still on the target list, not yet researched
    "untouched",  # MQL (or researched account) never attempted
    "cold",  # MQL not attempted within its patience: went cold, lost to the SDR process
    "working",  # in a cadence: waiting for its next attempt or in the queue
    "recycled",  # no contact after the last attempt ("6-call-out"): back to nurture
    "information_gathering",  # contacted, interested later: nurture with a follow-up
    "postponed",  # contacted, asked for a callback later
    "no_prospect",  # contacted, not a fit: closed
    "do_not_call",  # contacted, asked not to be called: closed
    "sql",  # tossed up to an AE, first meeting not yet held
    "rejected",  # the AE did not accept it as a valid opportunity
    "open_opportunity",  # valid opportunity still open at the end
    "won",
    "lost",
    "self_serve_won",  # a PQL nobody reached during its trial bought on its own
)
(
    NURTURE,
    AGED_OUT,
    ON_LIST,
    UNTOUCHED,
    COLD,
    WORKING,
    RECYCLED,
    INFO,
    POSTPONED,
    NO_PROSPECT,
    DNC,
    SQL,
    REJECTED,
    OPEN_OPP,
    WON,
    LOST,
    SELF_SERVE,
) = range(len(END_STATES))
OUTCOME_STATE = (SQL, INFO, POSTPONED, NO_PROSPECT, DNC)  # in OUTCOMES order
IN_NURTURE = frozenset((NURTURE, RECYCLED, INFO, POSTPONED))  # states nurture may act on
CALLABLE = frozenset((UNTOUCHED, WORKING))  # states of leads waiting in a queue
RETURNED = frozenset((REJECTED, LOST))  # AE outcomes that may go back to nurture
# A PQL may buy self-serve at the end of its trial unless the AEs hold it, it bought already, or
# it told the rep it is not a prospect (bought elsewhere): being reached does not stop a buyer.
SELF_SERVE_FROM = frozenset(
    (NURTURE, AGED_OUT, UNTOUCHED, COLD, WORKING, RECYCLED, INFO, POSTPONED, DNC, REJECTED)
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
