"""Signing in: sessions for pages (Flask-Login, each also a row in the database that sign-out ends), bearer
tokens for API clients, CSRF on every form."""

from __future__ import annotations

from datetime import timedelta

from flask import Flask, current_app, g, request, session
from flask.sessions import SecureCookieSessionInterface
from flask_login import LoginManager, current_user
from flask_wtf.csrf import CSRFProtect

from recovery.auth.accounts import Account, account_for_session, account_for_token
from recovery.auth.cache import AccountCache, account_cache
from recovery.db import get_session

csrf = CSRFProtect()
login_manager = LoginManager()
#: the cookie session's entry holding the key of its `user_session` row
SESSION_KEY = "recovery_session"


def init_app(app: Flask) -> None:
    settings = app.config["RECOVERY"]
    app.config.update(
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings["SECURE_COOKIES"],
        REMEMBER_COOKIE_SECURE=settings["SECURE_COOKIES"],
        REMEMBER_COOKIE_HTTPONLY=True,
        PERMANENT_SESSION_LIFETIME=timedelta(hours=settings["SESSION_HOURS"]),
        WTF_CSRF_TIME_LIMIT=None,  # the token lives as long as the session, which expires on its own
        # CSRFProtect's own hook, asked at every request, stands aside: `_check_csrf` runs the same check, and
        # only for the methods that can change something
        WTF_CSRF_CHECK_DEFAULT=False,
    )
    app.session_interface = CookieSessions()
    # the accounts' cache of this app's database, found once (the commit hooks find the same by the engine)
    app.extensions["recovery.accounts"] = account_cache(app.extensions["recovery.engine"])
    csrf.init_app(app)
    login_manager.init_app(app)
    login_manager.session_protection = "strong"
    login_manager.user_loader(_load_user)
    login_manager.unauthorized_handler(_unauthorized)
    app.before_request(_check_csrf)


def _check_csrf() -> None:
    """Before every request that may change something (a GET, HEAD or OPTIONS returns at once): forms and pages
    are checked by CSRFProtect (what its own hook would do, apart from the views and blueprints exempted); API calls
    that ride on the browser's session cookie must carry the CSRF token (X-CSRFToken header); bearer-token clients
    cannot be forged by another site, so they need not."""
    if request.method in ("GET", "HEAD", "OPTIONS"):
        return
    if current_app.config["WTF_CSRF_ENABLED"]:
        csrf.protect(apply_exemptions=True)
    if not request.path.startswith("/api/"):
        return
    account = current_account()
    if account is not None and not account.via_token:
        csrf.protect()


class CookieSessions(SecureCookieSessionInterface):
    """Flask's signed cookie sessions, with no signing work for a request that brings no session cookie (API
    clients with a bearer token, static files fetched before signing in) and leaves its session empty."""

    def open_session(self, app: Flask, request):
        if app.secret_key and "HTTP_COOKIE" not in request.environ:
            return self.session_class()
        return super().open_session(app, request)

    def save_session(self, app: Flask, session, response) -> None:
        if session or session.modified:
            super().save_session(app, session, response)
        elif session.accessed:  # what Flask's own does for a session left empty, without its look-ups
            # (`"Vary" in headers` would raise and catch a KeyError when there is none: the usual case)
            if any(name.lower() == "vary" for name, _ in response.headers):
                response.vary.add("Cookie")
            else:
                response.headers.add("Vary", "Cookie")


def _accounts() -> AccountCache:
    return current_app.extensions["recovery.accounts"]


def _load_user(user_id: str) -> Account | None:
    try:
        return account_for_session(get_session, _accounts(), int(user_id), session.get(SESSION_KEY))
    except (TypeError, ValueError):
        return None


def _load_from_bearer(header: str) -> Account | None:
    """The account of an `Authorization: Bearer …` header; the database is read only when the token is not in
    the cache (a request answered from it opens no database session)."""
    return account_for_token(get_session, _accounts(), header.removeprefix("Bearer ").strip())


def _unauthorized():
    from recovery.errors import Unauthorized

    raise Unauthorized("Please sign in.")


def current_account() -> Account | None:
    """The signed-in account for this request, or None. A bearer token, when sent, decides alone: it is
    checked apart from Flask-Login, whose session protection would otherwise let a stale cookie hide it."""
    here = g._get_current_object()  # asked at every request, by several hooks: one look-up of `g`
    account = here.get("account", _UNKNOWN)
    if account is _UNKNOWN:
        header = request.environ.get("HTTP_AUTHORIZATION", "")
        if header.startswith("Bearer "):
            account = _load_from_bearer(header)
        else:
            user = current_user._get_current_object()
            account = user if isinstance(user, Account) else None
        here.account = account
    return account


_UNKNOWN = object()
