"""The conversations feature: controllers, schemas and service."""

from litestar.types import ControllerRouterHandler

from api.conversations.controllers import (
    ConversationController,
    admin_queue,
    queue_status,
)

ROUTE_HANDLERS: list[ControllerRouterHandler] = [ConversationController, queue_status, admin_queue]
