"""Work orders (issue 14): a unit's inbox and the commander's 督查 board over 100,000 orders and 1,000,000 of their
events, each beside a plain baseline measured in the same run.

    .venv/bin/python bench/workorders.py                                  # SQLite and PostgreSQL
    .venv/bin/python bench/workorders.py --backend sqlite --orders 5000 --events 50000 --repeat 10   # smoke
    .venv/bin/python bench/workorders.py --reuse --json bench/results/workorders.json

For each backend a fresh database is migrated and gets the 7·20 seed (for its sites, which a third of the orders
concern), then `--orders` work orders with `--events` ledger events written with SQLAlchemy Core in chunks: every
order's chain is one the writers accept (交办 → 签收 → 反馈 → 办结 → 核查 → 销号, some returned once, 催办 in
between), opened over the last 120 days so that some are overdue (红牌), some due within a day (黄牌); the
`work_item` row is `workitems.fold` of its events, as the writers project it. 30 % of the orders go to 城市管理局
(the busy unit), 10 % have a co-unit.

Timed through the Flask test client (the app's own request handling, JSON included; no network), p50 and p95
(nearest rank) of `--repeat` runs after two warm-ups:
- `GET /api/v1/work-items/inbox` as a unit user of 城市管理局 (bearer token), beside the bare statement a
  hand-written inbox would run (`SELECT … FROM work_item WHERE responsible_unit = ? AND status IN (…) ORDER BY
  resolve_due LIMIT 500`, with sqlite3 / psycopg directly);
- `GET /api/v1/work-items/board` as the commander, beside a bare `SELECT responsible_unit, status, count(*) …
  GROUP BY …`.
Targets: inbox p95 ≤ 50 ms, board p95 ≤ 200 ms. Nothing is asserted.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

PG_URL = os.environ.get(
    "RECOVERY_BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/recovery_bench_wo"
)
DATA = ROOT / "bench" / ".data"
BUSY_UNIT = "urban_management"
TARGETS = {"inbox": 50.0, "board": 200.0}
#: the share of orders in each final status (the rest closed)
STATUS_SHARE = {
    "open": 0.05,
    "acknowledged": 0.05,
    "fed_back": 0.08,
    "returned": 0.02,
    "resolved": 0.05,
    "verified": 0.03,
    "closed": 0.72,
}
CHAINS = {
    "open": ["open"],
    "acknowledged": ["open", "acknowledge"],
    "fed_back": ["open", "acknowledge", "feedback"],
    "returned": ["open", "acknowledge", "feedback", "resolve", "return"],
    "resolved": ["open", "acknowledge", "feedback", "resolve"],
    "verified": ["open", "acknowledge", "feedback", "resolve", "verify"],
    "closed": ["open", "acknowledge", "feedback", "resolve", "verify", "close"],
}
CHUNK = 20_000
#: the status each step leaves (催办 leaves it as it was; a later 反馈 too)
AFTER = {
    "open": "open",
    "acknowledge": "acknowledged",
    "feedback": "fed_back",
    "resolve": "resolved",
    "return": "returned",
    "verify": "verified",
    "close": "closed",
}


# -- the data set ---------------------------------------------------------------------------------------------


def _database(backend: str, reuse: bool) -> tuple[str, bool]:
    """The bench database's URL, and whether it still needs loading."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    if backend == "sqlite":
        DATA.mkdir(parents=True, exist_ok=True)
        path = DATA / "workorders_bench.sqlite3"
        if reuse and path.exists():
            return f"sqlite:///{path}", False
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        return f"sqlite:///{path}", True
    url = make_url(PG_URL)
    admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        exists = conn.scalar(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": url.database})
        if reuse and exists:
            admin.dispose()
            return url.render_as_string(hide_password=False), False
        conn.execute(text(f'DROP DATABASE IF EXISTS "{url.database}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{url.database}"'))
    admin.dispose()
    return url.render_as_string(hide_password=False), True


def _chains(n_orders: int, n_events: int, rng: random.Random) -> list[list[str]]:
    """Each order's steps; 催办 (remind) after the opening fills the events up to exactly `n_events`."""
    statuses = rng.choices(list(STATUS_SHARE), weights=list(STATUS_SHARE.values()), k=n_orders)
    chains = []
    for status in statuses:
        chain = list(CHAINS[status])
        if status == "closed" and rng.random() < 0.15:  # returned once on the way
            chain[4:4] = ["return", "resolve"]
        chains.append(chain)
    spare = n_events - sum(len(c) for c in chains)
    if spare < 0:
        raise SystemExit(f"--events must be at least {n_events - spare} for {n_orders} orders")
    per, rest = divmod(spare, n_orders)
    extra = rng.sample(range(n_orders), rest)
    bonus = set(extra)
    for i, chain in enumerate(chains):
        chain[1:1] = ["remind"] * (per + (i in bonus))
    return chains


def load(url: str, n_orders: int, n_events: int, seed: int) -> dict:
    """Migrate, load the 7·20 seed, then the synthetic orders and events; counts and seconds."""
    from sqlalchemy import func, insert, select, text
    from sqlalchemy.orm import Session

    from recovery import workitems
    from recovery.db.engine import make_engine
    from recovery.db.migrate import upgrade
    from recovery.geodata import load_geodata
    from recovery.ledger.bulk import load_dataset
    from recovery.models import Event, Site, WorkItem, WorkItemSite
    from recovery.seeding import read_dataset
    from recovery.timeutil import now

    started = time.perf_counter()
    engine = make_engine(url)
    upgrade(engine)
    with Session(engine) as session:
        load_dataset(session, load_geodata(ROOT / "geodata"), **read_dataset(ROOT / "seed" / "data"))
        session.commit()
    seeded = time.perf_counter() - started
    rng = random.Random(seed)
    at = now()
    units = [u for u in _unit_keys() if u != BUSY_UNIT]
    with Session(engine) as session:
        site_ids = list(session.scalars(select(Site.id)))
        first_item = (session.scalar(select(func.max(WorkItem.id))) or 0) + 1
    chains = _chains(n_orders, n_events, rng)
    categories = list(workitems.CATEGORIES)
    open_action = workitems.EVENT_ACTIONS
    t0 = time.perf_counter()
    items, links, events = [], [], []
    written = {"work_item": 0, "work_item_site": 0, "event": 0}

    def flush(conn) -> None:
        if items:
            conn.execute(insert(WorkItem.__table__), items)
            written["work_item"] += len(items)
        if links:
            conn.execute(insert(WorkItemSite.__table__), links)
            written["work_item_site"] += len(links)
        if events:
            conn.execute(insert(Event.__table__), events)
            written["event"] += len(events)
        items.clear(), links.clear(), events.clear()

    with engine.begin() as conn:
        for n, chain in enumerate(chains):
            item_id = first_item + n
            unit = BUSY_UNIT if rng.random() < 0.3 else rng.choice(units)
            severity = "major" if rng.random() < 0.15 else "general"
            opened = at - timedelta(days=rng.uniform(0.05, 120))
            # the steps spread over a span that ends no later than now
            span = min((at - opened).total_seconds(), rng.uniform(3600, 40 * 86400))
            offsets = sorted(rng.uniform(0, span) for _ in chain[1:])
            times = [opened] + [
                opened + timedelta(seconds=s, microseconds=i + 1) for i, s in enumerate(offsets)
            ]
            rows = [
                (open_action[step], t, i, {}) for i, (step, t) in enumerate(zip(chain, times, strict=True))
            ]
            rows[0] = (rows[0][0], opened, 0, {"unit": unit, "severity": severity})
            state = workitems.fold(rows, severity=severity, unit=unit)
            sites = rng.sample(site_ids, rng.choice((1, 1, 2))) if rng.random() < 0.3 else []
            co = [rng.choice(units)] if rng.random() < 0.1 else []
            items.append(
                {
                    "id": item_id,
                    "key": f"WI-B{n + 1:07d}",
                    "category": rng.choice(categories),
                    "title": f"合成事项 {n + 1}",
                    "description": "",
                    "responsible_unit": state.unit,
                    "co_units": co,
                    "milestones": [],
                    "severity": severity,
                    "site_id": sites[0] if sites else None,
                    "status": state.status,
                    "opened_at": opened,
                    "acknowledge_due": state.acknowledge_due,
                    "feedback_due": state.feedback_due,
                    "resolve_due": state.resolve_due,
                    "acknowledged_at": state.acknowledged_at,
                    "fed_back_at": state.fed_back_at,
                    "resolved_at": state.resolved_at,
                    "verified_at": state.verified_at,
                    "closed_at": state.closed_at,
                    "extension_until": None,
                    "version": state.version,
                }
            )
            links.extend({"work_item_id": item_id, "site_id": s} for s in sites)
            status = None
            for (action, t, _i, details), step in zip(rows, chain, strict=True):
                after = AFTER.get(step, status)
                if step == "feedback" and status not in ("open", "acknowledged"):
                    after = status
                events.append(
                    {
                        "body_hash": f"{item_id:032x}{_i:032x}",
                        "action": action,
                        "work_item_id": item_id,
                        "site_id": sites[0] if sites else None,
                        "actor": "合成",
                        "from_status": status,
                        "to_status": after,
                        "measures": {},
                        "note": "",
                        "details": details,
                        "valid_at": t,
                        "recorded_at": t,
                    }
                )
                status = after
            assert status == state.status, (chain, status, state.status)
            if len(events) >= CHUNK:
                flush(conn)
        flush(conn)
    if url.startswith("postgresql"):
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE work_item"))
            conn.execute(text("VACUUM ANALYZE work_item_site"))
            conn.execute(text("VACUUM ANALYZE event"))
    engine.dispose()
    return written | {"seed_s": round(seeded, 1), "load_s": round(time.perf_counter() - t0, 1)}


def _unit_keys() -> list[str]:
    from recovery.vocab import UNIT

    return [t.key for t in UNIT.terms]


# -- timing ------------------------------------------------------------------------------------------------------


def _tokens(url: str) -> dict[str, str]:
    from sqlalchemy import select
    from sqlalchemy.orm import Session

    from recovery.auth.accounts import create_user, issue_token
    from recovery.db.engine import make_engine
    from recovery.models_accounts import User

    engine = make_engine(url)
    out = {}
    with Session(engine) as session:
        for name, role, unit in (("bench_unit", "unit", BUSY_UNIT), ("bench_commander", "commander", None)):
            user = session.scalar(select(User).where(User.username == name)) or create_user(
                session, name, role, "bench work orders password", unit=unit
            )
            out[role] = issue_token(session, user, "bench")
        session.commit()
    engine.dispose()
    return out


def _percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    p95 = ordered[max(0, -(-len(ordered) * 95 // 100) - 1)]
    return statistics.median(ordered), p95


def _time(fn, repeat: int) -> list[float]:
    for _ in range(2):
        fn()
    out = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        out.append((time.perf_counter() - started) * 1000)
    return out


def _baseline(url: str):
    """The bare statements, on a connection of the driver itself (sqlite3 / psycopg)."""
    from recovery import workitems

    statuses = list(workitems.ACTIVE)
    marks = ", ".join("?" for _ in statuses)
    inbox_sql = (
        "SELECT id, key, title, status, responsible_unit, resolve_due, feedback_due, acknowledge_due, "
        f"acknowledged_at, fed_back_at, version FROM work_item WHERE responsible_unit = ? AND status IN ({marks}) "
        "ORDER BY resolve_due LIMIT 500"
    )
    board_sql = "SELECT responsible_unit, status, count(*) FROM work_item GROUP BY responsible_unit, status"
    if url.startswith("sqlite"):
        import sqlite3

        conn = sqlite3.connect(url.removeprefix("sqlite:///"))
    else:
        import psycopg

        conn = psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://"))
        inbox_sql = inbox_sql.replace("?", "%s")

    def inbox() -> int:
        cur = conn.cursor()
        cur.execute(inbox_sql, [BUSY_UNIT, *statuses])
        return len(cur.fetchall())

    def board() -> int:
        cur = conn.cursor()
        cur.execute(board_sql)
        return len(cur.fetchall())

    return conn, inbox, board


def measure(url: str, repeat: int, folder: Path, freeze_gc: bool = False) -> dict:
    from recovery import create_app
    from recovery.db.engine import make_engine
    from recovery.db.migrate import upgrade

    engine = make_engine(url)
    upgrade(engine)  # a data set kept from before a migration
    engine.dispose()
    tokens = _tokens(url)
    app = create_app(
        {"DATABASE_URL": url, "TESTING": True, "SECURE_COOKIES": False, "PHOTO_DIR": str(folder)}
    )
    client = app.test_client()
    unit = {"Authorization": f"Bearer {tokens['unit']}"}
    commander = {"Authorization": f"Bearer {tokens['commander']}"}
    sizes = {}

    def get(path, headers, name):
        def call():
            response = client.get(path, headers=headers)
            assert response.status_code == 200, (
                path,
                response.status_code,
                response.get_data(as_text=True)[:300],
            )
            sizes[name] = len(response.get_data())
            return response

        return call

    inbox, board = (
        get("/api/v1/work-items/inbox", unit, "inbox"),
        get("/api/v1/work-items/board", commander, "board"),
    )
    shape_inbox = inbox().get_json()
    shape_board = board().get_json()
    if freeze_gc:  # after the first requests, which import and cache what every later one uses
        import gc

        gc.collect()
        gc.freeze()
    conn, bare_inbox, bare_board = _baseline(url)
    results = {}
    for name, fn, bare in (("inbox", inbox, bare_inbox), ("board", board, bare_board)):
        app_ms = _time(fn, repeat)
        bare_ms = _time(bare, repeat)
        p50, p95 = _percentiles(app_ms)
        b50, b95 = _percentiles(bare_ms)
        results[name] = {
            "p50_ms": round(p50, 2),
            "p95_ms": round(p95, 2),
            "baseline_p50_ms": round(b50, 3),
            "baseline_p95_ms": round(b95, 3),
            "ratio_p50": round(p50 / b50, 1) if b50 else None,
            "target_ms": TARGETS[name],
            "met": p95 <= TARGETS[name],
            "bytes": sizes[name],
        }
    conn.close()
    app.extensions["recovery.engine"].dispose()
    results["inbox"]["counts"] = shape_inbox["counts"]
    results["board"]["units"] = len(shape_board["units"])
    results["board"]["items_listed"] = sum(len(u["items"]) for u in shape_board["units"])
    return results


def check_same(url: str) -> dict:
    """The reads as measured against the way they were written before migration 0015 (the board: every open
    order read and marked by `workitems.card` in Python; the inbox: one statement per tab with the unit's lead
    OR co-unit condition): the same counts, cards and orders."""
    from sqlalchemy import select
    from sqlalchemy.orm import Session

    from recovery import workitems, workitems_read
    from recovery.db.engine import make_engine
    from recovery.models import WorkItem
    from recovery.models_accounts import User
    from recovery.timeutil import now

    engine = make_engine(url)
    out = {}
    with Session(engine) as session:
        at = now()
        rows = workitems_read.board(session, at, per_unit=50)
        active = session.scalars(
            select(WorkItem).where(WorkItem.status.in_((*workitems.ACTIVE, *workitems.TO_CHECK)))
        ).all()
        rank = {"red": 0, "yellow": 1, None: 2}
        expected: dict[str, list] = {}
        for item in active:
            expected.setdefault(item.responsible_unit, []).append(
                (workitems.card(workitems_read.state_of_row(item), at), item)
            )
        same = True
        for row in rows:
            marked = expected.get(row.unit, [])
            want_items = sorted(marked, key=lambda p: (rank[p[0]], p[1].resolve_due, p[1].id))[:50]
            same &= [(m, i.id) for i, m in row.items] == [(m, i.id) for m, i in want_items]
            same &= (row.red, row.yellow) == (
                sum(m == "red" for m, _ in marked),
                sum(m == "yellow" for m, _ in marked),
            )
        out["board_same"] = bool(same)
        unit_user = session.scalar(select(User).where(User.username == "bench_unit"))
        fast = workitems_read.inbox(session, unit_user, at, per_tab=50)
        plain = workitems_read._inbox_of(session, [workitems_read.visible(unit_user)], 10, 50)
        same = fast.counts == plain.counts and all(
            [i.id for i in fast.tabs[t]] == [i.id for i in plain.tabs[t]] for t in fast.tabs
        )
        # every unit's inbox as a commander reads it (?unit=): the co-unit orders are merged in
        commander = session.scalar(select(User).where(User.username == "bench_commander"))
        for unit in _unit_keys():
            fast = workitems_read.inbox(session, commander, at, unit=unit, per_tab=50)
            plain = workitems_read._inbox_of(session, [workitems_read._of_unit(unit)], 10, 50)
            same &= fast.counts == plain.counts and all(
                [i.id for i in fast.tabs[t]] == [i.id for i in plain.tabs[t]] for t in fast.tabs
            )
        out["inbox_same"] = bool(same)
    engine.dispose()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--orders", type=int, default=100_000)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=40)
    parser.add_argument("--reuse", action="store_true", help="keep a data set already loaded")
    parser.add_argument("--rng-seed", type=int, default=14)
    parser.add_argument("--json", type=Path)
    parser.add_argument(
        "--freeze-gc",
        action="store_true",
        help="gc.freeze() once the app has served its first requests (as a server would after its warm-up): the objects of the "
        "start-up leave the cyclic collector's scans, which otherwise make every fifth board request ~90 ms slower",
    )
    args = parser.parse_args()
    backends = ("sqlite", "postgresql") if args.backend == "both" else (args.backend,)
    report = {}
    for backend in backends:
        url, fresh = _database(backend, args.reuse)
        loaded = load(url, args.orders, args.events, args.rng_seed) if fresh else {"reused": True}
        print(f"{backend}: {loaded}", flush=True)
        with tempfile.TemporaryDirectory() as folder:
            results = measure(url, args.repeat, Path(folder), args.freeze_gc)
        results["same_results"] = check_same(url)
        print(f"{backend:10} same results as the plain reads: {results['same_results']}", flush=True)
        report[backend] = {"load": loaded, **results}
        for name in ("inbox", "board"):
            r = results[name]
            verdict = "met" if r["met"] else f"MISSED ({r['p95_ms'] / r['target_ms']:.1f}×)"
            print(
                f"{backend:10} {name:5}  p50 {r['p50_ms']:8.1f} ms  p95 {r['p95_ms']:8.1f} ms  "
                f"target ≤ {r['target_ms']:.0f} ms {verdict:14}  baseline p50 {r['baseline_p50_ms']:7.2f} ms "
                f"p95 {r['baseline_p95_ms']:7.2f} ms  this ÷ baseline {r['ratio_p50']}×  {r['bytes']:,} bytes",
                flush=True,
            )
        print(
            f"{backend:10} inbox counts {results['inbox']['counts']}; board: {results['board']['units']} units, "
            f"{results['board']['items_listed']} orders listed",
            flush=True,
        )
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(report, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
