"""The test users and how a test signs in: through the login form (CSRF token and all) or with an API token."""

from __future__ import annotations

import re

from sqlalchemy.orm import Session
from werkzeug.security import generate_password_hash

from recovery.auth.accounts import create_user, issue_token, token_hash
from recovery.db.engine import make_engine
from recovery.models_accounts import ApiToken, User
from recovery.timeutil import now

#: one user per role, made in every template database; tokens are stored as hashes like real ones
TEST_PASSWORD = "correct horse battery"
TEST_USERS = {
    "commander": ("commander", []),
    "reporter": ("reporter", []),
    "admin": ("admin", []),
    "field": ("field", ["fengyang"]),
    "field_shifo": ("field", ["shifo"]),
    "unit_urban": ("unit", []),
    "unit_fengyang": ("unit", []),
}
#: the responsible unit of each test user of role `unit`
TEST_UNITS = {"unit_urban": "urban_management", "unit_fengyang": "fengyang"}
TEST_TOKENS = {name: f"rcv_test_{name}_token" for name in TEST_USERS}


def add_users(url: str) -> None:
    """Make the test users and their API tokens in the database at `url`."""
    engine = make_engine(url)
    password_hash = generate_password_hash(TEST_PASSWORD)
    with Session(engine) as session:
        for name, (role, scope) in TEST_USERS.items():
            user = User(
                username=name,
                role=role,
                scope=scope,
                unit=TEST_UNITS.get(name),
                display_name=f"测试{name}",
                password_hash=password_hash,
                created_at=now(),
            )
            session.add(user)
            session.flush()
            session.add(ApiToken(user_id=user.id, token_hash=token_hash(TEST_TOKENS[name]), created_at=now()))
        session.commit()
    engine.dispose()


def auth(name: str) -> dict:
    """Headers of an API client signed in as the test user `name`."""
    return {"Authorization": f"Bearer {TEST_TOKENS[name]}"}


def csrf_token(page: str) -> str:
    """The CSRF token of the (first) form in an HTML page."""
    match = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page) or re.search(
        r'name="csrf_token" value="([^"]+)"', page
    )
    assert match, page[:500]
    return match.group(1)


def login(client, name: str, password: str = TEST_PASSWORD):
    """Sign in through the real form, CSRF token and all; returns the response to the POST."""
    token = csrf_token(client.get("/login").get_data(as_text=True))
    return client.post("/login", data={"username": name, "password": password, "csrf_token": token})


def signed_in(app, name: str):
    """A test client signed in through the login form as the test user `name`."""
    client = app.test_client()
    assert login(client, name).status_code == 302
    return client


def token_for(app, role: str, name: str | None = None) -> str:
    """A new user of `role` in the app's database and an API token of theirs."""
    engine = make_engine(app.config["RECOVERY"]["DATABASE_URL"])
    with Session(engine) as session:
        user = create_user(
            session,
            name or f"{role}-user",
            role,
            "long enough password",
            scope=["shifo"] if role == "field" else None,
        )
        token = issue_token(session, user, "tests")
    engine.dispose()
    return token


def bearer(token: str) -> dict[str, str]:
    """Headers of an API client holding `token`."""
    return {"Authorization": f"Bearer {token}"}
