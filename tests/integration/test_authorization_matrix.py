"""The authorization matrix, generated from the app's own OpenAPI document.

Every route that exists when the suite runs is covered, including routes added after
this file was written: anonymous callers get 401 everywhere but the public prefixes; plain
users get 403 on every moderator and admin route; and another user's objects answer 404
exactly as if they did not exist, and stay unchanged.
"""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime
from typing import Any

from api.security import PUBLIC_PATHS
from tests.factories import create_user

METHODS = ("get", "post", "put", "patch", "delete")
PRIVILEGED_PREFIXES = ("/admin/", "/moderation/")


async def _operations(client) -> list[tuple[str, str, dict[str, Any], dict[str, Any]]]:
    """(method, path template, operation, the whole document) for every operation in /schema/openapi.json."""
    document = (await client.get("/schema/openapi.json")).json()
    return [
        (method, path, item[method], document)
        for path, item in document["paths"].items()
        for method in METHODS
        if method in item
    ]


def _is_public(path: str) -> bool:
    return path.startswith(PUBLIC_PATHS)


def _resolve(schema: dict[str, Any], document: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = document["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return schema


def _sample(schema: dict[str, Any], document: dict[str, Any], name: str = "") -> Any:
    """A valid value for `schema`: required properties (or the first one), each the simplest that fits."""
    schema = _resolve(schema, document)
    for union in ("oneOf", "anyOf"):
        if union in schema:
            options = [o for o in schema[union] if _resolve(o, document).get("type") != "null"]
            return _sample({**options[0], **{k: v for k, v in schema.items() if k != union}}, document, name)
    if "enum" in schema:
        return schema["enum"][0]
    if "const" in schema:
        return schema["const"]
    kind = schema.get("type", "object")
    if isinstance(kind, list):
        kind = next(k for k in kind if k != "null")
    if kind == "object":
        properties = schema.get("properties", {})
        # A body of optional fields only (a PATCH) gets its first one: an empty change may be refused.
        chosen = schema.get("required") or list(properties)[:1]
        return {prop: _sample(sub, document, prop) for prop, sub in properties.items() if prop in chosen}
    if kind == "array":
        return [_sample(schema["items"], document, name) for _ in range(schema.get("minItems", 0))]
    if kind in ("integer", "number"):
        return max(schema.get("minimum", 1), schema.get("exclusiveMinimum", 0) + 1, 1)
    if kind == "boolean":
        return True
    fmt = schema.get("format", "")
    if fmt == "uuid" or name.endswith("_id"):
        return str(uuid.uuid4())
    if fmt in ("uri", "url") or "url" in name:
        return "https://example.org/page"
    if fmt == "date-time":
        return datetime.now(UTC).isoformat()
    if fmt == "date":
        return datetime.now(UTC).date().isoformat()
    text = "A thoughtful question about virtue?"
    return text[: schema.get("maxLength", len(text))].ljust(schema.get("minLength", 0), "x")


def _fill_path(
    path: str, operation: dict[str, Any], document: dict[str, Any], ids: dict[str, str] | None = None
) -> str:
    """The path with every parameter filled: an id from `ids` (by the path's first segment) or a sample value."""
    schemas = {p["name"]: p.get("schema", {}) for p in operation.get("parameters", []) if p.get("in") == "path"}
    owner = (ids or {}).get(path.strip("/").split("/")[0])

    def fill(match: re.Match) -> str:
        nonlocal owner
        name = match.group(1).split(":")[0]
        if owner is not None:
            value, owner = owner, None  # the first parameter is the object; later ones are samples
            return value
        return str(_sample(schemas.get(name, {"format": "uuid"}), document, name))

    return re.sub(r"\{([^}]+)\}", fill, path)


def _body(operation: dict[str, Any], document: dict[str, Any]) -> Any:
    content = operation.get("requestBody", {}).get("content", {})
    schema = content.get("application/json", {}).get("schema")
    return _sample(schema, document) if schema else None


async def _call(client, method: str, url: str, body: Any, headers: dict[str, str] | None = None):
    kwargs: dict[str, Any] = {"headers": headers or {}}
    if body is not None:
        kwargs["json"] = body
    return await client.request(method.upper(), url, **kwargs)


async def test_anonymous_callers_get_401_on_every_protected_route(client):
    operations = await _operations(client)
    protected = [(m, p, op, d) for m, p, op, d in operations if not _is_public(p)]
    # The matrix must be looking at the real app, not at an empty document.
    assert {("get", "/me"), ("patch", "/admin/users/{user_id}")} <= {(m, p) for m, p, _, _ in protected}
    wrong = {}
    for method, path, operation, document in protected:
        url = _fill_path(path, operation, document)
        for headers in ({}, {"Authorization": "Bearer not-a-jwt"}, {"Authorization": "Basic YTpi"}):
            response = await _call(client, method, url, _body(operation, document), headers)
            if response.status_code != 401:
                wrong[f"{method.upper()} {path} {headers}"] = response.status_code
    assert wrong == {}


async def test_plain_users_get_403_on_every_moderator_and_admin_route(client, db, settings):
    user = await create_user(db, settings)
    moderator = await create_user(db, settings, role="moderator")
    operations = [(m, p, op, d) for m, p, op, d in await _operations(client) if p.startswith(PRIVILEGED_PREFIXES)]
    assert any(p.startswith("/admin/") for _, p, _, _ in operations)
    wrong = {}
    for method, path, operation, document in operations:
        url = _fill_path(path, operation, document)
        body = _body(operation, document)
        callers = [("user", user)] + ([("moderator", moderator)] if path.startswith("/admin/") else [])
        for who, caller in callers:
            response = await _call(client, method, url, body, caller.headers)
            if response.status_code != 403:
                wrong[f"{who}: {method.upper()} {path}"] = response.status_code
    assert wrong == {}


async def _owned_objects(db, owner_id: str) -> dict[str, str]:
    """One object of each user-owned kind, belonging to `owner_id`, keyed by the path segment that names it."""
    conversation = await db.fetchval(
        """INSERT INTO conversations (user_id, title, message_count)
                                        VALUES ($1::uuid, 'Private', 1) RETURNING id::text""",
        owner_id,
    )
    await db.execute(
        """INSERT INTO recent_messages (conversation_id, seq, user_id, role, content)
                        VALUES ($1::uuid, 1, $2::uuid, 'user', 'A private question')""",
        conversation,
        owner_id,
    )
    request = await db.fetchval(
        """INSERT INTO request_queue (user_id, conversation_id, message_seq, plan_id, model,
                                                              priority)
                                   VALUES ($1::uuid, $2::uuid, 1, 'free', 'gpt-4o-mini', 0) RETURNING id::text""",
        owner_id,
        conversation,
    )
    share = await db.fetchval(
        """INSERT INTO shared_links (user_id, conversation_id, token_hash, snapshot_seq,
                                                           expires_at)
                                 VALUES ($1::uuid, $2::uuid, gen_random_uuid()::text::bytea, 1,
                                         now() + interval '1 day') RETURNING id::text""",
        owner_id,
        conversation,
    )
    technique = await db.fetchval(
        """INSERT INTO techniques (user_id, name, description)
                                     VALUES ($1::uuid, 'Secret method', 'pending') RETURNING id::text""",
        owner_id,
    )
    await db.execute(
        """INSERT INTO technique_versions (technique_id, version, user_id, name, system_prompt)
                        VALUES ($1::uuid, 1, $2::uuid, 'Secret method', 'Ask.')""",
        technique,
        owner_id,
    )
    resource = await db.fetchval(
        """INSERT INTO resources (user_id, title, url, kind)
                                    VALUES ($1::uuid, 'Secret', 'https://example.org/s', 'book')
                                    RETURNING id::text""",
        owner_id,
    )
    notification = await db.fetchval(
        """INSERT INTO notifications (user_id, kind, title)
                                        VALUES ($1::uuid, 'daily_limit', 'Private') RETURNING id::text""",
        owner_id,
    )
    return {
        "conversations": conversation,
        "queue": request,
        "shares": share,
        "techniques": technique,
        "resources": resource,
        "notifications": notification,
    }


_SNAPSHOT = """
SELECT jsonb_build_object(
  'conversations', (SELECT jsonb_agg(to_jsonb(c) ORDER BY c.id) FROM conversations c WHERE user_id = $1::uuid),
  'messages', (SELECT jsonb_agg(to_jsonb(m) ORDER BY m.seq) FROM recent_messages m WHERE user_id = $1::uuid),
  'requests', (SELECT jsonb_agg(to_jsonb(r) ORDER BY r.id) FROM request_queue r WHERE user_id = $1::uuid),
  'shares', (SELECT jsonb_agg(to_jsonb(s) ORDER BY s.id) FROM shared_links s WHERE user_id = $1::uuid),
  'techniques', (SELECT jsonb_agg(to_jsonb(t) ORDER BY t.id) FROM techniques t WHERE user_id = $1::uuid),
  'resources', (SELECT jsonb_agg(to_jsonb(r) ORDER BY r.id) FROM resources r WHERE user_id = $1::uuid),
  'notifications', (SELECT jsonb_agg(to_jsonb(n) ORDER BY n.id) FROM notifications n WHERE user_id = $1::uuid))::text
"""


async def test_another_users_objects_answer_404_and_stay_unchanged(client, db, settings):
    owner = await create_user(db, settings)
    stranger = await create_user(db, settings)
    ids = await _owned_objects(db, owner.id)
    before = await db.fetchval(_SNAPSHOT, owner.id)
    operations = [
        (m, p, op, d)
        for m, p, op, d in await _operations(client)
        if "{" in p and not _is_public(p) and not p.startswith(PRIVILEGED_PREFIXES)
    ]
    assert any(p.startswith("/conversations/") for _, p, _, _ in operations) or not operations
    wrong = {}
    for method, path, operation, document in operations:
        url = _fill_path(path, operation, document, ids)
        response = await _call(client, method, url, _body(operation, document), stranger.headers)
        if response.status_code != 404:
            wrong[f"{method.upper()} {path}"] = (response.status_code, response.text[:200])
    assert wrong == {}
    assert await db.fetchval(_SNAPSHOT, owner.id) == before
