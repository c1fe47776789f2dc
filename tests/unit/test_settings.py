"""Settings: defaults, RECOVERY_* environment variables, refused values and overrides, and their documentation."""

from __future__ import annotations

from ipaddress import ip_network
from pathlib import Path

import pytest

from recovery.errors import ConfigError
from recovery.incident import load_incident
from recovery.settings import PROJECT_ROOT, SETTINGS, describe_settings, load_settings

NAMES = [s.name for s in SETTINGS]
INCIDENT_TOML = """
key = "ice-storm"
first_day = 2023-12-28
last_day = 2024-01-20
name = { zh = "冰冻灾害", en = "ice storm" }
zone = { zh = "某区", en = "a district" }
office = { zh = "指挥部", en = "command post" }
report_title = { zh = "冰冻灾害日报", en = "Ice storm daily report" }
source = { zh = "指挥部", en = "command post" }
[deadlines]
roads = 2024-01-10
"""


def test_defaults_without_environment():
    values = load_settings({})
    assert set(values) == set(NAMES)
    assert values["DATABASE_URL"] is None  # the app picks its embedded SQLite file
    assert values["TIMEZONE"] == "Asia/Shanghai"
    assert values["DEFAULT_LOCALE"] == "zh_CN"  # Chinese first
    assert values["DB_ECHO"] is False
    assert values["SQLITE_SYNCHRONOUS"] == "FULL"
    assert Path(values["GEODATA_DIR"]) == PROJECT_ROOT / "geodata"
    assert Path(values["SEED_DIR"]) == PROJECT_ROOT / "seed" / "data"
    assert (Path(values["GEODATA_DIR"]) / "subdistricts.geojson").is_file()
    assert (Path(values["SEED_DIR"]) / "MANIFEST.json").is_file()


def test_every_setting_is_read_from_its_recovery_variable(tmp_path):
    incident_file = tmp_path / "incident.toml"
    incident_file.write_text(INCIDENT_TOML, encoding="utf-8")
    assert all(s.env_var == f"RECOVERY_{s.name}" for s in SETTINGS)
    environ = {
        "RECOVERY_DATABASE_URL": "postgresql+psycopg://recovery@db/recovery",
        "RECOVERY_SECRET_KEY": "s3cret",
        "RECOVERY_DEFAULT_LOCALE": "en",
        "RECOVERY_TIMEZONE": "UTC",
        "RECOVERY_GEODATA_DIR": "/srv/geodata",
        "RECOVERY_SEED_DIR": "/srv/seed",
        "RECOVERY_SQLITE_SYNCHRONOUS": "NORMAL",
        "RECOVERY_DB_ECHO": "yes",
        "RECOVERY_SECURE_COOKIES": "off",
        "RECOVERY_SESSION_HOURS": "8",
        "RECOVERY_TOKEN_DAYS": "30",
        "RECOVERY_PHOTO_DIR": "/srv/photos",
        "RECOVERY_MAX_PHOTO_MB": "5",
        "RECOVERY_MAX_BODY_KB": "64",
        "RECOVERY_MAX_FORM_KB": "16",
        "RECOVERY_TILE_SERVER": "AMap",
        "RECOVERY_TIANDITU_KEY": "tk-123",
        "RECOVERY_PUBLIC_URL": "https://recovery.example.gov.cn/",
        "RECOVERY_UPLOAD_EXPIRY_HOURS": "48",
        "RECOVERY_IMPORT_EXPIRY_HOURS": "6",
        "RECOVERY_LOGIN_RECORD_DAYS": "90",
        "RECOVERY_IDEMPOTENCY_DAYS": "7",
        "RECOVERY_CLEANUP_INTERVAL_MINUTES": "0",
        "RECOVERY_SERVE_WORKERS": "3",
        "RECOVERY_SERVE_THREADS": "6",
        "RECOVERY_TRUSTED_PROXIES": "1",
        "RECOVERY_METRICS_ALLOW": "10.0.5.0/24",
        "RECOVERY_INCIDENT": str(incident_file),
        "RECOVERY_WEBHOOK_HOSTS": " QYAPI.weixin.qq.com, *.feishu.cn ",
        "RECOVERY_WEBHOOK_TIMEOUT_SECONDS": "5",
        "RECOVERY_WEBHOOK_MAX_ATTEMPTS": "3",
        "RECOVERY_WEBHOOK_BACKOFF_SECONDS": "60",
        "RECOVERY_WEBHOOK_LEASE_SECONDS": "30",
    }
    assert set(environ) == {s.env_var for s in SETTINGS}, "a new setting needs a line here"
    values = load_settings(environ)
    assert values == {
        "DATABASE_URL": "postgresql+psycopg://recovery@db/recovery",
        "SECRET_KEY": "s3cret",
        "DEFAULT_LOCALE": "en",
        "TIMEZONE": "UTC",
        "GEODATA_DIR": "/srv/geodata",
        "SEED_DIR": "/srv/seed",
        "SQLITE_SYNCHRONOUS": "NORMAL",
        "DB_ECHO": True,
        "SECURE_COOKIES": False,
        "SESSION_HOURS": 8,
        "TOKEN_DAYS": 30,
        "PHOTO_DIR": "/srv/photos",
        "MAX_PHOTO_MB": 5,
        "MAX_BODY_KB": 64,
        "MAX_FORM_KB": 16,
        "TILE_SERVER": "amap",
        "TIANDITU_KEY": "tk-123",
        "PUBLIC_URL": "https://recovery.example.gov.cn",
        "UPLOAD_EXPIRY_HOURS": 48,
        "IMPORT_EXPIRY_HOURS": 6,
        "LOGIN_RECORD_DAYS": 90,
        "IDEMPOTENCY_DAYS": 7,
        "CLEANUP_INTERVAL_MINUTES": 0,
        "SERVE_WORKERS": 3,
        "SERVE_THREADS": 6,
        "TRUSTED_PROXIES": 1,
        "METRICS_ALLOW": (ip_network("10.0.5.0/24"),),
        "INCIDENT": load_incident(incident_file),
        "WEBHOOK_HOSTS": "qyapi.weixin.qq.com,*.feishu.cn",
        "WEBHOOK_TIMEOUT_SECONDS": 5,
        "WEBHOOK_MAX_ATTEMPTS": 3,
        "WEBHOOK_BACKOFF_SECONDS": 60,
        "WEBHOOK_LEASE_SECONDS": 30,
    }


def test_variables_without_the_prefix_are_ignored():
    assert load_settings({"DATABASE_URL": "sqlite:///x", "SECRET_KEY": "k"}) == load_settings({})


def test_the_process_environment_is_the_default_source(monkeypatch):
    monkeypatch.setenv("RECOVERY_SECRET_KEY", "from-the-environment")
    assert load_settings()["SECRET_KEY"] == "from-the-environment"


@pytest.mark.parametrize(
    ("text", "expected"),
    [("1", True), ("true", True), ("TRUE", True), (" yes ", True), ("on", True)]
    + [("0", False), ("false", False), ("No", False), ("off", False), ("", False)],
)
def test_boolean_spellings(text, expected):
    assert load_settings({"RECOVERY_DB_ECHO": text})["DB_ECHO"] is expected


@pytest.mark.parametrize("text", ["maybe", "2", "ture", "y e s", "-1"])
def test_a_bad_boolean_is_a_config_error_naming_the_variable(text):
    with pytest.raises(ConfigError, match="RECOVERY_DB_ECHO"):
        load_settings({"RECOVERY_DB_ECHO": text})


def test_overrides_win_over_the_environment():
    values = load_settings({"RECOVERY_SECRET_KEY": "env"}, {"SECRET_KEY": "override", "DB_ECHO": True})
    assert values["SECRET_KEY"] == "override"
    assert values["DB_ECHO"] is True


@pytest.mark.parametrize("name", ["SECRET", "database_url", "RECOVERY_SECRET_KEY", "TESTING_MODE"])
def test_an_unknown_override_is_refused(name):
    with pytest.raises(ConfigError, match="unknown setting"):
        load_settings({}, {name: "x"})


def test_describe_settings_lists_every_setting_with_help():
    rows = describe_settings()
    assert [r["variable"] for r in rows] == [f"RECOVERY_{n}" for n in NAMES]
    assert all(r["help"].strip() for r in rows)
    assert rows[NAMES.index("DATABASE_URL")]["default"] == ""
    assert rows[NAMES.index("DB_ECHO")]["default"] == "False"


@pytest.mark.parametrize("setting", SETTINGS, ids=NAMES)
def test_every_setting_is_documented_in_the_readme(setting):
    readme = PROJECT_ROOT / "README.md"
    assert readme.is_file(), "README.md is missing"
    assert setting.env_var in readme.read_text(encoding="utf-8")


@pytest.mark.parametrize(("text", "expected"), [("NORMAL", "NORMAL"), (" full ", "FULL"), ("extra", "EXTRA")])
def test_sqlite_synchronous_spellings(text, expected):
    assert load_settings({"RECOVERY_SQLITE_SYNCHRONOUS": text})["SQLITE_SYNCHRONOUS"] == expected


@pytest.mark.parametrize("text", ["", "fast", "FULL; DROP TABLE site", "1"])
def test_a_bad_sqlite_synchronous_is_a_config_error_at_start_up(text):
    with pytest.raises(ConfigError, match="RECOVERY_SQLITE_SYNCHRONOUS"):
        load_settings({"RECOVERY_SQLITE_SYNCHRONOUS": text})


def test_the_incident_defaults_to_the_7_20_flood():
    assert load_settings({})["INCIDENT"] is None  # the app then follows recovery.incident.DEFAULT


def test_a_bad_incident_file_is_a_config_error_naming_the_variable_and_the_fault(tmp_path):
    missing = tmp_path / "nowhere.toml"
    with pytest.raises(ConfigError, match="RECOVERY_INCIDENT.*cannot be read"):
        load_settings({"RECOVERY_INCIDENT": str(missing)})
    bad = tmp_path / "bad.toml"
    bad.write_text(INCIDENT_TOML.replace("roads = 2024-01-10", "roads = 2023-12-01"), encoding="utf-8")
    with pytest.raises(
        ConfigError, match="RECOVERY_INCIDENT.*deadlines.roads 2023-12-01 is before first_day"
    ):
        load_settings({"RECOVERY_INCIDENT": str(bad)})
