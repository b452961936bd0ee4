"""The usage feature: controllers, schemas and service."""

from litestar.types import ControllerRouterHandler

from api.usage.controllers import monthly_report, my_usage

ROUTE_HANDLERS: list[ControllerRouterHandler] = [my_usage, monthly_report]
