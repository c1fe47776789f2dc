"""recovery: the 7·20 flood recovery tracker for Zhengzhou High-tech Zone."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Flask

from recovery import resources
from recovery.settings import load_settings

__version__ = "0.1.0"


class RecoveryFlask(Flask):
    """Flask, remembering which of its hooks and views are coroutine functions: Flask asks `inspect` again for each
    one at every request (a dozen per request here), and the answer for a function never changes."""

    #: functions remembered at most (the hooks and views; more would mean new functions made per request)
    SYNC_KEPT = 4096

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._sync: dict[Callable, Callable] = {}

    def ensure_sync(self, func: Callable) -> Callable:
        try:
            return self._sync[func]
        except KeyError:
            sync = super().ensure_sync(func)
            if len(self._sync) < self.SYNC_KEPT:
                self._sync[func] = sync
            return sync
        except TypeError:  # not hashable
            return super().ensure_sync(func)


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    """Build the app. `test_config` may hold setting overrides (by name, e.g. DATABASE_URL) and Flask keys."""
    app = RecoveryFlask(
        __name__,
        instance_relative_config=True,
        template_folder=str(resources.TEMPLATES),
        static_folder="static",
    )
    test_config = dict(test_config or {})
    overrides = {k: test_config.pop(k) for k in list(test_config) if k.isupper() and k in _setting_names()}
    settings = load_settings(overrides=overrides)
    app.config.from_mapping(SECRET_KEY=settings["SECRET_KEY"], RECOVERY=settings, JSON_AS_ASCII=False)
    app.config.update(test_config)
    app.json.ensure_ascii = False

    from recovery import auth, db, i18n, incident, ogc
    from recovery.auth import views as auth_views
    from recovery.dashboard import command_api
    from recovery.interop import web as interop_web
    from recovery.map import views as map_views
    from recovery.reports import views as reports_views
    from recovery.web import (
        api,
        conflicts_api,
        converters,
        errors,
        field,
        headers,
        limits,
        openapi,
        pages,
        params,
        photos_api,
        policy,
        sites_api,
    )

    converters.register(app)  # <id:…> and <int:…>: whole numbers the databases can hold
    incident.init_app(app)  # the incident the app follows (RECOVERY_INCIDENT), read once here
    db.init_app(app)
    i18n.init_app(app)
    limits.init_app(app)  # every body bounded by its route's limit, whoever reads it
    policy.init_app(app)  # first: who may call a route is decided before anything else looks at the request
    auth.init_app(app)
    errors.init_app(app)
    params.init_app(app)  # a NUL in the address, query, headers or a form is a 400, before any view
    headers.init_app(app)  # CSP with nonces, no framing, nosniff, same-origin referrers
    app.register_blueprint(auth_views.bp)
    app.register_blueprint(pages.bp)
    app.register_blueprint(map_views.bp)
    app.register_blueprint(command_api.bp)
    auth.csrf.exempt(command_api.bp)  # a JSON API: browser sessions send X-CSRFToken (recovery.auth)
    reports_views.init_app(app)  # /reports pages and /api/v1/reports/…/publish
    app.register_blueprint(field.bp)
    app.register_blueprint(interop_web.admin_bp)  # forms: CSRFProtect checks them
    from recovery.admin import api as admin_api
    from recovery.admin import views as admin_views

    app.register_blueprint(admin_views.bp)  # /admin pages: forms, CSRFProtect checks them
    app.register_blueprint(admin_api.bp)  # /api/v1/admin: JSON for an admin's bearer token
    auth.csrf.exempt(admin_api.bp)  # browser sessions send X-CSRFToken (recovery.auth)
    app.register_blueprint(ogc.bp)
    from recovery.notices import web as notices_web

    notices_web.init_app(app)  # /notices, /admin/webhooks and their APIs; the navigation's unread badge
    from recovery.web import workitems_api, workitems_pages

    app.register_blueprint(workitems_pages.bp)  # /work-items pages: forms post to the JSON API
    from recovery.web import assessment_pages, reviews_pages, site_page

    app.register_blueprint(site_page.bp)  # /sites/<id>: the desktop site page
    app.register_blueprint(assessment_pages.bp)  # /assessment and /api/v1/assessment: reads only
    app.register_blueprint(reviews_pages.bp)  # /reviews pages: forms, CSRFProtect checks them
    app.register_blueprint(reviews_pages.api_bp)  # /api/v1/reviews: JSON
    auth.csrf.exempt(reviews_pages.api_bp)  # browser sessions send X-CSRFToken (recovery.auth)
    for blueprint in (workitems_api.bp,):
        app.register_blueprint(blueprint)
        auth.csrf.exempt(blueprint)  # browser sessions send X-CSRFToken (recovery.auth)
    for blueprint in (api.bp, sites_api.bp, photos_api.bp, conflicts_api.bp, interop_web.api_bp, openapi.bp):
        app.register_blueprint(blueprint)
        # JSON APIs: the CSRF token is required only of browser sessions (recovery.auth), not of bearer tokens
        auth.csrf.exempt(blueprint)
    from recovery.web import health, observability, proxies

    app.register_blueprint(health.bp)  # /healthz, /readyz, /metrics: GETs of machines, no forms
    proxies.init_app(app)  # X-Forwarded-* believed only from RECOVERY_TRUSTED_PROXIES proxies
    observability.init_app(app)  # last: outermost, so that every answer gets its request id, log line, counts
    from recovery import cleanup

    cleanup.init_app(app)  # old uploads, imports and sign-in rows removed in the background, at most hourly
    from recovery.cli import register_commands

    register_commands(app)
    return app


def _setting_names() -> set[str]:
    from recovery.settings import SETTINGS

    return {s.name for s in SETTINGS}
