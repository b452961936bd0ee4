"""Input no column can store, refused before any handler runs, naming its field.

Postgres text cannot hold NUL (U+0000). Left to the database it fails as SQLSTATE 22021
with no field to name (or worse, is stored in a jsonb and breaks a later read). A JSON
body can only carry NUL as the escape `\\u0000` and a query string as `%00`; both are
looked for cheaply first, and only then is the body walked for the field's path.
"""

from __future__ import annotations

from typing import Any

from litestar import Request

from api.errors import validation_error

_NUL = "\x00"
_MESSAGE = "must not contain NUL characters (\\u0000)"


def _path_with_nul(value: Any, path: str) -> str | None:
    if isinstance(value, str):
        return path if _NUL in value else None
    if isinstance(value, dict):
        for key, item in value.items():
            child = f"{path}.{key}" if path else str(key)
            if _NUL in str(key):
                return child
            if (found := _path_with_nul(item, child)) is not None:
                return found
    elif isinstance(value, list):
        for index, item in enumerate(value):
            if (found := _path_with_nul(item, f"{path}[{index}]")) is not None:
                return found
    return None


async def reject_nul_characters(request: Request) -> None:
    """Litestar before_request hook: 422 naming the first field that holds a NUL."""
    for name, raw in request.query_params.multi_items():
        if _NUL in name or _NUL in raw:
            raise validation_error(name.replace(_NUL, ""), _MESSAGE)
    if request.method in ("GET", "HEAD", "OPTIONS", "DELETE"):
        return
    body = await request.body()
    if b"\\u0000" not in body:
        return
    try:
        document = await request.json()
    except Exception:  # not JSON: the handler's own parsing answers (400/415)
        return
    path = _path_with_nul(document, "")
    if path is not None:
        raise validation_error(path or "body", _MESSAGE)
