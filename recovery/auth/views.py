"""Sign-in, sign-out and change-your-password pages."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, current_app, redirect, render_template, request, session, url_for
from flask_login import login_user, logout_user
from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, Length

from recovery.admin.audit import actor_of
from recovery.admin.users import change_own_password
from recovery.auth import SESSION_KEY, current_account
from recovery.auth.accounts import (
    TooManyAttempts,
    account_of,
    authenticate,
    end_session,
    start_session,
)
from recovery.auth.passwords import MIN_LENGTH, least_length
from recovery.db import get_session
from recovery.errors import ValidationError
from recovery.i18n import N_, translate
from recovery.web.policy import SIGNED_IN, allow

bp = Blueprint("auth", __name__)


class LoginForm(FlaskForm):
    username = StringField(N_("User name"), validators=[DataRequired(), Length(max=80)])
    password = PasswordField(N_("Password"), validators=[DataRequired(), Length(max=200)])


class PasswordForm(FlaskForm):
    current = PasswordField(N_("Current password"), validators=[DataRequired(), Length(max=200)])
    new = PasswordField(N_("New password"), validators=[DataRequired(), Length(max=200)])
    again = PasswordField(N_("New password again"), validators=[DataRequired(), Length(max=200)])


def safe_next(target: str | None, role: str) -> str:
    """Only same-site paths are followed after sign-in (no open redirect)."""
    if target:
        parts = urlsplit(target)
        if not parts.scheme and not parts.netloc and target.startswith("/") and not target.startswith("//"):
            return target
    return url_for(LANDING.get(role, "pages.home"))


#: where each role lands after sign-in when no page was asked for; commanders and admins get the dashboard
LANDING = {"field": "field.app", "reporter": "reports.index", "unit": "work_pages.inbox"}


@bp.route("/login", methods=["GET", "POST"])
@allow("anonymous")
def login():
    form = LoginForm()
    error = None
    status, headers = 200, {}
    if form.validate_on_submit():
        try:
            user = authenticate(
                get_session(), form.username.data, form.password.data, request.remote_addr or ""
            )
        except TooManyAttempts as exc:
            error, status, headers = exc.translated(), 429, {"Retry-After": str(exc.retry_after)}
        except ValidationError as exc:
            error, status = exc.translated(), 401
        else:
            _sign_in(user)
            return redirect(safe_next(request.args.get("next"), user.role))
    elif request.method == "POST":
        error, status = translate("Please fill in the user name and password."), 400
    return render_template("login.html", form=form, error=error), status, headers


def _sign_in(user) -> None:
    """A new server-side session for `user`, its key in a fresh cookie session."""
    key = start_session(
        get_session(), user, current_app.permanent_session_lifetime, request.remote_addr or ""
    )
    session.clear()
    session.permanent = True
    session[SESSION_KEY] = key
    login_user(account_of(get_session(), user))


@bp.post("/logout")
@allow(*SIGNED_IN)
def logout():
    end_session(get_session(), session.get(SESSION_KEY))
    logout_user()
    session.clear()
    return redirect(url_for("auth.login"))


@bp.route("/account/password", methods=["GET", "POST"])
@allow(*SIGNED_IN)
def change_password():
    """Change one's own password (audited): every other session and every API token of the account ends; this
    browser stays signed in with a new session. The one page a user whose role was raised to one that needs a
    longer password may open (recovery.web.policy): it says why."""
    form = PasswordForm()
    account = current_account()
    error, status, headers = None, 200, {}
    if form.validate_on_submit():
        db = get_session()
        try:
            # the current password is checked as a sign-in is: recorded, and slowed after failures
            user = authenticate(db, account.username, form.current.data, request.remote_addr or "")
        except TooManyAttempts as exc:
            error, status, headers = exc.translated(), 429, {"Retry-After": str(exc.retry_after)}
        except ValidationError:
            error, status = translate("The current password is wrong."), 400
        else:
            if form.new.data != form.again.data:
                error, status = translate("The two new passwords differ."), 400
            else:
                try:
                    change_own_password(db, actor_of(account, request.remote_addr), user, form.new.data)
                except ValidationError as exc:
                    error, status = exc.translated(), 400
                else:
                    _sign_in(user)
                    return render_template("account_password.html", form=form, done=True)
    elif request.method == "POST":
        error, status = translate("Please fill in every field."), 400
    page = render_template(
        "account_password.html",
        form=form,
        error=error,
        lengths=MIN_LENGTH,
        required=account.must_change_password,
        least=least_length(account.role),
    )
    return page, status, headers
