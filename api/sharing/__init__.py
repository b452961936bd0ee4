"""The sharing feature: controllers, schemas and service."""

from litestar.types import ControllerRouterHandler

ROUTE_HANDLERS: list[ControllerRouterHandler] = []
