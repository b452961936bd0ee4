"""The OpenAPI document and the interactive docs.

Litestar generates the paths and schemas from the handlers; `refine()` adds what it
cannot know, from one table (`OPERATIONS`, keyed by "METHOD /path"):

- a readable operationId and one tag per operation;
- every error status an operation can answer, each with the one problem+json schema
  (`Problem`). Most are derived from the operation's shape (a path parameter can be
  404, a body can be 400/413/415/422, a bearer token can be 401, anything can be
  500/503); the table adds the ones only the code knows (403, 409, 410, 429…);
- response headers: `Location` on a 202, `Retry-After` on 429 and 503, `WWW-Authenticate`
  on 401, `X-Request-ID` on everything;
- no security requirement on the public operations (`security: []`);
- `additionalProperties: false` on the bodies that refuse unknown fields.

A route missing from the table fails tests/integration/test_openapi.py, which names it.

The docs pages (Swagger UI at /schema and /schema/swagger, Redoc at /schema/redoc) load
their scripts from /schema/assets, served from the copies vendored under assets/ (see
assets/README.md for versions and licences): they work without internet.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from litestar import Litestar
from litestar._openapi.plugin import OpenAPIPlugin
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import JsonRenderPlugin, RedocRenderPlugin, SwaggerRenderPlugin
from litestar.openapi.spec import Components, SecurityScheme, Tag
from litestar.router import Router
from litestar.static_files import create_static_files_router

ASSETS = Path(__file__).parent / "assets"
SWAGGER_UI = "swagger-ui-5.35.0"
REDOC = "redoc-2.5.4"
SCHEMA_PATH = "/schema"
ASSETS_PATH = f"{SCHEMA_PATH}/assets"

TAGS = {
    "accounts": "Registration, login and tokens; the caller's profile, subscription and notifications",
    "billing": "The payment provider's webhook (HMAC-signed, no bearer token)",
    "conversations": "Conversations, asking a question and following it through the queue",
    "dialogue": "Regenerating a reply, editing the last question, versions, feedback, export",
    "search": "A conversation's full history and full-text search over one's messages",
    "library": "Techniques and resources, their versions and votes",
    "moderation": "Approving and rejecting submitted techniques and resources (moderators, admins)",
    "sharing": "Read-only share links of a conversation, and reading them (public)",
    "usage": "The caller's usage per day",
    "admin": "Users, plans, the queue and monthly reports (admins)",
    "operations": "Liveness, readiness and Prometheus metrics (public)",
}


@dataclass(frozen=True)
class Op:
    operation_id: str
    tag: str
    errors: tuple[int, ...] = ()  # statuses beyond the derived ones
    public: bool = False
    body: bool = False  # reads a body the handler signature does not declare (raw bytes)
    success_content: dict[str, Any] | None = None  # the 2xx media types, when not only JSON


OPERATIONS: dict[str, Op] = {
    "GET /health": Op("getHealth", "operations", public=True),
    "GET /ready": Op("getReadiness", "operations", public=True),
    "GET /metrics": Op("getMetrics", "operations", public=True),
    "POST /auth/register": Op("register", "accounts", (409, 429), public=True),
    "POST /auth/login": Op("logIn", "accounts", (401, 429), public=True),
    "POST /auth/refresh": Op("refreshTokens", "accounts", (401,), public=True),
    "POST /auth/logout": Op("logOut", "accounts", public=True),
    "GET /me": Op("getMe", "accounts", (404,)),
    "PATCH /me": Op("updateMe", "accounts", (404,)),
    "DELETE /me": Op("deleteMe", "accounts"),
    "GET /me/export": Op("exportMe", "accounts", (404,)),
    "GET /me/subscription": Op("getSubscription", "accounts", (404,)),
    "GET /me/notifications": Op("listNotifications", "accounts"),
    "POST /billing/events": Op("receiveBillingEvent", "billing", (401,), public=True, body=True),
    "GET /conversations": Op("listConversations", "conversations"),
    "POST /conversations": Op("createConversation", "conversations"),
    "GET /conversations/{conversation_id}": Op("getConversation", "conversations"),
    "PATCH /conversations/{conversation_id}": Op("updateConversation", "conversations"),
    "DELETE /conversations/{conversation_id}": Op("deleteConversation", "conversations"),
    # 202 with the accepted question; with Accept: text/event-stream, 200 and the events.
    "POST /conversations/{conversation_id}/messages": Op(
        "askQuestion",
        "conversations",
        (429,),
        success_content={
            "application/json": {"schema": {"$ref": "#/components/schemas/QuestionAccepted"}},
            "text/event-stream": {"schema": {"type": "string"}},
        },
    ),
    "GET /queue/{request_id}": Op("getQueueEntry", "conversations"),
    "GET /queue/{request_id}/events": Op(
        "streamQueueEvents",
        "conversations",
        (422,),
        success_content={"text/event-stream": {"schema": {"type": "string"}}},
    ),
    "POST /queue/{request_id}/cancel": Op("cancelRequest", "conversations", (409,)),
    "POST /conversations/{conversation_id}/regenerate": Op("regenerateReply", "dialogue", (409, 429)),
    "PATCH /conversations/{conversation_id}/messages/{seq}": Op("editQuestion", "dialogue", (409, 429)),
    "GET /conversations/{conversation_id}/messages/{seq}/versions": Op("listMessageVersions", "dialogue"),
    "PUT /conversations/{conversation_id}/messages/{seq}/feedback": Op("putFeedback", "dialogue"),
    "DELETE /conversations/{conversation_id}/messages/{seq}/feedback": Op("deleteFeedback", "dialogue", (422,)),
    "GET /conversations/{conversation_id}/export": Op(
        "exportConversation",
        "dialogue",
        success_content={
            "text/markdown": {"schema": {"type": "string"}},
            "application/json": {"schema": {"type": "object"}},
        },
    ),
    "GET /conversations/{conversation_id}/messages": Op("listMessages", "search"),
    "GET /search": Op("searchMessages", "search"),
    "GET /techniques": Op("listTechniques", "library"),
    "POST /techniques": Op("createTechnique", "library"),
    "GET /techniques/{technique_id}": Op("getTechnique", "library"),
    "PATCH /techniques/{technique_id}": Op("updateTechnique", "library", (403, 409)),
    "DELETE /techniques/{technique_id}": Op("deleteTechnique", "library", (403, 409)),
    "GET /techniques/{technique_id}/versions": Op("listTechniqueVersions", "library"),
    "GET /techniques/{technique_id}/stats": Op("getTechniqueStats", "library"),
    "PUT /techniques/{technique_id}/vote": Op("voteOnTechnique", "library", (403,)),
    "DELETE /techniques/{technique_id}/vote": Op("removeTechniqueVote", "library", (403,)),
    "GET /resources": Op("listResources", "library"),
    "POST /resources": Op("createResource", "library"),
    "GET /resources/{resource_id}": Op("getResource", "library"),
    "PATCH /resources/{resource_id}": Op("updateResource", "library", (403, 409)),
    "DELETE /resources/{resource_id}": Op("deleteResource", "library", (403, 409)),
    "PUT /resources/{resource_id}/vote": Op("voteOnResource", "library", (403,)),
    "DELETE /resources/{resource_id}/vote": Op("removeResourceVote", "library", (403,)),
    "GET /moderation/queue": Op("getModerationQueue", "moderation", (403,)),
    "POST /moderation/techniques/{technique_id}/approve": Op("approveTechnique", "moderation", (403, 409)),
    "POST /moderation/techniques/{technique_id}/reject": Op("rejectTechnique", "moderation", (403, 409)),
    "POST /moderation/resources/{resource_id}/approve": Op("approveResource", "moderation", (403, 409)),
    "POST /moderation/resources/{resource_id}/reject": Op("rejectResource", "moderation", (403, 409)),
    "POST /conversations/{conversation_id}/shares": Op("createShare", "sharing"),
    "GET /conversations/{conversation_id}/shares": Op("listShares", "sharing"),
    "DELETE /shares/{share_id}": Op("revokeShare", "sharing"),
    "GET /shares/{share_id}/analytics": Op("getShareAnalytics", "sharing"),
    "GET /shared/{token}": Op("viewSharedConversation", "sharing", (401, 410, 429), public=True),
    "GET /me/usage": Op("getMyUsage", "usage"),
    "GET /admin/users": Op("listUsers", "admin", (403,)),
    "PATCH /admin/users/{user_id}": Op("updateUser", "admin", (403, 409)),
    "PUT /admin/users/{user_id}/subscription": Op("setUserPlan", "admin", (403,)),
    "GET /admin/reports/monthly": Op("getMonthlyReport", "admin", (403,)),
    "GET /admin/queue": Op("getQueueOverview", "admin", (403,)),
}

_DESCRIPTIONS = {
    400: "The body is not valid JSON",
    401: "No valid credentials (see `WWW-Authenticate`)",
    403: "Authenticated, but not allowed",
    404: "Not found (someone else's object is not found too)",
    409: "Conflicts with the current state",
    410: "Gone: expired, revoked or used up",
    413: "The body is larger than the configured limit (1 MiB by default)",
    415: "The body is not JSON (`Content-Type: application/json`)",
    422: "Invalid input; `field` and `errors` name the offending fields",
    429: "Too many requests; retry after `Retry-After` seconds",
    500: "Unexpected error; `instance` is the request id to report",
    503: "Temporarily unavailable (e.g. `database_unavailable`); retry after `Retry-After` seconds",
}

PROBLEM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "An error (RFC 9457, application/problem+json).",
    "required": ["type", "title", "status", "detail", "code", "instance"],
    "properties": {
        "type": {"type": "string", "description": "A URI reference naming the problem type", "example": "about:blank"},
        "title": {"type": "string", "description": "Short summary of the status", "example": "Not Found"},
        "status": {"type": "integer", "description": "The HTTP status", "example": 404},
        "detail": {"type": "string", "description": "What went wrong, for people", "example": "conversation not found"},
        "code": {
            "type": "string",
            "description": "Stable machine-readable code, e.g. `rate_limited`, "
            "`quota_exhausted`, `not_found`, `validation_failed`, `conflict`, `forbidden`, `unauthorized`, "
            "`token_expired`, `gone`, `payload_too_large`, `unsupported_media_type`, `database_unavailable`",
            "example": "not_found",
        },
        "instance": {
            "type": "string",
            "description": "The request id (as in the `X-Request-ID` header)",
            "example": "5f0c6c1e9b2d4a7f8e3d2c1b0a998877",
        },
        "field": {"type": ["string", "null"], "description": "The offending input field, for input errors"},
        "errors": {
            "type": "array",
            "description": "Every offending field, for input errors",
            "items": {"$ref": "#/components/schemas/FieldError"},
        },
        "retry_after": {"type": "integer", "description": "Seconds until a retry can succeed (429)"},
    },
}
FIELD_ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["field", "message"],
    "properties": {
        "field": {"type": ["string", "null"]},
        "message": {"type": "string"},
        "source": {"type": ["string", "null"], "description": "body, query, path or header"},
    },
}

_HEADERS: dict[str, dict[str, Any]] = {
    "X-Request-ID": {
        "description": "The request's id: the client's own when it sent a sane one, else a new one",
        "schema": {"type": "string"},
    },
    "Retry-After": {"description": "Whole seconds to wait before retrying", "schema": {"type": "integer"}},
    "WWW-Authenticate": {
        "description": 'The authentication scheme: `Bearer realm="mukti"`',
        "schema": {"type": "string"},
    },
    "Location": {
        "description": "Where to follow the accepted request: `/queue/{request_id}`",
        "schema": {"type": "string"},
    },
}
_ERROR_HEADERS = {401: ("WWW-Authenticate",), 429: ("Retry-After",), 503: ("Retry-After",)}


def _header_refs(names: tuple[str, ...]) -> dict[str, Any]:
    return {name: {"$ref": f"#/components/headers/{name}"} for name in ("X-Request-ID", *names)}


def _error_statuses(op: Op, operation: dict[str, Any], path: str) -> set[int]:
    params = operation.get("parameters") or []
    statuses = {500} if path == "/health" else {500, 503}
    if not op.public:
        statuses.add(401)
    if any(p.get("in") == "path" for p in params):
        statuses.add(404)
    if any(p.get("in") in ("query", "header") for p in params):
        statuses.add(422)
    if "requestBody" in operation or op.body:
        statuses.update((400, 413, 415, 422))
    statuses.update(op.errors)
    return statuses


# Rules the handlers check themselves (so that the answer is their own clear message), told
# to clients too: (schema, property) -> JSON Schema keywords.
FIELD_RULES: dict[tuple[str, str], dict[str, Any]] = {
    ("QuestionCreate", "content"): {
        "minLength": 1,
        "maxLength": 8000,
        "pattern": "\\S",
        "description": "1 to 8,000 characters, not only blanks",
    },
    ("UpdateMeRequest", "webhook_url"): {
        "pattern": "^https?://",
        "format": "uri",
        "description": "an http(s) URL; private addresses are refused",
    },
}


def _strict_bodies() -> set[str]:
    """Names of the request bodies that refuse unknown fields (msgspec `forbid_unknown_fields`)."""
    import msgspec

    def subclasses(cls: type[msgspec.Struct]) -> Iterator[type[msgspec.Struct]]:
        for sub in cls.__subclasses__():
            yield sub
            yield from subclasses(sub)

    return {cls.__name__ for cls in subclasses(msgspec.Struct)
            if cls.__module__.startswith("api.") and cls.__struct_config__.forbid_unknown_fields}  # fmt: skip


def refine(schema: dict[str, Any]) -> dict[str, Any]:
    """Complete Litestar's document in place (see the module docstring); returns it."""
    components = schema.setdefault("components", {})
    # Unknown fields are refused (422): say so, or a client (and a fuzzer) would think them fine.
    strict = _strict_bodies()
    for name, body in components.get("schemas", {}).items():
        if name in strict:
            body["additionalProperties"] = False
    for (name, prop), rules in FIELD_RULES.items():
        components["schemas"][name]["properties"][prop].update(rules)
    components.setdefault("schemas", {}).update(Problem=PROBLEM_SCHEMA, FieldError=FIELD_ERROR_SCHEMA)
    components["headers"] = _HEADERS
    schema["tags"] = [{"name": name, "description": text} for name, text in TAGS.items()]
    for path, item in schema.get("paths", {}).items():
        for method, operation in item.items():
            if method not in ("get", "put", "post", "patch", "delete"):
                continue
            op = OPERATIONS.get(f"{method.upper()} {path}")
            if op is None:
                continue  # reported by the test that checks the table covers every operation
            operation["operationId"] = op.operation_id
            operation["tags"] = [op.tag]
            if op.public:
                operation["security"] = []
            else:
                operation.pop("security", None)  # the document's default: the bearer token
            responses = operation.setdefault("responses", {})
            # Litestar documents its own 400 body ({status_code, detail, extra}); ours replaces it.
            responses.pop("400", None)
            for status, response in responses.items():
                if op.success_content is not None:
                    response["content"] = op.success_content
                headers = ("Location",) if status == "202" else ()
                response["headers"] = {**response.get("headers", {}), **_header_refs(headers)}
            for status in sorted(_error_statuses(op, operation, path)):
                responses[str(status)] = {
                    "description": _DESCRIPTIONS[status],
                    "headers": _header_refs(_ERROR_HEADERS.get(status, ())),
                    "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}},
                }
    return schema


def unlisted_operations(schema: dict[str, Any]) -> list[str]:
    """Operations of the document that OPERATIONS does not describe (a test keeps this empty)."""
    return sorted(
        f"{method.upper()} {path}"
        for path, item in schema.get("paths", {}).items()
        for method in item
        if method in ("get", "put", "post", "patch", "delete") and f"{method.upper()} {path}" not in OPERATIONS
    )


_REFINED: dict[tuple, dict[str, Any]] = {}


def install_refined_schema(app: Litestar) -> None:
    """Build the document and keep the refined one: it is what /schema/* serve. Apps with the
    same routes share one (tests build an app per test; the build takes ~0.1 s)."""
    plugin = app.plugins.get(OpenAPIPlugin)
    routes = tuple(sorted((route.path, tuple(sorted(getattr(route, "methods", ())))) for route in app.routes))
    if routes not in _REFINED:
        _REFINED[routes] = refine(plugin.provide_openapi().to_schema())
    plugin._openapi_schema = _REFINED[routes]  # noqa: SLF001 (no public hook)


def openapi_config(title: str, version: str, description: str) -> OpenAPIConfig:
    favicon = f"<link rel='icon' type='image/png' href='{ASSETS_PATH}/{SWAGGER_UI}/favicon-32x32.png'>"
    swagger = f"{ASSETS_PATH}/{SWAGGER_UI}"
    return OpenAPIConfig(
        title=title,
        version=version,
        description=description,
        path=SCHEMA_PATH,
        render_plugins=[
            # The first plugin also answers /schema itself.
            SwaggerRenderPlugin(
                path="/swagger",
                js_url=f"{swagger}/swagger-ui-bundle.js",
                css_url=f"{swagger}/swagger-ui.css",
                standalone_preset_js_url=f"{swagger}/swagger-ui-standalone-preset.js",
                favicon=favicon,
            ),
            RedocRenderPlugin(
                path="/redoc", js_url=f"{ASSETS_PATH}/{REDOC}/redoc.standalone.js", google_fonts=False, favicon=favicon
            ),
            JsonRenderPlugin(),
        ],
        components=Components(
            security_schemes={"BearerToken": SecurityScheme(type="http", scheme="bearer", bearer_format="JWT")}
        ),
        security=[{"BearerToken": []}],
        tags=[Tag(name=name, description=text) for name, text in TAGS.items()],
    )


def assets_router() -> Router:
    return create_static_files_router(
        path=ASSETS_PATH, directories=[ASSETS], include_in_schema=False, send_as_attachment=False
    )
