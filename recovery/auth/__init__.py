"""Signing in: sessions for pages (Flask-Login, each also a row in the database that sign-out ends), bearer
tokens for API clients, CSRF on every form."""

from __future__ import annotations

from datetime import timedelta

from flask import Flask, g, request, session
from flask_login import LoginManager, current_user
from flask_wtf.csrf import CSRFProtect

from recovery.auth.accounts import Account, account_for_session, account_for_token

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
    )
    csrf.init_app(app)
    login_manager.init_app(app)
    login_manager.session_protection = "strong"
    login_manager.user_loader(_load_user)
    login_manager.unauthorized_handler(_unauthorized)
    app.before_request(_csrf_for_cookie_sessions)


def _csrf_for_cookie_sessions() -> None:
    """API calls that ride on the browser's session cookie must carry the CSRF token (X-CSRFToken header);
    bearer-token clients cannot be forged by another site, so they need not. Forms are checked by CSRFProtect."""
    if request.method in ("GET", "HEAD", "OPTIONS") or not request.path.startswith("/api/"):
        return
    account = current_account()
    if account is not None and not account.via_token:
        csrf.protect()


def _load_user(user_id: str) -> Account | None:
    from recovery.db import get_session

    try:
        return account_for_session(get_session(), int(user_id), session.get(SESSION_KEY))
    except (TypeError, ValueError):
        return None


def _load_from_bearer(req) -> Account | None:
    header = req.headers.get("Authorization", "")
    if not header.startswith("Bearer "):
        return None
    from recovery.db import get_session

    return account_for_token(get_session(), header.removeprefix("Bearer ").strip())


def _unauthorized():
    from recovery.errors import Unauthorized

    raise Unauthorized("Please sign in.")


def current_account() -> Account | None:
    """The signed-in account for this request, or None. A bearer token, when sent, decides alone: it is
    checked apart from Flask-Login, whose session protection would otherwise let a stale cookie hide it."""
    if "account" not in g:
        if request.headers.get("Authorization", "").startswith("Bearer "):
            g.account = _load_from_bearer(request)
        else:
            user = current_user._get_current_object()
            g.account = user if isinstance(user, Account) else None
    return g.account
