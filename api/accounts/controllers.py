"""Routes: /auth/*, /me, /me/*, /billing/events."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, delete, get, patch, post
from litestar.params import FromQuery, JSONBody, QueryParameter
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED, HTTP_204_NO_CONTENT

from api.accounts import schemas, service
from api.accounts.paging import DEFAULT_LIMIT, MAX_LIMIT
from api.database import service_db, user_db
from core.crypto import SIGNATURE_HEADER

# Routes that act for no single user run as mukti_service, for these reasons (docs/privacy.md).
REGISTERING = "sign-in: the account is created before anyone is authenticated"
SIGNING_IN = "sign-in: the account is found by its email before anyone is authenticated"
REFRESHING = "sign-in: the account is found by its refresh token"
SIGNING_OUT = "sign-out: the session is found by its refresh token"
BILLING_WEBHOOK = "billing webhook: the payment provider names the account"


class AuthController(Controller):
    path = "/auth"
    tags = ["auth"]
    security = [{}]  # public: no access token

    @post("/register", status_code=HTTP_201_CREATED, summary="Create an account (free plan)")
    async def register(self, request: Request, data: JSONBody[schemas.RegisterRequest]) -> schemas.AuthResponse:
        address = request.client.host if request.client else "unknown"
        return await service.register(service_db(request, REGISTERING), request.app.state.settings, data, address)

    @post("/login", status_code=HTTP_200_OK, summary="Exchange email and password for tokens")
    async def login(self, request: Request, data: JSONBody[schemas.LoginRequest]) -> schemas.AuthResponse:
        address = request.client.host if request.client else "unknown"
        return await service.login(service_db(request, SIGNING_IN), request.app.state.settings, data, address)

    @post("/refresh", status_code=HTTP_200_OK, summary="Rotate a refresh token into a new token pair")
    async def refresh(self, request: Request, data: JSONBody[schemas.RefreshRequest]) -> schemas.TokenPair:
        return await service.refresh(service_db(request, REFRESHING), request.app.state.settings, data.refresh_token)

    @post("/logout", status_code=HTTP_204_NO_CONTENT, summary="Revoke the session of a refresh token")
    async def logout(self, request: Request, data: JSONBody[schemas.RefreshRequest]) -> None:
        await service.logout(service_db(request, SIGNING_OUT), data.refresh_token)


class MeController(Controller):
    path = "/me"
    tags = ["accounts"]

    @get("", summary="The caller's profile")
    async def get_me(self, request: Request) -> schemas.User:
        return await service.get_me(user_db(request), request.user.id)

    @patch("", summary="Change display name, preferences or webhook URL")
    async def update_me(self, request: Request, data: JSONBody[schemas.UpdateMeRequest]) -> schemas.User:
        return await service.update_me(
            user_db(request),
            request.user.id,
            data,
            allow_private_webhooks=request.app.state.settings.webhook_allow_private,
        )

    @delete("", status_code=HTTP_204_NO_CONTENT, summary="Delete and anonymize the caller's account")
    async def delete_me(self, request: Request) -> None:
        await service.delete_me(user_db(request), request.user.id)

    @get("/export", summary="Everything the service holds about the caller")
    async def export(self, request: Request) -> dict[str, Any]:
        return await service.export_me(user_db(request), request.user.id)

    @get("/subscription", summary="Plan, limits, usage in the current windows and when they reset")
    async def subscription(self, request: Request) -> schemas.Subscription:
        return await service.subscription(user_db(request), request.user.id)

    @get("/notifications", summary="The caller's notifications, newest first")
    async def notifications(
        self,
        request: Request,
        limit: Annotated[int, QueryParameter(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
        cursor: FromQuery[str | None] = None,
    ) -> schemas.NotificationPage:
        return await service.notifications(user_db(request), request.user.id, limit, cursor)


@post(
    "/billing/events",
    status_code=HTTP_200_OK,
    tags=["billing"],
    security=[{}],
    summary="Payment-provider webhook (HMAC-SHA256 of the raw body in X-Mukti-Signature)",
)
async def billing_events(request: Request) -> schemas.BillingResult:
    body = await request.body()
    service.check_signature(request.app.state.settings.billing_secret, body, request.headers.get(SIGNATURE_HEADER))
    event = service.parse_billing_event(body)
    return await service.apply_billing_event(service_db(request, BILLING_WEBHOOK), body, event)
