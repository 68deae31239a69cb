"""Names and labels as one spelling each.

A rep written 'Jane Doe' on most rows and 'JANE DOE' or 'jane  doe' on others is one person,
not two (counted twice, a team looked twice its size); a source renamed from 'web_form' to
'Web Form' is one source (kept as two, its leads were counted twice); a lead status 'No
Prospect' is the model's no_prospect (read word by word, every outcome kept its default).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd

from .limits import CalibrationError

__all__ = ["mapped_statuses", "one_spelling", "status_words"]

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


def mapped_statuses(values: pd.Series, mapping: Any) -> tuple[pd.Series, dict[str, int]]:
    """Lead statuses as the model names them (:func:`status_words`), a CRM's own labels read
    as the status the mapping names for them (``statuses: {postponed: [Bad timing]}``, any
    case or spacing on either side); and how many values each label mapped ('Bad timing as
    postponed' -> count). Why: no CRM writes 'no_prospect'; renaming the export by hand is
    what a mapping is for."""
    words = status_words(values)
    if not mapping:
        return words, {}
    if not isinstance(mapping, Mapping):
        raise CalibrationError(
            "mapping statuses: a mapping of status -> labels, e.g. {postponed: [Bad timing]}"
        )
    lookup: dict[str, str] = {}
    labels: dict[str, str] = {}
    for status, given in mapping.items():
        target = _joined(pd.Series([str(status)]), "_").iloc[0]
        for label in [given] if isinstance(given, str) else list(given or []):
            key = _joined(pd.Series([str(label)]), "_").iloc[0]
            lookup[key] = target
            labels[key] = f"{label!s} as {target}"
    mapped = words.map(lookup)
    counts = {labels[str(k)]: int(n) for k, n in words[mapped.notna()].value_counts().items()}
    return mapped.where(mapped.notna(), words), counts
