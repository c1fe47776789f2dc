"""Which teams serve at a moment, decided here for every figure and list: a team counts as of T when it was
registered before T (no date: before the records begin) and not retired before T. A day's figures are as of its
end (the next day's start), so a team registered on day D counts from D on, and one retired on D counts through
the day before. A retired team is kept (never deleted),
so the figures of the days it served still count it."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ColumnElement, and_, or_

from recovery.models import Team

#: the same rule for a textual statement over `team` (bind `serving_at` with `recovery.db.types.bind_instants`)
SERVING_AT_SQL = "(registered_at IS NULL OR registered_at < :serving_at) AND (retired_at IS NULL OR retired_at >= :serving_at)"


def serving_at(moment: datetime) -> ColumnElement[bool]:
    """The condition on `Team` of the teams serving at `moment`."""
    return and_(
        or_(Team.registered_at.is_(None), Team.registered_at < moment),
        or_(Team.retired_at.is_(None), Team.retired_at >= moment),
    )


def in_service() -> ColumnElement[bool]:
    """The teams not retired (as of now): the ones a site may be assigned to or a scope may name."""
    return Team.retired_at.is_(None)
