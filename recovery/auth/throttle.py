"""Failed sign-ins slow down one user name from one address, with a wait that doubles, never anyone else.

A guesser at one address gets a few free tries at a name, then waits 2 s, 4 s, 8 s … up to 15 minutes between
tries; the same name from any other address, and any other name from the same address (a command centre behind
one NAT), is not slowed at all. Only a flood of failures from one address (ADDRESS_CEILING within
ADDRESS_WINDOW: a password spray) makes that address's names that already failed there wait the window out;
a name with no failure from the address still signs in.

The state is a row per (name, address) in `login_throttle`, so every app process applies the same wait. A try
first *claims* the row (one conditional UPDATE: the try counts as a failure and sets the wait that follows a
failure) and commits before the password is checked, so parallel tries cannot slip in together; a success
deletes the row.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.orm import Session

from recovery.db.dialect import upsert
from recovery.db.engine import begin_write
from recovery.errors import RecoveryError
from recovery.models_accounts import LoginAttempt, LoginThrottle

#: failures of a name from an address before the first wait, the first wait, and the longest
FREE_FAILURES = 3
FIRST_WAIT = timedelta(seconds=2)
LONGEST_WAIT = timedelta(minutes=15)
#: a name's failures from an address are forgotten once none came for this long
FAILURE_MEMORY = timedelta(hours=24)
#: failed sign-ins from one address within the window after which its names that failed there wait it out
ADDRESS_CEILING = 500
ADDRESS_WINDOW = timedelta(minutes=15)
_CLAIM_ROUNDS = 8


class TooManyAttempts(RecoveryError):
    http_status = 429
    code = "too_many_attempts"

    def __init__(self, message: str, retry_after: int, **params) -> None:
        super().__init__(message, **params)
        self.retry_after = retry_after


def wait_after(failures: int) -> timedelta:
    """The wait before the next try after `failures` consecutive failures of a name from an address."""
    if failures < FREE_FAILURES:
        return timedelta(0)
    return min(FIRST_WAIT * 2 ** min(failures - FREE_FAILURES, 20), LONGEST_WAIT)


def claim(session: Session, username: str, remote_addr: str, at: datetime) -> None:
    """Take this (name, address)'s turn to try a password, or raise TooManyAttempts. Commits: the try counts
    as a failure, in every process, until `succeeded` clears it."""
    key = (LoginThrottle.username == username, LoginThrottle.remote_addr == remote_addr)
    begin_write(session)
    for _ in range(_CLAIM_ROUNDS):
        row = session.execute(
            select(LoginThrottle.failures, LoginThrottle.last_attempt_at, LoginThrottle.blocked_until).where(
                *key
            )
        ).first()
        if row is None:
            first = {"failures": 1, "last_attempt_at": at, "blocked_until": at + wait_after(1)}
            if _insert_new(session, username, remote_addr, first):
                session.commit()
                return
            continue
        if row.blocked_until is not None and row.blocked_until > at:
            session.rollback()
            raise _wait(row.blocked_until - at)
        recent = row.last_attempt_at is not None and at - row.last_attempt_at < FAILURE_MEMORY
        failures = row.failures if recent else 0
        if failures and _address_flooded(session, remote_addr, at):
            session.rollback()
            raise TooManyAttempts(
                "Too many failed sign-ins. Try again in %(minutes)s minutes.",
                int(ADDRESS_WINDOW.total_seconds()),
                minutes=int(ADDRESS_WINDOW.total_seconds() // 60),
            )
        # only if nobody claimed it since it was read: parallel tries each count, one after the other
        claimed = session.execute(
            update(LoginThrottle)
            .where(
                *key,
                LoginThrottle.failures == row.failures,
                or_(LoginThrottle.blocked_until.is_(None), LoginThrottle.blocked_until <= at),
            )
            .values(failures=failures + 1, last_attempt_at=at, blocked_until=at + wait_after(failures + 1))
        ).rowcount
        if claimed:
            session.commit()
            return
    session.rollback()
    raise _wait(FIRST_WAIT)


def succeeded(session: Session, username: str, remote_addr: str) -> None:
    """A right password: this name's failures from this address are forgotten (the caller commits)."""
    session.execute(
        delete(LoginThrottle).where(
            LoginThrottle.username == username, LoginThrottle.remote_addr == remote_addr
        )
    )


def _wait(left: timedelta) -> TooManyAttempts:
    seconds = max(1, math.ceil(left.total_seconds()))
    return TooManyAttempts(
        "Too many failed sign-ins for this user from this address. Try again in %(seconds)s seconds.",
        seconds,
        seconds=seconds,
    )


def _insert_new(session: Session, username: str, remote_addr: str, values: dict) -> bool:
    statement = (
        upsert(session)(LoginThrottle)
        .values(username=username, remote_addr=remote_addr, **values)
        .on_conflict_do_nothing()
        .returning(LoginThrottle.failures)
    )
    return session.execute(statement).first() is not None


def _address_flooded(session: Session, remote_addr: str, at: datetime) -> bool:
    if not remote_addr:
        return False
    failures = session.scalar(
        select(func.count())
        .select_from(LoginAttempt)
        .where(
            LoginAttempt.remote_addr == remote_addr,
            LoginAttempt.success.is_(False),
            LoginAttempt.at > at - ADDRESS_WINDOW,
        )
    )
    return (failures or 0) >= ADDRESS_CEILING
