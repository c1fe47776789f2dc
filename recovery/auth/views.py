"""Sign-in and sign-out pages."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, redirect, render_template, request, session, url_for
from flask_login import login_user, logout_user
from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, Length

from recovery.auth.accounts import TooManyAttempts, account_of, authenticate
from recovery.db import get_session
from recovery.errors import ValidationError
from recovery.i18n import N_, translate
from recovery.web.policy import SIGNED_IN, allow

bp = Blueprint("auth", __name__)


class LoginForm(FlaskForm):
    username = StringField(N_("User name"), validators=[DataRequired(), Length(max=80)])
    password = PasswordField(N_("Password"), validators=[DataRequired(), Length(max=200)])


def safe_next(target: str | None, role: str) -> str:
    """Only same-site paths are followed after sign-in (no open redirect)."""
    if target:
        parts = urlsplit(target)
        if not parts.scheme and not parts.netloc and target.startswith("/") and not target.startswith("//"):
            return target
    return url_for("field.app") if role == "field" else url_for("pages.home")


@bp.route("/login", methods=["GET", "POST"])
@allow("anonymous")
def login():
    form = LoginForm()
    error = None
    status = 200
    if form.validate_on_submit():
        try:
            user = authenticate(
                get_session(), form.username.data, form.password.data, request.remote_addr or ""
            )
        except TooManyAttempts as exc:
            error, status = exc.translated(), 429
        except ValidationError as exc:
            error, status = exc.translated(), 401
        else:
            session.clear()
            session.permanent = True
            login_user(account_of(get_session(), user))
            return redirect(safe_next(request.args.get("next"), user.role))
    elif request.method == "POST":
        error, status = translate("Please fill in the user name and password."), 400
    return render_template("login.html", form=form, error=error), status


@bp.post("/logout")
@allow(*SIGNED_IN)
def logout():
    logout_user()
    session.clear()
    return redirect(url_for("auth.login"))
