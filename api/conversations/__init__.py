"""The conversations feature: controllers, schemas and service."""

from api.conversations.controllers import ROUTE_HANDLERS

__all__ = ["ROUTE_HANDLERS"]
