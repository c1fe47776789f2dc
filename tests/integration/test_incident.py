"""One incident definition: the 7·20 flood as the shipped default, another one from a file driving the date
window, the dashboard's charts and date control, the report's title and source; bad files refused at start-up."""

from __future__ import annotations

import json
import re
from datetime import date

import pytest
from support.accounts import login

from recovery import create_app
from recovery.errors import ConfigError
from recovery.incident import DEFAULT, current_incident, load_incident

#: another incident, in another year, across New Year, with another deadline
ICE_STORM = """
key = "ice-storm-2023"
first_day = 2023-12-28
window_start = 2023-12-20
name = { zh = "12·28 冰冻灾害", en = "12·28 ice storm" }
zone = { zh = "某某新区", en = "Some New District" }
office = { zh = "新区应急指挥部", en = "New District emergency command" }
report_title = { zh = "某某新区冰冻灾害恢复日报", en = "Some New District ice storm recovery daily report" }
source = { zh = "新区应急指挥部 恢复跟踪系统", en = "New District emergency command, recovery tracker" }
[deadlines]
roads = 2024-01-10
"""


def _ticks(svg: str) -> list[str]:
    return re.findall(r'class="tick"[^>]*>([^<]*月[^<]*)</text>', svg)


@pytest.fixture
def ice_storm_file(tmp_path):
    path = tmp_path / "ice-storm.toml"
    path.write_text(ICE_STORM, encoding="utf-8")
    return path


@pytest.fixture
def ice_storm_app(db_url, tmp_path, ice_storm_file):
    app = create_app(
        {
            "DATABASE_URL": db_url,
            "TESTING": True,
            "SECURE_COOKIES": False,
            "PHOTO_DIR": str(tmp_path / "photos"),
            "INCIDENT": str(ice_storm_file),
        }
    )
    yield app
    app.extensions["recovery.engine"].dispose()


def test_the_shipped_default_is_the_7_20_flood(app):
    with app.app_context():
        incident = current_incident()
    assert incident is DEFAULT
    assert (incident.first_day, incident.road_deadline, incident.window_start) == (
        date(2021, 7, 20),
        date(2021, 8, 15),
        date(2021, 7, 1),
    )
    assert incident.report_title.get("zh_CN") == "郑州高新区灾后恢复重建日报"
    assert incident.source.zh == "郑州高新区智慧运营中心 灾后恢复重建跟踪系统(由事件台账计算)"


def test_the_default_report_keeps_its_title_and_source(seeded_client):
    from support.accounts import auth

    text = seeded_client.get("/reports/daily/2021-07-29.md", headers=auth("commander")).get_data(as_text=True)
    assert text.startswith("# 高新区灾后恢复重建日报 2021-07-29\n")
    assert text.rstrip().endswith("来源:郑州高新区智慧运营中心 灾后恢复重建跟踪系统(由事件台账计算)")


def test_a_toml_and_a_json_file_define_the_same_incident(ice_storm_file, tmp_path):
    import tomllib

    data = tomllib.loads(ICE_STORM)
    as_json = tmp_path / "ice-storm.json"
    as_json.write_text(
        json.dumps(data, default=lambda d: d.isoformat(), ensure_ascii=False), encoding="utf-8"
    )
    incident = load_incident(ice_storm_file)
    assert load_incident(as_json) == incident
    assert incident.first_day == date(2023, 12, 28) and incident.road_deadline == date(2024, 1, 10)
    assert incident.heading == incident.report_title  # no short title: the Markdown heading is the title


def test_another_incident_sets_the_window_every_date_is_checked_against(ice_storm_app):
    from recovery.timeutil import query_window

    with ice_storm_app.app_context():
        assert query_window()[0] == date(2023, 12, 20)
    client = ice_storm_app.test_client()
    login(client, "commander")
    assert client.get("/?date=2023-12-20").status_code == 200
    refused = client.get("/?date=2021-07-29")  # the flood's days are outside this incident's window
    assert refused.status_code == 400 and "2023-12-20" in refused.get_data(as_text=True)


def test_another_incident_drives_the_dashboard(ice_storm_app):
    client = ice_storm_app.test_client()
    login(client, "commander")
    html = client.get("/?date=2024-01-05").get_data(as_text=True)
    assert 'min="2023-12-20"' in html  # the date control starts at the incident's window
    assert "12·28 冰冻灾害 · 某某新区" in html and "7·20" not in html
    charts = re.findall(r"<svg.*?</svg>", html, re.S)
    assert len(charts) == 2
    for svg in charts:
        ticks = _ticks(svg)
        # the axis starts on the incident's first day and crosses New Year: each year named where it starts
        assert ticks[0] == "2023年12月28日"
        assert [t for t in ticks if "年" in t] == ["2023年12月28日", next(t for t in ticks if "2024年" in t)]
    assert "2024年1月10日节点" in charts[0]  # the deadline marker: the incident's, with its year
    assert "8月15日" not in html


def test_another_incident_titles_the_report_and_its_files(ice_storm_app):
    from support.accounts import auth

    client = ice_storm_app.test_client()
    login(client, "commander")
    page = client.get("/reports/daily/2024-01-05?view=draft").get_data(as_text=True)
    assert "<h1>某某新区冰冻灾害恢复日报</h1>" in page and "郑州" not in page
    assert "2024年1月5日" in page  # the day carries its year: the incident crosses one
    md = client.get("/reports/daily/2024-01-05.md", headers=auth("commander")).get_data(as_text=True)
    assert md.startswith("# 某某新区冰冻灾害恢复日报 2024-01-05\n")
    assert "来源:新区应急指挥部 恢复跟踪系统" in md
    english = client.get("/reports/daily/2024-01-05?view=draft&lang=en").get_data(as_text=True)
    assert "<h1>Some New District ice storm recovery daily report</h1>" in english


def test_another_incident_titles_the_ogc_service_and_the_api_documents(ice_storm_app, app):
    """The GIS client's landing page and both OpenAPI documents are titled by the incident in force."""
    from support.accounts import auth

    ice, flood, reader = ice_storm_app.test_client(), app.test_client(), auth("reporter")

    def get(client, url):
        response = client.get(url, headers=reader)
        assert response.status_code == 200, url
        return response.get_json()

    landing = get(ice, "/ogc?f=json")
    assert landing["title"] == "12·28 冰冻灾害 灾后恢复点位" and "某某新区" in landing["description"]
    english = get(ice, "/ogc?f=json&lang=en")
    assert (
        english["title"] == "12·28 ice storm: recovery sites"
        and "Some New District" in english["description"]
    )
    assert get(flood, "/ogc?f=json")["title"] == "7·20 特大暴雨 灾后恢复点位"
    info = get(ice, "/ogc/api")["info"]
    assert info["title"].startswith("12·28 ice storm recovery sites") and "7·20" not in json.dumps(info)
    title = get(ice, "/api/v1/openapi.json")["info"]["title"]
    assert "某某新区12·28 冰冻灾害" in title and "7·20" not in title
    assert "郑州高新区7·20 特大暴雨" in get(flood, "/api/v1/openapi.json")["info"]["title"]
    assert "某某新区12·28 冰冻灾害" in title and "7·20" not in title
    assert "郑州高新区7·20 特大暴雨" in flood.get("/api/v1/openapi.json").get_json()["info"]["title"]


@pytest.mark.parametrize(
    ("change", "fault"),
    [
        (
            lambda t: t.replace("roads = 2024-01-10", "roads = 2023-12-01"),
            "deadlines.roads 2023-12-01 is before",
        ),
        (
            lambda t: t.replace("[deadlines]\nroads = 2024-01-10", "[deadlines]\nbridges = 2024-01-10"),
            "roads",
        ),
        (lambda t: t.replace("first_day = 2023-12-28", "first_day = 2023-13-28"), "not valid toml"),
        (
            lambda t: t.replace('key = "ice-storm-2023"', 'key = "x"\ncolour = "red"'),
            "unknown field(s) colour",
        ),
        (lambda t: t.replace('en = "12·28 ice storm"', 'en = ""'), "name: expected"),
        (lambda t: 'time_zone = "Europe/Paris"\n' + t, "only Asia/Shanghai"),
        (lambda t: t.replace("window_start = 2023-12-20", "window_start = 2024-01-01"), "window_start"),
    ],
)
def test_a_bad_incident_file_stops_the_start_up_saying_what_is_wrong(db_url, tmp_path, change, fault):
    path = tmp_path / "bad.toml"
    path.write_text(change(ICE_STORM), encoding="utf-8")
    with pytest.raises(ConfigError, match=re.escape(fault)) as caught:
        create_app({"DATABASE_URL": db_url, "TESTING": True, "INCIDENT": str(path)})
    assert "RECOVERY_INCIDENT" in str(caught.value) and str(path) in str(caught.value)


def test_a_missing_incident_file_stops_the_start_up(tmp_path, monkeypatch):
    monkeypatch.setenv("RECOVERY_INCIDENT", str(tmp_path / "nowhere.toml"))
    with pytest.raises(ConfigError, match="RECOVERY_INCIDENT.*cannot be read"):
        create_app({"TESTING": True})


def test_the_map_s_date_control_follows_the_incident(ice_storm_app):
    client = ice_storm_app.test_client()
    login(client, "commander")
    html = client.get("/map").get_data(as_text=True)
    assert 'id="date" name="date" min="2023-12-20"' in html
    assert '"firstDay": "2023-12-20"' in html or '"firstDay":"2023-12-20"' in html


def test_a_configured_last_day_ends_the_span_and_the_chart_says_so(ice_storm_file):
    """With last_day set, a chart for a later day keeps the span to it and says where it ends, with its year
    (the span crosses New Year)."""
    from recovery.charts import Line, chart

    text = ice_storm_file.read_text(encoding="utf-8").replace(
        "window_start = 2023-12-20", "window_start = 2023-12-20\nlast_day = 2024-01-20"
    )
    ice_storm_file.write_text(text, encoding="utf-8")
    incident = load_incident(ice_storm_file)
    assert incident.last_day == date(2024, 1, 20) and incident.crosses_year()
    first = incident.first_day
    far = date(2024, 6, 30)
    points = [(first, 10.0), (date(2024, 3, 1), 5.0), (far, 5.0)]  # still changing after the last day
    svg = chart(
        "t", start=first, end=far, y_max=10, lines=[Line("a", points, "#000")], span_end=incident.last_day
    )
    assert 'class="axis-break"' in svg
    note = re.search(r'class="span-note"[^>]*>([^<]*)</text>', svg).group(1)
    assert note.endswith("2024年1月20日")  # "Data until …" (数据截至… in Chinese pages)
    assert _ticks(svg)[-1].endswith("6月30日")  # the far end, past the break
    without = chart("t", start=first, end=far, y_max=10, lines=[Line("a", points, "#000")])
    # without a last day the span runs to the series' last change
    assert re.search(r'class="span-note"[^>]*>([^<]*)</text>', without).group(1).endswith("2024年3月1日")
