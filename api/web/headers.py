"""Security headers of every page and asset of the web client.

The Content-Security-Policy allows scripts, styles, images and connections from this
origin only: no inline script or style, no third-party origin, no plugins, no framing,
no <base> rewriting, forms posting only here. Trusted Types with no policy make any
assignment of a string to innerHTML (or another HTML sink) throw in browsers that enforce
them, so the client can only build the page from DOM nodes and text.
"""

from __future__ import annotations

CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "font-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
        "require-trusted-types-for 'script'",
        "trusted-types 'none'",
    )
)

SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
}

# The client page and its assets: revalidated on every load (a new version shows at once;
# the ETag makes an unchanged file a 304).
APP_HEADERS = {**SECURITY_HEADERS, "Referrer-Policy": "same-origin", "Cache-Control": "no-cache"}
