"""The serving rules without a server: the worker model by database, gunicorn's options, request ids, the
counters' Prometheus text, the JSON log format and the settings that steer them (issue 15)."""

from __future__ import annotations

import json
import logging
import re
from ipaddress import ip_network

import pytest

from recovery.errors import ConfigError
from recovery.serving import LOGGING, WorkerModel, gunicorn_options, worker_model
from recovery.settings import load_settings
from recovery.web.observability import BUCKETS, JsonFormatter, Metrics, new_request_id


@pytest.mark.parametrize(
    ("one_process", "workers", "threads", "cpus", "expected"),
    [
        (True, 0, 0, 2, WorkerModel(1, 8)),  # SQLite: one process, its writers queue inside it
        (True, 0, 0, 16, WorkerModel(1, 8)),
        (False, 0, 0, 2, WorkerModel(4, 4)),  # PostgreSQL: processes by the CPU count
        (False, 0, 0, 1, WorkerModel(2, 4)),  # at least two, so that one busy process does not stall all
        (False, 0, 0, 8, WorkerModel(16, 4)),
        (True, 3, 2, 2, WorkerModel(3, 2)),  # what is asked for wins
        (False, 1, 0, 8, WorkerModel(1, 4)),
    ],
)
def test_worker_model(one_process, workers, threads, cpus, expected):
    assert worker_model(one_process, workers, threads, cpus) == expected


def test_gunicorn_options():
    options = gunicorn_options("0.0.0.0", 8000, WorkerModel(2, 4))
    assert options["bind"] == ["0.0.0.0:8000"]
    assert (options["workers"], options["threads"], options["worker_class"]) == (2, 4, "gthread")
    assert options["accesslog"] is None  # the app's JSON line is the access log
    # gunicorn believes no forwarded header itself: recovery.web.proxies does, when configured
    assert options["forwarded_allow_ips"] == "" and options["secure_scheme_headers"] == {}
    assert options["logconfig_dict"] is LOGGING
    assert gunicorn_options("::1", 8000, WorkerModel(1, 1))["bind"] == ["[::1]:8000"]


def test_gunicorn_accepts_the_options():
    from gunicorn.config import Config

    config = Config()
    for name, value in gunicorn_options("127.0.0.1", 8000, WorkerModel(2, 4)).items():
        config.set(name, value)
    assert config.workers == 2 and config.threads == 4 and config.forwarded_allow_ips == []


@pytest.mark.parametrize("incoming", ["abc", "A.b:c_d-e", "9" * 128])
def test_a_sane_request_id_is_kept(incoming):
    assert new_request_id(incoming) == incoming


@pytest.mark.parametrize("incoming", [None, "", " ", "a b", "x" * 129, "<script>", "a\nb", "_x", "编号"])
def test_anything_else_gets_a_new_request_id(incoming):
    made = new_request_id(incoming)
    assert re.fullmatch(r"[0-9a-f]{32}", made) and made != new_request_id(incoming)


def test_metrics_text():
    metrics = Metrics()
    metrics.observe("/api/v1/me", "GET", 200, 0.003)
    metrics.observe("/api/v1/me", "GET", 200, 0.2)
    metrics.observe("/api/v1/me", "GET", 401, 60.0)  # past the last bucket: only +Inf
    metrics.observe('/odd"route\\', "GET", 200, 0.0)
    metrics.add_events(3)
    text = metrics.render()
    worker = f'worker="{metrics.worker}"'
    assert text.endswith("\n")
    assert f'recovery_http_requests_total{{{worker},route="/api/v1/me",method="GET",status="200"}} 2' in text
    assert f'recovery_http_requests_total{{{worker},route="/api/v1/me",method="GET",status="401"}} 1' in text
    assert 'route="/odd\\"route\\\\"' in text  # label values escaped
    buckets = re.findall(
        rf'duration_seconds_bucket\{{{worker},route="/api/v1/me",le="([^"]+)"\}} (\S+)', text
    )
    assert [le for le, _ in buckets] == [repr(b) for b in BUCKETS] + ["+Inf"]
    counts = [float(v) for _, v in buckets]
    assert counts == sorted(counts)  # cumulative
    assert counts[0] == 1 and counts[BUCKETS.index(0.25)] == 2 and counts[-2] == 2 and counts[-1] == 3
    assert f'recovery_http_request_duration_seconds_count{{{worker},route="/api/v1/me"}} 3' in text
    assert f"recovery_ledger_events_recorded_total{{{worker}}} 3" in text
    for line in text.splitlines():  # every line a comment or `name{labels} value`
        assert line.startswith("# ") or re.fullmatch(r"[a-z_]+\{.*\} [0-9.e+-]+", line), line


def test_metrics_of_an_idle_process():
    text = Metrics().render()
    assert "recovery_http_requests_total{" not in text
    assert "# TYPE recovery_http_requests_total counter" in text
    assert re.search(r"recovery_ledger_events_recorded_total\{worker=\"\d+\"\} 0", text)


def test_json_formatter():
    record = logging.LogRecord("recovery.access", logging.INFO, "", 0, "request %s", ("中文",), None)
    record.fields = {"status": 200, "path": "/a\nb"}
    out = JsonFormatter().format(record)
    assert "\n" not in out
    line = json.loads(out)
    assert line["msg"] == "request 中文" and line["status"] == 200 and line["path"] == "/a\nb"
    assert line["level"] == "info" and line["logger"] == "recovery.access"


def test_serving_settings():
    assert {
        k: load_settings({})[k] for k in ("SERVE_WORKERS", "SERVE_THREADS", "TRUSTED_PROXIES")
    } == dict.fromkeys(("SERVE_WORKERS", "SERVE_THREADS", "TRUSTED_PROXIES"), 0)
    assert load_settings({})["METRICS_ALLOW"] is None
    values = load_settings(
        {"RECOVERY_METRICS_ALLOW": "127.0.0.1, 10.0.5.0/24,::1", "RECOVERY_SERVE_THREADS": "16"}
    )
    assert values["METRICS_ALLOW"] == (ip_network("127.0.0.1"), ip_network("10.0.5.0/24"), ip_network("::1"))
    assert values["SERVE_THREADS"] == 16
    # printed as the admin's overview shows it
    assert str(values["METRICS_ALLOW"]) == "127.0.0.1/32,10.0.5.0/24,::1/128"
    assert load_settings({"RECOVERY_METRICS_ALLOW": " , "})["METRICS_ALLOW"] == ()


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("RECOVERY_TRUSTED_PROXIES", "-1"),
        ("RECOVERY_TRUSTED_PROXIES", "nginx"),
        ("RECOVERY_SERVE_WORKERS", "-2"),
        ("RECOVERY_SERVE_THREADS", "many"),
        ("RECOVERY_METRICS_ALLOW", "10.0.0.0/33"),
        ("RECOVERY_METRICS_ALLOW", "prometheus.local"),
    ],
)
def test_bad_serving_settings_stop_the_start_up(variable, value):
    with pytest.raises(ConfigError, match=variable):
        load_settings({variable: value})


def test_each_worker_freezes_its_start_up_once_built():
    import gc

    from gunicorn.config import Config

    from recovery.serving import ErrorLogOnly, worker_ready

    options = gunicorn_options("127.0.0.1", 8000, WorkerModel(1, 1))
    assert options["post_worker_init"] is worker_ready and options["logger_class"] is ErrorLogOnly
    config = Config()
    config.set("post_worker_init", worker_ready)
    try:
        config.post_worker_init(None)
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()
        logging.logThreads = logging.logProcesses = logging.logMultiprocessing = True
    # gunicorn's access log is off for good: no fields prepared for it at every request
    assert ErrorLogOnly(config).access(None, None, {}, None) is None


def test_log_lines_written_in_the_background(tmp_path):
    from recovery.web.observability import LinesInBackground

    out = open(tmp_path / "log", "w", encoding="utf-8")  # noqa: SIM115 - closed below
    handler = LinesInBackground(out, interval=3600)  # the thread would not write within the test
    handler.setFormatter(JsonFormatter())
    for n in range(3):
        record = logging.LogRecord("recovery.access", logging.INFO, "", 0, "request", (), None)
        record.fields = {"n": n}
        assert handler.handle(record)
    assert (tmp_path / "log").read_text() == ""
    handler.flush()  # what logging does at exit
    out.close()
    lines = (tmp_path / "log").read_text(encoding="utf-8").splitlines()
    assert [json.loads(line)["n"] for line in lines] == [0, 1, 2]
