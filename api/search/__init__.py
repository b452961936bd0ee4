"""The search feature: full-text search over the caller's own messages."""

from api.search.controllers import ROUTE_HANDLERS

__all__ = ["ROUTE_HANDLERS"]
