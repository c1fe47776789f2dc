"""User text as every door takes it (API, import, CLI): no display spoofing in names, one line where one is
meant, no lone surrogates anywhere; and a valid time that is given must be a time (only an absent one is now)."""

from __future__ import annotations

import json
import uuid

import pytest
from sqlalchemy import select
from support.accounts import auth
from support.databases import db, fingerprint
from support.sites import new_site, post_event

from recovery.errors import ValidationError
from recovery.models import Event, Site
from recovery.text import clean_text

BIDI = [chr(c) for c in (*range(0x202A, 0x202F), *range(0x2066, 0x206A))] + ["\u200e", "\u200f", "\u061c"]
ZERO_WIDTH = ["\u200b", "\u200c", "\u200d", "\u2060", "\ufeff"]
LINE_BREAKS = ["\n", "\r", "\r\n", "\x0b", "\x0c", "\x85", "\u2028", "\u2029"]
CONTROLS = ["\x00", "\x07", "\x1b", "\x7f", "\t"]


@pytest.mark.parametrize("ch", BIDI + ["\u00ad", "\U000e0041"], ids=lambda c: f"U+{ord(c):04X}")
@pytest.mark.parametrize("field", ["name", "address", "title", "note"])
def test_format_characters_are_refused_in_every_field(field, ch):
    # what is not spoofing stays as it is: other scripts, right-to-left ones too, symbols, emoji
    ordinary = "中建七局抢修队（二标段）— No.3 ✓ 😀 ابو ظبي"
    assert clean_text(f"  {ordinary}  ", field, 200) == ordinary
    with pytest.raises(ValidationError) as refused:
        clean_text(f"枫杨街{ch}塌陷点", field, 200)
    assert refused.value.params["code"] == f"{ord(ch):04X}"


@pytest.mark.parametrize("ch", ZERO_WIDTH, ids=lambda c: f"U+{ord(c):04X}")
@pytest.mark.parametrize("field", ["name", "note"])
def test_zero_width_characters_are_removed(field, ch):
    assert clean_text(f"{ch}枫杨{ch}街{ch}", field, 200) == "枫杨街"
    with pytest.raises(ValidationError):
        clean_text(ch, field, 200, required=True)  # nothing visible is nothing


@pytest.mark.parametrize("brk", LINE_BREAKS, ids=repr)
def test_a_single_line_field_refuses_line_breaks_and_a_note_keeps_them(brk):
    for field in ("name", "address", "title", "actor", "responsible_unit"):
        with pytest.raises(ValidationError):
            clean_text(f"第一行{brk}第二行", field, 200)
    assert clean_text(f"第一行{brk}第二行", "note", 200) == "第一行\n第二行"


@pytest.mark.parametrize("ch", CONTROLS, ids=repr)
def test_control_characters_are_refused(ch):
    with pytest.raises(ValidationError):
        clean_text(f"a{ch}b", "name", 200)
    if ch == "\t":
        assert clean_text("数量\t3", "note", 200) == "数量\t3"
    else:
        with pytest.raises(ValidationError):
            clean_text(f"a{ch}b", "note", 200)


@pytest.mark.parametrize("field", ["name", "note"])
def test_lone_surrogates_are_refused(field):
    for ch in ("\ud800", "\udfff"):
        with pytest.raises(ValidationError):
            clean_text(f"a{ch}b", field, 200)


# -- the API -----------------------------------------------------------------------------------------------


def _report(client, **fields):
    body = {"kind": "silt_site", "name": "地下车库", "position": {"lon": 113.5918, "lat": 34.8135}, **fields}
    return client.post(
        "/api/v1/sites", json=body, headers={**auth("field"), "Idempotency-Key": uuid.uuid4().hex}
    )


@pytest.mark.parametrize(
    "fields",
    [
        {"name": "地下\u202e库车"},
        {"name": "地下\u2066车库"},
        {"name": "地下车库\n管理员：请联系 123"},
        {"name": "地下\r车库"},
        {"address": "科学大道\u2028100号"},
        {"address": "科学大道\u202d100号"},
        {"note": "发现\u202e险情"},
        {"note": "发现\x00险情"},
    ],
    ids=lambda f: ",".join(f"{k}:{[hex(ord(c)) for c in v if not c.isalnum()]}" for k, v in f.items()),
)
def test_api_refuses_spoofing_text_and_stores_nothing(app, client, fields):
    with db(app) as session:
        before = fingerprint(session)
    response = _report(client, **fields)
    assert response.status_code == 400 and response.get_json()["error"]["code"] == "invalid_input"
    with db(app) as session:
        assert fingerprint(session) == before


def test_api_strips_zero_width_and_keeps_a_notes_lines(app, client):
    response = _report(client, name="\ufeff地下\u200b车库\u200d", note="第一行\r\n第二行")
    assert response.status_code == 201, response.get_json()
    with db(app) as session:
        site = session.scalars(select(Site)).one()
        event = session.scalars(select(Event).where(Event.site_id == site.id)).one()
        assert (site.name, event.note) == ("地下车库", "第一行\n第二行")


def test_event_note_and_conflict_note_are_checked(client, fengyang_point):
    site_id = new_site(client, position=fengyang_point)["properties"]["id"]
    refused = post_event(client, site_id, {"status": "secured", "note": "已围挡\u202e"}, version=1)
    assert refused.status_code == 400
    refused = post_event(client, site_id, {"status": "secured", "note": ["已围挡"]}, version=1)
    assert refused.status_code == 400


@pytest.fixture
def fengyang_point(geodata):
    point = geodata.subdistrict("fengyang").geometry.representative_point()
    return {"lon": point.x, "lat": point.y, "crs": "wgs84"}


SURROGATE_BODIES = [
    '{"kind": "silt_site", "name": "地下\\ud800车库", "position": {"lon": 113.5918, "lat": 34.8135}}',
    '{"kind": "silt_site", "name": "地下车库", "note": "\\udfff", "position": {"lon": 113.5918, "lat": 34.8135}}',
    '{"kind": "silt_site", "name": "地下车库", "extra": [[{"deep": "\\ud800"}]], "position": {"lon": 113.5918, '
    '"lat": 34.8135}}',
]


@pytest.mark.parametrize("raw", SURROGATE_BODIES)
def test_a_lone_surrogate_anywhere_in_a_body_is_a_400(app, client, raw):
    with db(app) as session:
        before = fingerprint(session)
    response = client.post(
        "/api/v1/sites",
        data=raw.encode(),
        content_type="application/json",
        headers={**auth("field"), "Idempotency-Key": uuid.uuid4().hex},
    )
    assert response.status_code == 400, response.get_data(as_text=True)
    with db(app) as session:
        assert fingerprint(session) == before


def test_a_lone_surrogate_in_an_event_body_is_a_400(client, fengyang_point):
    site_id = new_site(client, position=fengyang_point)["properties"]["id"]
    response = client.post(
        f"/api/v1/sites/{site_id}/events",
        data=b'{"status": "secured", "note": "\\ud800"}',
        content_type="application/json",
        headers={**auth("field"), "If-Match": '"1"'},
    )
    assert response.status_code == 400


# -- valid_at: only an absent one means now ----------------------------------------------------------------

EMPTY = ["", "   ", 0, [], {}, None, False]


@pytest.mark.parametrize("empty", EMPTY, ids=json.dumps)
def test_an_empty_valid_at_is_refused_on_every_write(app, client, fengyang_point, empty):
    site_id = new_site(client, position=fengyang_point)["properties"]["id"]
    with db(app) as session:
        before = fingerprint(session)
    event = post_event(client, site_id, {"status": "secured", "valid_at": empty}, version=1)
    assert event.status_code == 400 and "valid_at" in event.get_json()["error"]["message"]
    report = _report(client, valid_at=empty)
    assert report.status_code == 400
    with db(app) as session:
        assert fingerprint(session) == before
    assert post_event(client, site_id, {"status": "secured"}, version=1).status_code == 201  # absent: now


@pytest.mark.parametrize("empty", EMPTY, ids=json.dumps)
def test_an_empty_valid_at_is_refused_on_a_check_in(client, geodata, empty):
    point = geodata.subdistrict("fengyang").geometry.representative_point()
    site = new_site(
        client,
        kind="disinfection_point",
        name="消杀点",
        attributes={},
        position={"lon": point.x, "lat": point.y},
    )
    response = client.post(
        f"/api/v1/sites/{site['properties']['id']}/check-in",
        json={"valid_at": empty},
        headers={**auth("field"), "Idempotency-Key": uuid.uuid4().hex},
    )
    assert response.status_code == 400


# -- the import door (CLI and admin page share the importer) ------------------------------------------------


def test_import_refuses_spoofing_names_and_strips_zero_width(app, runner, tmp_path):
    lon, lat = 113.565305, 34.880557
    (tmp_path / "bad.csv").write_text(
        f"名称,经度,纬度\n好\u200b点,{lon},{lat}\n坏\u202e点,{lon + 0.001},{lat}\n", encoding="utf-8"
    )
    result = runner.invoke(args=["import", str(tmp_path / "bad.csv"), "--kind", "disinfection_point"])
    assert result.exit_code == 1
    rejects = (tmp_path / "bad.csv.rejects.csv").read_text(encoding="utf-8-sig")
    assert "U+202E" in rejects
    result = runner.invoke(
        args=["import", str(tmp_path / "bad.csv"), "--kind", "disinfection_point", "--skip-invalid"]
    )
    assert result.exit_code == 0, result.output
    with db(app) as session:
        assert session.scalars(select(Site.name)).all() == ["好点"]
    result = runner.invoke(
        args=["import", str(tmp_path / "bad.csv"), "--kind", "disinfection_point", "--actor", "导入\n员"]
    )
    assert result.exit_code != 0
