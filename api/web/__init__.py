"""The web client: a single page served at `/` with its scripts and styles under `/static/`,
and the toolkit (page shell, templates, security headers) other features use to answer
browsers with HTML (the shared-conversation pages of api/sharing).

Plain HTML, CSS and JavaScript modules shipped in this package: no build step, no CDN.
`MUKTI_WEB_CLIENT=off` leaves these routes out (an API-only deployment).
"""

from api.web.controllers import ROUTE_HANDLERS

__all__ = ["ROUTE_HANDLERS"]
