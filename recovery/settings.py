"""Every setting, declared once with its default and help text, read from RECOVERY_* variables."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from ipaddress import IPv4Network, IPv6Network, ip_network
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from recovery import resources
from recovery.errors import ConfigError
from recovery.i18n import N_

#: the top of the checkout, for tests and development tools; the app finds its own files through
#: `recovery.resources`, which also works when the package is installed from a wheel
PROJECT_ROOT = Path(__file__).resolve().parent.parent


def _bool(text: str) -> bool:
    lowered = text.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off", ""}:
        return False
    raise ValueError(f"not a boolean: {text!r}")


def _tile_server(text: str) -> str:
    value = text.strip().lower()
    if value not in {"none", "osm", "tianditu", "amap"}:
        raise ValueError(f"not one of none, osm, tianditu, amap: {text!r}")
    return value


def _synchronous(text: str) -> str:
    value = text.strip().upper()
    if value not in {"OFF", "NORMAL", "FULL", "EXTRA"}:
        raise ValueError(f"not one of OFF, NORMAL, FULL, EXTRA: {text!r}")
    return value


def _public_url(text: str) -> str:
    value = text.strip().rstrip("/")
    if not value:
        return ""
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.query or parts.fragment:
        raise ValueError(f"not an http(s) address without query or fragment: {text!r}")
    return value


def _incident(text: str):
    """The incident the file names, read now so that a bad file stops the start-up with what is wrong."""
    from recovery.incident import load_incident

    try:
        return load_incident(text.strip())
    except ConfigError as exc:
        raise ValueError(str(exc)) from None


def _at_least_one(text: str) -> int:
    value = int(text)
    if value < 1:
        raise ValueError(f"not a whole number of at least 1: {text!r}")
    return value


def _zero_or_more(text: str) -> int:
    value = int(text)
    if value < 0:
        raise ValueError(f"not a whole number of 0 or more: {text!r}")
    return value


class Networks(tuple):
    """Addresses and networks, printed as they are written (`10.0.5.0/24,127.0.0.1/32`)."""

    def __str__(self) -> str:
        return ",".join(str(network) for network in self)


def _networks(text: str) -> tuple[IPv4Network | IPv6Network, ...]:
    try:
        return Networks(ip_network(part.strip(), strict=False) for part in text.split(",") if part.strip())
    except ValueError:
        raise ValueError(f"not a comma-separated list of addresses or networks: {text!r}") from None


def _hosts(text: str) -> str:
    hosts = [part.strip().lower() for part in text.split(",") if part.strip()]
    for host in hosts:
        bare = host.removeprefix("*.")
        if not bare or any(c in bare for c in "/:@ *"):
            raise ValueError(f"not a comma-separated list of host names: {text!r}")
    return ",".join(hosts)


@dataclass(frozen=True)
class Setting:
    """One configuration value: its name, how to parse it, its default and what it is for."""

    name: str
    default: Any
    help: str
    parse: Callable[[str], Any] = str

    @property
    def env_var(self) -> str:
        return f"RECOVERY_{self.name}"


SETTINGS: tuple[Setting, ...] = (
    Setting(
        "DATABASE_URL",
        None,
        N_(
            "SQLAlchemy URL of the database. Default: a SQLite file `recovery.sqlite3` in the instance "
            "folder. Use postgresql+psycopg://user@host/db for PostgreSQL with PostGIS."
        ),
    ),
    Setting(
        "SECRET_KEY",
        "dev-only-change-me",
        N_("Key that signs session cookies. Set a long random value in production."),
    ),
    Setting(
        "DEFAULT_LOCALE",
        "zh_CN",
        N_("Language of pages, reports and exports when the user has not chosen one."),
    ),
    Setting(
        "TIMEZONE",
        "Asia/Shanghai",
        N_(
            "Time zone in which pages show times. Days in the figures always begin and end in Asia/Shanghai, "
            "the zone's own time, whatever this says."
        ),
    ),
    Setting(
        "GEODATA_DIR",
        str(resources.GEODATA),
        N_("Folder holding the zone's boundaries, roads and rivers."),
    ),
    Setting("SEED_DIR", str(resources.SEED_DATA), N_("Folder holding the committed 7·20 seed data set.")),
    Setting(
        "INCIDENT",
        None,
        N_(
            "A TOML or JSON file defining the incident the tracker follows: its name, zone, first day, "
            "optional last day, deadlines (the roads' one required), the first day a query may name, and the "
            "report's title and source (see recovery/incident.py). Default: the 7·20 rainstorm of 2021 in "
            "Zhengzhou High-tech Zone. A file that cannot be read or is not valid stops the start-up with "
            "what is wrong."
        ),
        _incident,
    ),
    Setting(
        "SQLITE_SYNCHRONOUS",
        "FULL",
        N_(
            "SQLite `synchronous` pragma. FULL (default) makes every acknowledged commit survive power loss "
            "in WAL mode; NORMAL survives an application crash but may lose the last commits on power loss."
        ),
        _synchronous,
    ),
    Setting("DB_ECHO", False, N_("Log every SQL statement (debugging only)."), _bool),
    Setting(
        "SECURE_COOKIES",
        True,
        N_(
            "Send the session cookie only over HTTPS (browsers also accept it on http://localhost and "
            "127.0.0.1). Turn off only to test over plain HTTP on another host."
        ),
        _bool,
    ),
    Setting("SESSION_HOURS", 12, N_("Hours after which a signed-in session expires."), int),
    Setting(
        "TOKEN_DAYS",
        90,
        N_("Days after which a new API token expires (`recovery users token --days` sets another lifetime)."),
        int,
    ),
    Setting("PHOTO_DIR", None, N_("Folder for uploaded photos. Default: `photos/` in the instance folder.")),
    Setting("MAX_PHOTO_MB", 10, N_("Largest photo accepted, in megabytes."), int),
    Setting("MAX_BODY_KB", 256, N_("Largest JSON request body accepted, in kilobytes."), int),
    Setting(
        "MAX_FORM_KB",
        64,
        N_(
            "Largest body of a form (sign-in, publish, confirm) accepted, in kilobytes. Photos and imports "
            "have their own limits; every body is cut off at its limit while it is read."
        ),
        int,
    ),
    Setting(
        "TILE_SERVER",
        "none",
        N_(
            "Base map under /map: none (the zone's own geodata, works offline), osm (OpenStreetMap), "
            "tianditu (天地图, needs RECOVERY_TIANDITU_KEY) or amap (高德, GCJ-02: the data is shifted for "
            "display)."
        ),
        _tile_server,
    ),
    Setting("TIANDITU_KEY", "", N_("Key (tk) for Tianditu tiles when RECOVERY_TILE_SERVER is tianditu.")),
    Setting(
        "PUBLIC_URL",
        "",
        N_(
            "The address at which users reach the app, e.g. https://recovery.example.gov.cn: the base of "
            "every absolute link (OGC API, Atom feed). Empty: the request's Host is used only when it is "
            "localhost, 127.0.0.1 or [::1]; otherwise links are relative to the site's root. Never taken "
            "from the Host header."
        ),
        _public_url,
    ),
    Setting(
        "UPLOAD_EXPIRY_HOURS",
        24,
        N_(
            "Hours after which `recovery cleanup` removes a photo upload none of whose chunks arrived "
            "meanwhile (its data, lock and state files): a client resuming later starts that photo again."
        ),
        _at_least_one,
    ),
    Setting(
        "IMPORT_EXPIRY_HOURS",
        24,
        N_(
            "Hours after which `recovery cleanup` removes an import that was read but not confirmed (its "
            "folder under the instance folder's `imports/`), and what an import or export killed midway left "
            "in the temporary folder (`recovery-import-*`, `recovery-export-*`)."
        ),
        _at_least_one,
    ),
    Setting(
        "LOGIN_RECORD_DAYS",
        30,
        N_(
            "Days that `recovery cleanup` keeps sign-in records: attempts (also for names that do not "
            "exist), sessions after they ended, API tokens after they expired or were revoked."
        ),
        _at_least_one,
    ),
    Setting(
        "IDEMPOTENCY_DAYS",
        30,
        N_(
            "Days that the answer to a request with an Idempotency-Key is kept for its retries. A later "
            "retry no longer gets it: the ledger still refuses to store the change twice, but answers with a "
            "refusal."
        ),
        _at_least_one,
    ),
    Setting(
        "CLEANUP_INTERVAL_MINUTES",
        60,
        N_(
            "Minutes between the runs of `recovery cleanup` that the app starts itself, in the background "
            "after a request, one at a time across processes; 0: never (run the command from a timer "
            "instead)."
        ),
        _zero_or_more,
    ),
    Setting(
        "SERVE_WORKERS",
        0,
        N_(
            "Worker processes of `recovery serve` (gunicorn). 0: chosen by the database: 1 on SQLite (its "
            "writers queue inside the one process), twice the CPU count on PostgreSQL (at least 2)."
        ),
        _zero_or_more,
    ),
    Setting(
        "SERVE_THREADS",
        0,
        N_(
            "Threads per worker process of `recovery serve`. 0: chosen by the database: 8 on SQLite, 4 on "
            "PostgreSQL (see docs/deploy.md for how these were measured)."
        ),
        _zero_or_more,
    ),
    Setting(
        "TRUSTED_PROXIES",
        0,
        N_(
            "How many reverse proxies (nginx…) stand in front of the app. Their X-Forwarded-For, -Proto and "
            "-Prefix headers are believed only then (the client's address, https, a path prefix); 0: "
            "ignored, the client's address is the connection's. X-Forwarded-Host is never believed (links "
            "use RECOVERY_PUBLIC_URL)."
        ),
        _zero_or_more,
    ),
    Setting(
        "METRICS_ALLOW",
        None,
        N_(
            "Addresses or networks (comma-separated, e.g. 127.0.0.1,10.0.5.0/24) that may read /metrics "
            "without signing in (a Prometheus server); anyone else needs an admin's bearer token. Empty: "
            "admins only."
        ),
        _networks,
    ),
    Setting(
        "WEBHOOK_HOSTS",
        "",
        N_(
            "Host names (comma-separated; *.example.com for its subdomains) to which the units' webhooks may "
            "send notices, e.g. qyapi.weixin.qq.com,oapi.dingtalk.com,open.feishu.cn. Empty: any host. "
            "Checked when a webhook is added and again before every delivery."
        ),
        _hosts,
    ),
    Setting(
        "WEBHOOK_TIMEOUT_SECONDS",
        10,
        N_(
            "Seconds `recovery worker` waits for a webhook to connect and answer before the attempt counts "
            "as failed."
        ),
        _at_least_one,
    ),
    Setting(
        "WEBHOOK_MAX_ATTEMPTS",
        8,
        N_("Attempts to deliver a webhook message before it is marked dead (kept in the delivery log)."),
        _at_least_one,
    ),
    Setting(
        "WEBHOOK_BACKOFF_SECONDS",
        30,
        N_(
            "Wait before the second attempt; each further wait doubles (30 s, 1 min, 2 min…), at most an "
            "hour."
        ),
        _at_least_one,
    ),
    Setting(
        "WEBHOOK_LEASE_SECONDS",
        120,
        N_(
            "Seconds a worker holds a message it is sending; a worker killed meanwhile leaves it to another "
            "after that. Keep it above RECOVERY_WEBHOOK_TIMEOUT_SECONDS."
        ),
        _at_least_one,
    ),
)

_BY_NAME = {setting.name: setting for setting in SETTINGS}


def load_settings(
    environ: Mapping[str, str] | None = None, overrides: Mapping[str, Any] | None = None
) -> dict:
    """Return the settings as a dict, from defaults, then the environment, then explicit overrides.

    A value that does not parse raises `ConfigError` at start-up rather than misbehaving later.
    """
    environ = os.environ if environ is None else environ
    values: dict[str, Any] = {}
    for setting in SETTINGS:
        raw = environ.get(setting.env_var)
        if raw is None:
            values[setting.name] = setting.default
            continue
        try:
            values[setting.name] = setting.parse(raw)
        except ValueError as exc:
            raise ConfigError(f"{setting.env_var}: {exc}") from exc
    for name, value in (overrides or {}).items():
        if name not in _BY_NAME:
            raise ConfigError(f"unknown setting {name!r}")
        values[name] = value
    return values


def describe_settings() -> list[dict[str, str]]:
    """The settings table as the README and `recovery settings` print it."""
    return [
        {"variable": s.env_var, "default": "" if s.default is None else str(s.default), "help": s.help}
        for s in SETTINGS
    ]
