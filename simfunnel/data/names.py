"""Names as one spelling each: a rep written 'Jane Doe' on most rows and 'JANE DOE' or 'jane  doe'
on others is one person, not two (counted twice, a team looked twice its size); a source renamed
from 'web_form' to 'Web Form' is one source (kept as two, its leads were counted twice)."""

from __future__ import annotations

import pandas as pd

__all__ = ["one_spelling"]


def one_spelling(values: pd.Series) -> tuple[pd.Series, dict[str, str]]:
    """Names that differ only in case, spacing, '_' or '-', each read as the spelling most rows
    use; and the spellings replaced (spelling -> kept)."""
    given = values.dropna().astype(str)
    key = given.str.replace(r"[\s_\-]+", " ", regex=True).str.strip().str.casefold()
    if key.nunique() == given.nunique():
        return values, {}
    kept = given.groupby(key).agg(lambda s: s.value_counts().index[0])
    spelled = key.map(kept)
    merged = {str(a): str(b) for a, b in zip(given, spelled, strict=True) if a != b}
    out = values.copy()
    out[given.index] = spelled
    return out, merged
