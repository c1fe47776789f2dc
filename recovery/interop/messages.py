"""Rendering errors and labels in a chosen language outside a request (the command line, reject files)."""

from __future__ import annotations

from functools import lru_cache

from babel.support import Translations

from recovery.errors import RecoveryError
from recovery.settings import PROJECT_ROOT


@lru_cache(maxsize=4)
def _catalogue(locale: str) -> Translations:
    return Translations.load(str(PROJECT_ROOT / "recovery" / "translations"), [locale], "messages")


def render(message: RecoveryError | str, lang: str = "zh") -> str:
    """An error (with its parameters, kinds and statuses as labels) or a plain message, in `lang`."""
    zh = lang.startswith("zh")
    catalogue = _catalogue("zh_CN" if zh else "en")
    if isinstance(message, RecoveryError):
        return message.render(catalogue.gettext(message.message), message._labelled(zh))
    return catalogue.gettext(message)
