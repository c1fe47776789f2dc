"""The admin's pages in headless Chromium: issue 15's acceptance test and a screenshot of every page.

The admin adds a field user with a scope; the new user signs in and updates a site in scope; the admin narrows the
scope and the same update is refused; the admin disables the user and their open session and API token stop
working at once; the audit log lists each step."""

from __future__ import annotations

import uuid
from urllib.error import HTTPError
from urllib.request import Request, urlopen

import pytest
from support.accounts import auth
from support.browser import SHOTS, sign_in

DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}

pytestmark = [pytest.mark.browser, pytest.mark.slow]

#: an update of a site, sent from the signed-in page as the field app sends it (session cookie and CSRF token)
UPDATE = """async ([siteId, version]) => {
  const me = await (await fetch('/api/v1/me')).json();
  const response = await fetch(`/api/v1/sites/${siteId}/events`, {
    method: 'POST',
    headers: {'Content-Type': 'application/json', 'X-CSRFToken': me.csrf_token, 'If-Match': `"${version}"`,
              'Idempotency-Key': 'k' + Math.random().toString(36).slice(2)},
    body: JSON.stringify({status: 'clearing', note: '浏览器测试'}),
  });
  return response.status;
}"""


def _context(browser, size):
    return browser.new_context(viewport=size, locale="zh-CN", timezone_id="Asia/Shanghai")


def _status_with_token(base: str, token: str) -> int:
    try:
        with urlopen(Request(f"{base}/api/v1/me", headers={"Authorization": f"Bearer {token}"})) as response:
            return response.status
    except HTTPError as exc:
        return exc.code


def _site_in_shifo(app, geodata) -> int:
    point = geodata.subdistrict("shifo").geometry.representative_point()
    response = app.test_client().post(
        "/api/v1/sites",
        json={"kind": "silt_site", "name": "石佛测试车库", "position": {"lon": point.x, "lat": point.y}},
        headers={**auth("field_shifo"), "Idempotency-Key": uuid.uuid4().hex},
    )
    assert response.status_code == 201, response.get_json()
    return response.get_json()["site"]["id"]


def test_admin_adds_a_field_user_narrows_the_scope_and_disables_them(
    browser, live_server, seeded_app, geodata
):
    site_id = _site_in_shifo(seeded_app, geodata)
    admin = _context(browser, DESKTOP).new_page()
    sign_in(admin, live_server, "/admin/users", user="admin")

    # 1. the admin adds a field user with the scope 石佛
    admin.fill("#add-user input[name=username]", "wang")
    admin.fill("#add-user input[name=display_name]", "王巡查")
    admin.select_option("#add-user select[name=role]", "field")
    admin.check("#add-user input[name=subdistrict][value=shifo]")
    admin.click("#add-user button[type=submit]")
    password = admin.inner_text("#new-password").strip()
    assert len(password) >= 10
    assert "一线人员" in admin.inner_text("main")
    token = (
        seeded_app.test_cli_runner()
        .invoke(args=["users", "token", "wang", "--label", "巡查App"])
        .output.strip()
    )
    assert _status_with_token(live_server, token) == 200

    # 2. the new user signs in and updates a site in their scope
    field = _context(browser, PHONE).new_page()
    field.goto(f"{live_server}/login")
    field.fill("#username", "wang")
    field.fill("#password", password)
    field.click("button[type=submit]")
    field.wait_for_url(f"{live_server}/field/")
    assert field.evaluate(UPDATE, [site_id, 1]) == 201

    # 3. the admin narrows the scope to 枫杨: the same update is refused at once, in the same session
    admin.goto(f"{live_server}/admin/users/wang")
    admin.uncheck("#edit-user input[name=subdistrict][value=shifo]")
    admin.check("#edit-user input[name=subdistrict][value=fengyang]")
    admin.click("#edit-user button[type=submit]")
    admin.wait_for_selector("p.flash[role=status]")
    assert field.evaluate(UPDATE, [site_id, 2]) == 403

    # 4. the admin disables the user: their open session and their token stop working at once
    assert "巡查App" in admin.inner_text("main")  # the token, listed by name
    admin.click("#toggle-active button")
    admin.wait_for_selector("p.flash[role=status]")
    assert "已停用" in admin.inner_text("main")
    assert field.evaluate("async () => (await fetch('/api/v1/me')).status") == 401
    assert _status_with_token(live_server, token) == 401
    field.goto(f"{live_server}/field/")
    assert "/login" in field.url

    # 5. the audit log lists each step, newest first, with who and from where
    admin.goto(f"{live_server}/admin/audit?q=wang")
    rows = admin.locator("table.audit tbody tr").all_inner_texts()
    assert ["停用用户" in rows[0], "修改角色或范围" in rows[1], "添加用户" in rows[2]] == [True, True, True]
    assert all("admin" in row and "127.0.0.1" in row and "user:wang" in row for row in rows)
    assert "fengyang" in rows[1] and "shifo" in rows[1]


PAGES = [
    ("overview", "/admin/"),
    ("users", "/admin/users"),
    ("user", "/admin/users/field"),
    ("teams", "/admin/teams?q=T-000"),
    ("audit", "/admin/audit"),
]


@pytest.mark.parametrize(("size_name", "size"), [("desktop", DESKTOP), ("phone", PHONE)])
def test_every_admin_page_renders_at_desktop_and_phone_size(
    browser, live_server, seeded_app, tmp_path, size_name, size
):
    seeded_app.test_client().post(
        "/api/v1/admin/users/field/disable", headers=auth("admin")
    )  # a row in the log
    context = _context(browser, size)
    page = context.new_page()
    sign_in(page, live_server, "/admin/", user="admin")
    errors: list[str] = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    for name, path in PAGES:
        page.goto(f"{live_server}{path}")
        assert page.locator("nav.admin-nav a[aria-current=page]").count() == 1, name
        shot = (SHOTS or tmp_path) / f"admin-{name}-{size_name}.png"
        shot.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(shot), full_page=True)
        assert shot.stat().st_size > 5_000
        # wide tables scroll inside their box; the page itself never scrolls sideways
        assert page.evaluate("document.documentElement.scrollWidth") <= size["width"], (name, size_name)
    assert errors == []  # no CSP or script error on any page
    context.close()


def test_the_english_admin_pages(browser, live_server):
    page = _context(browser, DESKTOP).new_page()
    sign_in(page, live_server, "/admin/users", user="admin")
    page.goto(f"{live_server}/admin/users?lang=en")
    text = page.inner_text("main")
    assert "Add a user" in text and "field" in text and "Users" in text
    assert "一线人员" not in text and "Shifo" in text
