"""Dialogue: export, message versions and feedback on replies (API.md "Dialogue")."""

from api.dialogue.controllers import ROUTE_HANDLERS

__all__ = ["ROUTE_HANDLERS"]
