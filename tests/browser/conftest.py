"""Fixtures of the browser tests: one headless Chromium per module (the served app, `live_server`, is in
tests/conftest.py: the GIS client tests use it too)."""

from __future__ import annotations

from pathlib import Path

import pytest
from support.browser import CHROMIUM, CHROMIUM_ARGS


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
