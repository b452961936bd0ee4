"""Live answers: a request's events over SSE (relayed through Postgres) and cancelling it."""

from litestar.types import ControllerRouterHandler

from api.live.controllers import cancel_request, queue_events

ROUTE_HANDLERS: list[ControllerRouterHandler] = [queue_events, cancel_request]
