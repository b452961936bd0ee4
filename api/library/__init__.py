"""The library feature: controllers, schemas and service."""

from api.library.controllers import ROUTE_HANDLERS as ROUTE_HANDLERS
