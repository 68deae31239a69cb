"""What the bytes of a text file say about its encoding: shared by the scenario loader and the
CRM readers, so both recognise the same byte-order marks and the same UTF-16 without one."""

from __future__ import annotations

import codecs

# Byte-order marks, longest first (the UTF-32 LE mark begins with the UTF-16 LE one):
# (mark, codec, name).
BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32", "UTF-32"),
    (codecs.BOM_UTF32_BE, "utf-32", "UTF-32"),
    (codecs.BOM_UTF8, "utf-8-sig", "UTF-8"),
    (codecs.BOM_UTF16_LE, "utf-16", "UTF-16"),
    (codecs.BOM_UTF16_BE, "utf-16", "UTF-16"),
)


def bom_codec(raw: bytes) -> tuple[str, str] | None:
    """(codec, name) of the byte-order mark ``raw`` starts with, or None."""
    return next(((codec, name) for bom, codec, name in BOMS if raw.startswith(bom)), None)


def looks_utf16(sample: bytes) -> str | None:
    """'le' or 'be' when every other byte is NUL, as in UTF-16 text without a byte-order mark."""
    even, odd = sample[0::2], sample[1::2]
    if len(odd) < 8:
        return None
    if odd.count(0) > 0.4 * len(odd) and even.count(0) < 0.05 * len(even):
        return "le"
    if even.count(0) > 0.4 * len(even) and odd.count(0) < 0.05 * len(odd):
        return "be"
    return None
