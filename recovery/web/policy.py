"""Who may use each route. Every view declares its roles with `@allow(...)`; a route without one is refused.

Roles: `anonymous` (anyone, signed in or not), `field`, `commander`, `reporter`, `unit` (a responsible unit's
staff: its work orders, and the sites read like any signed-in user), `admin`. The policy is checked
before the view runs, for pages and API alike: no credentials → 401, the wrong role → 403. Finer rules (a field
user's scope) are checked by the view, because they depend on the record.

A browser signed in as a user who must choose a new password (their role was raised to one that needs a longer
one: `recovery.auth.accounts.password_change_due`) is sent to `/account/password` from every page that needs a
signed-in user, except that page and sign-out; its API calls get 403 `password_change_required`. Bearer tokens
are not passwords: they keep working (the new password ends them, as every password change does). Pages open to
everyone (sign-in, public reports, static files, health) stay open.
"""

from __future__ import annotations

from collections.abc import Callable
from ipaddress import ip_address
from typing import TypeVar

from flask import Flask, Response, current_app, redirect, request, url_for

from recovery.auth import current_account
from recovery.errors import Forbidden, Unauthorized
from recovery.web.errors import wants_json

__all__ = [
    "PASSWORD_CHANGE_ENDPOINTS",
    "READERS",
    "ROLES",
    "SIGNED_IN",
    "Forbidden",
    "PasswordChangeRequired",
    "Unauthorized",
    "allow",
    "check_request",
    "policy_of",
]

ROLES = ("anonymous", "field", "commander", "reporter", "unit", "admin")
SIGNED_IN = ("field", "commander", "reporter", "unit", "admin")
READERS = ("commander", "reporter", "admin")
#: endpoints that Flask itself adds; they serve files only
BUILTIN_POLICIES = {"static": frozenset({"anonymous"})}
#: what a signed-in browser that must choose a new password may still open
PASSWORD_CHANGE_ENDPOINTS = frozenset({"auth.change_password", "auth.logout"})


class PasswordChangeRequired(Forbidden):
    """An API call riding on the session of a user who must first choose a new password."""

    code = "password_change_required"


F = TypeVar("F", bound=Callable)


def allow(*roles: str, addresses: str | None = None) -> Callable[[F], F]:
    """Declare who may call a view: `@allow("commander", "admin")`, or `@allow("anonymous")` for everyone.

    `addresses` names a setting listing networks (`METRICS_ALLOW`) whose callers are admitted without signing
    in, for machines such as a Prometheus server; a caller outside them who has not signed in gets 403.
    """
    unknown = set(roles) - set(ROLES)
    if unknown or not roles:
        raise ValueError(f"unknown roles {sorted(unknown)}")

    def mark(view: F) -> F:
        view.allowed_roles = frozenset(roles)  # type: ignore[attr-defined]
        view.allowed_addresses = addresses  # type: ignore[attr-defined]
        return view

    return mark


def policy_of(app: Flask, endpoint: str) -> frozenset[str] | None:
    if endpoint in BUILTIN_POLICIES:
        return BUILTIN_POLICIES[endpoint]
    view = app.view_functions.get(endpoint)
    return getattr(view, "allowed_roles", None)


def current_role() -> str:
    """The signed-in user's role (by session or bearer token), or `anonymous`."""
    account = current_account()
    return account.role if account is not None else "anonymous"


def check_request() -> Response | None:
    """Before every request: refuse unless the endpoint's policy admits the caller (or send a browser that must
    choose a new password to the page for it)."""
    endpoint = request.endpoint
    if endpoint is None:  # 404/405: let Flask answer
        return
    app = current_app._get_current_object()
    roles = policy_of(app, endpoint)
    if roles is None:
        raise Forbidden("This address has no access policy.")
    if "anonymous" in roles:
        return
    addresses = getattr(app.view_functions[endpoint], "allowed_addresses", None)
    if addresses is not None and _address_listed(app.config["RECOVERY"][addresses]):
        return
    account = current_account()
    if account is None:
        if addresses is not None:
            raise Forbidden("Only an administrator's token or a listed address may read this.")
        raise Unauthorized("Please sign in.")
    if account.role not in roles:
        raise Forbidden("Your role may not do this.")
    # one attribute of the account already loaded: nothing more for any other request
    if account.must_change_password and not account.via_token and endpoint not in PASSWORD_CHANGE_ENDPOINTS:
        return _to_password_page()
    return None


def _to_password_page() -> Response:
    """A page goes to the password page (which says why); an API call or a script's JSON request gets 403."""
    if wants_json():
        raise PasswordChangeRequired(
            "Your role now needs a longer password: choose a new one at /account/password before going on."
        )
    return redirect(url_for("auth.change_password"))


def _address_listed(networks) -> bool:
    """Whether the client's address (the proxy's view of it only when trusted: recovery.web.proxies) is in
    `networks`."""
    try:
        address = ip_address(request.remote_addr or "")
    except ValueError:
        return False
    return any(address in network for network in networks or ())


def init_app(app: Flask) -> None:
    app.before_request(check_request)
