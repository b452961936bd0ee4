"""Access tokens, the authentication middleware and role guards.

Access tokens are JWTs signed with one pinned algorithm (HS256); `exp`, `iss` and
`aud` are required and checked. Every authenticated request re-reads the user's
role and status (one primary-key lookup), so a suspension or a deletion cuts off
a live token at once and a role change applies immediately. A hot route may do that
check in its own SQL call instead (one round trip less): it declares
`opt={STATUS_CHECKED_BY_HANDLER: True}`, gets a user whose role is the token's claim and
whose email is empty, and must answer `account_unusable()` when its SQL finds the user
missing or not active.
"""

from __future__ import annotations

import functools
import time
import uuid
from dataclasses import dataclass

import jwt
from litestar.connection import ASGIConnection
from litestar.handlers.base import BaseRouteHandler
from litestar.middleware import AbstractAuthenticationMiddleware, AuthenticationResult
from litestar.middleware.base import DefineMiddleware

from api.errors import ApiError
from core.crypto import ACCESS_TOKENS, derive_key
from core.settings import Settings

ALGORITHM = "HS256"

# Routes that need no access token (API.md, "Conventions").
PUBLIC_PATHS = (
    "/auth/",
    "/shared/",
    "/health",
    "/ready",
    "/metrics",
    "/schema",
    "/billing/events",
)
# The web client's page and its static files (the page itself signs in through /auth/).
WEB_CLIENT_PATHS = ("^/$", "^/static/")
_EXCLUDE = [f"^{p}" for p in PUBLIC_PATHS] + list(WEB_CLIENT_PATHS)


@dataclass(frozen=True, slots=True)
class CurrentUser:
    id: str
    role: str
    email: str

    @property
    def is_moderator(self) -> bool:
        return self.role in ("moderator", "admin")

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


def issue_access_token(settings: Settings, user_id: str, role: str, *, ttl: int | None = None) -> str:
    now = int(time.time())
    claims = {
        "sub": str(user_id),
        "role": role,
        "iat": now,
        "nbf": now,
        "exp": now + (settings.access_token_ttl if ttl is None else ttl),
        "iss": settings.jwt_issuer,
        "aud": settings.jwt_audience,
        "jti": uuid.uuid4().hex,
    }
    return jwt.encode(claims, derive_key(settings.jwt_secret, ACCESS_TOKENS), algorithm=ALGORITHM)


LEEWAY = 5


@functools.lru_cache(maxsize=4096)
def _verified_claims(token: str, key: bytes, audience: str, issuer: str) -> dict:
    # A client sends the same token for its whole lifetime: verifying it once per process
    # spares ~60 µs per request. Only tokens that verified are cached (a raise is not),
    # keyed by the whole token with its signature and by the key; the one check whose
    # answer changes with time, expiry, is redone on every use (nbf and iat, once
    # passed, stay passed).
    return jwt.decode(
        token,
        key,
        algorithms=[ALGORITHM],
        audience=audience,
        issuer=issuer,
        options={"require": ["exp", "iat", "iss", "aud", "sub"]},
        leeway=LEEWAY,
    )


# RFC 6750: a token was sent but cannot be used.
_INVALID_TOKEN = {"WWW-Authenticate": 'Bearer realm="mukti", error="invalid_token"'}


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def decode_access_token(settings: Settings, token: str) -> dict:
    """The verified claims, or ApiError(401). Only HS256 is accepted (no `none`, no RS/HS confusion)."""
    try:
        claims = _verified_claims(
            token, derive_key(settings.jwt_secret, ACCESS_TOKENS), settings.jwt_audience, settings.jwt_issuer
        )
    except jwt.ExpiredSignatureError as exc:
        raise ApiError(401, "the access token has expired", code="token_expired", headers=_INVALID_TOKEN) from exc
    except jwt.PyJWTError as exc:
        raise ApiError(401, "the access token is not valid", code="unauthorized", headers=_INVALID_TOKEN) from exc
    # Signed by us yet malformed (a key leaked to a test, a bug in another issuer): PyJWT
    # accepts an `exp` of "1700000000"; every claim we read must have its type.
    if not all(_is_number(claims.get(name)) for name in ("exp", "iat")) or not isinstance(claims.get("sub"), str):
        raise ApiError(401, "the access token is not valid", code="unauthorized", headers=_INVALID_TOKEN)
    if not isinstance(claims.get("role", ""), str):
        raise ApiError(401, "the access token is not valid", code="unauthorized", headers=_INVALID_TOKEN)
    if claims["exp"] <= time.time() - LEEWAY:
        raise ApiError(401, "the access token has expired", code="token_expired", headers=_INVALID_TOKEN)
    return dict(claims)


_UNAUTHORIZED_HEADERS = {"WWW-Authenticate": 'Bearer realm="mukti"'}

# Route option: the handler's SQL checks that the user exists and is active (see above).
STATUS_CHECKED_BY_HANDLER = "user_status_checked_by_handler"


def account_unusable() -> ApiError:
    return ApiError(401, "this account cannot be used", code="unauthorized", headers=_UNAUTHORIZED_HEADERS)


class JWTAuthenticationMiddleware(AbstractAuthenticationMiddleware):
    async def authenticate_request(self, connection: ASGIConnection) -> AuthenticationResult:
        header = connection.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise ApiError(401, "a bearer access token is required", headers=_UNAUTHORIZED_HEADERS)
        settings: Settings = connection.app.state.settings
        claims = decode_access_token(settings, token.strip())
        try:
            user_id = str(uuid.UUID(claims["sub"]))
        except (ValueError, TypeError) as exc:
            raise ApiError(401, "the access token is not valid", headers=_INVALID_TOKEN) from exc
        if connection.route_handler.opt.get(STATUS_CHECKED_BY_HANDLER):
            return AuthenticationResult(
                user=CurrentUser(id=user_id, role=str(claims.get("role", "")), email=""), auth=claims
            )
        row = await connection.app.state.db.fetchrow("accounts_authenticate", user_id=user_id)
        if row is None or row["status"] != "active":
            raise account_unusable()
        return AuthenticationResult(user=CurrentUser(id=row["id"], role=row["role"], email=row["email"]), auth=claims)


def authentication_middleware() -> DefineMiddleware:
    return DefineMiddleware(JWTAuthenticationMiddleware, exclude=_EXCLUDE)


def _preflight(connection: ASGIConnection) -> bool:
    # OPTIONS is answered without authentication (CORS preflight): there is no user to
    # check, and nothing behind it to protect.
    return connection.scope.get("method") == "OPTIONS"


def requires_moderator(connection: ASGIConnection, _: BaseRouteHandler) -> None:
    """Guard for moderator routes: moderators and admins pass, everyone else gets 403."""
    if _preflight(connection):
        return
    if not connection.user.is_moderator:
        raise ApiError(403, "this route is for moderators and admins", code="forbidden")


def requires_admin(connection: ASGIConnection, _: BaseRouteHandler) -> None:
    """Guard for admin routes: 403 for everyone but admins."""
    if _preflight(connection):
        return
    if not connection.user.is_admin:
        raise ApiError(403, "this route is for admins", code="forbidden")
