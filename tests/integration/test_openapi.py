"""The OpenAPI document describes what the API does: every operation in the table of
api/openapi, every error status with the problem+json schema, headers, public operations,
enums. The conformance test sends requests that fail in each documented way and checks
each answer against the schema the document gives for that operation and status, as a
generated client would decode it."""

from __future__ import annotations

import re
import uuid

import jsonschema
import pytest
from referencing import Registry
from referencing.jsonschema import DRAFT202012

from api.openapi import OPERATIONS, unlisted_operations
from tests.factories import create_user


@pytest.fixture
async def document(client) -> dict:
    response = await client.get("/schema/openapi.json")
    assert response.status_code == 200
    return response.json()


def operations(document: dict):
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if method in ("get", "put", "post", "patch", "delete"):
                yield f"{method.upper()} {path}", operation


async def test_every_operation_is_described(document):
    assert unlisted_operations(document) == [], "add these routes to api/openapi.OPERATIONS"
    ids = [operation["operationId"] for _, operation in operations(document)]
    assert len(ids) == len(set(ids)) == len(OPERATIONS)
    assert all(re.fullmatch(r"[a-z][A-Za-z]+", i) for i in ids), ids
    assert document["paths"]["/conversations/{conversation_id}/messages"]["post"]["operationId"] == "askQuestion"
    assert document["paths"]["/queue/{request_id}"]["get"]["operationId"] == "getQueueEntry"
    declared_tags = {tag["name"] for tag in document["tags"]}
    assert all(len(op["tags"]) == 1 and op["tags"][0] in declared_tags for _, op in operations(document))


async def test_errors_are_problems_with_headers(document):
    for name, operation in operations(document):
        responses = operation["responses"]
        assert "500" in responses, name
        for status, response in responses.items():
            assert "X-Request-ID" in response["headers"], (name, status)
            if int(status) >= 400:
                content = response["content"]
                assert list(content) == ["application/problem+json"], (name, status)
                assert content["application/problem+json"]["schema"] == {"$ref": "#/components/schemas/Problem"}
        if "429" in responses:
            assert "Retry-After" in responses["429"]["headers"], name
        if "503" in responses:
            assert "Retry-After" in responses["503"]["headers"], name
        if "requestBody" in operation:
            assert {"400", "413", "415", "422"} <= set(responses), name
    ask = document["paths"]["/conversations/{conversation_id}/messages"]["post"]["responses"]
    assert "Location" in ask["202"]["headers"] and "429" in ask
    problem = document["components"]["schemas"]["Problem"]
    assert {"type", "title", "status", "detail", "code", "instance", "errors", "field"} <= set(problem["properties"])


async def test_public_operations_need_no_token(document):
    public = {
        "/auth/register",
        "/auth/login",
        "/auth/refresh",
        "/auth/logout",
        "/billing/events",
        "/shared/{token}",
        "/health",
        "/ready",
        "/metrics",
    }
    for name, operation in operations(document):
        path = name.split(" ", 1)[1]
        if path in public:
            assert operation["security"] == [], name
            assert "401" not in operation["responses"] or path in (
                "/auth/login",
                "/auth/refresh",
                "/billing/events",
                "/shared/{token}",
            )
        else:
            assert "security" not in operation, name  # the document's default: the bearer token
            assert "401" in operation["responses"], name
    assert document["security"] == [{"BearerToken": []}]


def _enum_of(document: dict, schema_name: str, field: str) -> list:
    prop = document["components"]["schemas"][schema_name]["properties"][field]
    for candidate in (prop, *prop.get("oneOf", ()), *prop.get("anyOf", ())):
        if "enum" in candidate:
            return candidate["enum"]
    raise AssertionError(f"{schema_name}.{field} has no enum: {prop}")


async def test_statuses_and_kinds_are_enums(document):
    assert set(_enum_of(document, "QueueStatus", "status")) == {
        "pending",
        "processing",
        "completed",
        "failed",
        "cancelled",
    }
    assert set(_enum_of(document, "User", "role")) == {"user", "moderator", "admin"}
    assert set(_enum_of(document, "Share", "status")) == {"active", "expired", "revoked", "exhausted"}
    assert "video" in _enum_of(document, "Resource", "kind")
    assert "request_failed" in _enum_of(document, "Notification", "kind")


def _validator(document: dict, path: str, method: str, status: int) -> jsonschema.Draft202012Validator:
    response = document["paths"][path][method]["responses"][str(status)]
    schema = response["content"]["application/problem+json"]["schema"]
    registry = Registry().with_resource("urn:mukti-openapi", DRAFT202012.create_resource(document))
    return jsonschema.Draft202012Validator({"$ref": "urn:mukti-openapi" + schema["$ref"]}, registry=registry)


async def test_error_answers_conform_to_the_document(client, db, settings, document):
    """Every error status the document names, each answer checked against the schema and headers
    its operation documents for it, as a generated client would decode it."""
    user = await create_user(db, settings)
    created = await client.post("/conversations", json={}, headers=user.headers)
    conversation = created.json()["id"]
    ask = f"/conversations/{conversation}/messages"
    cases = [
        ("/me", "get", await client.get("/me"), 401),
        ("/me", "get", await client.get("/me", headers={"Authorization": "Bearer not-a-token"}), 401),
        ("/queue/{request_id}", "get", await client.get(f"/queue/{uuid.uuid4()}", headers=user.headers), 404),
        (
            "/conversations/{conversation_id}/messages",
            "post",
            await client.post(ask, json={"content": ""}, headers=user.headers),
            422,
        ),
        (
            "/conversations/{conversation_id}/messages",
            "post",
            await client.post(
                ask, content=b'{"content": "hi"}', headers={**user.headers, "Content-Type": "text/plain"}
            ),
            415,
        ),
        (
            "/conversations/{conversation_id}/messages",
            "post",
            await client.post(ask, json={"content": "x" * (settings.max_body_size + 1)}, headers=user.headers),
            413,
        ),
    ]
    # Questions until the burst limit (or the plan's quota) answers 429.
    for _ in range(settings.burst_limit + 1):
        answer = await client.post(ask, json={"content": "why?"}, headers=user.headers)
        if answer.status_code == 429:
            break
        assert answer.status_code == 202, answer.text
        assert answer.headers["Location"] == f"/queue/{answer.json()['request_id']}"
    cases.append(("/conversations/{conversation_id}/messages", "post", answer, 429))

    cases.append(("/conversations", "post", await client.post("/conversations", content=b'{"title": ',
                  headers={**user.headers, "Content-Type": "application/json"}), 400))  # fmt: skip
    cases.append(("/admin/users", "get", await client.get("/admin/users", headers=user.headers), 403))
    taken = {"email": user.email, "password": "long enough password"}
    cases.append(("/auth/register", "post", await client.post("/auth/register", json=taken), 409))
    share = (await client.post(f"/conversations/{conversation}/shares", json={}, headers=user.headers)).json()
    await client.delete(f"/shares/{share['id']}", headers=user.headers)
    cases.append(("/shared/{token}", "get", await client.get(f"/shared/{share['token']}"), 410))
    await db.execute("UPDATE alembic_version SET version_num = '0001'")
    cases.append(("/ready", "get", await client.get("/ready"), 503))
    await db.execute("DROP TABLE notifications CASCADE")
    cases.append(("/me/notifications", "get", await client.get("/me/notifications", headers=user.headers), 500))

    documented = {int(status) for _, op in operations(document) for status in op["responses"]}
    assert {status for *_, status in cases} == {s for s in documented if s >= 400}

    for path, method, response, status in cases:
        assert response.status_code == status, (path, status, response.text)
        assert response.headers["content-type"].startswith("application/problem+json")
        body = response.json()
        _validator(document, path, method, status).validate(body)
        assert body["instance"] == response.headers["X-Request-ID"]
        for header in document["paths"][path][method]["responses"][str(status)]["headers"]:
            assert header.lower() in response.headers, (path, status, header)


async def test_the_reference_in_the_repository_names_every_operation(document):
    from pathlib import Path

    reference = (Path(__file__).resolve().parents[2] / "docs" / "api.md").read_text()
    missing = [op["operationId"] for _, op in operations(document) if f"`{op['operationId']}`" not in reference]
    assert missing == [], "document these operations in docs/api.md"
