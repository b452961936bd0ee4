"""The accounts feature: registration, login, tokens, the caller's account, billing events."""

from api.accounts.controllers import ROUTE_HANDLERS

__all__ = ["ROUTE_HANDLERS"]
