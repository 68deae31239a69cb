"""What the CRM readers refuse, and where they draw the line: the error they raise and the
thresholds that docs/calibration.md ("What is refused, and why") documents, kept in one place
so that the docs and the code name the same numbers.
"""

from __future__ import annotations

import pandas as pd

__all__ = [
    "DETECT_SHARE",
    "EARLY_CALL",
    "FUTURE_LIMIT",
    "MAX_CALL_SECONDS",
    "MAX_UNREAD",
    "PLACEHOLDER_GAP",
    "STRAY_GAP",
    "STRAY_MOST",
    "STRAY_RATIO",
    "SWAPPED_MIN",
    "UNKNOWN_CALLS_SHARE",
    "UNREAD_SLACK",
    "CalibrationError",
]


class CalibrationError(Exception):
    """Exports that cannot be used as they are (no file, not text, a missing column, dates
    that no format reads, too few rows to fit): one line, naming the file and the column."""


DETECT_SHARE = 0.9  # a detected date format must read 90% of a table's non-empty date values
MAX_UNREAD = 0.2  # a date column with more than 20% of its values unread stops the read ...
UNREAD_SLACK = 2  # ... unless no more than 2 values are unread (small files)
SWAPPED_MIN = 10  # a stated day/month order this many values (and 20%) misread, the other reads
PLACEHOLDER_GAP = pd.Timedelta(days=365)  # a date this far from all the others is a placeholder
STRAY_GAP = pd.Timedelta(weeks=8)  # a few dates beyond this gap with nothing in it are strays ...
STRAY_RATIO = 4  # ... when the rest of the data has no gap a quarter as long ...
STRAY_MOST = 5  # ... and they are at most this many dates (and 1% of them)
FUTURE_LIMIT = pd.Timedelta(days=730)  # no export holds dates over two years after today
EARLY_CALL = pd.Timedelta(days=1)  # calls this much before their lead (time zones) are kept
MAX_CALL_SECONDS = 86400.0  # a call longer than a day is a wrong duration
UNKNOWN_CALLS_SHARE = 0.5  # more leads called than this unknown: the wrong id column
