"""The one normal form of an email address, for lookup, uniqueness and throttles alike.

NFKC folds compatibility spellings (full-width letters, ligatures) into one, and
`casefold()` is Unicode's caseless matching, stronger than `lower()` (ß → ss). Every
place that stores, finds or throttles by email goes through `normalize_email`; the
database compares `lower(email) = lower($1)` with an already normalized `$1`, which on
casefolded text matches exactly what Python matched. A spelling that Postgres' `lower()`
alone would have folded onto another account (U+0130 `İ` → `i`) normalizes to a
different key here (`i̇`) and so finds no account: it can neither log in as the other
account nor get a throttle budget of its own against it.
"""

from __future__ import annotations

import unicodedata


def normalize_email(email: str) -> str:
    return unicodedata.normalize("NFKC", email.strip()).casefold()
