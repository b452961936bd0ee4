"""Live answers: a request's events over SSE (relayed through Postgres) and cancelling it."""

from api.live.controllers import ROUTE_HANDLERS

__all__ = ["ROUTE_HANDLERS"]
