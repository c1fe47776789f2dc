"""The notices in the app: their pages and APIs registered, and the unread count offered to every page's
navigation (a badge), read only when a page shows it."""

from __future__ import annotations

from flask import Flask
from sqlalchemy.exc import SQLAlchemyError

from recovery.auth import current_account
from recovery.db import get_session
from recovery.notices import api, inbox, views


def init_app(app: Flask) -> None:
    from recovery import auth

    app.register_blueprint(views.bp)
    app.register_blueprint(views.admin_bp)  # forms: CSRFProtect checks them
    for blueprint in (api.bp, api.admin_bp):
        app.register_blueprint(blueprint)
        auth.csrf.exempt(
            blueprint
        )  # JSON: browser sessions send X-CSRFToken (recovery.auth), tokens need none
    app.context_processor(_badge)


def unread_notices() -> int:
    """The signed-in user's unread count (one indexed COUNT), 0 for anyone else."""
    account = current_account()
    if account is None:
        return 0
    try:
        return inbox.unread_count(get_session(), account.id)
    except SQLAlchemyError:  # an error page after a failed transaction still renders, without the badge
        return 0


def _badge() -> dict:
    # a function, not a number: only the pages that show the navigation pay for the count
    return {"unread_notices": unread_notices}
