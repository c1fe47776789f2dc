"""Fixtures of the browser tests: the seeded app served on a local port, and one headless Chromium per module."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from support.browser import CHROMIUM, CHROMIUM_ARGS
from werkzeug.serving import make_server


@pytest.fixture
def live_server(seeded_app):
    """The seeded app served by a thread on a free local port; its base address."""
    server = make_server("127.0.0.1", 0, seeded_app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


@pytest.fixture(scope="module")
def browser():
    """A headless Chromium, shared by the tests of one module."""
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium not found at {CHROMIUM}; run scripts/test, which installs it")
    with sync_playwright() as p:
        instance = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield instance
        instance.close()
