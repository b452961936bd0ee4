"""Routes: /auth/*, /me, /me/*, /billing/events."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, delete, get, patch, post
from litestar.di import NamedDependency
from litestar.params import JSONBody
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED, HTTP_204_NO_CONTENT
from litestar.types import ControllerRouterHandler

from api.accounts import schemas, service
from api.paging import DEFAULT_LIMIT, Cursor, Limit
from core.crypto import SIGNATURE_HEADER
from core.database.gateway import Db

# Routes that act for no single user run as mukti_service, for these reasons (docs/privacy.md).
REGISTERING = "sign-in: the account is created before anyone is authenticated"
SIGNING_IN = "sign-in: the account is found by its email before anyone is authenticated"
REFRESHING = "sign-in: the account is found by its refresh token"
SIGNING_OUT = "sign-out: the session is found by its refresh token"
BILLING_WEBHOOK = "billing webhook: the payment provider names the account"


def _address(request: Request) -> str:
    """The client's address, which registration and sign-in throttle on."""
    return request.client.host if request.client else "unknown"


class AuthController(Controller):
    path = "/auth"
    tags = ["auth"]
    security = [{}]  # public: no access token

    @post("/register", status_code=HTTP_201_CREATED, summary="Create an account (free plan)")
    async def register(
        self, request: Request, db: NamedDependency[Db], data: JSONBody[schemas.RegisterRequest]
    ) -> schemas.AuthResponse:
        return await service.register(db.as_service(REGISTERING), request.app.state.settings, data, _address(request))

    @post("/login", status_code=HTTP_200_OK, summary="Exchange email and password for tokens")
    async def login(
        self, request: Request, db: NamedDependency[Db], data: JSONBody[schemas.LoginRequest]
    ) -> schemas.AuthResponse:
        return await service.login(db.as_service(SIGNING_IN), request.app.state.settings, data, _address(request))

    @post("/refresh", status_code=HTTP_200_OK, summary="Rotate a refresh token into a new token pair")
    async def refresh(
        self, request: Request, db: NamedDependency[Db], data: JSONBody[schemas.RefreshRequest]
    ) -> schemas.TokenPair:
        return await service.refresh(db.as_service(REFRESHING), request.app.state.settings, data.refresh_token)

    @post("/logout", status_code=HTTP_204_NO_CONTENT, summary="Revoke the session of a refresh token")
    async def logout(self, db: NamedDependency[Db], data: JSONBody[schemas.RefreshRequest]) -> None:
        await service.logout(db.as_service(SIGNING_OUT), data.refresh_token)


class MeController(Controller):
    path = "/me"
    tags = ["accounts"]

    @get("", summary="The caller's profile")
    async def get_me(self, request: Request, db: NamedDependency[Db]) -> schemas.User:
        return await service.get_me(db, request.user.id)

    @patch("", summary="Change display name, preferences or webhook URL")
    async def update_me(
        self, request: Request, db: NamedDependency[Db], data: JSONBody[schemas.UpdateMeRequest]
    ) -> schemas.User:
        return await service.update_me(
            db,
            request.user.id,
            data,
            allow_private_webhooks=request.app.state.settings.webhook_allow_private,
        )

    @delete("", status_code=HTTP_204_NO_CONTENT, summary="Delete and anonymize the caller's account")
    async def delete_me(self, request: Request, db: NamedDependency[Db]) -> None:
        await service.delete_me(db, request.user.id)

    @get("/export", summary="Everything the service holds about the caller")
    async def export(self, request: Request, db: NamedDependency[Db]) -> dict[str, Any]:
        return await service.export_me(db, request.user.id)

    @get("/subscription", summary="Plan, limits, usage in the current windows and when they reset")
    async def subscription(self, request: Request, db: NamedDependency[Db]) -> schemas.Subscription:
        return await service.subscription(db, request.user.id)

    @get("/notifications", summary="The caller's notifications, newest first")
    async def notifications(
        self,
        request: Request,
        db: NamedDependency[Db],
        limit: Limit = DEFAULT_LIMIT,
        cursor: Cursor = None,
    ) -> schemas.NotificationPage:
        return await service.notifications(db, request.user.id, limit, cursor)


class BillingController(Controller):
    path = "/billing"
    tags = ["billing"]
    security = [{}]  # public: the HMAC signature authenticates the payment provider

    @post(
        "/events",
        status_code=HTTP_200_OK,
        summary="Payment-provider webhook (HMAC-SHA256 of the raw body in X-Mukti-Signature)",
    )
    async def billing_events(self, request: Request, db: NamedDependency[Db]) -> schemas.BillingResult:
        body = await request.body()
        service.check_signature(request.app.state.settings.billing_secret, body, request.headers.get(SIGNATURE_HEADER))
        event = service.parse_billing_event(body)
        return await service.apply_billing_event(db.as_service(BILLING_WEBHOOK), body, event)


ROUTE_HANDLERS: list[ControllerRouterHandler] = [AuthController, MeController, BillingController]
