"""The write path's work per update does not grow with the site's history (issue 18), and whatever order the
updates arrive in, the stored projection, roll-up and spans stay what a full rebuild of the ledger gives.

No timing here: the work is counted (SQL statements, events read back, fold steps); `bench/updates.py
--rows history` prints the time per update beside it.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import event, select

from recovery.errors import RecoveryError
from recovery.ledger import fold, record
from recovery.ledger.bulk import verify
from recovery.ledger.record import record_site_edit, record_site_event
from recovery.models import Event, Site
from recovery.sites import draft_site, report_site

START = datetime(2021, 7, 21, 0, 0, tzinfo=UTC)
UNCOUNTED = (fold.apply, fold.Entry)


def _point(geodata, i: int) -> dict:
    point = geodata.subdistrict("fengyang").geometry.representative_point()
    return {"type": "Point", "coordinates": [point.x + (i % 50) * 1e-5, point.y + (i // 50) * 1e-5]}


def _square(geodata, i: int) -> dict:
    x, y = _point(geodata, i)["coordinates"]
    d = 2e-5
    return {"type": "Polygon", "coordinates": [[[x, y], [x + d, y], [x + d, y + d], [x, y + d], [x, y]]]}


KIND_SHAPES = {
    "enterprise": ("point", {"industry": "机械", "above_size": True}),
    "road_collapse": ("point", {"road_class": "main"}),
    "silt_site": ("point", {}),
    "disinfection_point": ("point", {}),
    "residential_community": ("square", {"households": 120}),
}


def new_site(session, geodata, kind: str, i: int) -> int:
    shape, attributes = KIND_SHAPES[kind]
    geometry = _point(geodata, i) if shape == "point" else _square(geodata, i)
    draft = draft_site(kind, f"测试{kind}{i}", geometry, attributes=attributes)
    site, _ = report_site(session, draft, geodata, actor="测试", valid_at=START)
    session.commit()
    return site.id


def enterprise_with_history(session, geodata, i: int, events: int) -> int:
    """An enterprise with `events` events: reported, stopped, then partly restarted again and again."""
    site_id = new_site(session, geodata, "enterprise", i)
    at = START
    for n in range(events - 1):
        at += timedelta(minutes=10)
        status = "stopped" if n == 0 else "partly_restarted"
        measures = {"capacity_pct": 5 + (n * 7) % 91} if n else None
        record_site_event(
            session,
            site_id,
            action="transition",
            to_status=status,
            measures=measures,
            actor="测试",
            valid_at=at,
        )
        if n % 200 == 199:
            session.commit()
    session.commit()
    return site_id


class Work:
    """Counts, while active, the SQL statements run, the events the write path holds (each `Entry` built: the
    new one and those read back from the ledger) and the fold's steps (each event applied to a state)."""

    def __init__(self, session, monkeypatch) -> None:
        self.statements = self.entries = self.steps = 0
        self.engine = session.get_bind()
        apply, entry = UNCOUNTED

        def counted_apply(*args, **kwargs):
            self.steps += 1
            return apply(*args, **kwargs)

        def counted_entry(*args, **kwargs):
            self.entries += 1
            return entry(*args, **kwargs)

        monkeypatch.setattr(fold, "apply", counted_apply)
        monkeypatch.setattr(record, "apply", counted_apply)
        monkeypatch.setattr(record, "Entry", counted_entry)

    def _count(self, *_args) -> None:
        self.statements += 1

    def __enter__(self) -> Work:
        event.listen(self.engine, "before_cursor_execute", self._count)
        return self

    def __exit__(self, *_exc) -> None:
        event.remove(self.engine, "before_cursor_execute", self._count)


def one_update(session, monkeypatch, site_id: int, valid_at: datetime) -> Work:
    session.commit()
    version = session.scalar(select(Site.version).where(Site.id == site_id))
    with Work(session, monkeypatch) as work:
        record_site_event(
            session,
            site_id,
            action="transition",
            to_status="partly_restarted",
            measures={"capacity_pct": 42},
            actor="测试",
            valid_at=valid_at,
            expected_version=version,
            client_id=f"cost-{site_id}-{valid_at.timestamp()}",
        )
        session.commit()
    return work


def test_an_update_after_1000_events_does_the_same_work_as_one_after_10(session, geodata, monkeypatch):
    short = enterprise_with_history(session, geodata, 1, 10)
    long = enterprise_with_history(session, geodata, 2, 1000)
    assert session.scalar(select(Site.version).where(Site.id == long)) == 1000
    last = session.scalar(select(Site.last_valid_at).where(Site.id == long))
    at = last + timedelta(minutes=10)

    small = one_update(session, monkeypatch, short, at)
    large = one_update(session, monkeypatch, long, at)

    # the normal case reads nothing of the history and folds the one new event
    assert (small.entries, large.entries) == (1, 1)
    assert small.steps == large.steps == 1
    assert large.statements == small.statements
    assert large.statements <= 10, large.statements
    assert session.scalar(select(Site.version).where(Site.id == long)) == 1001
    assert verify(session) == []


@pytest.mark.parametrize("kind", ["enterprise", "residential_community"])
def test_a_late_change_folds_again_only_the_events_after_it(session, geodata, monkeypatch, kind):
    if kind == "enterprise":
        site_id = enterprise_with_history(session, geodata, 3, 300)
        late = {"to_status": "partly_restarted", "measures": {"capacity_pct": 42}}
        before_last = timedelta(minutes=45)  # its events are 10 minutes apart
    else:
        site_id = new_site(session, geodata, kind, 3)
        for n in range(299):  # a note now and then between the utilities' changes
            record_site_event(
                session,
                site_id,
                action="note",
                note=f"{n}",
                actor="测试",
                valid_at=START + timedelta(minutes=n + 1),
            )
        session.commit()
        late = {"to_status": "cut", "track": "water"}
        before_last = timedelta(minutes=4, seconds=30)  # a minute apart
    at = session.scalar(select(Site.last_valid_at).where(Site.id == site_id))
    version = session.scalar(select(Site.version).where(Site.id == site_id))
    # placed before the last five events: those five are folded twice (with and without it), plus the new one
    with Work(session, monkeypatch) as work:
        record_site_event(
            session,
            site_id,
            action="transition",
            actor="测试",
            valid_at=at - before_last,
            expected_version=version,
            **late,
        )
        session.commit()
    if kind == "enterprise":
        assert work.entries == 1 + 5
        assert work.steps == 1 + 2 * 5
    else:  # a kind kept per utility reads and folds its whole history before the change
        assert work.entries == 1 + 300
        assert work.steps == 295 + 1 + 2 * 5
    assert verify(session) == []


def test_a_check_in_a_day_is_still_refused_twice_and_reads_that_day_only(session, geodata):
    site_id = new_site(session, geodata, "disinfection_point", 4)
    for day in range(30):
        record_site_event(
            session, site_id, action="check_in", actor="测试", valid_at=START + timedelta(days=day, hours=2)
        )
    session.commit()
    with pytest.raises(RecoveryError, match="already has its check-in"):
        record_site_event(
            session, site_id, action="check_in", actor="测试", valid_at=START + timedelta(days=7, hours=15)
        )
    # the zone's day: 2021-07-28 23:30 in Shanghai is that day; 00:30 the next is the next day's
    record_site_event(
        session, site_id, action="check_in", actor="测试", valid_at=START + timedelta(days=30, hours=2)
    )
    session.commit()
    assert verify(session) == []


# -- any order of updates ends where a rebuild does -----------------------------------------------------------

STATUS_STEPS = {
    "enterprise": ["stopped", "partly_restarted", "partly_restarted", "restarted", "stopped", "operating"],
    "road_collapse": ["secured", "repairing", "passable", "restored", "restored", "reported"],
    "silt_site": ["clearing", "cleared", "disinfected", "clearing"],
    "residential_community": ["cut", "restored"],
}


def random_update(rng: random.Random, kind: str, latest: datetime) -> dict:
    late = latest - START > timedelta(minutes=2) and rng.random() < 0.35
    valid_at = (
        START + timedelta(minutes=rng.randrange(1, int((latest - START).total_seconds() // 60) + 1))
        if late
        else latest + timedelta(minutes=rng.choice((0, 1, 30, 600)))
    )
    update = {"valid_at": valid_at, "action": "transition"}
    if kind == "disinfection_point":
        return {**update, "action": rng.choice(("check_in", "note")), "to_status": None}
    if rng.random() < 0.1:
        return {**update, "action": "note", "to_status": None}
    status = rng.choice(STATUS_STEPS[kind])
    update["to_status"] = status
    if kind == "enterprise" and status == "partly_restarted":
        update["measures"] = {"capacity_pct": rng.choice((10, 35, 35, 80))}
    if kind == "residential_community":
        update["track"] = rng.choice(("water", "power", "gas"))
    if kind == "silt_site" and rng.random() < 0.7:
        update["measures"] = {"silt_m3": rng.choice((1.5, 20, 300)), "garbage_t": 0.25}
    if kind == "road_collapse" and status == "reported":
        update["action"] = "reopen"
    return update


@pytest.mark.parametrize("seed", [1, 2])
def test_any_mix_of_in_order_and_late_updates_equals_the_rebuild(session, geodata, seed):
    rng = random.Random(seed)
    sites = [
        (kind, new_site(session, geodata, kind, 10 + i))
        for i, kind in enumerate([*KIND_SHAPES, *KIND_SHAPES])
    ]
    latest = {site_id: START for _kind, site_id in sites}
    outcomes = {"applied": 0, "late": 0, "flagged": 0, "refused": 0, "decided": 0}
    for n in range(400):
        kind, site_id = rng.choice(sites)
        update = random_update(rng, kind, latest[site_id])
        valid_at = update.pop("valid_at")
        decided = rng.random() < 0.05
        try:
            if rng.random() < 0.04:
                recorded = record_site_edit(
                    session, site_id, values={"name": f"改名{n}"}, actor="测试", valid_at=valid_at
                )
            else:
                recorded = record_site_event(
                    session, site_id, actor="测试", valid_at=valid_at, decided=decided, **update
                )
        except RecoveryError:
            session.rollback()
            outcomes["refused"] += 1
            continue
        session.commit()
        if recorded is not None and recorded.flagged:
            outcomes["flagged"] += 1
            continue
        outcomes["decided" if decided else "applied"] += 1
        if valid_at < latest[site_id]:
            outcomes["late"] += 1
        latest[site_id] = max(latest[site_id], valid_at)
        if n % 100 == 99:
            assert verify(session) == [], (n, outcomes)
    # the mix really had every case in it
    assert outcomes["applied"] > 100 and outcomes["late"] > 20, outcomes
    assert outcomes["refused"] > 20 and outcomes["decided"] > 0, outcomes
    assert verify(session) == [], outcomes
    stored = session.scalar(select(Event.id).order_by(Event.id.desc()).limit(1))
    assert stored > 200
