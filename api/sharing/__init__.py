"""The sharing feature: controllers, schemas and service."""

from litestar.types import ControllerRouterHandler

from api.sharing.controllers import ROUTE_HANDLERS as _HANDLERS

ROUTE_HANDLERS: list[ControllerRouterHandler] = list(_HANDLERS)
