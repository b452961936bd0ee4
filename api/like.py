"""Client text inside an ILIKE pattern, matched as written."""

from __future__ import annotations


def like_escape(text: str) -> str:
    """`text` with ILIKE's wildcards (% and _) and its escape character (\\) escaped.

    The backslash goes first, so that the escapes added for % and _ are not escaped again."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
