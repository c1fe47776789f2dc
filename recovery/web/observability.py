"""What each request leaves behind: its request id, one JSON log line, and the in-process Prometheus counters.

Every request gets an id: a sane incoming `X-Request-ID` (a proxy's or a client's) is kept, anything else is
replaced by a new one. The id goes back in the `X-Request-ID` header, in every JSON error body and on every
error page (`recovery.web.errors`), and in the request's log line, so that a user's report of an error finds
its line. The line (logger `recovery.access`, at INFO) carries the method, the path without its query, the
status, the duration until the app answered (a streamed file's transfer excluded), the user's id when the
request signed in, the client's address (the proxy's view of it only when `RECOVERY_TRUSTED_PROXIES` says so,
`recovery.web.proxies`) and the request id.

The counters live in the process and cost a lock and a few additions per request. With several worker
processes each reports its own, labelled `worker` (its pid), so that Prometheus sums them (`sum by (route)
(rate(...))`) however its scrapes are spread over the workers.
"""

from __future__ import annotations

import itertools
import json
import logging
import os
import re
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any

from flask import Flask, Response, current_app, g, has_request_context, request
from sqlalchemy import Engine, event
from sqlalchemy.sql.dml import Insert

from recovery.models import Event

#: the WSGI environ keys this module writes
REQUEST_ID, ROUTE, USER_ID = "recovery.request_id", "recovery.route", "recovery.user_id"
HEADER = "X-Request-ID"
#: an incoming request id is kept only when it looks like one (no spaces, quotes or control characters)
_SANE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,127}")
#: the route label of a request that matched no route (404s): one label, not one per address tried
UNMATCHED = "(unmatched)"
#: upper bounds of the latency histogram's buckets, in seconds
BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

ACCESS_LOG = logging.getLogger("recovery.access")


def new_request_id(incoming: str | None) -> str:
    """The incoming id when it is sane, else a new one (32 hex digits): this process's random half, then its
    count of ids made. Unique, not secret (it only finds a log line); asking the system for random bytes at every
    request would make the thread give up the GIL."""
    if incoming and _SANE_ID.fullmatch(incoming):
        return incoming
    return f"{_ids[0]}{next(_ids[1]):016x}"


def _new_id_source() -> None:
    _ids[:] = [os.urandom(8).hex(), itertools.count(1)]


#: [the process's random half of its request ids, the counter of the other half]; made again in a forked child
_ids: list = []
_new_id_source()
os.register_at_fork(after_in_child=_new_id_source)


def request_id() -> str | None:
    """This request's id (None outside a request)."""
    if not has_request_context():
        return None
    return request.environ.get(REQUEST_ID)


#: one encoder for every line (`json.dumps` with options builds a new one per call)
_ENCODE = json.JSONEncoder(ensure_ascii=False, default=str).encode


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time (UTC), level, logger, message, and the record's `fields` when it has any."""

    #: (the second, its text): the time's text is made once per second, the milliseconds added per line
    _second: tuple[int, str] = (-1, "")

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "ts": self._timestamp(record),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        fields = record.__dict__.get("fields")
        if fields:
            line.update(fields)
        if record.exc_info:
            line["exc"] = self.formatException(record.exc_info)
        return _ENCODE(line)

    def _timestamp(self, record: logging.LogRecord) -> str:
        """ISO 8601 to the millisecond, UTC: what `datetime.isoformat(timespec="milliseconds")` writes."""
        second = int(record.created)
        cached = self._second
        if cached[0] != second:
            text = datetime.fromtimestamp(second, UTC).strftime("%Y-%m-%dT%H:%M:%S")
            cached = self._second = (second, text)  # one tuple, swapped whole: safe between threads
        return f"{cached[1]}.{int(record.msecs):03d}+00:00"


class LinesInBackground(logging.StreamHandler):
    """A stream handler that leaves the writing to a thread of its own: a request only appends its record to a
    list, and the thread, every `interval` seconds, formats whatever has gathered and writes it in one go.

    Written by each request thread itself, a line costs a write to the stream under the handler's lock, during
    which the thread gives up the GIL; under load the threads then queue for the lock and for the GIL. Waking the
    writer at each record would cost the same hand-over, so it wakes on its own. `flush` writes whatever waits
    (logging calls it at exit, so a worker that stops leaves no line behind); records are taken off the list only
    under the handler's lock, so none is lost between the thread and `flush`."""

    def __init__(self, stream=None, interval: float = 0.05) -> None:
        super().__init__(stream)
        self.interval = interval
        self._waiting: deque[logging.LogRecord] = deque()
        self._writer_pid: int | None = None

    def handle(self, record: logging.LogRecord) -> bool:
        # no lock taken here (logging's own `handle` holds the handler's lock around `emit`)
        if not self.filter(record):
            return False
        self.emit(record)
        return True

    def emit(self, record: logging.LogRecord) -> None:
        if self._writer_pid != os.getpid():  # the first record, or the first in a process forked since
            self._start_writer()
        self._waiting.append(record)

    def flush(self) -> None:
        with self.lock:
            self._write_waiting()
            super().flush()

    def _start_writer(self) -> None:
        with self.lock:
            if self._writer_pid == os.getpid():
                return
            # records copied from the parent by a fork are the parent's to write
            self._waiting.clear()
            self._writer_pid = os.getpid()
            threading.Thread(target=self._write_forever, name="recovery-log-writer", daemon=True).start()

    def _write_forever(self) -> None:
        while True:
            time.sleep(self.interval)
            if self._waiting:
                with self.lock:
                    self._write_waiting()

    def _write_waiting(self) -> None:
        """Format and write every waiting record (called under the handler's lock)."""
        lines = []
        while self._waiting:
            record = self._waiting.popleft()
            try:
                lines.append(self.format(record) + self.terminator)
            except Exception:  # noqa: BLE001 - logging's rule: a record that cannot be written is reported
                self.handleError(record)
        if lines:
            try:
                self.stream.write("".join(lines))
                self.stream.flush()
            except Exception:  # noqa: BLE001
                self.handleError(record)


def _label(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


class Metrics:
    """Requests by route, method and status, latency by route, ledger events committed: one process's counts."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.worker = str(os.getpid())
        self.started = time.time()
        self.requests: Counter[tuple[str, str, int]] = Counter()
        #: route -> counts per bucket (the last one +Inf), then the sum of the durations
        self.latency: dict[str, list[float]] = {}
        self.events_recorded = 0

    def observe(self, route: str, method: str, status: int, seconds: float) -> None:
        with self.lock:
            self.requests[(route, method, status)] += 1
            row = self.latency.get(route)
            if row is None:
                row = self.latency[route] = [0.0] * (len(BUCKETS) + 2)
            for i, bound in enumerate(BUCKETS):
                if seconds <= bound:
                    row[i] += 1
                    break
            else:
                row[len(BUCKETS)] += 1
            row[-1] += seconds

    def add_events(self, count: int) -> None:
        with self.lock:
            self.events_recorded += count

    def render(self) -> str:
        """The counters in Prometheus' text format (version 0.0.4)."""
        with self.lock:
            requests = sorted(self.requests.items())
            latency = {route: list(row) for route, row in sorted(self.latency.items())}
            events = self.events_recorded
        worker = f'worker="{self.worker}"'
        out = [
            "# HELP recovery_http_requests_total Requests answered, by route, method and status.",
            "# TYPE recovery_http_requests_total counter",
        ]
        for (route, method, status), count in requests:
            out.append(
                f'recovery_http_requests_total{{{worker},route="{_label(route)}",method="{_label(method)}",'
                f'status="{status}"}} {count}'
            )
        out += [
            "# HELP recovery_http_request_duration_seconds Time until the app answered, by route.",
            "# TYPE recovery_http_request_duration_seconds histogram",
        ]
        for route, row in latency.items():
            labels = f'{worker},route="{_label(route)}"'
            cumulative = 0.0
            for bound, count in zip((*BUCKETS, float("inf")), row[: len(BUCKETS) + 1], strict=True):
                cumulative += count
                le = "+Inf" if bound == float("inf") else repr(bound)
                out.append(
                    f'recovery_http_request_duration_seconds_bucket{{{labels},le="{le}"}} {cumulative:g}'
                )
            out.append(f"recovery_http_request_duration_seconds_sum{{{labels}}} {row[-1]:.6f}")
            out.append(f"recovery_http_request_duration_seconds_count{{{labels}}} {cumulative:g}")
        out += [
            "# HELP recovery_ledger_events_recorded_total Events (updates) this process committed to the ledger.",
            "# TYPE recovery_ledger_events_recorded_total counter",
            f"recovery_ledger_events_recorded_total{{{worker}}} {events}",
            "# HELP recovery_process_start_time_seconds When this worker process started (Unix time).",
            "# TYPE recovery_process_start_time_seconds gauge",
            f"recovery_process_start_time_seconds{{{worker}}} {self.started:.3f}",
        ]
        return "\n".join(out) + "\n"


def metrics_of(app: Flask) -> Metrics:
    return app.extensions["recovery.metrics"]


class Observed:
    """WSGI middleware: the request id in, the header out, and the log line and counters once the app answered."""

    def __init__(self, wsgi_app: Callable, metrics: Metrics) -> None:
        self.wsgi_app = wsgi_app
        self.metrics = metrics

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        began = time.perf_counter()
        rid = environ[REQUEST_ID] = new_request_id(environ.get("HTTP_X_REQUEST_ID"))
        answered = {"status": 500}

        def start(status: str, headers: list, exc_info=None):
            answered["status"] = int(status[:3])
            headers.append((HEADER, rid))  # nothing else in the app sets it
            return start_response(status, headers, exc_info)

        try:
            return self.wsgi_app(environ, start)
        finally:
            self.finish(environ, answered["status"], time.perf_counter() - began)

    def finish(self, environ: dict, status: int, seconds: float) -> None:
        route = environ.get(ROUTE) or UNMATCHED
        method = environ.get("REQUEST_METHOD", "")
        self.metrics.observe(route, method, status, seconds)
        if ACCESS_LOG.isEnabledFor(logging.INFO):
            fields = {
                "request_id": environ.get(REQUEST_ID),
                "method": method,
                "path": environ.get("SCRIPT_NAME", "") + environ.get("PATH_INFO", ""),
                "route": route,
                "status": status,
                "duration_ms": round(seconds * 1000, 2),
                "user_id": environ.get(USER_ID),
                "remote_addr": environ.get("REMOTE_ADDR"),
            }
            # the record made directly: `info()` would also look up the caller's frame, at every request
            record = logging.LogRecord(ACCESS_LOG.name, logging.INFO, __file__, 0, "request", (), None)
            record.fields = fields
            ACCESS_LOG.handle(record)


def _note_route_and_user(response: Response) -> Response:
    """After the view (or the error handler): what the log line and the counters need from Flask."""
    here = request._get_current_object()
    rule = here.url_rule
    here.environ[ROUTE] = rule.rule if rule is not None else UNMATCHED
    account = g.get("account")  # only when the request signed in: never loads a user for the log's sake
    if account is not None:
        here.environ[USER_ID] = account.id
    return response


def count_ledger_events(engine: Engine, metrics: Metrics) -> None:
    """Count the events each transaction on `engine` inserts, added to `metrics` when it commits."""
    table = Event.__table__

    @event.listens_for(engine, "after_execute")
    def _inserted(conn, clauseelement, multiparams, params, _options, _result):
        if isinstance(clauseelement, Insert) and clauseelement.table is table:
            conn.info["recovery.events"] = conn.info.get("recovery.events", 0) + max(len(multiparams), 1)

    @event.listens_for(engine, "commit")
    def _committed(conn):
        count = conn.info.pop("recovery.events", 0)
        if count:
            metrics.add_events(count)

    @event.listens_for(engine, "rollback")
    def _rolled_back(conn):
        conn.info.pop("recovery.events", None)


def init_app(app: Flask) -> None:
    """Wrap the app's WSGI callable (outermost, so that every answer is counted) and hook the counters in."""
    metrics = app.extensions["recovery.metrics"] = Metrics()
    app.after_request(_note_route_and_user)
    app.wsgi_app = Observed(app.wsgi_app, metrics)  # type: ignore[method-assign]
    count_ledger_events(app.extensions["recovery.engine"], metrics)
    app.jinja_env.globals["request_id"] = request_id


def render_metrics() -> str:
    return metrics_of(current_app).render()
