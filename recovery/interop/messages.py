"""Rendering errors and labels in a chosen language outside a request (the command line, reject files)."""

from __future__ import annotations

from recovery.errors import RecoveryError
from recovery.i18n import catalogue, is_chinese


def render(message: RecoveryError | str, lang: str = "zh") -> str:
    """An error (with its parameters, kinds and statuses as labels) or a plain message, in `lang`."""
    translations = catalogue(lang)
    if isinstance(message, RecoveryError):
        return message.render(
            translations.gettext(message.message), message.labelled_params(is_chinese(lang))
        )
    return translations.gettext(message)
