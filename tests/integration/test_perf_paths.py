"""The fast read paths (the covering-index ledger query, the roll-up) against a brute-force fold, with ties of
valid time, late events and flagged events, on both backends."""

from __future__ import annotations

import contextlib
import random
from collections import Counter
from datetime import date, timedelta

import pytest
from shapely.geometry import mapping
from sqlalchemy import select, text
from support.ledger import record_site_event, report_site

from recovery.errors import RecoveryError
from recovery.kinds import KINDS
from recovery.ledger import measures, spans
from recovery.ledger.bulk import rebuild, verify
from recovery.ledger.fold import Entry, replay
from recovery.metrics.cube import cube_from_ledger, cube_from_rollup
from recovery.models import Event, Site
from recovery.sites import draft_site
from recovery.timeutil import end_of_day, local_day, parse_instant

T0 = parse_instant("2021-07-21T09:00:00+08:00")
#: a coarse grid of valid times (every 6 hours over 4 days), so that ties of valid time are frequent
GRID = [T0 + timedelta(hours=6 * i) for i in range(16)]
STATUS_QUANTITIES = ("n", "level")


def _geometry(geodata, kind: str, sub: str) -> dict:
    point = geodata.subdistrict(sub).geometry.representative_point()
    return mapping(point.buffer(0.001) if kind == "residential_community" else point)


def _random_ledger(session, geodata, rng: random.Random) -> None:
    """A few sites of each life cycle; events recorded in random order of valid time (so many arrive late)."""
    plan = [
        ("road_collapse", "fengyang", {"road_class": "main"}),
        ("road_collapse", "shifo", {"road_class": "branch"}),
        ("enterprise", "shifo", {"above_size": True}),
        ("enterprise", "fengyang", {"above_size": False}),
        ("residential_community", "fengyang", {}),
    ]
    sites = []
    for kind, sub, attributes in plan:
        draft = draft_site(kind, f"{kind}-{sub}", _geometry(geodata, kind, sub), attributes=attributes)
        site, _ = report_site(session, draft, geodata, actor="x", valid_at=GRID[0] - timedelta(hours=1))
        sites.append(site)
    recorded = GRID[-1] + timedelta(days=1)
    for n in range(60):
        site = rng.choice(sites)
        kind = KINDS[site.kind]
        kwargs: dict = {}
        if kind.tracks:
            kwargs["track"] = rng.choice(kind.tracks).key
            to_status = rng.choice(kind.track_statuses).key
        else:
            to_status = rng.choice(kind.status_keys[1:])
        if to_status == "partly_restarted":
            kwargs["measures"] = {"capacity_pct": rng.choice([20, 50, 80])}
        action = "reopen" if not kind.tracks and rng.random() < 0.1 else "transition"
        with contextlib.suppress(RecoveryError):  # a move the life cycle refuses then: nothing stored
            record_site_event(
                session,
                site.id,
                action=action,
                to_status=to_status,
                actor="x",
                valid_at=rng.choice(GRID),
                recorded_at=recorded + timedelta(minutes=n),
                **kwargs,
            )


def _brute_force(session, T, R=None) -> Counter:
    """Fold every site's unflagged events before T (recorded by R) in Python: the status cells of the cube."""
    cells: Counter = Counter()
    for site in session.scalars(select(Site)).all():
        kind = KINDS[site.kind]
        conditions = [Event.site_id == site.id, Event.flag.is_(None), Event.valid_at < T]
        if R is not None:
            conditions.append(Event.recorded_at <= R)
        rows = session.execute(
            select(Event.id, Event.action, Event.track, Event.to_status, Event.level, Event.valid_at).where(
                *conditions
            )
        ).all()
        entries = [Entry(i, a, tr, st, lv, {}, v) for i, a, tr, st, lv, v in rows if a != "check_in"]
        if not entries:
            continue
        state, _ = replay(kind, entries, strict=False)
        dims = (site.kind, site.subdistrict or "", site.segment)
        cells[(*dims, "", state.status, "n")] += 1
        if kind.tracks:
            for track, status in state.track_status.items():
                cells[(*dims, track, status, "n")] += 1
        elif state.level is not None:
            cells[(*dims, "", state.status, "level")] += state.level
    return Counter({k: v for k, v in cells.items() if v})


def _status_cells(cells: Counter) -> Counter:
    return Counter({k: v for k, v in cells.items() if k[5] in STATUS_QUANTITIES and k[0] in KINDS and v})


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_ledger_and_rollup_match_a_brute_force_fold(session, geodata, seed):
    rng = random.Random(seed)
    _random_ledger(session, geodata, rng)
    events = session.scalars(select(Event)).all()
    valid_times = sorted({e.valid_at for e in events})
    assert len(valid_times) < len(events)  # there are ties of valid time
    instants = {*valid_times, *(v + timedelta(microseconds=1) for v in valid_times)}
    for T in sorted(instants):
        assert _status_cells(cube_from_ledger(session, T).cells) == _brute_force(session, T), T
    recorded = sorted({e.recorded_at for e in events})
    for R in recorded[:: max(1, len(recorded) // 8)]:
        for T in [*sorted(instants)[::9], GRID[-1] + timedelta(hours=1)]:
            assert _status_cells(cube_from_ledger(session, T, R).cells) == _brute_force(session, T, R), (T, R)
    # R at or after the last record: the cutoff leaves nothing out, and the as-known-now path answers
    for R in (recorded[-1], recorded[-1] + timedelta(days=1)):
        for T in sorted(instants)[::5]:
            cube = cube_from_ledger(session, T, R)
            assert cube.known_at == R
            assert _status_cells(cube.cells) == _brute_force(session, T, R), (T, R)
    for day in sorted({local_day(v) for v in valid_times}):
        ledger = cube_from_ledger(session, end_of_day(day)).cells
        rollup = cube_from_rollup(session, day).cells
        assert _status_cells(rollup) == _status_cells(ledger) == _brute_force(session, end_of_day(day))
    assert verify(session) == []


def test_a_flagged_event_is_not_counted(session, geodata):
    draft = draft_site(
        "road_collapse",
        "x",
        _geometry(geodata, "road_collapse", "fengyang"),
        attributes={"road_class": "main"},
    )
    site, _ = report_site(session, draft, geodata, actor="x", valid_at=T0, recorded_at=T0)
    record_site_event(
        session, site.id, action="transition", to_status="secured", actor="x",
        valid_at=T0 + timedelta(hours=1), recorded_at=T0 + timedelta(hours=1),
    )  # fmt: skip
    record_site_event(
        session, site.id, action="transition", to_status="restored", actor="x",
        valid_at=T0 + timedelta(hours=2), recorded_at=T0 + timedelta(hours=2),
    )  # fmt: skip
    # made before the close, synced after it, and it does not fit the history: stored flagged, not applied
    late = record_site_event(
        session, site.id, action="transition", to_status="secured", actor="x",
        valid_at=T0 + timedelta(hours=1, minutes=30), recorded_at=T0 + timedelta(hours=3),
    )  # fmt: skip
    assert late.flagged
    for T in (T0 + timedelta(hours=1, minutes=31), T0 + timedelta(hours=3)):
        cells = _status_cells(cube_from_ledger(session, T).cells)
        assert cells == _brute_force(session, T)
    assert (
        _status_cells(cube_from_ledger(session, T0 + timedelta(hours=3)).cells)[
            ("road_collapse", "fengyang", site.segment, "", "restored", "n")
        ]
        == 1
    )
    assert verify(session) == []


def test_the_valid_time_index_follows_sites_and_is_checked_and_rebuilt(session, geodata):
    """`status_span` (migration 0005) is kept by triggers: a site moved to another sub-district takes its spans
    along; a span lost is found by `verify` and written again by `rebuild`."""
    _random_ledger(session, geodata, random.Random(4))
    assert verify(session) == []
    site = session.scalars(select(Site).where(Site.subdistrict == "fengyang").order_by(Site.id)).first()
    site.subdistrict = "shifo"
    session.commit()
    T = GRID[-1] + timedelta(hours=1)
    assert _status_cells(cube_from_ledger(session, T).cells) == _brute_force(session, T)
    # (the roll-up does not follow a move made behind the ledger's back: `rebuild` moves it)
    assert spans.differences(session) == []
    rebuild(session)
    event_id = session.scalar(
        select(Event.id)
        .where(Event.site_id == site.id, Event.action == "transition", Event.flag.is_(None))
        .order_by(Event.id.desc())
        .limit(1)
    )
    session.execute(text("DELETE FROM status_span WHERE event_id = :id"), {"id": event_id})
    session.commit()
    problems = verify(session)
    assert len(problems) == 1 and f"status span missing: event {event_id} " in problems[0]
    assert _status_cells(cube_from_ledger(session, T).cells) != _brute_force(session, T)
    rebuild(session)
    assert verify(session) == []
    assert _status_cells(cube_from_ledger(session, T).cells) == _brute_force(session, T)


def test_a_cutoff_after_the_last_record_gives_what_the_cutoff_path_gives(session, geodata, monkeypatch):
    """Every figure (flows, check-ins and work items too), not only the status counts: taking the as-known-now
    path when nothing was recorded after R changes no cell."""
    from recovery.ledger import asof

    _random_ledger(session, geodata, random.Random(7))
    events = session.scalars(select(Event)).all()
    R = max(e.recorded_at for e in events)
    instants = sorted({e.valid_at for e in events})[::4] + [GRID[-1] + timedelta(hours=1)]
    fast = {T: cube_from_ledger(session, T, R).cells for T in instants}
    monkeypatch.setattr(asof, "recorded_by", lambda _session, _R: False)
    for T in instants:
        assert fast[T] == cube_from_ledger(session, T, R).cells, T
    monkeypatch.undo()
    # a late change recorded after R, which happened before T: left out as known at R, counted as known now
    community = session.scalars(select(Site).where(Site.kind == "residential_community")).one()
    session.refresh(community)
    water = (community.track_status or {}).get("water", "cut")
    T = instants[-1]
    record_site_event(
        session,
        community.id,
        action="transition",
        track="water",
        to_status="restored" if water == "cut" else "cut",
        actor="test",
        valid_at=T - timedelta(minutes=30),
        recorded_at=R + timedelta(hours=1),
    )
    assert cube_from_ledger(session, T, R).cells == fast[T]
    assert cube_from_ledger(session, T).cells != fast[T]


def _flow_cells(cells) -> Counter:
    return Counter({k: v for k, v in cells.items() if k[5] in ("silt_m3", "garbage_t")})


def _flows_by_join(session, T, R=None) -> Counter:
    """The flows summed the plain way: every measure event before T (recorded by R) joined to its site."""
    out: Counter = Counter()
    conditions = [Event.valid_at < T, Event.flag.is_(None)]
    if R is not None:
        conditions.append(Event.recorded_at <= R)
    for event, site in session.execute(
        select(Event, Site).join(Site, Site.id == Event.site_id).where(*conditions)
    ):
        for key, value in (event.measures or {}).items():
            if key in ("silt_m3", "garbage_t"):
                out[(site.kind, site.subdistrict or "", site.segment, "", "", key)] += value
    return out


def test_flows_are_summed_by_the_cell_each_measure_carries(session, geodata):
    """`event_measure.cell` (migration 0007) is filled by a trigger on every insert, follows a site that moves
    to another sub-district, is checked by `verify` and written again by `rebuild`; the flows summed by it are
    those of a plain join at every moment, as known now and at a record-time cutoff."""
    sites = []
    for n, sub in enumerate(("shifo", "shifo", "fengyang")):
        draft = draft_site("silt_site", f"silt-{n}", _geometry(geodata, "silt_site", sub))
        site, _ = report_site(session, draft, geodata, actor="x", valid_at=GRID[0] - timedelta(hours=1))
        sites.append(site)
    rng = random.Random(11)
    recorded = GRID[-1] + timedelta(days=1)
    for n in range(24):
        site = rng.choice(sites)
        record_site_event(
            session,
            site.id,
            action="note",
            actor="x",
            valid_at=rng.choice(GRID[1:]),
            recorded_at=recorded + timedelta(minutes=n),
            measures={"silt_m3": rng.choice([1.5, 2, 7]), "garbage_t": rng.choice([0.5, 3])},
        )
    assert session.scalar(text("SELECT count(*) FROM event_measure WHERE cell IS NULL")) == 0
    R = recorded + timedelta(minutes=12)
    for T in (GRID[3], GRID[9], GRID[-1] + timedelta(hours=1)):
        assert _flow_cells(cube_from_ledger(session, T).cells) == _flows_by_join(session, T)
        assert _flow_cells(cube_from_ledger(session, T, R).cells) == _flows_by_join(session, T, R)
    T = GRID[-1] + timedelta(hours=1)
    assert (
        _flow_cells(cube_from_ledger(session, T).cells)[
            ("silt_site", "fengyang", sites[2].segment, "", "", "silt_m3")
        ]
        > 0
    )
    moved = sites[0]
    moved.subdistrict = "fengyang"
    session.commit()
    assert _flow_cells(cube_from_ledger(session, T).cells) == _flows_by_join(session, T)
    assert measures.differences(session) == []
    rebuild(session)  # (the roll-up does not follow a move made behind the ledger's back)
    assert verify(session) == []
    event_id, key = session.execute(
        text("SELECT event_id, key FROM event_measure WHERE site_id = :id ORDER BY event_id LIMIT 1"),
        {"id": sites[1].id},
    ).one()
    session.execute(
        text("UPDATE event_measure SET cell = (SELECT max(id) FROM measure_cell) + 1 WHERE event_id = :e"),
        {"e": event_id},
    )
    session.commit()
    problems = verify(session)
    assert problems and all(f"of event {event_id}: cell stored" in p for p in problems), problems
    assert _flow_cells(cube_from_ledger(session, T).cells) != _flows_by_join(session, T)
    rebuild(session)
    assert verify(session) == []
    assert _flow_cells(cube_from_ledger(session, T).cells) == _flows_by_join(session, T)


def test_the_roll_up_is_summed_by_cell_numbers_that_verify_checks(session, geodata):
    """`rollup_delta.cell` (migration 0009) is filled by a trigger on every write (new rows and upserts into
    existing ones alike); a number that names another cell is found by `verify` and written again by `rebuild`."""
    _random_ledger(session, geodata, random.Random(5))
    assert session.scalar(text("SELECT count(*) FROM rollup_delta WHERE cell IS NULL")) == 0
    assert verify(session) == []
    days = sorted(set(session.scalars(text("SELECT day FROM rollup_delta")).all()))
    before = {day: cube_from_rollup(session, date.fromisoformat(day)).cells for day in days}
    for day in days:
        assert _status_cells(before[day]) == _brute_force(session, end_of_day(date.fromisoformat(day)))
    row_id, cell = session.execute(text("SELECT id, cell FROM rollup_delta ORDER BY id LIMIT 1")).one()
    other = session.scalar(text("SELECT min(id) FROM rollup_cell WHERE id <> :c"), {"c": cell})
    session.execute(text("UPDATE rollup_delta SET cell = :o WHERE id = :id"), {"o": other, "id": row_id})
    session.commit()
    problems = verify(session)
    assert any(f"cell number {other} is not its cell" in p for p in problems), problems
    assert any(cube_from_rollup(session, date.fromisoformat(d)).cells != before[d] for d in days)
    rebuild(session)
    assert verify(session) == []
    assert {day: cube_from_rollup(session, date.fromisoformat(day)).cells for day in days} == before
