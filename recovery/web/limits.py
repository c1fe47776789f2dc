"""Request body limits: every body is bounded per route while it is read, and refused with a 413 before it is kept.

A route names the kind of body it takes with `@body_limit("photo")`; a route that names none takes a JSON body
under /api/ and a small form elsewhere. The limit is enforced by the request object itself (Werkzeug's
`max_content_length`): a declared `Content-Length` over it is refused before a byte is read, and a chunked body
is cut off at the limit while it streams in, whoever reads it first (the CSRF check, a form, `get_json`). The
413 answer asks the server to close the connection, so that the rest of a huge body is not drained either.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from flask import Flask, Request, current_app, request
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.utils import cached_property
from werkzeug.wsgi import LimitedStream, get_input_stream

from recovery.errors import PayloadTooLarge

#: room for the multipart envelope (boundaries, field names, the CSRF token) around an uploaded file
MULTIPART_OVERHEAD = 64 * 1024


def _import_bytes(settings: Mapping[str, Any]) -> int:
    from recovery.interop.archive import DEFAULT_LIMITS

    return DEFAULT_LIMITS.max_upload_bytes + MULTIPART_OVERHEAD


#: the kinds of body, each with its limit in bytes from the settings
BODY_KINDS: dict[str, Callable[[Mapping[str, Any]], int]] = {
    "form": lambda s: s["MAX_FORM_KB"] * 1024,
    "json": lambda s: s["MAX_BODY_KB"] * 1024,
    "photo": lambda s: s["MAX_PHOTO_MB"] * 1024 * 1024,
    "import": _import_bytes,
}

View = TypeVar("View", bound=Callable[..., Any])


def body_limit(kind: str) -> Callable[[View], View]:
    """Mark a view as taking a body of `kind` (a key of `BODY_KINDS`)."""
    if kind not in BODY_KINDS:
        raise ValueError(f"unknown body kind {kind!r}")

    def mark(view: View) -> View:
        view.body_kind = kind  # type: ignore[attr-defined]
        return view

    return mark


def body_kind(app: Flask, endpoint: str | None, path: str) -> str:
    """The kind of body the route at `endpoint` takes; unmatched paths get the smallest."""
    view = app.view_functions.get(endpoint) if endpoint else None
    kind = getattr(view, "body_kind", None)
    if kind is not None:
        return kind
    return "json" if path.startswith("/api/") else "form"


def limit_for(app: Flask, endpoint: str | None, path: str) -> int:
    return BODY_KINDS[body_kind(app, endpoint, path)](app.config["RECOVERY"])


class _StrictMaximum(LimitedStream):
    """A chunked body read up to one byte past `limit`: that byte means the body is too large.

    Werkzeug's own maximum stops quietly at the limit when the body is read whole (`get_data`), so a chunked
    body one byte over it would be parsed cut short instead of refused.
    """

    def __init__(self, stream, limit: int) -> None:
        super().__init__(stream, limit + 1, is_max=True)
        self.maximum = limit

    def readinto(self, b) -> int | None:  # type: ignore[override]
        count = super().readinto(b)
        if self._pos > self.maximum:
            raise RequestEntityTooLarge()
        return count


class LimitedRequest(Request):
    """A request whose body may not exceed the limit of the route it matched."""

    @cached_property
    def stream(self):
        limit = self.max_content_length
        if limit is not None and self.content_length is None and "wsgi.input_terminated" in self.environ:
            return _StrictMaximum(self.environ["wsgi.input"], limit)
        return get_input_stream(self.environ, max_content_length=limit)

    @property
    def max_content_length(self) -> int | None:
        if self._max_content_length is not None:
            return self._max_content_length
        if not current_app:
            return super().max_content_length
        endpoint = self.url_rule.endpoint if self.url_rule is not None else None
        return limit_for(current_app, endpoint, self.path)

    @max_content_length.setter
    def max_content_length(self, value: int | None) -> None:
        self._max_content_length = value


def init_app(app: Flask) -> None:
    app.request_class = LimitedRequest

    @app.before_request
    def _refuse_declared_excess() -> None:
        # registered before every other hook: a body declared too large is refused before anyone looks at it
        if not request.environ.get("CONTENT_LENGTH"):  # no declared length (a GET): nothing to look up
            return
        length = request.content_length
        limit = request.max_content_length
        if length is not None and limit is not None and length > limit:
            raise RequestEntityTooLarge()

    @app.errorhandler(RequestEntityTooLarge)
    def _too_large(exc: RequestEntityTooLarge):
        from recovery.web.errors import respond

        limit = request.max_content_length or 0
        if limit >= 1024 * 1024:
            error = PayloadTooLarge("The request body is larger than %(mb)s MB.", mb=limit // (1024 * 1024))
        else:
            error = PayloadTooLarge("The request body is larger than %(kb)s KB.", kb=max(limit // 1024, 1))
        response = app.make_response(respond(error.http_status, error.code, error.translated()))
        # the rest of the body is never read: a server that kept the connection would have to drain it first
        response.headers["Connection"] = "close"
        return response
