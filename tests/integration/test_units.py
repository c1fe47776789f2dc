"""Responsible units by key: every door (the API's 督办, the command line, the seed) reads a unit in any spelling
through the vocabulary and stores its key; pages show its label; an unknown unit is refused and nothing is
written; migration 0011 converts the stored texts."""

from __future__ import annotations

import unicodedata

import pytest
from sqlalchemy import select, text
from support.accounts import auth, login
from support.databases import fingerprint

from recovery.models import WorkItem
from recovery.vocab import UNIT, label


def _full_width(text: str) -> str:
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in text)


def _spellings(term) -> list[str]:
    """Key, Chinese and English names, every alias, the key upper-cased and in full-width letters."""
    names = [term.key, term.zh, term.en, *term.aliases, term.key.upper(), _full_width(term.key)]
    assert unicodedata.normalize("NFKC", _full_width(term.key)) == term.key
    return list(dict.fromkeys(names))


SPELLINGS = [(term.key, spelling) for term in UNIT.terms for spelling in _spellings(term)]


def _stored_units(session) -> list[str]:
    session.rollback()
    return session.scalars(select(WorkItem.responsible_unit).order_by(WorkItem.id)).all()


def test_every_spelling_through_the_api_stores_the_key(client, session):
    for index, (_key, spelling) in enumerate(SPELLINGS):
        response = client.post(
            "/api/v1/command/supervise",
            headers=auth("commander"),
            json={"title": f"督办 {index}", "responsible_unit": spelling},
        )
        assert response.status_code == 201, (spelling, response.get_data(as_text=True))
    assert _stored_units(session) == [key for key, _ in SPELLINGS]


def test_every_spelling_through_the_command_line_stores_the_key(runner, session):
    for index, (key, spelling) in enumerate(SPELLINGS):
        result = runner.invoke(args=["supervise", "--title", f"督办 {index}", "--unit", spelling])
        assert result.exit_code == 0, (spelling, result.output)
        assert label("unit", key) in result.output  # the answer names the unit by its label
    assert _stored_units(session) == [key for key, _ in SPELLINGS]


@pytest.mark.parametrize("unit", ["", "城管", "高新区交通局", "urban management bureau x", "\u0000"])
def test_an_unknown_unit_is_refused_with_the_accepted_units_and_nothing_is_written(client, session, unit):
    before = fingerprint(session)
    body = {"title": "督办", "responsible_unit": unit}
    zh = client.post("/api/v1/command/supervise", headers=auth("commander"), json=body)
    assert zh.status_code == 400
    message = zh.get_json()["error"]["message"] if "error" in zh.get_json() else zh.get_data(as_text=True)
    if unit not in ("", "\u0000"):  # nothing, or a NUL, is refused before the vocabulary, as in any text
        assert "责任单位" in message and all(t.zh in message for t in UNIT.terms), message
        en = client.post(
            "/api/v1/command/supervise?lang=en",
            headers={**auth("commander"), "Accept-Language": "en"},
            json=body,
        ).get_data(as_text=True)
        assert "responsible unit" in en and "Urban Management Bureau" in en, en
    assert fingerprint(session) == before


def test_an_unknown_unit_on_the_command_line_is_refused(runner, session):
    before = fingerprint(session)
    result = runner.invoke(args=["supervise", "--title", "督办", "--unit", "高新区交通局"])
    assert result.exit_code == 2 and "urban_management" in result.output
    assert fingerprint(session) == before


def test_the_seed_stores_keys_and_the_dashboard_shows_labels(seeded_client, seeded_session):
    from datetime import datetime

    from recovery.timeutil import ZONE
    from recovery.workitems import open_work_item

    stored = set(_stored_units(seeded_session))
    assert stored and stored <= set(UNIT.keys)
    assert {"urban_management", "planning_housing", "water_supply", "power_supply"} <= stored
    # an order handed to 城管局 on 21 July and never fed back: overdue on 29 July
    item, _ = open_work_item(
        seeded_session,
        category="supervision",
        title="单位标签测试",
        responsible_unit="高新区城管局",
        actor="t",
        valid_at=datetime(2021, 7, 21, 9, tzinfo=ZONE),
    )
    seeded_session.commit()
    assert item.responsible_unit == "urban_management"
    login(seeded_client, "commander")
    zh = seeded_client.get("/?date=2021-07-29").get_data(as_text=True)
    en = seeded_client.get("/?date=2021-07-29&lang=en").get_data(as_text=True)
    assert "<strong>城市管理局</strong>" in zh and "<strong>Urban Management Bureau</strong>" in en
    assert "单位标签测试" in zh
    for key in UNIT.keys:
        assert f"<strong>{key}</strong>" not in zh + en


def test_the_map_offers_the_units_as_a_choice(seeded_client):
    login(seeded_client, "commander")
    html = seeded_client.get("/map").get_data(as_text=True)
    assert '<select id="order-unit"' in html
    for term in UNIT.terms:
        assert f'<option value="{term.key}">{term.zh}</option>' in html


def test_migration_0011_converts_stored_units_and_keeps_unknown_text(db_url, session):
    """Texts as typed before 0011 become keys; a text no unit names stays as written; the downgrade writes the
    Chinese names back."""
    from alembic import command

    from recovery.db.engine import make_engine
    from recovery.db.migrate import alembic_config, upgrade

    rows = [
        "高新区城市管理局",
        "城管局",
        "沟赵办事处",
        "ＳＨＩＦＯ",
        "高新区建设局",
        "郑州自来水高新营业所",
        "某临时专班",
    ]
    engine = make_engine(db_url)
    config = alembic_config(engine)
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.downgrade(config, "0010")
    with engine.begin() as conn:
        for index, unit in enumerate(rows):
            conn.execute(
                text(
                    "INSERT INTO work_item (key, category, title, responsible_unit, severity, status, opened_at, "
                    "feedback_due, resolve_due, version) VALUES (:key, 'supervision', 't', :unit, 'general', "
                    "'open', :at, :at, :at, 1)"
                ),
                {"key": f"WI-M{index}", "unit": unit, "at": "2021-07-25 00:00:00+00:00"},
            )
    upgrade(engine)
    with engine.connect() as conn:
        stored = conn.execute(text("SELECT responsible_unit FROM work_item ORDER BY key")).scalars().all()
    assert stored == [
        "urban_management",
        "urban_management",
        "gouzhao",
        "shifo",
        "planning_housing",
        "water_supply",
        "某临时专班",
    ]
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.downgrade(config, "0010")
    with engine.connect() as conn:
        back = conn.execute(text("SELECT responsible_unit FROM work_item ORDER BY key")).scalars().all()
    assert back == [
        "城市管理局",
        "城市管理局",
        "沟赵办事处",
        "石佛办事处",
        "国土规划住建局",
        "郑州自来水高新营业所",
        "某临时专班",
    ]
    upgrade(engine)
    engine.dispose()
