"""One vocabulary (issue 13): every spelling of every enumerated value — key, Chinese, English, alias, upper
case, full width, padded — gives the same key at every door: the vocabulary itself, the API's bodies (site
kinds, attribute choices, statuses, utilities), the command line (role, scope), imported files and work items;
what is refused lists what is accepted."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session
from support.accounts import auth

from recovery.db.engine import make_engine
from recovery.kinds import KINDS
from recovery.models import Site
from recovery.models_accounts import User
from recovery.terms import Term
from recovery.vocab import VOCABULARIES, label, resolve, resolve_all, resolve_list


def full_width(text: str) -> str:
    """ＳＨＩＦＯ: ASCII letters, digits and signs as their full-width forms, the space as the ideographic one."""
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else "\u3000" if c == " " else c for c in text)


def spellings(term: Term) -> list[str]:
    """Every way a user may write `term`."""
    names = list(dict.fromkeys(term.names))
    return list(
        dict.fromkeys(
            [
                *names,
                term.key.upper(),
                term.en.upper(),
                full_width(term.key),
                full_width(term.en),
                f"  {term.zh}\u3000",
            ]
        )
    )


CASES = [
    (name, term.key, spelling)
    for name, vocabulary in VOCABULARIES.items()
    for term in vocabulary.terms
    for spelling in spellings(term)
]


@pytest.mark.parametrize(("vocabulary", "key", "spelling"), CASES)
def test_every_spelling_of_every_value_names_it(vocabulary, key, spelling):
    assert key in resolve_all(vocabulary, spelling)
    if len(resolve_all(vocabulary, spelling)) == 1:
        assert resolve(vocabulary, spelling) == key


def test_a_label_two_kinds_share_names_both_and_a_kind_names_one():
    assert resolve_all("status", "已修复") == ("restored", "repaired")
    assert resolve("status.road_collapse", "已修复") == "restored"
    assert resolve("status.municipal_facility", "已修复") == "repaired"
    assert resolve_list("subdistrict", "石佛，ＦＥＮＧＹＡＮＧ、gouzhao,石佛办事处") == [
        "shifo",
        "fengyang",
        "gouzhao",
    ]


@pytest.mark.parametrize(
    ("locale", "expected"),
    [
        ("zh", "未知的办事处 石桥；可用的值：shifo (石佛办事处)"),
        ("en", "Unknown sub-district 石桥; accepted: shifo (Shifo)"),
    ],
)
def test_an_unknown_value_is_refused_with_the_accepted_ones_in_the_readers_language(app, locale, expected):
    with pytest.raises(Exception) as caught:
        resolve("subdistrict", "石桥")
    assert caught.value.http_status == 400
    with app.test_request_context(f"/?lang={locale}"):
        assert caught.value.translated().startswith(expected)


def test_labels_in_the_readers_language():
    assert label("subdistrict", "shifo", "zh") == "石佛办事处"
    assert label("subdistrict", "shifo", "en") == "Shifo"
    assert label("subdistrict", "shifo", "zh", short=True) == "石佛"
    assert label("status", "restored", "zh") == "已修复" and label("road_class", "main", "en") == "main road"
    assert label("subdistrict", None) == "" and label("subdistrict", "elsewhere") == "elsewhere"


# -- the API's bodies ----------------------------------------------------------------------------------------


@pytest.fixture
def place(geodata):
    point = geodata.subdistrict("fengyang").geometry.representative_point()
    return point.x, point.y


def geometry_of(kind, place):
    x, y = place
    if "Point" in kind.geometry_types:
        return {"type": "Point", "coordinates": [x, y]}
    if "LineString" in kind.geometry_types:
        return {"type": "LineString", "coordinates": [[x, y], [x + 0.001, y + 0.0005]]}
    d = 0.0005
    return {"type": "Polygon", "coordinates": [[[x, y], [x + d, y], [x + d, y + d], [x, y + d], [x, y]]]}


def required_attributes(kind, spelled=lambda term: term.key):
    return {a.key: spelled(a.choices.terms[0]) for a in kind.attributes if a.required and a.choices}


def post_site(client, kind_name, geometry, attributes):
    body = {"kind": kind_name, "name": "词表测试点", "geometry": geometry, "attributes": attributes}
    response = client.post(
        "/api/v1/sites", json=body, headers={**auth("admin"), "Idempotency-Key": uuid.uuid4().hex}
    )
    assert response.status_code == 201, (kind_name, response.get_json())
    return response.get_json()["site"]["properties"]


@pytest.mark.slow
def test_api_reads_every_spelling_of_kinds_and_attribute_choices(client, place):
    for kind in KINDS.values():
        for spelling in spellings(Term(kind.key, kind.zh, kind.en)):
            props = post_site(client, spelling, geometry_of(kind, place), required_attributes(kind))
            assert props["kind"] == kind.key, spelling
        for attribute in (a for a in kind.attributes if a.choices):
            for term in attribute.choices.terms:
                for spelling in spellings(term):
                    attributes = {**required_attributes(kind), attribute.key: spelling}
                    props = post_site(client, kind.key, geometry_of(kind, place), attributes)
                    assert props["attributes"][attribute.key] == term.key, spelling


def post_event(client, site_id, body):
    headers = {**auth("admin"), "If-Match": '"1"', "Idempotency-Key": uuid.uuid4().hex}
    return client.post(f"/api/v1/sites/{site_id}/events", json=body, headers=headers)


@pytest.mark.slow
def test_api_reads_every_spelling_of_statuses_and_utilities(client, place):
    for kind in KINDS.values():
        targets = (
            [(track, status) for track in kind.tracks for status in kind.track_statuses[1:]]
            if kind.tracks
            else [(None, status) for status in kind.statuses[1:]]
        )
        for track, status in targets:
            for track_spelling, status_spelling in zip(
                spellings(track) if track else [None] * len(spellings(status)),
                spellings(status),
                strict=False,
            ):
                site = post_site(client, kind.key, geometry_of(kind, place), required_attributes(kind))
                body = {"status": status_spelling, "track": track_spelling}
                if status.key == "partly_restarted":
                    body["measures"] = {"capacity_pct": 50}
                response = post_event(client, site["id"], {k: v for k, v in body.items() if v is not None})
                assert response.status_code == 201, (body, response.get_json())
                stored = response.get_json()["event"]
                assert stored["to_status"] == status.key, body
                if track:
                    assert stored["track"] == track.key


def test_api_refuses_an_unknown_attribute_choice_listing_the_accepted_ones(client, place):
    kind = KINDS["road_collapse"]
    body = {
        "kind": "道路塌陷点",
        "name": "x",
        "geometry": geometry_of(kind, place),
        "attributes": {"road_class": "快速路"},
    }
    response = client.post(
        "/api/v1/sites",
        json=body,
        headers={**auth("admin"), "Idempotency-Key": uuid.uuid4().hex, "Accept-Language": "zh-CN"},
    )
    assert response.status_code == 400
    assert "main (主干道), secondary (次干道), branch (支路)" in response.get_json()["error"]["message"]


# -- the command line ----------------------------------------------------------------------------------------


@pytest.mark.slow
def test_command_line_reads_every_spelling_of_role_and_scope(app, runner):
    subs = VOCABULARIES["subdistrict"].terms
    asked = []
    for role in VOCABULARIES["role"].terms:
        for role_spelling in spellings(role):
            sub = subs[len(asked) % len(subs)]
            spelled = spellings(sub)  # every spelling at once, separated by `,`, `，` and `、`
            scope = ",".join(spelled[:3]) + "，" + "、".join(spelled[3:])
            name = f"u{len(asked)}"
            unit = ["--unit", "城管局"] if role.key == "unit" else []  # a unit's staff belong to a unit
            out = runner.invoke(args=["users", "add", name, "--role", role_spelling, "--scope", scope, *unit])
            assert out.exit_code == 0, (role_spelling, scope, out.output)
            asked.append((name, role.key, [sub.key]))
    engine = make_engine(app.config["RECOVERY"]["DATABASE_URL"] or "")
    with Session(engine) as session:
        stored = {u.username: (u.role, u.scope) for u in session.scalars(select(User))}
    engine.dispose()
    assert [(name, *stored[name]) for name, _, _ in asked] == asked


# -- work items ----------------------------------------------------------------------------------------------


def test_work_items_read_every_spelling_of_category_and_severity(session):
    from datetime import datetime

    from recovery.timeutil import ZONE
    from recovery.workitems import open_work_item

    at = datetime(2021, 7, 25, 9, tzinfo=ZONE)
    for name in ("category", "severity"):
        for term in VOCABULARIES[name].terms:
            for spelling in spellings(term):
                values = {"category": "supervision", "severity": "general", name: spelling}
                item, _ = open_work_item(
                    session, title="词表测试", responsible_unit="城市管理局", actor="t", valid_at=at, **values
                )
                assert getattr(item, name) == term.key, spelling
    session.rollback()


# -- imported files ------------------------------------------------------------------------------------------


def test_an_office_spreadsheet_written_entirely_in_chinese(session, geodata, tmp_path, place):
    """Kinds, statuses, attribute choices, yes/no, sub-districts and dates as an office writes them."""
    from datetime import datetime

    from openpyxl import Workbook

    from recovery.interop.importer import apply_import, plan_import
    from recovery.timeutil import ZONE

    x, y = place
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(
        [
            "类型",
            "名称",
            "经度",
            "纬度",
            "状态",
            "道路等级",
            "设施类型",
            "点位类型",
            "规上工业",
            "产能恢复(%)",
            "截止时间",
            "办事处",
        ]
    )
    sheet.append(
        [
            "道路塌陷点",
            "甲路塌陷",
            x,
            y,
            "已通行",
            "主干道",
            None,
            None,
            None,
            None,
            "2021年8月15日",
            "枫杨办事处",
        ]
    )
    sheet.append(
        ["企业", "乙公司", x + 0.001, y, "部分复工", None, None, None, "是", 60, "2021/8/15", "枫杨"]
    )
    sheet.append(
        ["市政设施", "丙路灯", x, y + 0.001, "维修中", None, "路灯", None, None, None, 44423, "Fengyang"]
    )
    sheet.append(
        [
            "清淤点",
            "丁车库",
            x + 0.001,
            y + 0.001,
            "清理中",
            None,
            None,
            "地下车库",
            None,
            None,
            "２０２１年８月１５日",
            "ＦＥＮＧＹＡＮＧ",
        ]
    )
    sheet.append(
        ["企业", "戊公司", x - 0.001, y, "停产", None, None, None, "否", None, "2021.8.15", "枫杨街道"]
    )
    workbook.save(tmp_path / "台账.xlsx")
    plan = plan_import(session, geodata, tmp_path / "台账.xlsx")
    assert not plan.rejected, [(r.number, [str(e) for e in r.errors]) for r in plan.rejected]
    assert [str(w) for r in plan.rows for w in r.warnings] == []  # every spelling of 枫杨 agrees with the map
    apply_import(session, geodata, plan, actor="tester")
    session.rollback()
    sites = {s.name: s for s in session.scalars(select(Site))}
    deadline = datetime(2021, 8, 15, tzinfo=ZONE)
    assert {name: (s.kind, s.status, s.attributes, s.subdistrict) for name, s in sites.items()} == {
        "甲路塌陷": ("road_collapse", "passable", {"road_class": "main"}, "fengyang"),
        "乙公司": ("enterprise", "partly_restarted", {"above_size": True}, "fengyang"),
        "丙路灯": (
            "municipal_facility",
            "repairing",
            {"facility_type": "street_light", "inside_ring4": True},
            "fengyang",
        ),
        "丁车库": ("silt_site", "clearing", {"place_type": "garage"}, "fengyang"),
        "戊公司": ("enterprise", "stopped", {"above_size": False}, "fengyang"),
    }
    assert {s.deadline for s in sites.values()} == {deadline}
    assert sites["乙公司"].capacity_pct == 60


# -- what readers see ----------------------------------------------------------------------------------------

DAY = "2021-07-29"


def _cells(html: str) -> list[list[str]]:
    import re

    return [re.findall(r"<td>(.*?)</td>", row) for row in re.findall(r"<tr><td>.*?</tr>", html)]


def test_record_lists_show_labels_in_the_readers_language(seeded_client):
    url = f"/reports/daily/{DAY}/records/road_collapse_handled"
    zh = _cells(seeded_client.get(url, headers=auth("reporter")).get_data(as_text=True))
    assert len(zh) == 167
    assert {row[3] for row in zh} == {"已修复"}
    assert {row[4] for row in zh} <= set(VOCABULARIES["subdistrict"].labels("zh")) | {""}
    assert "石佛办事处" in {row[4] for row in zh}
    csv = seeded_client.get(url + "?format=csv", headers=auth("reporter")).get_data(as_text=True)
    lines = csv.lstrip("\ufeff").splitlines()[1:]
    assert all(line.startswith("点位,") and ",已修复," in line for line in lines)
    assert any(",石佛办事处," in line for line in lines) and not any(",shifo," in line for line in lines)
    items = seeded_client.get(
        f"/reports/daily/{DAY}/records/work_items_closed?format=csv", headers=auth("reporter")
    )
    item_lines = items.get_data(as_text=True).lstrip("\ufeff").splitlines()[1:]
    assert item_lines and all(line.startswith("事项,") and ",已销号," in line for line in item_lines)
    cell = seeded_client.get(
        f"/reports/daily/{DAY}/table/road_collapse/in_progress?subdistrict=shifo", headers=auth("reporter")
    ).get_data(as_text=True)
    statuses = {row[3] for row in _cells(cell)}
    assert statuses and statuses <= {"已上报", "已围挡", "抢修中", "已通行"}
    # last: ?lang=en is remembered in a cookie
    en = _cells(seeded_client.get(url + "?lang=en", headers=auth("reporter")).get_data(as_text=True))
    assert "Shifo" in {row[4] for row in en} and "shifo" not in {row[4] for row in en}
