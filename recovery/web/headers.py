"""Security headers on every response: a strict Content-Security-Policy, no framing, no type sniffing, and
referrers kept inside the site.

The app loads nothing from elsewhere (Leaflet and every script are served by it), so scripts, styles, fonts,
connections and workers come from 'self' only; images also from `data:`/`blob:` (Leaflet's icons, photo
previews on the phone) and from the tile server when RECOVERY_TILE_SERVER names one. The only inline code is
the map Folium writes (a script and a few style blocks in the page): it carries the request's nonce
(`csp_nonce()` in templates, `|with_nonce` on Folium's markup), so an injected script has none and does not
run. Style *attributes* stay allowed (`style-src-attr 'unsafe-inline'`): the legend's swatches and Leaflet's
cluster icons set colours and sizes that way, and an attribute cannot run code.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable, Iterable
from functools import lru_cache
from urllib.parse import urlsplit

from flask import Flask, request
from markupsafe import Markup

from recovery.map.build import TILE_SERVERS

_OPENING_TAG = re.compile(r"<(script|style)\b", re.IGNORECASE)
_FIXED_HEADERS = (
    ("X-Frame-Options", "DENY"),
    ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", "same-origin"),
)
#: the WSGI environ key of the request's nonce
NONCE = "recovery.csp_nonce"


def tile_origins(tile_server: str) -> list[str]:
    """The origins the map's tiles come from (one per subdomain), or none for the zone's own base map."""
    server = TILE_SERVERS.get(tile_server)
    if server is None:
        return []
    origins = []
    for sub in server["subdomains"] or [""]:
        parts = urlsplit(server["url"].replace("{s}", sub))
        origins.append(f"{parts.scheme}://{parts.netloc}")
    return sorted(set(origins))


def content_security_policy(nonce: str | None, tile_server: str = "none") -> str:
    """The policy of one response; `nonce` is set when the page has inline code that carries it."""
    inline = f" 'nonce-{nonce}'" if nonce else ""
    images = " ".join(["'self'", "data:", "blob:", *tile_origins(tile_server)])
    return "; ".join(
        [
            "default-src 'self'",
            f"script-src 'self'{inline}",
            f"style-src 'self'{inline}",
            "style-src-attr 'unsafe-inline'",
            f"img-src {images}",
            "font-src 'self'",
            "connect-src 'self'",
            "worker-src 'self'",
            "manifest-src 'self'",
            "object-src 'none'",
            "base-uri 'none'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        ]
    )


def csp_nonce() -> str:
    """This request's nonce, made on first use (a page without inline code never has one)."""
    environ = request.environ
    nonce = environ.get(NONCE)
    if nonce is None:
        nonce = environ[NONCE] = secrets.token_urlsafe(18)
    return nonce


def with_nonce(markup: str) -> Markup:
    """Markup the app itself generates (Folium's map, never user text) with the request's nonce on every
    <script> and <style> opening tag, so that its inline code runs under the policy."""
    return Markup(_OPENING_TAG.sub(lambda m: f'<{m.group(1)} nonce="{csp_nonce()}"', str(markup)))


@lru_cache(maxsize=8)
def _policy_without_nonce(tile_server: str) -> str:
    return content_security_policy(None, tile_server)


class SecurityHeaders:
    """WSGI middleware: the headers added to every answer as it starts, each unless the answer set its own.

    Added to the plain list the server receives, once the answer is final (an error page, a file, a 413 made
    before the body is read alike), rather than through Flask's response object, whose every header is checked
    again as it is added."""

    def __init__(self, wsgi_app: Callable, app: Flask) -> None:
        self.wsgi_app = wsgi_app
        self.config = app.config

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        def start(status: str, headers: list, exc_info=None):
            present = {name.lower() for name, _ in headers}
            if "content-security-policy" not in present:
                nonce = environ.get(NONCE)
                tile_server = self.config["RECOVERY"].get("TILE_SERVER", "none")
                policy = (
                    content_security_policy(nonce, tile_server)
                    if nonce
                    else _policy_without_nonce(tile_server)
                )
                headers.append(("Content-Security-Policy", policy))
            headers.extend(header for header in _FIXED_HEADERS if header[0].lower() not in present)
            return start_response(status, headers, exc_info)

        return self.wsgi_app(environ, start)


def init_app(app: Flask) -> None:
    app.wsgi_app = SecurityHeaders(app.wsgi_app, app)  # type: ignore[method-assign]
    app.jinja_env.globals["csp_nonce"] = csp_nonce
    app.jinja_env.filters["with_nonce"] = with_nonce
