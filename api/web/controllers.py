"""Routes of the web client: the page at `/` and its static files under `/static/`."""

from __future__ import annotations

import functools
from pathlib import Path

from litestar import Controller, Response, get
from litestar.static_files import create_static_files_router
from litestar.types import ControllerRouterHandler

from api.web.headers import APP_HEADERS

STATIC = Path(__file__).parent / "static"


@functools.cache
def _index() -> bytes:
    return (Path(__file__).parent / "templates" / "index.html").read_bytes()


class WebClientController(Controller):
    path = "/"
    include_in_schema = False

    @get("/", sync_to_thread=False)
    def client_page(self) -> Response[bytes]:
        """The single page of the client; it routes with the URL fragment (`#/c/<id>`), so
        the back button works and no token ever appears in a URL or a server log."""
        return Response(_index(), media_type="text/html", headers=APP_HEADERS)


def _asset_headers(response: Response) -> Response:
    response.headers.update(APP_HEADERS)
    return response


static_files = create_static_files_router(
    path="/static", directories=[STATIC], name="web-static", after_request=_asset_headers, include_in_schema=False
)

# The static files are a router of Litestar's own, not handlers of ours.
ROUTE_HANDLERS: list[ControllerRouterHandler] = [WebClientController, static_files]
