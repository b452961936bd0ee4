"""The admin feature: /admin/users (roles, status, plans)."""

from litestar.types import ControllerRouterHandler

from api.admin.controllers import AdminUsersController

ROUTE_HANDLERS: list[ControllerRouterHandler] = [AdminUsersController]
