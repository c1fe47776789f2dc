"""The absolute links the app hands out (OGC API, Atom feed): built from RECOVERY_PUBLIC_URL, never from the
request's Host header, which any client sets (a cache or feed reader would otherwise keep links to its host).

With RECOVERY_PUBLIC_URL set, every link starts with it. Without it, the request's host is trusted only when it
is the machine itself (localhost, 127.0.0.1, [::1], any port: a fresh install and GDAL or QGIS on the same
machine get absolute links); any other host gets links relative to the site's root (`/ogc/collections`).
"""

from __future__ import annotations

import re

from flask import current_app, request, url_for

#: a Host header naming this machine: only such a host is copied into links when no public URL is set
_LOOPBACK_HOST = re.compile(r"(localhost|127\.0\.0\.1|\[::1\])(:\d{1,5})?", re.IGNORECASE)


def public_root() -> str:
    """The app's root for links, without a trailing slash: the public URL, this machine's own address, or
    the root path (`""`, or the prefix the app is mounted under) for links relative to the site."""
    configured = (current_app.config["RECOVERY"].get("PUBLIC_URL") or "").rstrip("/")
    if configured:
        return configured
    if _LOOPBACK_HOST.fullmatch(request.host):
        return request.root_url.rstrip("/")
    return request.script_root


def is_absolute(url: str) -> bool:
    return url.startswith(("http://", "https://"))


def public_url(endpoint: str, **values) -> str:
    """`url_for(endpoint, **values)` under `public_root()`: the link to hand out instead of `_external=True`."""
    path = url_for(endpoint, **values)
    return public_root() + path.removeprefix(request.script_root)
