"""Stretches of an export's history without a single lead where the flow around them makes that
all but impossible by chance: a gap in the export (a CRM migration, a filter, a lost file), not
weeks in which nobody inquired.

Counted as weeks without leads, such a gap cuts every arrival rate by its share of the history,
and a count model that forecasts from before it into it learns errors of a hundredfold, which
once pulled a forecast's median to zero. Found, it is left out of the weeks the rates divide by
and of the weeks the arrival model fits, and said.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["GAP_EXPECTED", "GAP_MIN_DAYS", "Gap", "export_gaps", "gap_weeks", "gap_words"]

GAP_MIN_DAYS = 14.0  # shorter lulls happen (holidays, a slow fortnight)
GAP_EXPECTED = 10.0  # leads the rest of the history's rate expects in it: P(none) = e^-10

Gap = tuple[pd.Timestamp, pd.Timestamp]  # the last lead before it, the first after it


def export_gaps(created: pd.Series) -> list[Gap]:
    """The gaps between consecutive leads of at least GAP_MIN_DAYS days in which the history's
    rate (over its whole span) expects at least GAP_EXPECTED leads."""
    t = pd.Series(created.dropna().sort_values().to_numpy())
    if len(t) < 2:
        return []
    days = t.diff().dt.total_seconds().to_numpy(float) / 86400
    long = np.nan_to_num(days) >= GAP_MIN_DAYS
    if not long.any():
        return []
    # Leads a day over the whole span, gaps included: the cautious rate (a thin flow's
    # silences are long, and its rate between them says little).
    rate = len(t) / max((t.iloc[-1] - t.iloc[0]) / pd.Timedelta(days=1), 1.0)
    return [
        (t.iloc[i - 1], t.iloc[i]) for i in np.flatnonzero(long) if days[i] * rate >= GAP_EXPECTED
    ]


def gap_weeks(gaps: list[Gap]) -> float:
    return sum((b - a) / pd.Timedelta(weeks=1) for a, b in gaps)


def gap_words(gaps: list[Gap], created: pd.Series) -> str:
    """The gaps as a warning says them: where, how long, and how many leads were due."""
    t = created.dropna()
    span = (t.max() - t.min()) / pd.Timedelta(days=1)
    rate = len(t) / max(span - gap_weeks(gaps) * 7, 1.0)
    said = "; ".join(
        f"{a:%Y-%m-%d} to {b:%Y-%m-%d} ({(b - a) / pd.Timedelta(weeks=1):.1f} weeks, about "
        f"{rate * (b - a) / pd.Timedelta(days=1):,.0f} leads due)"
        for a, b in gaps
    )
    return (
        f"no lead at all from {said}: a gap in the export (a migration, a filter), not weeks "
        "without inquiries, so it is left out of the weeks the arrival rates are measured over; "
        "if the business really stopped, state the rates with --set"
    )
