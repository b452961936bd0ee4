"""The usage feature: controllers, schemas and service."""

from api.usage.controllers import ROUTE_HANDLERS

__all__ = ["ROUTE_HANDLERS"]
