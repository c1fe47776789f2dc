"""The one error hierarchy of recovery; each error carries its HTTP status and a translatable message.

RecoveryError (500)
├── ConfigError (500)            a setting that does not parse; raised at start-up
├── ValidationError (400)        bad input: geometry, coordinates, attributes, dates, JSON
│   ├── GeometryError (400)      invalid, empty, non-finite or out-of-range geometry, wrong type for the kind
│   ├── UnknownKindError (400)   a site kind that is not in the registry
│   └── DateOutOfRange (400)     a date outside the incident's window (recovery.incident)
├── Unauthorized (401)           a request that needs a signed-in user (recovery.web.policy)
├── Forbidden (403)              a caller whose role or scope does not admit the request
├── NotFoundError (404)          a site, work item or report that does not exist
├── TransitionError (409)        a status change the kind's life cycle does not allow
├── PreconditionFailed (412)     If-Match names a version the site no longer has
├── PreconditionRequired (428)   a change to a site without If-Match
├── PayloadTooLarge (413)        a request body over its route's limit (recovery.web.limits)
└── IdempotencyError (422)       a client event id reused with a different body

Messages are written in English with `%(name)s` placeholders; `translated()` renders them through the catalogue,
with site kinds and statuses shown by their labels, so a caller gets the whole message in their language.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

#: what shows the codes in an error's parameters by their labels, by the name of the vocabulary that owns them:
#: (parameters, locale) -> parameters. The vocabularies sit above this module (they raise its errors) and
#: register themselves here (recovery.kinds: a kind and its statuses), so this module imports none of them.
LABELLERS: dict[str, Callable[[dict[str, Any], str], dict[str, Any]]] = {}


class RecoveryError(Exception):
    """Base of every error recovery raises on purpose."""

    http_status = 500
    code = "internal_error"

    def __init__(self, message: str, **params: Any) -> None:
        self.message = message
        self.params = params
        super().__init__(self.render(message))

    def render(self, template: str, params: dict[str, Any] | None = None) -> str:
        params = self.params if params is None else params
        try:
            return template % params if params else template
        except (KeyError, TypeError, ValueError):
            return template

    def translated(self) -> str:
        """The message in the current request's language (English outside a request)."""
        from recovery.i18n import current_locale, has_request_context, translate

        zh = has_request_context() and current_locale().startswith("zh")
        return self.render(translate(self.message), self.labelled_params(zh))

    def labelled_params(self, zh: bool) -> dict[str, Any]:
        """The parameters with the codes in them shown by their labels (道路塌陷点, 已修复), by `LABELLERS`."""
        from recovery.i18n import locale_for

        params, locale = dict(self.params), locale_for(zh)
        for labelled in LABELLERS.values():
            params = labelled(params, locale)
        return params

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


class DateOutOfRange(ValidationError):
    code = "date_out_of_range"


class Unauthorized(RecoveryError):
    http_status = 401
    code = "unauthorized"


class Forbidden(RecoveryError):
    http_status = 403
    code = "forbidden"


class NotFoundError(RecoveryError):
    http_status = 404
    code = "not_found"


class TransitionError(RecoveryError):
    http_status = 409
    code = "transition_not_allowed"


class PreconditionFailed(RecoveryError):
    http_status = 412
    code = "stale_version"


class PreconditionRequired(RecoveryError):
    http_status = 428
    code = "if_match_required"


class PayloadTooLarge(RecoveryError):
    http_status = 413
    code = "payload_too_large"


class IdempotencyError(RecoveryError):
    http_status = 422
    code = "idempotency_conflict"
