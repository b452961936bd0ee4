"""The accounts feature: registration, login, tokens, the caller's account, billing events."""

from litestar.types import ControllerRouterHandler

from api.accounts.controllers import AuthController, MeController, billing_events

ROUTE_HANDLERS: list[ControllerRouterHandler] = [AuthController, MeController, billing_events]
