"""The sign-in throttle slows one user name at one address with a doubling wait, and never refuses a right
password because of failures from elsewhere: not another address's, not other names' at the same address."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from support.accounts import TEST_PASSWORD

from recovery.auth import throttle
from recovery.auth.throttle import FREE_FAILURES, TooManyAttempts, wait_after

ATTACKER = "203.0.113.66"
VICTIM = "198.51.100.7"
CENTRE = "10.20.7.1"  # the command centre's one public address (NAT)


@pytest.fixture
def clock(monkeypatch):
    """The instant sign-ins see, moved by hand (no sleeping, no timing)."""
    import recovery.auth.accounts as accounts

    moment = [datetime(2021, 7, 29, 8, 0, tzinfo=UTC)]
    monkeypatch.setattr(accounts, "now", lambda: moment[0])

    def advance(seconds: float) -> None:
        moment[0] += timedelta(seconds=seconds)

    return advance


def sign_in(client, name: str, password: str, address: str):
    page = client.get("/login", environ_base={"REMOTE_ADDR": address}).get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    return client.post(
        "/login",
        data={"username": name, "password": password, "csrf_token": token},
        environ_base={"REMOTE_ADDR": address},
    )


@pytest.mark.parametrize(
    ("failures", "seconds"),
    [
        (0, 0),
        (1, 0),
        (FREE_FAILURES - 1, 0),
        (FREE_FAILURES, 2),
        (FREE_FAILURES + 1, 4),
        (FREE_FAILURES + 5, 64),
    ]
    + [(FREE_FAILURES + 9, 900), (FREE_FAILURES + 60, 900), (10**6, 900)],
)
def test_the_wait_doubles_up_to_fifteen_minutes(failures, seconds):
    assert wait_after(failures) == timedelta(seconds=seconds)


def test_the_victim_signs_in_while_an_attacker_hammers_from_elsewhere(app, clock):
    attacker, victim = app.test_client(), app.test_client()
    for _ in range(40):
        assert sign_in(attacker, "commander", "guess guess guess", ATTACKER).status_code in (401, 429)
        clock(1)
    assert sign_in(attacker, "commander", TEST_PASSWORD, ATTACKER).status_code == 429  # the guesser waits
    assert sign_in(victim, "commander", TEST_PASSWORD, VICTIM).status_code == 302
    assert victim.get("/api/v1/me").get_json()["username"] == "commander"


@pytest.mark.slow
def test_one_address_for_a_whole_command_centre(app, clock):
    """Failures of some names at a NAT address slow those names there, nobody else there."""
    client = app.test_client()
    for i in range(60):  # a mistyping colleague and a scripted guesser, all behind the same address
        name = "reporter" if i % 3 == 0 else f"nobody{i}"
        assert sign_in(client, name, "wrong wrong wrong", CENTRE).status_code in (401, 429)
    for name in ("commander", "admin", "field", "field_shifo"):
        browser = app.test_client()
        assert sign_in(browser, name, TEST_PASSWORD, CENTRE).status_code == 302, name
    slowed = sign_in(app.test_client(), "reporter", TEST_PASSWORD, CENTRE)
    assert slowed.status_code == 429 and int(slowed.headers["Retry-After"]) >= 1
    assert sign_in(app.test_client(), "reporter", TEST_PASSWORD, VICTIM).status_code == 302


def test_the_wait_grows_with_each_failure_and_a_right_password_clears_it(app, clock):
    client = app.test_client()
    for _ in range(FREE_FAILURES):
        assert sign_in(client, "admin", "not it, not it", ATTACKER).status_code == 401
    waits = []
    for _ in range(5):
        refused = sign_in(client, "admin", TEST_PASSWORD, ATTACKER)  # even a right one waits its turn
        assert refused.status_code == 429
        waits.append(int(refused.headers["Retry-After"]))
        clock(waits[-1])
        assert sign_in(client, "admin", "not it, not it", ATTACKER).status_code == 401
    assert waits == [2, 4, 8, 16, 32]
    clock(64)
    assert sign_in(client, "admin", TEST_PASSWORD, ATTACKER).status_code == 302
    # after a success the count starts again: the next failures are free
    other = app.test_client()
    for _ in range(FREE_FAILURES):
        assert sign_in(other, "admin", "not it, not it", ATTACKER).status_code == 401


def test_failures_are_forgotten_after_a_quiet_day(app, clock):
    client = app.test_client()
    for _ in range(FREE_FAILURES + 4):
        sign_in(client, "reporter", "wrong wrong wrong", ATTACKER)
        clock(2**10)
    clock(throttle.FAILURE_MEMORY.total_seconds())
    assert sign_in(client, "reporter", "wrong wrong wrong", ATTACKER).status_code == 401
    assert sign_in(client, "reporter", TEST_PASSWORD, ATTACKER).status_code == 302


def test_the_wait_is_shared_by_every_app_process(app, db_url, tmp_path, clock):
    """Two apps on one database (two gunicorn workers): the failures counted by one slow the other."""
    from recovery import create_app

    other = create_app({"DATABASE_URL": db_url, "TESTING": True, "SECURE_COOKIES": False})
    try:
        for _ in range(FREE_FAILURES):
            assert sign_in(app.test_client(), "field", "wrong wrong wrong", ATTACKER).status_code == 401
        assert sign_in(other.test_client(), "field", "wrong wrong wrong", ATTACKER).status_code == 429
    finally:
        other.extensions["recovery.engine"].dispose()


def test_a_try_counts_before_its_password_is_checked(session):
    """Parallel tries cannot all slip through the free ones: each claims its turn, committed, first."""
    at = datetime(2021, 7, 29, 8, 0, tzinfo=UTC)
    for _ in range(FREE_FAILURES):
        throttle.claim(session, "commander", ATTACKER, at)
    with pytest.raises(TooManyAttempts) as refused:
        throttle.claim(session, "commander", ATTACKER, at)
    assert refused.value.retry_after == 2
    throttle.claim(session, "commander", VICTIM, at)  # another address: its own turn
    throttle.succeeded(session, "commander", ATTACKER)
    session.commit()
    throttle.claim(session, "commander", ATTACKER, at)


def test_a_flood_from_one_address_stops_its_failing_names_not_the_others(app, clock, monkeypatch):
    monkeypatch.setattr(throttle, "ADDRESS_CEILING", 12)
    client = app.test_client()
    for i in range(12):  # a password spray: one try per name
        assert sign_in(client, f"staff{i}", "Summer2021!", CENTRE).status_code == 401
    assert sign_in(client, "staff3", "Autumn2021!", CENTRE).status_code == 429  # already failed here
    assert sign_in(client, "reporter", "Autumn2021!", CENTRE).status_code == 401  # first try here
    assert sign_in(app.test_client(), "commander", TEST_PASSWORD, CENTRE).status_code == 302
    assert sign_in(app.test_client(), "staff3", "Autumn2021!", VICTIM).status_code == 401  # elsewhere
    clock(throttle.ADDRESS_WINDOW.total_seconds() + 1)
    assert sign_in(client, "staff3", "Autumn2021!", CENTRE).status_code == 401


def test_refusals_are_in_chinese(app, clock):
    client = app.test_client()
    for _ in range(FREE_FAILURES):
        sign_in(client, "admin", "not it, not it", ATTACKER)
    page = sign_in(client, "admin", "not it, not it", ATTACKER).get_data(as_text=True)
    assert "秒后再试" in page
