"""Idempotency-Key: a retried request gets the original response, and stores nothing new.

The key is scoped to the user. The first response to a key is stored in the same transaction as the change it
acknowledges, so a retry after a crash either finds both or neither. The same key with another body is refused.
Requests under one key are serialized before anything is checked (SQLite's write lock; a transaction-scoped
advisory lock on PostgreSQL), so a retry racing its original waits for it and gets its answer: never a 412 from
the version the original has just moved on. The answer is serialized once: the text sent is the text stored.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from functools import lru_cache

from flask import Response, current_app, jsonify, request
from sqlalchemy import Text, bindparam, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from recovery.db.dialect import advisory_lock, json_text_cast
from recovery.db.direct import Direct
from recovery.db.engine import begin_write
from recovery.errors import IdempotencyError, ValidationError
from recovery.ledger.append import CLIENT_ID_MAX, body_hash
from recovery.models_accounts import IdempotencyRecord
from recovery.timeutil import now

KEY_HEADER = "Idempotency-Key"
RECORDS = IdempotencyRecord.__table__
KEY_MAX = RECORDS.c.key.type.length
_STORED = select(RECORDS.c.body_hash, RECORDS.c.status_code, RECORDS.c.response, RECORDS.c.headers).where(
    RECORDS.c.user_id == bindparam("user_id"), RECORDS.c.key == bindparam("key")
)


def idempotency_key() -> str | None:
    key = request.headers.get(KEY_HEADER)
    if key is None:
        return None
    key = key.strip()
    if not 8 <= len(key) <= KEY_MAX or not key.isascii() or not key.isprintable():
        raise ValidationError(
            "Idempotency-Key must be 8 to %(limit)s printable ASCII characters.", limit=KEY_MAX
        )
    return key


def client_event_id(user_id: int, key: str | None) -> str | None:
    """The ledger's client id of the event a keyed request makes: the key itself when it fits the column, else
    its SHA-256 (marked by "#", which the plain form never has there) — never the key cut short."""
    if key is None:
        return None
    plain = f"u{user_id}:{key}"
    if len(plain) <= CLIENT_ID_MAX:
        return plain
    return f"u{user_id}#{hashlib.sha256(key.encode()).hexdigest()}"


def _lock_key(session: Session, user_id: int, key: str) -> None:
    """Make concurrent requests under one key wait for each other until the first one's transaction ends."""
    digest = hashlib.sha256(f"idempotency:{user_id}:{key}".encode()).digest()
    advisory_lock(session, int.from_bytes(digest[:8], "big", signed=True))


def request_digest(payload: dict) -> str:
    return body_hash({"method": request.method, "path": request.path, "body": payload})


def replay(session: Session, user_id: int, key: str | None, digest: str) -> Response | None:
    """The stored response for this key, or None; a different request under the same key is refused."""
    if key is None:
        return None
    # Core on the session's connection: the lookup is on every write, and finds nothing nearly always
    record = session.connection().execute(_STORED, {"user_id": user_id, "key": key}).first()
    if record is None:
        return None
    if record.body_hash != digest:
        raise IdempotencyError(
            "Idempotency-Key %(key)s was already used for a different request.", key=key[:60]
        )
    response = jsonify(record.response)
    response.status_code = record.status_code
    for name, value in (record.headers or {}).items():
        response.headers[name] = value
    response.headers["Idempotent-Replayed"] = "true"
    return response


def remember(
    session: Session,
    user_id: int,
    key: str | None,
    digest: str,
    status: int,
    body: dict | str,
    headers: dict[str, str] | None = None,
) -> None:
    """Stage the response for this key in the caller's open transaction (committed with the change); `body`
    is the answer, or its JSON text as sent."""
    if key is None:
        return
    session.flush()
    conn = session.connection()
    text = body if isinstance(body, str) else current_app.json.dumps(body)
    _insert(json_text_cast(conn)).execute(
        conn,
        dict(
            user_id=user_id,
            key=key,
            method=request.method,
            path=request.path,
            body_hash=digest,
            status_code=status,
            response=text,
            headers=headers or {},
            created_at=now(),
        ),
    )


@lru_cache(maxsize=2)
def _insert(as_json) -> Direct:
    """The record's insert, its answer given as JSON text (stored as it is: not decoded and encoded again), run
    on the driver (`Direct`): it is a statement of every keyed write, under the write lock."""
    return Direct(insert(RECORDS).values(response=as_json(bindparam("response", type_=Text()))))


def run_once(
    session: Session,
    user_id: int,
    key: str | None,
    digest: str,
    work: Callable[[], tuple[int, dict, dict]],
    *,
    look_first: bool = True,
) -> Response:
    """Do `work` (which leaves its transaction open) unless this key was answered before; answer once.

    The key is locked before it is looked up and before `work` checks anything (the If-Match version among
    them), so a retry racing the original waits for it and then finds its answer; the unique key stays the
    last guard.

    `look_first=False` looks for a stored answer only when `work` fails or the key turns out taken (the
    record's unique key), not before: one statement fewer under the write lock for every change that goes
    through. Only for a `work` that writes nothing outside this transaction and cannot go through twice for
    one key (its ledger event carries the key as its client id, which the ledger's unique index guards):
    a retry then fails, or stores nothing, and gets the stored answer. The key is locked first all the same.
    """
    begin_write(session)
    if key is not None:
        _lock_key(session, user_id, key)
    if look_first:
        stored = replay(session, user_id, key, digest)
        if stored is not None:
            session.rollback()
            return stored
    try:
        status, body, headers = work()
        response = current_app.json.response(body)  # serialized once: this text is sent and stored
        response.status_code = status
        for name, value in headers.items():
            response.headers[name] = value
        remember(session, user_id, key, digest, status, response.get_data(as_text=True), headers)
        session.commit()
    except IntegrityError:
        # the same key raced in from a retry: answer with what the first one stored
        session.rollback()
        stored = replay(session, user_id, key, digest)
        if stored is None:
            raise
        return stored
    except Exception:
        session.rollback()
        if not look_first:  # a retry's `work` fails (the original moved the version on): the stored answer
            stored = replay(session, user_id, key, digest)
            if stored is not None:
                return stored
        raise
    return response
