"""Names and labels as one spelling each.

A rep written 'Jane Doe' on most rows and 'JANE DOE' or 'jane  doe' on others is one person,
not two (counted twice, a team looked twice its size); a source renamed from 'web_form' to
'Web Form' is one source (kept as two, its leads were counted twice); a lead status 'No
Prospect' is the model's no_prospect (read word by word, every outcome kept its default).
"""

from __future__ import annotations

import pandas as pd

__all__ = ["one_spelling", "status_words"]

_SEPARATORS = r"[\s_\-]+"  # what may stand between the words of a name or a label


def _joined(text: pd.Series, joiner: str) -> pd.Series:
    """Lower-case words joined by ``joiner``, whatever separated them."""
    return text.str.casefold().str.replace(_SEPARATORS, joiner, regex=True).str.strip(joiner)


def one_spelling(values: pd.Series) -> tuple[pd.Series, dict[str, str]]:
    """Names that differ only in case, spacing, '_' or '-', each read as the spelling most rows
    use; and the spellings replaced (spelling -> kept)."""
    given = values.dropna().astype(str)
    key = _joined(given, " ")
    if key.nunique() == given.nunique():
        return values, {}
    kept = given.groupby(key).agg(lambda s: s.value_counts().index[0])
    spelled = key.map(kept)
    merged = {str(a): str(b) for a, b in zip(given, spelled, strict=True) if a != b}
    out = values.copy()
    out[given.index] = spelled
    return out, merged


def status_words(values: pd.Series) -> pd.Series:
    """Lead statuses as the model names them, one lower-case word ('Do Not Call' ->
    do_not_call); blank stays missing."""
    given = values.notna()
    words = _joined(values.where(given, "").astype(str), "_")
    return words.where(given & (words != ""), None)
