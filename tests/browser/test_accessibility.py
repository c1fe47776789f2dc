"""An accessibility pass with axe-core (vendored: tests/support/vendor/axe-core, see its VERSION) on the field app,
the map and the dashboard, as the roles that use them, on a phone and on a desk: no serious or critical violation.

axe is put into the page by the test (a context that bypasses the page's CSP, which rightly refuses a script the
app did not send); nothing is loaded from another host."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlparse

import pytest
from support.browser import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.slow]
AXE = Path(__file__).resolve().parents[1] / "support" / "vendor" / "axe-core" / "axe.min.js"
SIZES = [(390, 844), (1440, 900)]
#: page, role, what shows the page is ready
PAGES = [
    ("/field/", "field", "body[data-ready='1']"),
    ("/map", "commander", "#count-total:not(:text('…'))"),
    ("/", "commander", "#conflict-list > *"),
    ("/", "field", "#overdue-sites"),
]
BLOCKING = ("serious", "critical")


def violations(page) -> list[dict]:
    """axe's violations of the page as it is now, the serious and critical ones, each with where it is."""
    page.evaluate(AXE.read_text(encoding="utf-8"))
    found = page.evaluate(
        """async () => {
             const result = await axe.run(document, { resultTypes: ['violations'] });
             return result.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help,
               nodes: v.nodes.map((n) => n.target.join(' ') + ' :: ' + n.failureSummary).slice(0, 5) }));
           }"""
    )
    return [v for v in found if v["impact"] in BLOCKING]


def test_axe_is_vendored_with_its_licence_and_version():
    folder = AXE.parent
    assert AXE.stat().st_size > 100_000  # the library itself, not a stub
    assert "Mozilla Public License" in (folder / "LICENSE").read_text(encoding="utf-8")
    version = (folder / "VERSION").read_text(encoding="utf-8").split()[1]
    assert f"axe v{version}" in AXE.read_text(encoding="utf-8")[:200]


@pytest.mark.parametrize(("width", "height"), SIZES, ids=["phone", "desk"])
@pytest.mark.parametrize(
    ("path", "role", "ready"), PAGES, ids=["field", "map", "dashboard", "dashboard-field"]
)
def test_no_serious_or_critical_violation(browser, live_server, path, role, ready, width, height):
    context = browser.new_context(viewport={"width": width, "height": height}, bypass_csp=True)
    page = context.new_page()
    hosts = []
    page.on("request", lambda request: hosts.append(urlparse(request.url).hostname))
    sign_in(page, live_server, path, user=role)
    page.wait_for_selector(ready, state="attached", timeout=20000)
    page.wait_for_function("() => !document.body.dataset.loading")
    found = violations(page)
    assert found == [], "\n".join(
        f"{v['impact']} {v['id']}: {v['help']}\n  " + "\n  ".join(v["nodes"]) for v in found
    )
    assert set(hosts) == {"127.0.0.1"}, set(hosts)
    context.close()


def test_the_assignment_dialog_has_no_serious_violation(browser, live_server):
    """The preview dialog of an assignment, open over the map, on a desk."""
    context = browser.new_context(viewport={"width": 1440, "height": 900}, bypass_csp=True)
    page = context.new_page()
    sign_in(page, live_server, "/map?kind=road_collapse&subdistrict=fengyang")
    page.wait_for_selector("#count-total:not(:text('…'))")
    page.select_option("#assign-team", index=1)
    page.fill("#assign-deadline", "2021-08-15")
    page.click("#assign-filtered")
    page.wait_for_selector("#assign-dialog[open]")
    found = violations(page)
    assert found == [], found
    context.close()
