"""The library feature: controllers, schemas and service."""

from litestar.types import ControllerRouterHandler

from api.library.controllers import (
    ModerationController,
    ResourceController,
    TechniqueController,
)

ROUTE_HANDLERS: list[ControllerRouterHandler] = [TechniqueController, ResourceController, ModerationController]
