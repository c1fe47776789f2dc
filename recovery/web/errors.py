"""Errors become one JSON shape under /api and one HTML page elsewhere; never a stack trace.

Both carry the request's id (`recovery.web.observability`), the one a user quotes and the log line holds."""

from __future__ import annotations

from flask import Flask, jsonify, redirect, render_template, request, url_for
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from recovery.errors import RecoveryError
from recovery.i18n import translate
from recovery.web.observability import request_id


def wants_json() -> bool:
    return request.path.startswith("/api/") or request.accept_mimetypes.best == "application/json"


def respond(status: int, code: str, message: str):
    if wants_json():
        error = {"code": code, "status": status, "message": message, "request_id": request_id()}
        response = jsonify({"error": error})
        response.status_code = status
        return response
    return render_template("error.html", status=status, message=message), status


def init_app(app: Flask) -> None:
    @app.errorhandler(RecoveryError)
    def _recovery_error(exc: RecoveryError):
        if exc.http_status == 401 and not wants_json() and request.method == "GET":
            return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
        return respond(exc.http_status, exc.code, exc.translated())

    @app.errorhandler(CSRFError)
    def _csrf_error(exc: CSRFError):
        return respond(
            400,
            "csrf_failed",
            translate(
                "The form or request expired or lacks its security token; reload the page and try again."
            ),
        )

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException):
        code = (exc.name or "error").lower().replace(" ", "_")
        return respond(exc.code or 500, code, translate(exc.name or "Error"))

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception):  # pragma: no cover - the suite fails on any 500 it sees
        if app.debug:
            raise exc  # `recovery serve --dev`: Werkzeug's debugger shows it
        app.logger.exception("unhandled error")
        return respond(500, "internal_error", translate("Internal Server Error"))
