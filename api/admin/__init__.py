"""The admin feature: /admin/users (roles, status, plans)."""

from api.admin.controllers import ROUTE_HANDLERS

__all__ = ["ROUTE_HANDLERS"]
