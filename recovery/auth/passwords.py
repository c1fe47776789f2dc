"""The password policy: long enough for the role (longer for commanders and admins), not only digits, not the
user name, not a common password; and passwords generated to pass it."""

from __future__ import annotations

import re
import secrets
from functools import cache
from pathlib import Path

from recovery.errors import ValidationError

#: the least length per role: those who command or administer can change everything, so theirs are longer
MIN_LENGTH = {"field": 10, "reporter": 10, "commander": 14, "admin": 14}
MAX_LENGTH = 200  # the sign-in form's own limit
#: common passwords and the words they are made of, lower case (see the file's header for where they come from)
COMMON_FILE = Path(__file__).with_name("common_passwords.txt")

_SEPARATORS = re.compile(r"[\s._\-]+")
#: digits and signs at either end: `Password2021!` is `password` to a guesser
_EDGES = re.compile(r"^[\W\d_]+|[\W\d_]+$")
_LEET = str.maketrans("013457@$!", "oieastasi")


@cache
def common_passwords() -> frozenset[str]:
    lines = COMMON_FILE.read_text(encoding="utf-8").splitlines()
    return frozenset(line.strip() for line in lines if line.strip() and not line.startswith("#"))


def least_length(role: str) -> int:
    """The least length of a password of a user of `role` (a role not listed needs the longest)."""
    return MIN_LENGTH.get(role, max(MIN_LENGTH.values()))


def check_password(password: str, role: str, username: str = "") -> None:
    """Refuse (ValidationError) a password that the policy does not accept for a user of `role`."""
    password = password or ""
    least = least_length(role)
    if len(password) < least:
        raise ValidationError("A password needs at least %(n)s characters.", n=least)
    if len(password) > MAX_LENGTH:
        raise ValidationError("A password has at most %(n)s characters.", n=MAX_LENGTH)
    bare = _SEPARATORS.sub("", password.lower())
    if bare.isdigit():
        raise ValidationError("A password cannot be only digits.")
    name = (username or "").strip().lower()
    if name and (bare == name or (len(name) >= 4 and name in password.lower())):
        raise ValidationError("A password cannot contain the user name.")
    if is_common(password):
        raise ValidationError("This password is too common or too easy to guess.")


def is_common(password: str) -> bool:
    """Whether `password` is a common password, or one with digits and signs around it, in leetspeak, repeated,
    or made of very few different characters."""
    bare = _SEPARATORS.sub("", password.lower())
    if len(set(bare)) < 5:
        return True
    core = _EDGES.sub("", bare)
    common = common_passwords()
    if {bare, core, core.translate(_LEET), bare.translate(_LEET)} & common:
        return True
    return any(_repeats_a_weak_unit(text, common) for text in (bare, core))


def _repeats_a_weak_unit(text: str, common: frozenset[str]) -> bool:
    """`passwordpassword`, `woaini1314woaini1314`, `abcabcabcabc`."""
    for size in range(1, len(text) // 2 + 1):
        unit = text[:size]
        if len(text) % size == 0 and unit * (len(text) // size) == text:
            return size <= 4 or bool({unit, _EDGES.sub("", unit), unit.translate(_LEET)} & common)
    return False


def generate_password(role: str, username: str = "") -> str:
    """A random password that the policy accepts for `role` (16 characters, or more when the role needs it)."""
    nbytes = max(12, (MIN_LENGTH.get(role, 16) * 3 + 3) // 4)
    while True:
        password = secrets.token_urlsafe(nbytes)
        try:
            check_password(password, role, username)
        except ValidationError:
            continue
        return password
