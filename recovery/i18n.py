"""Languages: Chinese (zh_CN) first, English available; Flask-Babel picks one per request."""

from __future__ import annotations

from flask import Flask, has_request_context, request
from flask_babel import Babel, gettext

LOCALES = ("zh_CN", "en")


def select_locale() -> str:
    """`?lang=en` wins, then the `lang` cookie, then the browser's Accept-Language, then Chinese."""
    if not has_request_context():
        return "zh_CN"
    wanted = request.args.get("lang") or request.cookies.get("lang")
    if wanted in LOCALES:
        return wanted
    if wanted and wanted.startswith("zh"):
        return "zh_CN"
    return request.accept_languages.best_match(LOCALES, default="zh_CN") or "zh_CN"


def init_app(app: Flask) -> None:
    app.config.setdefault("BABEL_DEFAULT_LOCALE", app.config["RECOVERY"]["DEFAULT_LOCALE"])
    app.config.setdefault("BABEL_DEFAULT_TIMEZONE", app.config["RECOVERY"]["TIMEZONE"])
    app.config.setdefault("BABEL_TRANSLATION_DIRECTORIES", "translations")
    Babel(app, locale_selector=select_locale)


def translate(message: str) -> str:
    """Translate a message through the catalogue inside a request; English text as written elsewhere."""
    if not has_request_context():
        return message
    try:
        return gettext(message)
    except (KeyError, RuntimeError):
        return message


def current_locale() -> str:
    return select_locale()
