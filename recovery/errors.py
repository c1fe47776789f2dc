"""The one error hierarchy of recovery; each error carries its HTTP status and a translatable message.

RecoveryError (500)
├── ConfigError (500)            a setting that does not parse; raised at start-up
├── ValidationError (400)        bad input: geometry, coordinates, attributes, dates, JSON
│   ├── GeometryError (400)      invalid, empty, non-finite or out-of-range geometry, wrong type for the kind
│   └── UnknownKindError (400)   a site kind that is not in the registry
├── NotFoundError (404)          a site, work item or report that does not exist
├── TransitionError (409)        a status change the kind's life cycle does not allow
└── IdempotencyError (422)       a client event id reused with a different body

Messages are written in English with `%(name)s` placeholders; `message_for(locale)` translates them through
the catalogue so an API caller gets the message in their language.
"""

from __future__ import annotations

from typing import Any


class RecoveryError(Exception):
    """Base of every error recovery raises on purpose."""

    http_status = 500
    code = "internal_error"

    def __init__(self, message: str, **params: Any) -> None:
        self.message = message
        self.params = params
        super().__init__(self.render(message))

    def render(self, template: str) -> str:
        try:
            return template % self.params if self.params else template
        except (KeyError, TypeError, ValueError):
            return template

    def translated(self) -> str:
        """The message in the current request's language (English outside a request)."""
        from recovery.i18n import translate

        return self.render(translate(self.message))

    def to_dict(self) -> dict[str, Any]:
        return {"error": {"code": self.code, "status": self.http_status, "message": self.translated()}}


class ConfigError(RecoveryError):
    code = "config_error"


class ValidationError(RecoveryError):
    http_status = 400
    code = "invalid_input"


class GeometryError(ValidationError):
    code = "invalid_geometry"


class UnknownKindError(ValidationError):
    code = "unknown_kind"


class NotFoundError(RecoveryError):
    http_status = 404
    code = "not_found"


class TransitionError(RecoveryError):
    http_status = 409
    code = "transition_not_allowed"


class IdempotencyError(RecoveryError):
    http_status = 422
    code = "idempotency_conflict"
