"""The password policy: length by role, not only digits, not the user name, not common; applied wherever a
password is set (adding a user, a reset, one's own change), and the generated passwords pass it."""

from __future__ import annotations

import re

import pytest
from support.accounts import TEST_PASSWORD, login

from recovery.auth.passwords import MIN_LENGTH, check_password, common_passwords, generate_password
from recovery.errors import ValidationError

TOO_SHORT = "A password needs at least %(n)s characters."
DIGITS = "A password cannot be only digits."
NAME = "A password cannot contain the user name."
COMMON = "This password is too common or too easy to guess."


@pytest.mark.parametrize(
    ("password", "role", "username", "refusal"),
    [
        ("12345678", "commander", "li", TOO_SHORT),
        ("1234567890123456", "commander", "li", DIGITS),
        ("2021-07-20 2021-08-15", "admin", "li", DIGITS),
        ("short pass", "commander", "li", TOO_SHORT),
        ("short pass", "admin", "li", TOO_SHORT),
        ("x" * 201, "field", "li", "A password has at most %(n)s characters."),
        ("zhangwei-flood-2021", "commander", "zhangwei", NAME),
        ("ZhangWei", "field", "zhangwei", TOO_SHORT),
        ("zhangwei12345", "field", "zhangwei", NAME),
        ("password12345678", "commander", "li", COMMON),
        ("P@ssw0rd2021!!!", "admin", "li", COMMON),
        ("Qwertyuiop123456", "commander", "li", COMMON),
        ("1qaz2wsx3edc4rfv", "admin", "li", COMMON),
        ("woaini1314woaini1314", "commander", "li", COMMON),
        ("iloveyou-iloveyou", "field", "li", COMMON),
        ("abcabcabcabcabc", "commander", "li", COMMON),
        ("aaaaaaaaaaaaaaaa", "commander", "li", COMMON),
        ("Zhengzhou2021!!", "commander", "li", COMMON),
        ("welcome 12345678", "reporter", "li", COMMON),
    ],
)
def test_weak_passwords_are_refused(password, role, username, refusal):
    with pytest.raises(ValidationError) as refused:
        check_password(password, role, username)
    assert refused.value.message == refusal


@pytest.mark.parametrize(
    ("password", "role"),
    [
        (TEST_PASSWORD, "commander"),  # the test users' password stays valid for every role
        (TEST_PASSWORD, "admin"),
        ("a long password", "field"),  # used by tests and the README
        ("long enough password", "admin"),
        ("bench password", "field"),  # bench/updates.py
        ("river-bank-37-east", "commander"),
        ("郑州高新区防汛指挥部", "field"),
        ("ten chars!", "field"),
    ],
)
def test_reasonable_passwords_are_accepted(password, role):
    check_password(password, role, "zhang")


def test_commanders_and_admins_need_longer_passwords():
    assert (
        MIN_LENGTH["commander"] == MIN_LENGTH["admin"] > MIN_LENGTH["field"] == MIN_LENGTH["reporter"] >= 10
    )
    check_password("field crew 1", "field")
    with pytest.raises(ValidationError):
        check_password("field crew 1", "commander")


def test_the_common_list_is_shipped_small_and_lower_case():
    words = common_passwords()
    assert 2000 <= len(words) <= 10000
    assert all(w == w.lower() and w.strip() == w for w in words)
    assert {"password", "qwertyuiop", "woaini1314", "1qaz2wsx", "zhengzhou", "iloveyou"} <= words


@pytest.mark.parametrize("role", list(MIN_LENGTH))
def test_generated_passwords_pass_the_policy(role):
    for _ in range(20):
        password = generate_password(role, "someone")
        assert len(password) >= MIN_LENGTH[role]
        check_password(password, role, "someone")


@pytest.mark.parametrize(
    ("role", "password"),
    [
        ("commander", "12345678"),
        ("admin", "administrator123"),
        ("field", "123456789012"),
        ("reporter", "qwerty123"),
    ],
)
def test_adding_a_user_with_a_weak_password_is_refused(runner, role, password):
    args = ["users", "add", "weak", "--role", role, "--password", password]
    out = runner.invoke(args=[*args, "--scope", "石佛"] if role == "field" else args)
    assert out.exit_code == 2 and "error" in out.output
    assert "weak" not in runner.invoke(args=["users", "list"]).output


def test_adding_a_user_without_a_password_prints_one_that_works(runner, client):
    out = runner.invoke(args=["users", "add", "zhao", "--role", "admin"])
    password = re.search(r"password: (\S+)", out.output).group(1)
    assert len(password) >= MIN_LENGTH["admin"]
    assert login(client, "zhao", password).status_code == 302


def test_every_demo_user_gets_a_valid_password_and_signs_in(runner, app):
    out = runner.invoke(args=["users", "demo"])
    assert out.exit_code == 0, out.output
    lines = dict(re.findall(r"^\s+(\S+)\s+\S+\s+(\S+)", out.output, re.M))
    for name in ("commander", "reporter", "admin", "field_shifo", "field_fengyang"):
        assert login(app.test_client(), name, lines[name]).status_code == 302, name
    again = dict(re.findall(r"^\s+(\S+)\s+\S+\s+(\S+)", runner.invoke(args=["users", "demo"]).output, re.M))
    assert login(app.test_client(), "commander", again["commander"]).status_code == 302
