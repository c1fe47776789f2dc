"""Shared helpers of the interop tests: signing in with an API token, small input files."""

from __future__ import annotations

from sqlalchemy.orm import Session

from recovery.auth.accounts import create_user, issue_token
from recovery.db.engine import make_engine


def token_for(app, role: str, name: str | None = None) -> str:
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
    return {"Authorization": f"Bearer {token}"}
