"""Scope holds for every shape a user's scope takes (sub-districts only, team only, both, a zone-wide team,
neither) and every role, on every write: reporting a site, changing its status, checking in, uploading a photo,
deciding a flagged change. The table below is the rule written out, not computed from the code."""

from __future__ import annotations

import io
import uuid

import pytest
from PIL import Image
from sqlalchemy import update
from support.accounts import auth
from support.databases import db

from recovery.auth.accounts import token_hash
from recovery.models import Site, Team
from recovery.models_accounts import ApiToken, User
from recovery.timeutil import now

#: where new sites are reported and existing ones lie: FY 枫杨, SF 石佛, GZ 沟赵; GZ_T is a 沟赵 site assigned to
#: the 枫杨 crew, GZ_Z one assigned to a zone-wide contractor
PLACES = {"FY": "fengyang", "SF": "shifo", "GZ": "gouzhao"}
TARGETS = ("FY", "SF", "GZ", "GZ_T", "GZ_Z")
#: user -> (role, scope list, team key)
USERS = {
    "subdistricts_only": ("field", ["fengyang"], None),
    "team_only": ("field", [], "T-FY"),
    "both": ("field", ["shifo"], "T-FY"),
    "zone_wide_team": ("field", [], "T-ZW"),
    "neither": ("field", [], None),
    "reporter": ("reporter", [], None),
    "commander": ("commander", [], None),
    "admin": ("admin", [], None),
}
EVERYTHING = {f"report@{p}" for p in PLACES} | set(TARGETS) | {"decide"}
#: what each may do; anything else is refused with 403
ALLOWED = {
    "subdistricts_only": {"report@FY", "FY"},
    # the finding: a team-only user reported (and then completed) sites in any sub-district
    "team_only": {"report@FY", "GZ_T"},
    "both": {"report@FY", "report@SF", "SF", "GZ_T"},
    "zone_wide_team": {"GZ_Z"},
    "neither": set(),
    "reporter": set(),
    "commander": EVERYTHING,
    "admin": EVERYTHING,
}


def _jpeg() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), (20, 120, 200)).save(buffer, "JPEG")
    return buffer.getvalue()


def _point(geodata, place: str) -> dict:
    point = geodata.subdistrict(PLACES[place]).geometry.representative_point()
    return {"lon": point.x, "lat": point.y}


def _make_user(app, name: str) -> dict:
    role, scope, team_key = USERS[name]
    if name in ("reporter", "commander", "admin"):
        return auth(name)
    token = f"rcv_scope_{name}_{uuid.uuid4().hex}"
    with db(app) as session:
        team_id = session.query(Team.id).filter(Team.key == team_key).scalar() if team_key else None
        user = User(
            username=f"scope_{name}",
            role=role,
            scope=scope,
            team_id=team_id,
            display_name=name,
            password_hash="!",
            created_at=now(),
        )
        session.add(user)
        session.flush()
        session.add(ApiToken(user_id=user.id, token_hash=token_hash(token), created_at=now()))
        session.commit()
    return {"Authorization": f"Bearer {token}"}


def _report(client, geodata, place: str, headers: dict, kind: str = "silt_site"):
    body = {"kind": kind, "name": f"{place}点位", "position": _point(geodata, place)}
    if kind == "disinfection_point":
        body["attributes"] = {"point_type": "market"}
    return client.post("/api/v1/sites", json=body, headers={**headers, "Idempotency-Key": uuid.uuid4().hex})


@pytest.fixture
def world(app, client, geodata):
    """Two teams, a silt site and a disinfection point at each target, and one flagged change to decide."""
    with db(app) as session:
        session.add_all(
            [
                Team(key="T-FY", name="枫杨办事处清淤一队", type="crew", subdistrict="fengyang"),
                Team(key="T-ZW", name="中建七局抢修队", type="crew", subdistrict=None),
            ]
        )
        session.commit()
        teams = {t.key: t.id for t in session.query(Team)}
    sites = {}
    for target in TARGETS:
        place = target.split("_")[0]
        for kind in ("silt_site", "disinfection_point"):
            response = _report(client, geodata, place, auth("commander"), kind)
            assert response.status_code == 201, response.get_json()
            sites[target, kind] = response.get_json()["site"]["properties"]["id"]
    with db(app) as session:
        for (target, _kind), site_id in sites.items():
            team = {"GZ_T": "T-FY", "GZ_Z": "T-ZW"}.get(target)
            if team:
                session.execute(update(Site).where(Site.id == site_id).values(team_id=teams[team]))
        session.commit()
    # a change made before the site was closed, arriving after: stored flagged, for a commander to decide
    body = {"kind": "road_collapse", "name": "塌陷点", "attributes": {"road_class": "main"}}
    body["position"], body["valid_at"] = _point(geodata, "FY"), "2021-07-21T08:00:00+08:00"
    closed = client.post("/api/v1/sites", json=body, headers=auth("commander")).get_json()["site"][
        "properties"
    ]
    for version, (status, at) in enumerate((("passable", "09:00"), ("restored", "12:00")), start=1):
        response = client.post(
            f"/api/v1/sites/{closed['id']}/events",
            json={"status": status, "valid_at": f"2021-07-21T{at}:00+08:00"},
            headers={**auth("commander"), "If-Match": f'"{version}"'},
        )
        assert response.status_code == 201
    late = client.post(
        f"/api/v1/sites/{closed['id']}/events",
        json={"status": "repairing", "valid_at": "2021-07-21T10:00:00+08:00"},
        headers={**auth("commander"), "If-Match": '"3"'},
    )
    assert late.status_code == 202
    return sites, late.get_json()["event"]["id"]


@pytest.mark.parametrize("who", list(USERS))
def test_scope_table(app, client, geodata, world, who):
    sites, flagged = world
    headers = _make_user(app, who)
    allowed = ALLOWED[who]
    photo = _jpeg()
    answers: dict[str, int] = {}
    for place in PLACES:
        answers[f"report@{place}"] = _report(client, geodata, place, headers).status_code
    for target in TARGETS:
        silt, point = sites[target, "silt_site"], sites[target, "disinfection_point"]
        answers[f"{target}:event"] = client.post(
            f"/api/v1/sites/{silt}/events",
            json={"status": "clearing"},
            headers={**headers, "If-Match": '"1"'},
        ).status_code
        answers[f"{target}:check-in"] = client.post(
            f"/api/v1/sites/{point}/check-in",
            json={},
            headers={**headers, "Idempotency-Key": uuid.uuid4().hex},
        ).status_code
        answers[f"{target}:photo"] = client.put(
            f"/api/v1/sites/{silt}/photos/scope-{uuid.uuid4().hex}",
            data=photo,
            headers={**headers, "Content-Type": "application/octet-stream"},
        ).status_code
        # what the site says of itself agrees with what the writes did
        shown = client.get(f"/api/v1/sites/{point}", headers=headers).get_json()["properties"]["may_change"]
        answers[f"{target}:may_change"] = 201 if shown else 403
    answers["decide"] = client.post(
        f"/api/v1/conflicts/{flagged}", json={"decision": "dismiss"}, headers=headers
    ).status_code

    expected = {}
    for name in answers:
        target = name.split(":")[0]
        expected[name] = 201 if target in allowed else 403
    assert answers == expected


def test_a_team_members_new_site_goes_to_the_team_of_that_place(app, client, geodata, world):
    headers = _make_user(app, "both")
    in_team_place = _report(client, geodata, "FY", headers).get_json()["site"]["properties"]
    in_own_subdistrict = _report(client, geodata, "SF", headers).get_json()["site"]["properties"]
    with db(app) as session:
        fy_team = session.query(Team.id).filter(Team.key == "T-FY").scalar()
        teams = dict(
            session.query(Site.id, Site.team_id).filter(
                Site.id.in_([in_team_place["id"], in_own_subdistrict["id"]])
            )
        )
    assert teams == {in_team_place["id"]: fy_team, in_own_subdistrict["id"]: None}
