"""A relapse: a worker's report that a finished site failed again, held in the ledger for a commander to decide.

The report is a `reopen` event stored flagged (`Event.flag == "relapse"`) and not applied: the site stays
finished and its figures do not move. It joins the commander's queue of flagged changes
(`ledger.conflicts.pending_conflicts`), where applying it reopens the site at the time the failure was found
(`record.record_site_event(decided=True)`) and dismissing it keeps the site finished; either way the decision is
an event of its own.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from recovery.errors import NotFoundError, TransitionError, ValidationError
from recovery.kinds import get_kind
from recovery.ledger.append import Append, Recorded, append
from recovery.ledger.conflicts import pending_conflicts
from recovery.ledger.record import event_digest
from recovery.models import Event, Site
from recovery.text import clean_text
from recovery.timeutil import zone_minute

#: the flag of a relapse report (`Event.flag`)
RELAPSE = "relapse"


def report_relapse(
    session: Session,
    site_id: int,
    *,
    actor: str,
    valid_at: datetime,
    note: str,
    to_status: str | None = None,
    client_id: str | None = None,
    user_id: int | None = None,
    position: dict | None = None,
    details: dict | None = None,
    client_id_unused: bool = False,
) -> Recorded:
    """Store that finished site `site_id` failed again at `valid_at` (not committed), flagged for a commander.

    `note` says what failed and is required; `to_status` is the status the site would go back to (any of its
    names; by default its first), never the finished one. Refused unless the site is finished now, was finished
    by `valid_at`, has a life cycle that can be reopened, and has no relapse waiting already. Idempotent on
    `client_id` as every ledger write is.
    """

    def write(txn: Append) -> Recorded:
        site = txn.get(Site, site_id)
        if site is None:
            raise NotFoundError("Site %(site)s does not exist.", site=site_id)
        kind = get_kind(site.kind)
        if kind.tracks or kind.recurring_check_in:
            raise ValidationError("A %(kind)s cannot be reported as failed again.", kind=kind.key)
        status = kind.status_key(to_status) if to_status else kind.initial_status
        if status not in kind.status_keys:
            raise ValidationError(
                "Unknown status %(status)s for %(kind)s.", status=str(status)[:40], kind=kind.key
            )
        if status == kind.done_status:
            raise ValidationError(
                "A site that failed again goes back to a status before %(status)s.",
                status=kind.done_status,
                kind=kind.key,
            )
        who = clean_text(actor, "actor", 200, required=True)
        text = clean_text(note, "note", 2000, required=True)
        extra = dict(details or {})
        if position is not None:
            extra["position"] = position
        txn.claim(event_digest("reopen", site.key, None, status, {}, text, who, valid_at, extra))
        recorded_at = txn.stamp(valid_at)
        if site.status != kind.done_status:
            raise TransitionError("Only a finished site can be reported as failed again: change its status.")
        if site.done_at is not None and valid_at < site.done_at:
            raise ValidationError(
                "The site was finished at %(done)s, after the failure you report: change its status instead.",
                done=zone_minute(site.done_at),
            )
        if any(e.site_id == site.id and e.flag == RELAPSE for e in pending_conflicts(session)):
            raise ValidationError("A report that this site failed again is already waiting for a commander.")
        event = Event(
            client_id=client_id,
            body_hash=txn.digest,
            action="reopen",
            site_id=site.id,
            actor=who,
            from_status=site.status,
            to_status=status,
            measures={},
            note=text,
            valid_at=valid_at,
            recorded_at=recorded_at,
            position_lon=position["lon"] if position else None,
            position_lat=position["lat"] if position else None,
            details=extra,
            user_id=user_id,
            flag=RELAPSE,
        )
        session.add(event)
        session.flush()
        return Recorded(event, created=True, flagged=RELAPSE, site_state=None)

    return append(session, write, client_id=client_id, lookup=not client_id_unused)
