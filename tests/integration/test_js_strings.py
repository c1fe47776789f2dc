"""The browser scripts' strings come from the catalogues: every key a script reads is declared in
recovery/web/jsmessages.py and translated, every declared key is read, and the page carries them in its language."""

from __future__ import annotations

import json
import re

import pytest
from babel.messages.pofile import read_po
from support.accounts import login

from recovery.settings import PROJECT_ROOT
from recovery.web.jsmessages import FIELD, MAP, SCRIPTS

STATIC = PROJECT_ROOT / "recovery" / "static"
TEMPLATES = PROJECT_ROOT / "templates"
#: t("key") with a literal key
LITERAL = re.compile(r"""\bt\(\s*["'](\w+)["']""")
#: t(`prefix_${…}`): a key made from a value, e.g. an outbox entry's state
MADE = re.compile(r"""\bt\(\s*`(\w+)\$\{""")
PLACEHOLDER = re.compile(r"\{(\w+)\}")
STRINGS_BLOCK = re.compile(
    r'<script (?:id="strings" type="application/json"|type="application/json" id="strings")>(.*?)</script>',
    re.S,
)


def _sources(group: str) -> str:
    text = "\n".join(p.read_text(encoding="utf-8") for p in sorted((STATIC / group).glob("*.js")))
    if group == "field":  # the shell's static elements, filled by translateShell
        shell = (TEMPLATES / "field" / "app.html").read_text(encoding="utf-8")
        text += "\n".join(f't("{key}")' for key in re.findall(r'data-t="(\w+)"', shell))
    return text


def _used(group: str) -> tuple[set[str], set[str]]:
    text = _sources(group)
    return set(LITERAL.findall(text)), set(MADE.findall(text))


@pytest.mark.parametrize("group", sorted(SCRIPTS))
def test_every_key_a_script_reads_is_declared(group):
    literal, prefixes = _used(group)
    assert literal, f"no t(…) found in recovery/static/{group}: the scan is broken"
    assert sorted(literal - set(SCRIPTS[group])) == []
    for prefix in prefixes:
        assert any(key.startswith(prefix) for key in SCRIPTS[group]), (
            f"nothing declared for t(`{prefix}${{…}}`)"
        )


@pytest.mark.parametrize("group", sorted(SCRIPTS))
def test_every_declared_key_is_read(group):
    literal, prefixes = _used(group)
    unused = [key for key in SCRIPTS[group] if key not in literal and not key.startswith(tuple(prefixes))]
    assert unused == []


def test_the_scan_sees_literal_and_made_keys():
    text = 'h("p", {}, t("saved")); t(`st_${r.state}`); t( "where_map", { n: 1 }); tt("not_this")'
    assert set(LITERAL.findall(text)) == {"saved", "where_map"}
    assert MADE.findall(text) == ["st_"]


def test_no_script_keeps_its_own_table_of_strings():
    for path in [*(STATIC / "field").glob("*.js"), *(STATIC / "map").glob("*.js")]:
        text = path.read_text(encoding="utf-8")
        code = re.sub(r"/\*.*?\*/|//.*", "", text, flags=re.S)  # comments may quote the Chinese they mean
        assert "STRINGS" not in text and not re.search(r"[\u4e00-\u9fff]", code), path.name


@pytest.fixture(scope="module")
def chinese():
    with open(
        PROJECT_ROOT / "recovery" / "translations" / "zh_CN" / "LC_MESSAGES" / "messages.po", "rb"
    ) as f:
        return read_po(f, locale="zh_CN")


@pytest.mark.parametrize("group", sorted(SCRIPTS))
def test_every_message_has_chinese_with_the_same_placeholders(group, chinese):
    problems = []
    for key, message in SCRIPTS[group].items():
        entry = chinese.get(message)
        if entry is None or not entry.string or entry.fuzzy:
            problems.append(f"{key}: {message!r} untranslated")
        elif set(PLACEHOLDER.findall(entry.string)) != set(PLACEHOLDER.findall(message)):
            problems.append(f"{key}: {message!r} -> {entry.string!r}: placeholders differ")
    assert problems == []


def _strings(page: str) -> dict[str, str]:
    match = STRINGS_BLOCK.search(page)
    assert match, "the page carries no strings block"
    return json.loads(match.group(1))


@pytest.mark.parametrize(
    ("group", "user", "path"),
    [
        ("field", "field", "/field/"),
        ("map", "commander", "/map"),
        ("apidoc", "reporter", "/api/v1/docs"),
        ("reports", "reporter", "/reports/daily/2021-07-29"),
    ],
)
def test_the_page_carries_the_strings_in_its_language(seeded_client, chinese, group, user, path):
    login(seeded_client, user)
    messages = SCRIPTS[group]
    zh = _strings(seeded_client.get(path).get_data(as_text=True))
    assert zh == {key: chinese.get(message).string for key, message in messages.items()}
    en = _strings(seeded_client.get(path + "?lang=en").get_data(as_text=True))
    assert en == dict(messages)
    assert zh != en


def test_placeholders_reach_the_page_intact(seeded_client):
    login(seeded_client, "field")
    zh = _strings(seeded_client.get("/field/").get_data(as_text=True))
    assert zh["pending"] == "{n} 条待发送" and zh["map_chosen"] == "已选位置：{lon}, {lat}"
    assert FIELD["pending"] == "{n} pending" and MAP["draw_finish"] == "Finish the polygon"


def test_the_field_page_with_its_strings_is_cached_for_offline_use():
    """The strings travel inside the /field/ page, which the service worker stores at install."""
    sw = (STATIC / "field" / "sw.js").read_text(encoding="utf-8")
    signed_in = re.search(r"const SIGNED_IN = \[(.*?)\];", sw, re.S).group(1)
    assert '"/field/"' in signed_in


def test_enumerated_values_reach_the_field_app_from_the_vocabulary(seeded_client):
    """Attribute choices and utility statuses are labelled by the vocabulary, not by the app's strings."""
    login(seeded_client, "field")
    for query, cut, main in (("", "中断", "主干道"), ("?lang=en", "cut", "main road")):
        page = seeded_client.get("/field/" + query).get_data(as_text=True)
        match = re.search(r'<script id="field-config" type="application/json">(.*?)</script>', page, re.S)
        config = json.loads(match.group(1))
        assert config["trackStatuses"]["residential_community"]["cut"] == cut
        road = {k["key"]: k for k in config["kinds"]}["road_collapse"]["attributes"][0]
        assert {c["key"]: c["label"] for c in road["choices"]}["main"] == main
    assert not any(key.startswith(("track_", "road_class_", "river_")) for key in FIELD)
