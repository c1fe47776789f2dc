"""One step of the fold, which the write path folds from a site's stored state instead of its whole history:
a step's roll-up change is exactly what it adds to the replay from nothing, a projection reads back as the
state it stored, and the kinds' precomputed lookups say what the life cycle says."""

from __future__ import annotations

import random
from collections import Counter
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest

from recovery.kinds import KINDS, get_kind
from recovery.ledger.fold import Dims, Entry, SiteState, apply, contributions, replay, state_of, step

START = datetime(2021, 7, 20, 16, 0, tzinfo=UTC)


def random_history(kind_key: str, rng: random.Random, n: int) -> list[Entry]:
    """A report, then `n` events of every action the fold knows, some placed at the same instant."""
    kind = get_kind(kind_key)
    statuses = [s.key for s in (kind.track_statuses or kind.statuses)]
    at = START
    out = [Entry(1, "report", None, kind.initial_status, kind.capacity_for(kind.initial_status, {}), {}, at)]
    for i in range(2, n + 2):
        at += timedelta(hours=rng.choice((0, 1, 7, 30)))
        # (a reopen is refused for a kind kept per utility, which has no overall status to reopen)
        action = rng.choice(
            ("transition", "transition", "check_in", "note", "edit", "reopen")[: 5 if kind.tracks else 6]
        )
        to = rng.choice(statuses) if action in ("transition", "reopen") else None
        track = rng.choice(kind.tracks).key if kind.tracks and action == "transition" else None
        measures = {}
        if action == "transition" and "silt_m3" in kind.measures:
            measures = {"silt_m3": rng.choice((0.5, 12.0))}
        if kind.status_capacity and to == "partly_restarted":
            measures = {"capacity_pct": rng.choice((20.0, 60.0))}
        level = kind.capacity_for(to, measures) if to else None
        flows = {k: v for k, v in measures.items() if k != "capacity_pct"}
        out.append(Entry(i, action, track, to, level, flows, at))
    return out


@pytest.mark.parametrize("kind_key", sorted(KINDS))
@pytest.mark.parametrize("seed", range(5))
def test_each_step_adds_what_the_replay_from_nothing_adds(kind_key, seed):
    kind = get_kind(kind_key)
    dims = Dims(kind_key, "fengyang", "")
    history = random_history(kind_key, random.Random(seed), 60)
    state, running = SiteState(), Counter()
    for n, entry in enumerate(history, start=1):
        state = step(kind, dims, state, entry, running)
        replayed, _ = replay(kind, history[:n], strict=False)
        assert state == replayed
        want = contributions(kind, dims, history[:n])
        assert {k: v for k, v in running.items() if abs(v) > 1e-9} == pytest.approx(want)


@pytest.mark.parametrize("kind_key", sorted(KINDS))
def test_a_step_taken_back_cancels_out(kind_key):
    """`sign=-1` is how a late change takes the later events' old steps out of the roll-up."""
    kind = get_kind(kind_key)
    dims = Dims(kind_key, "", "x")
    history = random_history(kind_key, random.Random(7), 40)
    out, state, back = Counter(), SiteState(), SiteState()
    for entry in history:
        state = step(kind, dims, state, entry, out)
    for entry in history:
        back = step(kind, dims, back, entry, out, sign=-1)
    assert {k: v for k, v in out.items() if abs(v) > 1e-9} == {}
    assert back == state


@pytest.mark.parametrize("kind_key", sorted(KINDS))
def test_a_stored_projection_reads_back_as_the_state_it_came_from(kind_key):
    kind = get_kind(kind_key)
    history = random_history(kind_key, random.Random(3), 30)
    for n in range(1, len(history) + 1):
        state, _ = replay(kind, history[:n], strict=False)
        stored = state_of(SimpleNamespace(**state.as_dict()))
        assert stored == state
        # and the next event folds from it as it folds from the replay
        nxt = Entry(10**6, "note", None, None, None, {}, history[n - 1].valid_at + timedelta(hours=1))
        assert apply(kind, stored, nxt) == apply(kind, state, nxt)


def _allowed_next_by_definition(kind, current):
    keys = [s.key for s in kind.statuses]
    if current is None:
        return (keys[0],)
    if current not in keys:
        return ()
    later = tuple(keys[keys.index(current) + 1 :])
    return later + tuple(to for frm, to in kind.extra_transitions if frm == current and to not in later)


@pytest.mark.parametrize("kind_key", sorted(KINDS))
def test_the_precomputed_lookups_say_what_the_life_cycle_says(kind_key):
    kind = get_kind(kind_key)
    for current in [None, "nonsense", *(s.key for s in kind.statuses)]:
        assert kind.allowed_next(current) == _allowed_next_by_definition(kind, current)
    for term in kind.status_vocabulary.terms:
        for text in (term.key, term.zh, term.en):
            keys = kind.status_vocabulary.resolve_all(text)
            assert kind.status_key(text) == (keys[0] if len(keys) == 1 else text)
    assert kind.status_key(["restored"]) == ["restored"]  # not text: returned for the life cycle to refuse
    for track in kind.tracks:
        assert kind.track_key(track.key) == track.key
        assert kind.track_key(track.zh) == track.key
