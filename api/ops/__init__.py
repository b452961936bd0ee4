"""The operations routes: /health, /ready and /metrics."""

from api.ops.controllers import ROUTE_HANDLERS

__all__ = ["ROUTE_HANDLERS"]
