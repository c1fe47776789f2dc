"""Languages: Chinese (zh_CN) first, English available; Flask-Babel picks one per request."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from babel import support
from flask import Flask, current_app, has_request_context, request
from flask_babel import Babel, Domain, get_locale, gettext

LOCALES = ("zh_CN", "en")
TRANSLATIONS = Path(__file__).resolve().parent / "translations"


def N_(message: str) -> str:
    """Mark a message for extraction (`pybabel extract -k N_`) without translating it here."""
    return message


# Werkzeug's HTTP error names, which recovery/web/errors.py passes through `translate`; listed so that the
# catalogue has them (tests/integration/test_i18n.py checks this covers werkzeug.exceptions.default_exceptions).
HTTP_ERROR_NAMES = (
    N_("Error"),
    N_("Bad Request"),
    N_("Unauthorized"),
    N_("Forbidden"),
    N_("Not Found"),
    N_("Method Not Allowed"),
    N_("Not Acceptable"),
    N_("Request Timeout"),
    N_("Conflict"),
    N_("Gone"),
    N_("Length Required"),
    N_("Precondition Failed"),
    N_("Request Entity Too Large"),
    N_("Request URI Too Long"),
    N_("Unsupported Media Type"),
    N_("Requested Range Not Satisfiable"),
    N_("Expectation Failed"),
    N_("I'm a teapot"),
    N_("Misdirected Request"),
    N_("Unprocessable Entity"),
    N_("Locked"),
    N_("Failed Dependency"),
    N_("Precondition Required"),
    N_("Too Many Requests"),
    N_("Request Header Fields Too Large"),
    N_("Unavailable For Legal Reasons"),
    N_("Internal Server Error"),
    N_("Not Implemented"),
    N_("Bad Gateway"),
    N_("Service Unavailable"),
    N_("Gateway Timeout"),
    N_("HTTP Version Not Supported"),
)


def select_locale() -> str:
    """`?lang=en` wins, then the `lang` cookie; then, for API callers only (not a page the browser opens), their
    Accept-Language; then Chinese.

    Pages ignore the browser's Accept-Language on purpose, and so do their scripts' calls to the API: the command
    centre's machines often run an English system, and the product is Chinese first. The choice made with
    `?lang=` is kept in a cookie.
    """
    if not has_request_context():
        return "zh_CN"
    environ = request.environ
    chosen = environ.get(_CHOSEN)
    if chosen is None:  # once per request: the labels of an answer ask for it again and again
        chosen = environ[_CHOSEN] = _choose()
    return chosen


#: the WSGI environ key of the request's language, once chosen
_CHOSEN = "recovery.locale"


def _choose() -> str:
    wanted = request.args.get("lang") or request.cookies.get("lang")
    if wanted in LOCALES:
        return wanted
    if wanted and wanted.startswith("zh"):
        return "zh_CN"
    accept = request.accept_mimetypes
    if (
        request.path.startswith("/api/")
        and accept.quality("text/html") <= accept.quality("application/json")
        and not _page_script()
    ):
        # an API caller, not a browser opening a page under /api/ (the API reference, /api/v1/docs)
        return request.accept_languages.best_match(LOCALES, default="zh_CN") or "zh_CN"
    return "zh_CN"


def _page_script() -> bool:
    """A call made by one of the app's own pages (signed in with the session cookie, no bearer token): it reads
    the page's language, as the page does, not the browser's (a Chinese map on an English system showed its
    cards' statuses in English)."""
    if request.headers.get("Authorization"):
        return False
    return current_app.config.get("SESSION_COOKIE_NAME", "session") in request.cookies


def _remember_choice(response):
    if "lang=" not in request.environ.get("QUERY_STRING", ""):  # most requests: no choice to remember
        return response
    chosen = request.args.get("lang")
    if chosen in LOCALES and request.cookies.get("lang") != chosen and not request.path.startswith("/api/"):
        response.set_cookie("lang", chosen, max_age=365 * 86400, samesite="Lax", httponly=True)
    return response


def init_app(app: Flask) -> None:
    app.config.setdefault("BABEL_DEFAULT_LOCALE", app.config["RECOVERY"]["DEFAULT_LOCALE"])
    app.config.setdefault("BABEL_DEFAULT_TIMEZONE", app.config["RECOVERY"]["TIMEZONE"])
    app.config.setdefault("BABEL_TRANSLATION_DIRECTORIES", "translations")
    babel = Babel(app, locale_selector=select_locale)
    app.after_request(_remember_choice)
    babel.domain_instance = _CatalogDomain(domain=app.config.get("BABEL_DOMAIN", "messages"))


class _CatalogDomain(Domain):
    """Finds recovery/translations/zh_CN. Flask-Babel looks catalogues up by `str(Locale.parse("zh_CN"))`, which is
    "zh_Hans_CN" (Babel adds the likely script), and gettext then tries only zh_Hans_CN and zh; this tries the
    language_TERRITORY name first."""

    def get_translations(self):
        locale = get_locale()
        if locale is None or not locale.script:
            return super().get_translations()
        key = (str(locale), self.domain[0])
        cache = self.get_translations_cache(None)
        if key not in cache:
            names = ["_".join(filter(None, (locale.language, locale.territory))), str(locale)]
            translations = support.Translations()
            for dirname in self.translation_directories:
                catalog = support.Translations.load(dirname, names, self.domain[0])
                translations.merge(catalog)
                if hasattr(catalog, "plural"):
                    translations.plural = catalog.plural
            cache[key] = translations
        return cache[key]


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


def is_chinese(locale: str | None) -> bool:
    """Whether a locale (`zh_CN`, `zh`, `zh-Hans`, `en`…; none means the default) reads Chinese."""
    return (locale or "zh").lower().startswith("zh")


def language(locale: str | None) -> str:
    """The two-letter language a locale reads, "zh" or "en" (the `lang` of reports, exports and the CLI)."""
    return "zh" if is_chinese(locale) else "en"


def locale_for(chinese: bool) -> str:
    """The locale of a choice already made as a flag (`zh=True`)."""
    return "zh_CN" if chinese else "en"


def catalogue_locale(locale: str | None) -> str:
    """The catalogue a locale reads: zh_CN for any Chinese, en otherwise."""
    return "zh_CN" if is_chinese(locale) else "en"


@lru_cache(maxsize=4)
def catalogue(locale: str) -> support.Translations:
    """One language's compiled catalogue, for rendering outside a request or in another language than its own."""
    return support.Translations.load(str(TRANSLATIONS), [catalogue_locale(locale)], "messages")


def in_locale(message: str, locale: str | None, **params) -> str:
    """A message (English, marked with N_) in a given language, e.g. an export's or the CLI's `--lang`;
    `%(name)s` parameters are filled in when given."""
    text = catalogue(catalogue_locale(locale)).gettext(message)
    return text % params if params else text


def pick(zh: str, en: str, locale: str | None) -> str:
    """A registry's bilingual entry (a figure's name, an incident's wording) in a locale's language: the one
    place such data is chosen by language (vocabulary terms have `Term.label`)."""
    return zh if is_chinese(locale) else en
