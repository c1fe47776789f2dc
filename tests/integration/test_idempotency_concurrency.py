"""A retry gets the original answer whatever the timing: identical requests under one Idempotency-Key sent at
the same moment from many threads all get the first answer (never a 412 from the version the first one has
just moved on), and one event is stored. Several rounds, on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
import uuid
from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import func, select
from support.accounts import auth
from support.databases import db

from recovery.models import Event, Site
from recovery.models_accounts import IdempotencyRecord
from recovery.web.idempotency import client_event_id

THREADS = 10
ROUNDS = 5


def _all_at_once(
    app, method: str, path: str, body: dict, headers: dict
) -> list[tuple[int, dict, str | None]]:
    """The same request from THREADS threads released together; each answer as (status, body, ETag)."""
    barrier = threading.Barrier(THREADS)

    def send(_):
        client = app.test_client()
        barrier.wait()
        response = client.open(path, method=method, json=body, headers=headers)
        return response.status_code, response.get_json(), response.headers.get("ETag")

    with ThreadPoolExecutor(THREADS) as pool:
        return list(pool.map(send, range(THREADS)))


def _field_user_id(app) -> int:
    from recovery.models_accounts import User

    with db(app) as session:
        return session.scalar(select(User.id).where(User.username == "field"))


def _events_under(app, key: str) -> int:
    with db(app) as session:
        client_id = client_event_id(_field_user_id(app), key)
        return session.scalar(select(func.count()).select_from(Event).where(Event.client_id == client_id))


def test_concurrent_retries_of_a_status_change_get_the_first_answer(app, geodata):
    point = geodata.subdistrict("fengyang").geometry.representative_point()
    body = {"kind": "road_collapse", "name": "枫杨街塌陷点", "attributes": {"road_class": "main"}}
    body["position"] = {"lon": point.x, "lat": point.y}
    created = app.test_client().post("/api/v1/sites", json=body, headers=auth("field")).get_json()
    site_id = created["site"]["properties"]["id"]
    statuses = ["secured", "repairing", "passable", "restored", "repairing"]
    for version, status in enumerate(statuses[:ROUNDS], start=1):
        key = uuid.uuid4().hex
        action = "reopen" if version == 5 else "transition"
        headers = {**auth("commander" if action == "reopen" else "field"), "If-Match": f'"{version}"'}
        headers["Idempotency-Key"] = key
        answers = _all_at_once(
            app,
            "POST",
            f"/api/v1/sites/{site_id}/events",
            {"status": status, "action": action, "note": f"第{version}轮"},
            headers,
        )
        assert {a[0] for a in answers} == {201}, [a[0] for a in answers]
        assert all(a == answers[0] for a in answers)
        assert answers[0][2] == f'"{version + 1}"'
        with db(app) as session:
            assert session.scalar(select(Site.version).where(Site.id == site_id)) == version + 1
            assert session.scalar(
                select(func.count()).select_from(Event).where(Event.site_id == site_id)
            ) == (version + 1)


def test_concurrent_retries_of_a_report_and_a_check_in_store_one_of_each(app, geodata):
    point = geodata.subdistrict("fengyang").geometry.representative_point()
    for round_ in range(ROUNDS):
        key = uuid.uuid4().hex
        body = {
            "kind": "disinfection_point",
            "name": f"消杀点{round_}",
            "attributes": {"point_type": "market"},
            "position": {"lon": point.x + round_ * 1e-4, "lat": point.y},
        }
        answers = _all_at_once(app, "POST", "/api/v1/sites", body, {**auth("field"), "Idempotency-Key": key})
        assert {a[0] for a in answers} == {201} and all(a == answers[0] for a in answers)
        assert _events_under(app, key) == 1
        site_id = answers[0][1]["site"]["properties"]["id"]
        key = uuid.uuid4().hex
        answers = _all_at_once(
            app, "POST", f"/api/v1/sites/{site_id}/check-in", {}, {**auth("field"), "Idempotency-Key": key}
        )
        assert {a[0] for a in answers} == {201} and all(a == answers[0] for a in answers)
        assert _events_under(app, key) == 1
    with db(app) as session:
        assert session.scalar(select(func.count()).select_from(Site)) == ROUNDS
        assert session.scalar(select(func.count()).select_from(IdempotencyRecord)) == 2 * ROUNDS
