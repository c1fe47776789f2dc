"""Responsible units (责任单位) as an admin keeps them: each unit of the vocabulary (`recovery.vocab.UNIT`: its key
and names) with its leader and contacts (the `unit` table). The seed registers them; an admin edits them, on record
in the audit log."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from recovery.errors import ValidationError
from recovery.models import Unit
from recovery.text import clean_text
from recovery.timeutil import now
from recovery.vocab import UNIT, label, resolve


def unit_rows(session: Session, locale: str | None = "zh") -> list[dict[str, Any]]:
    """Every unit of the vocabulary, in its order, with what is registered of it."""
    stored = {u.key: u for u in session.scalars(select(Unit))}
    out = []
    for term in UNIT.terms:
        row = stored.get(term.key)
        out.append(
            {
                "key": term.key,
                "label": label("unit", term.key, locale),
                "leader": row.leader if row else "",
                "contacts": list(row.contacts or []) if row else [],
                "note": row.note if row else "",
            }
        )
    return out


def _contacts(raw: Any) -> list[dict[str, str]]:
    if not isinstance(raw, list) or len(raw) > 20:
        raise ValidationError("contacts must be a list of at most 20 {name, phone, title} objects.")
    out = []
    for entry in raw:
        if not isinstance(entry, dict):
            raise ValidationError("contacts must be a list of at most 20 {name, phone, title} objects.")
        out.append(
            {
                "name": clean_text(entry.get("name"), "name", 60, required=True),
                "phone": clean_text(entry.get("phone"), "phone", 40),
                "title": clean_text(entry.get("title"), "title", 60),
            }
        )
    return out


def set_unit(
    session: Session,
    actor,
    unit: str,
    *,
    leader: str | None = None,
    contacts: list | None = None,
    note: str | None = None,
) -> Unit:
    """Change a unit's leader, contacts or note (None: left as it is), with an audit entry (not committed)."""
    from recovery.admin import audit

    key = resolve("unit", unit)
    row = session.scalar(select(Unit).where(Unit.key == key))
    if row is None:
        row = Unit(key=key, leader="", contacts=[], note="")
        session.add(row)
    before = {"leader": row.leader, "contacts": list(row.contacts or []), "note": row.note}
    if leader is not None:
        row.leader = clean_text(leader, "leader", 120)
    if contacts is not None:
        row.contacts = _contacts(contacts)
    if note is not None:
        row.note = clean_text(note, "note", 2000)
    row.updated_at = now()
    after = {"leader": row.leader, "contacts": list(row.contacts), "note": row.note}
    audit.record(session, actor, "unit.edit", f"unit:{key}", before, after)
    session.flush()
    return row


def register(session: Session, rows: list[dict]) -> int:
    """Register units from the seed (key or any name, leader, contacts) where none is registered yet."""
    have = set(session.scalars(select(Unit.key)))
    added = 0
    for raw in rows:
        key = resolve("unit", raw["unit"])
        if key in have:
            continue
        session.add(
            Unit(key=key, leader=raw.get("leader", ""), contacts=_contacts(raw.get("contacts", [])), note="")
        )
        have.add(key)
        added += 1
    return added


def parse_contacts(text: str) -> list[dict[str, str]]:
    """Contacts as an admin types them, one per line: `name, phone, title` (Chinese or ASCII commas)."""
    out = []
    for line in (text or "").splitlines():
        parts = [p.strip() for p in line.replace("，", ",").split(",")]
        if parts and parts[0]:
            out.append(
                {"name": parts[0], "phone": parts[1] if len(parts) > 1 else "", "title": ",".join(parts[2:])}
            )
    return _contacts(out)
