"""One controller style and one home per route path (README, "Layout")."""

from __future__ import annotations

import inspect
import sys

from litestar import Controller

from api.app import create_app
from core.settings import Settings


def _our_handlers():
    app = create_app(Settings())
    for route in app.routes:
        for handler in getattr(route, "route_handlers", []):
            if handler.fn.__module__.startswith("api."):
                yield route.path, handler


def test_every_route_is_a_method_of_a_controller():
    bare = []
    for path, handler in _our_handlers():
        owner_name = handler.fn.__qualname__.split(".")[0]
        owner = getattr(sys.modules[handler.fn.__module__], owner_name, None)
        if not (inspect.isclass(owner) and issubclass(owner, Controller)):
            bare.append(f"{sorted(handler.http_methods)} {path}: {handler.fn.__module__}.{handler.fn.__qualname__}")
    assert bare == []


def test_every_path_has_one_home():
    homes: dict[str, set[str]] = {}
    for path, handler in _our_handlers():
        homes.setdefault(path, set()).add(handler.fn.__module__.rsplit(".", 1)[0])
    assert {path: sorted(owners) for path, owners in homes.items() if len(owners) > 1} == {}


def test_every_feature_registers_its_routes_in_its_controllers_module():
    from api import app as app_module

    for feature in app_module.FEATURES:
        assert feature.ROUTE_HANDLERS is sys.modules[f"{feature.__name__}.controllers"].ROUTE_HANDLERS, feature
