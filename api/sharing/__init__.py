"""The sharing feature: controllers, schemas and service."""

from api.sharing.controllers import ROUTE_HANDLERS as ROUTE_HANDLERS
