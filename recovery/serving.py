"""`recovery serve`: gunicorn started from the command, with the worker model that fits the database.

SQLite takes one writer at a time, and the app queues its writers inside the process
(`recovery.db.engine.WriterQueue`), so on SQLite the default is one process with threads; on PostgreSQL, several
processes (writers meet at the rows they change). Each worker builds its own app (`create_app()`) after the
fork, so `kill -HUP` on the master (gunicorn's graceful reload) starts fresh workers with the settings read
again and lets the old ones finish their requests. Logs are JSON lines on stderr: one per request from
`recovery.web.observability` (the access log; gunicorn's own is off, it would repeat it without the request
id or the user), gunicorn's own messages and the app's. gunicorn believes no `X-Forwarded-*` header itself:
that is RECOVERY_TRUSTED_PROXIES' job (`recovery.web.proxies`), in one place. `--dev` runs Flask's development
server with the reloader and the debugger instead.

Once a worker has built its app, `worker_ready` (gunicorn's `post_worker_init`) moves everything the start-up made
(modules, settings, vocabularies, geodata: ~200,000 objects) out of the cyclic garbage collector's reach with
`gc.freeze()`: otherwise each full collection, which the requests' garbage sets off now and then, walks all of
them again, and the request that sets it off waits (bench/README.md: every fifth board request ~90 ms slower).
"""

from __future__ import annotations

import gc
import logging
import logging.config
import os
from dataclasses import dataclass
from typing import Any

from flask import Flask
from gunicorn.app.base import BaseApplication
from gunicorn.glogging import Logger

#: threads per worker when the setting says 0, by whether the database queues its writers in one process
#: (SQLite) or not; measured with bench/serve.py (docs/deploy.md)
THREADS_ONE_PROCESS, THREADS_PER_PROCESS = 8, 4

LOGGING: dict[str, Any] = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"json": {"()": "recovery.web.observability.JsonFormatter"}},
    "handlers": {
        "stderr": {
            "class": "recovery.web.observability.LinesInBackground",
            "formatter": "json",
            "stream": "ext://sys.stderr",
        }
    },
    "root": {"level": "INFO", "handlers": ["stderr"]},
    "loggers": {
        "gunicorn.error": {"level": "INFO", "handlers": ["stderr"], "propagate": False},
        "gunicorn.access": {"level": "WARNING", "handlers": [], "propagate": False},
        "alembic": {"level": "WARNING"},  # /readyz asks for the schema's revision at every probe
    },
}


@dataclass(frozen=True)
class WorkerModel:
    workers: int
    threads: int


def worker_model(
    writers_in_one_process: bool, workers: int = 0, threads: int = 0, cpus: int | None = None
) -> WorkerModel:
    """The processes and threads to run: those asked for (0: not asked), else the database's defaults."""
    cpus = cpus or os.cpu_count() or 1
    if not workers:
        workers = 1 if writers_in_one_process else max(2, 2 * cpus)
    if not threads:
        threads = THREADS_ONE_PROCESS if writers_in_one_process else THREADS_PER_PROCESS
    return WorkerModel(workers, threads)


def gunicorn_options(host: str, port: int, model: WorkerModel) -> dict[str, Any]:
    return {
        "bind": [f"[{host}]:{port}" if ":" in host else f"{host}:{port}"],
        "workers": model.workers,
        "threads": model.threads,
        "worker_class": "gthread",
        "proc_name": "recovery",
        "accesslog": None,  # the app writes the access log (recovery.web.observability)
        "logger_class": ErrorLogOnly,
        "post_worker_init": worker_ready,
        "errorlog": "-",
        "logconfig_dict": LOGGING,
        "forwarded_allow_ips": "",  # recovery.web.proxies decides which X-Forwarded-* to believe
        "secure_scheme_headers": {},
        "timeout": 120,  # an import or export of 100,000 sites takes up to ~40 s here
        "graceful_timeout": 30,
        "keepalive": 5,
        "control_socket_disable": True,  # one fixed socket under $HOME would be shared by every instance
    }


class ErrorLogOnly(Logger):
    """gunicorn's logger without its access log. With a logging configuration given (`logconfig_dict`) gunicorn
    prepares every request's access-log fields (all its headers, its environ) and hands them to a logger that
    then drops them, at every request; the app writes the access log itself."""

    def access(self, resp, req, environ, request_time) -> None:
        return None


def worker_ready(worker) -> None:
    """In each worker, after the fork, once its app is built (gunicorn's `post_worker_init`): the objects of the
    start-up leave the cyclic collector's scans for good (they live as long as the worker), after a collection
    of the start-up's own garbage so that none of it is frozen with them. On PostgreSQL the worker starts to
    listen for the account changes other processes make (`recovery.auth.cache`): a user disabled or a token
    revoked elsewhere is refused here at once."""
    app = getattr(worker, "wsgi", None)
    engine = getattr(app, "extensions", {}).get("recovery.engine")
    if engine is not None:
        from recovery.auth.cache import watch_other_processes

        watch_other_processes(engine)
    # the JSON lines name neither thread nor process: a log record need not look them up (logging's HOWTO,
    # "Optimization")
    logging.logThreads = logging.logProcesses = logging.logMultiprocessing = False
    gc.collect()
    gc.freeze()


class Server(BaseApplication):
    """gunicorn serving `recovery.create_app()`, built in each worker after the fork."""

    def __init__(self, options: dict[str, Any]) -> None:
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        for name, value in self.options.items():
            self.cfg.set(name, value)

    def load(self) -> Flask:
        # the app by name, as the command line finds it (recovery.cli): importing the factory's module here
        # would make an import cycle (the factory registers the command that imports this module)
        from flask.cli import locate_app

        return locate_app("recovery", None)


def writers_in_one_process(app: Flask) -> bool:
    """Whether the app's database queues its writers inside the process (SQLite), as recovery.db says."""
    from recovery.db.engine import WRITER_QUEUES

    return app.extensions["recovery.engine"] in WRITER_QUEUES


def serve(app: Flask, host: str, port: int, workers: int = 0, threads: int = 0, dev: bool = False) -> None:
    """Serve until stopped: gunicorn, or with `dev` Flask's server with the reloader and the debugger."""
    if dev:
        from werkzeug.serving import run_simple

        logging.config.dictConfig(LOGGING)
        app.debug = True
        run_simple(host, port, app, threaded=True, use_reloader=True, use_debugger=True)
        return
    settings = app.config["RECOVERY"]
    model = worker_model(
        writers_in_one_process(app),
        workers or settings["SERVE_WORKERS"],
        threads or settings["SERVE_THREADS"],
    )
    app.extensions["recovery.engine"].dispose()  # the workers open their own connections
    Server(gunicorn_options(host, port, model)).run()
