"""Dialogue: export, message versions and feedback on replies (API.md "Dialogue")."""

from litestar.types import ControllerRouterHandler

from api.dialogue.controllers import DialogueController

ROUTE_HANDLERS: list[ControllerRouterHandler] = [DialogueController]
