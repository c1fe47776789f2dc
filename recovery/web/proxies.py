"""Reverse proxies: their `X-Forwarded-*` headers are believed only when RECOVERY_TRUSTED_PROXIES says how many
proxies stand in front of the app; otherwise a client could claim any address or scheme.

With N trusted proxies, Werkzeug's ProxyFix takes the client's address from the N-th `X-Forwarded-For` entry
from the right (the one the nearest trusted proxy saw), the scheme from `X-Forwarded-Proto` and the path the app
is mounted under from `X-Forwarded-Prefix`. `X-Forwarded-Host` and `-Port` are never believed: absolute links
come from RECOVERY_PUBLIC_URL alone (`recovery.web.public_url`), and the Host the proxy passes on is only ever
used for links when it names this machine.
"""

from __future__ import annotations

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix


def init_app(app: Flask) -> None:
    hops = app.config["RECOVERY"]["TRUSTED_PROXIES"]
    if hops:
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app, x_for=hops, x_proto=hops, x_host=0, x_port=0, x_prefix=hops
        )
