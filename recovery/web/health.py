"""`/healthz`, `/readyz` and `/metrics`: what a load balancer and a Prometheus server ask of each app server.

`/healthz` answers 200 whenever the process serves requests (nothing else is looked at: a restart would not
cure a database that is down). `/readyz` answers 200 only when the database answers and its schema is at the
latest migration that this code carries (`recovery.db.migrate`), else 503 with the reason, so that a server
is taken out of the pool during an upgrade until `recovery init-db` has run. Neither needs a sign-in, and
neither says more than a revision number. `/metrics` is the Prometheus text of `recovery.web.observability`,
for an admin's token or an address in RECOVERY_METRICS_ALLOW (`@allow(..., addresses=...)`).
"""

from __future__ import annotations

from flask import Blueprint, Response, current_app, jsonify
from sqlalchemy.exc import SQLAlchemyError

from recovery.db.engine import get_engine
from recovery.db.migrate import current_revision, head_revision
from recovery.web.observability import render_metrics
from recovery.web.policy import allow

bp = Blueprint("health", __name__)
#: Prometheus' text exposition format
PROMETHEUS_TEXT = "text/plain; version=0.0.4; charset=utf-8"


def _head() -> str:
    """The latest migration this code carries: read once per process (the code does not change under it)."""
    if "recovery.schema_head" not in current_app.extensions:
        current_app.extensions["recovery.schema_head"] = head_revision(get_engine())
    return current_app.extensions["recovery.schema_head"]


def _no_store(response: Response) -> Response:
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/healthz")
@allow("anonymous")
def healthz():
    return _no_store(jsonify({"status": "ok"}))


@bp.get("/readyz")
@allow("anonymous")
def readyz():
    head = _head()
    try:
        revision = current_revision(get_engine())
    except SQLAlchemyError as exc:
        current_app.logger.warning("readyz: the database does not answer: %s", type(exc).__name__)
        return _not_ready("database_unreachable", head=head)
    if revision is None:
        return _not_ready("schema_missing", head=head)  # an empty database: `recovery init-db` not yet run
    if revision != head:
        return _not_ready("schema_not_latest", head=head, revision=revision)
    return _no_store(jsonify({"status": "ready", "revision": revision}))


def _not_ready(reason: str, **detail: str) -> Response:
    response = jsonify({"status": "unavailable", "reason": reason, **detail})
    response.status_code = 503
    return _no_store(response)


@bp.get("/metrics")
@allow("admin", addresses="METRICS_ALLOW")
def metrics():
    return _no_store(Response(render_metrics(), mimetype=None, content_type=PROMETHEUS_TEXT))
