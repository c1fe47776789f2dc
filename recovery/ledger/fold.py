"""Pure replay of one site's events: its state after each event, and what it adds to the daily roll-up.

The same fold serves the write path (one site, after each event), the bulk loader, `ledger rebuild` and
`ledger verify`, so the projection and its verification can never disagree about the rules.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import NamedTuple

from recovery.errors import TransitionError, ValidationError
from recovery.kinds import MEASURES, SiteKind
from recovery.timeutil import local_day

STATUS_ACTIONS = ("report", "transition", "reopen")


class Entry(NamedTuple):
    """The part of an event the fold needs. `id` orders events with the same valid time (record order)."""

    id: int
    action: str
    track: str | None
    to_status: str | None
    level: float | None
    measures: dict
    valid_at: datetime


def sort_key(entry: Entry) -> tuple:
    return (entry.valid_at, entry.id)


@dataclass
class SiteState:
    """A site's state at one moment."""

    status: str | None = None
    track_status: dict[str, str] = field(default_factory=dict)
    level: float | None = None
    reported_at: datetime | None = None
    done_at: datetime | None = None
    last_valid_at: datetime | None = None
    version: int = 0

    def as_dict(self) -> dict:
        return {
            "status": self.status,
            "track_status": dict(sorted(self.track_status.items())),
            "capacity_pct": self.level,
            "reported_at": self.reported_at,
            "done_at": self.done_at,
            "last_valid_at": self.last_valid_at,
            "version": self.version,
        }


class Dims(NamedTuple):
    """Where a site falls in the roll-up."""

    kind: str
    subdistrict: str
    segment: str


RollupKey = tuple[
    str, str, str, str, str, str, str
]  # day, kind, subdistrict, segment, track, status, quantity


def overall_status(kind: SiteKind, track_status: dict[str, str]) -> str:
    """A tracked kind (a community's utilities) is done when no utility is still cut."""
    if track_status and all(v == kind.track_statuses[-1].key for v in track_status.values()):
        return kind.done_status
    return kind.initial_status


def check(kind: SiteKind, state: SiteState, entry: Entry) -> str | None:
    """Raise if `entry` cannot follow `state`; return the from-status the event will record."""
    if entry.action == "report":
        if state.status is not None:
            raise ValidationError("The site has already been reported.")
        if entry.to_status != kind.initial_status:
            raise TransitionError("A new %(kind)s starts as %(to)s.", kind=kind.key, to=kind.initial_status)
        return None
    if state.status is None:
        raise ValidationError("Nothing can happen to a site before it is reported.")
    if entry.action == "transition":
        if kind.tracks:
            current = state.track_status.get(entry.track) if entry.track else None
            kind.check_transition(current, entry.to_status, entry.track)
            return current
        kind.check_transition(state.status, entry.to_status, entry.track)
        if entry.to_status == "partly_restarted" and entry.level is None:
            raise ValidationError("A partial restart must give the capacity restored (capacity_pct).")
        return state.status
    if entry.action == "reopen":
        if kind.tracks or state.status != kind.done_status:
            raise TransitionError("Only a finished site can be reopened.")
        if entry.to_status not in kind.status_keys:
            raise ValidationError(
                "Unknown status %(status)s for %(kind)s.", status=entry.to_status, kind=kind.key
            )
        if entry.to_status == kind.done_status:
            raise TransitionError(
                "A reopened site goes back to a status before %(status)s.",
                status=entry.to_status,
                kind=kind.key,
            )
        return state.status
    if entry.action == "check_in":
        if not kind.recurring_check_in:
            raise ValidationError("Only disinfection points take daily check-ins.")
        return state.status
    return state.status


def apply(kind: SiteKind, state: SiteState, entry: Entry) -> SiteState:
    """The state after `entry` (no checks: see `check`)."""
    new = SiteState(**{**state.__dict__, "track_status": dict(state.track_status)})
    new.version += 1
    new.last_valid_at = entry.valid_at
    if entry.action == "report":
        new.status = entry.to_status
        new.reported_at = entry.valid_at
        new.level = kind.capacity_for(entry.to_status, entry.measures) if kind.status_capacity else None
    elif entry.action in ("transition", "reopen"):
        if kind.tracks:
            new.track_status[entry.track] = entry.to_status
            new.status = overall_status(kind, new.track_status)
        else:
            new.status = entry.to_status
            if kind.status_capacity:
                new.level = entry.level
    if new.status == kind.done_status and state.status != kind.done_status:
        new.done_at = entry.valid_at
    elif new.status != kind.done_status:
        new.done_at = None
    return new


def replay(
    kind: SiteKind, entries: Iterable[Entry], *, strict: bool = True, new_id: int | None = None
) -> tuple[SiteState, list[str | None]]:
    """Fold a site's events in valid-time order; return the final state and each event's from-status.

    With `new_id`, the entries are a site's stored history and the one new event `new_id` placed among them:
    a stored change that a late event placed before it has made a repeat (restored on the 29th after a late
    "restored on the 28th") is a no-op, not an error; the new event itself must follow its predecessor.
    """
    state = SiteState()
    from_statuses: list[str | None] = []
    for entry in sorted(entries, key=sort_key):
        if not strict:
            from_statuses.append(from_status_of(kind, state, entry))
        else:
            try:
                from_statuses.append(check(kind, state, entry))
            except TransitionError:  # only then ask whether it is a stored change made a repeat
                if new_id is None or entry.id == new_id or not repeats(kind, state, entry):
                    raise
                from_statuses.append(from_status_of(kind, state, entry))
        state = apply(kind, state, entry)
    return state, from_statuses


def repeats(kind: SiteKind, state: SiteState, entry: Entry) -> bool:
    """A status change to the status the site (or the utility) already has."""
    if entry.action != "transition" or entry.to_status is None:
        return False
    current = from_status_of(kind, state, entry)
    return current == entry.to_status and (not kind.status_capacity or entry.level == state.level)


def from_status_of(kind: SiteKind, state: SiteState, entry: Entry) -> str | None:
    if kind.tracks and entry.action == "transition":
        return state.track_status.get(entry.track) if entry.track else None
    return state.status


def contributions(kind: SiteKind, dims: Dims, entries: Iterable[Entry]) -> Counter:
    """What a site adds to the daily roll-up: +1/-1 as it moves between statuses, levels, flows, check-ins."""
    out: Counter = Counter()
    state = SiteState()
    for entry in sorted(entries, key=sort_key):
        state = step(kind, dims, state, entry, out)
    return Counter({k: v for k, v in out.items() if v})


def step(
    kind: SiteKind, dims: Dims, state: SiteState, entry: Entry, out: Counter, sign: int = 1
) -> SiteState:
    """Apply one event to `state`; add `sign` times what it changes in the roll-up to `out`; return the new state.

    The roll-up's change of one event depends only on the state before it and the event: the write path adds
    the change of the one new event (or of the events after a late one) to the stored roll-up, `contributions`
    adds them all up from nothing.
    """
    new = apply(kind, state, entry)
    base = (local_day(entry.valid_at).isoformat(), dims.kind, dims.subdistrict, dims.segment)
    if new.status != state.status:
        if state.status is not None:
            out[(*base, "", state.status, "n")] -= sign
        out[(*base, "", new.status, "n")] += sign
    if (new.level or 0.0) != (state.level or 0.0) or new.status != state.status:
        if state.level is not None:
            out[(*base, "", state.status, "level")] -= sign * state.level
        if new.level is not None:
            out[(*base, "", new.status, "level")] += sign * new.level
    if entry.action == "transition" and kind.tracks and entry.track:
        old_track = state.track_status.get(entry.track)
        if old_track is not None:
            out[(*base, entry.track, old_track, "n")] -= sign
        out[(*base, entry.track, entry.to_status, "n")] += sign
    for key, value in entry.measures.items():
        if MEASURES[key].flow:
            out[(*base, "", "", key)] += sign * value
    if entry.action == "check_in":
        out[(*base, "", "", "check_in")] += sign
    return new


def state_of(row) -> SiteState:
    """The state a site's stored projection (the columns of `record.PROJECTED`, by name) says it is in: the
    state after its last event, so that an event placed after every stored one folds from it alone."""
    return SiteState(
        status=row.status,
        track_status=dict(row.track_status or {}),
        level=row.capacity_pct,
        reported_at=row.reported_at,
        done_at=row.done_at,
        last_valid_at=row.last_valid_at,
        version=row.version or 0,
    )
