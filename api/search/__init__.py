"""The search feature: conversation history paging and full-text search."""

from litestar.types import ControllerRouterHandler

from api.search.controllers import ROUTE_HANDLERS as _HANDLERS

ROUTE_HANDLERS: list[ControllerRouterHandler] = [*_HANDLERS]
