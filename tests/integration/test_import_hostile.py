"""Hostile imports: a file is opened only with the reader its content calls for, only when its name agrees, never
through GDAL's indirections (VRT, VirtualOGR, /vsicurl/ and the other network file systems, /vsizip/ paths in a
layer), and nothing is read, stored or fetched. Each file goes through the web import (/admin/import) and the
command line, on both databases; a tiny local HTTP server records whether anything tried to reach it."""

from __future__ import annotations

import http.server
import io
import json
import os
import sqlite3
import stat
import threading
import zipfile
from pathlib import Path

import geopandas as gpd
import pyogrio
import pytest
import shapely
from support.accounts import csrf_token, login
from support.databases import app_fingerprint

from recovery.errors import ValidationError
from recovery.interop import gdal
from recovery.interop.readers import read_source

A = (113.565305, 34.880557)  # inside the zone


@pytest.fixture
def listener():
    """A local HTTP server on a free port; `hits` lists every request it received."""
    hits: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            hits.append(self.path)
            self.send_response(404)
            self.end_headers()

        do_HEAD = do_GET

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", hits
    server.shutdown()
    server.server_close()
    thread.join()


@pytest.fixture
def victim(tmp_path) -> Path:
    """A SQLite database with a users table: what a VRT would select from."""
    path = tmp_path / "victim.sqlite3"
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE users (username TEXT, password_hash TEXT)")
        db.execute("INSERT INTO users VALUES ('admin', 'pbkdf2:sha256:SECRET-HASH')")
    return path


def _vrt(source: str, sql: str | None = None) -> bytes:
    inner = f"<SrcSQL>{sql}</SrcSQL>" if sql else "<SrcLayer>x</SrcLayer>"
    return (
        f'<OGRVRTDataSource><OGRVRTLayer name="u"><SrcDataSource>{source}</SrcDataSource>{inner}'
        "</OGRVRTLayer></OGRVRTDataSource>"
    ).encode()


def _zip(members: dict[str, bytes], symlinks: dict[str, str] | None = None) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
        for name, target in (symlinks or {}).items():
            info = zipfile.ZipInfo(name)
            info.external_attr = (stat.S_IFLNK | 0o777) << 16
            archive.writestr(info, target)
    return buffer.getvalue()


def _shapefile(tmp_path: Path) -> dict[str, bytes]:
    frame = gpd.GeoDataFrame({"name": ["x"]}, geometry=[shapely.Point(*A)], crs=4326)
    folder = tmp_path / "shp"
    folder.mkdir(exist_ok=True)
    pyogrio.write_dataframe(frame, folder / "sites.shp", driver="ESRI Shapefile")
    return {p.name: p.read_bytes() for p in folder.iterdir()}


def _virtual_ogr_gpkg(tmp_path: Path, target: Path) -> bytes:
    """A real GeoPackage with one more table: a VirtualOGR table reading `target`."""
    path = tmp_path / "evil.gpkg"
    frame = gpd.GeoDataFrame({"名称": ["x"]}, geometry=[shapely.Point(*A)], crs=4326)
    pyogrio.write_dataframe(frame, path, driver="GPKG", layer="sites")
    db = sqlite3.connect(path)
    db.execute("PRAGMA writable_schema=ON")
    db.execute(
        "INSERT INTO sqlite_master (type, name, tbl_name, rootpage, sql) VALUES ('table', 'users', 'users', 0, ?)",
        (f"CREATE VIRTUAL TABLE users USING VirtualOGR('{target}')",),
    )
    db.commit()
    db.close()
    return path.read_bytes()


def hostile_files(tmp_path: Path, victim: Path, url: str) -> dict[str, tuple[str, bytes, dict]]:
    """name: (file name, content, extra form fields / CLI options). Every one must be refused."""
    users = _vrt(str(victim), "SELECT username, password_hash FROM users")
    curl = _vrt(f"/vsicurl/{url}/remote.geojson")
    shp = _shapefile(tmp_path)
    files = {
        **{f"vrt-users-as-{s}": (f"sites.{s}", users, {}) for s in ("geojson", "json", "kml", "gpkg", "csv")},
        **{f"vrt-vsicurl-as-{s}": (f"sites.{s}", curl, {}) for s in ("geojson", "json", "kml", "csv", "txt")},
        "vrt-vsicurl-as-xlsx": ("sites.xlsx", curl, {}),
        "sqlite-not-geopackage": ("sites.gpkg", victim.read_bytes(), {}),
        "geopackage-with-virtualogr": ("sites.gpkg", _virtual_ogr_gpkg(tmp_path, victim), {}),
        "zip-holding-only-a-vrt": ("sites.zip", _zip({"layers.vrt": users}), {}),
        "zip-holding-a-vrt-named-geojson": ("sites.zip", _zip({"sites.geojson": curl}), {}),
        "kmz-holding-a-vrt-named-kml": ("sites.kmz", _zip({"doc.kml": users}), {}),
        "zip-with-a-symlink": (
            "sites.zip",
            _zip({k: v for k, v in shp.items() if not k.endswith(".dbf")}, {"sites.dbf": str(victim)}),
            {},
        ),
        "zip-with-a-symlink-to-a-folder": ("sites.zip", _zip({"a.csv": b"x\n1\n"}, {"up": "/"}), {}),
        "shapefile-named-geojson": ("sites.geojson", shp["sites.shp"], {}),
        "xlsx-that-is-a-plain-zip": ("sites.xlsx", _zip({"sites.csv": b"a\n1\n"}), {}),
        "json-array": ("sites.json", b'[{"type": "Feature"}]', {}),
        "kml-with-an-entity": (
            "sites.kml",
            f'<?xml version="1.0"?><!DOCTYPE kml [<!ENTITY x SYSTEM "{url}/entity">]><kml>&x;</kml>'.encode(),
            {},
        ),
        "gdal-xml-as-kml": (
            "sites.kml",
            f"<GDAL_WMS><Service><ServerUrl>{url}</ServerUrl></Service></GDAL_WMS>".encode(),
            {},
        ),
        "layer-is-a-vsizip-path": ("sites.zip", _zip(shp), {"layer": "/vsizip//etc/sites.zip/sites.shp"}),
        "layer-is-a-vsicurl-url": ("sites.geojson", _geojson(), {"layer": f"/vsicurl/{url}/x.geojson"}),
        "layer-is-an-absolute-path": ("sites.gpkg", _gpkg(tmp_path), {"layer": str(victim)}),
        "layer-climbs-out": ("sites.zip", _zip(shp), {"layer": "../../sites"}),
    }
    return files


def _geojson() -> bytes:
    feature = {
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": list(A)},
        "properties": {"编号": "RC-J1", "名称": "科学大道塌陷", "状态": "已上报", "道路等级": "main"},
    }
    return json.dumps({"type": "FeatureCollection", "features": [feature]}, ensure_ascii=False).encode()


def _gpkg(tmp_path: Path) -> bytes:
    path = tmp_path / "plain.gpkg"
    frame = gpd.GeoDataFrame({"名称": ["x"]}, geometry=[shapely.Point(*A)], crs=4326)
    pyogrio.write_dataframe(frame, path, driver="GPKG", layer="sites")
    return path.read_bytes()


CASES = [
    *(f"vrt-users-as-{s}" for s in ("geojson", "json", "kml", "gpkg", "csv")),
    *(f"vrt-vsicurl-as-{s}" for s in ("geojson", "json", "kml", "csv", "txt")),
    "vrt-vsicurl-as-xlsx",
    "sqlite-not-geopackage",
    "geopackage-with-virtualogr",
    "zip-holding-only-a-vrt",
    "zip-holding-a-vrt-named-geojson",
    "kmz-holding-a-vrt-named-kml",
    "zip-with-a-symlink",
    "zip-with-a-symlink-to-a-folder",
    "shapefile-named-geojson",
    "xlsx-that-is-a-plain-zip",
    "json-array",
    "kml-with-an-entity",
    "gdal-xml-as-kml",
    "layer-is-a-vsizip-path",
    "layer-is-a-vsicurl-url",
    "layer-is-an-absolute-path",
    "layer-climbs-out",
]


def _post(client, name: str, content: bytes, **fields):
    token = csrf_token(client.get("/admin/import").get_data(as_text=True))
    data = {"csrf_token": token, "kind": "road_collapse", "file": (io.BytesIO(content), name)} | fields
    return client.post("/admin/import", data=data, content_type="multipart/form-data")


def _pending_uploads(app) -> list[Path]:
    folder = Path(app.instance_path) / "imports"
    return sorted(folder.iterdir()) if folder.exists() else []


@pytest.mark.parametrize("case", CASES)
def test_hostile_upload_is_a_400_and_nothing_is_read_stored_or_fetched(
    app, client, tmp_path, victim, listener, case
):
    url, hits = listener
    name, content, fields = hostile_files(tmp_path, victim, url)[case]
    login(client, "admin")
    before = app_fingerprint(app)
    pending = _pending_uploads(app)
    response = _post(client, name, content, **fields)
    assert response.status_code == 400, response.get_data(as_text=True)[:500]
    page = response.get_data(as_text=True)
    assert "SECRET-HASH" not in page and "password_hash" not in page
    assert hits == []
    assert app_fingerprint(app) == before
    assert _pending_uploads(app) == pending  # nothing kept of a refused upload


@pytest.mark.parametrize("case", CASES)
def test_hostile_file_on_the_command_line_is_refused(app, runner, tmp_path, victim, listener, case):
    url, hits = listener
    name, content, fields = hostile_files(tmp_path, victim, url)[case]
    folder = tmp_path / "cli"
    folder.mkdir()
    path = folder / name
    path.write_bytes(content)
    before = app_fingerprint(app)
    options = [f"--{k}={v}" for k, v in fields.items()]
    result = runner.invoke(args=["import", str(path), "--kind", "road_collapse", "--lang", "en", *options])
    assert result.exit_code == 2, result.output
    assert "error" in result.output and "SECRET-HASH" not in result.output
    assert hits == []
    assert app_fingerprint(app) == before


def test_a_vrt_naming_the_live_database_leaves_its_wal_and_shm_alone(app, client, db_url):
    """The audit's case: a VRT selecting from the server's own SQLite file. Refused before GDAL sees it, so its
    -wal and -shm files stay the same files and a committed change stays."""
    if not db_url.startswith("sqlite"):
        pytest.skip("the live database is a file on SQLite only")
    database = Path(db_url.removeprefix("sqlite:///"))
    login(client, "admin")
    companions = [Path(f"{database}-wal"), Path(f"{database}-shm")]
    assert all(p.exists() for p in companions)  # the app holds the database open in WAL mode
    before = {p: os.stat(p).st_ino for p in companions}
    vrt = _vrt(str(database), "SELECT * FROM sqlite_master")
    for name in ("sites.geojson", "sites.kml", "sites.gpkg"):
        assert _post(client, name, vrt).status_code == 400
    assert {p: os.stat(p).st_ino for p in companions} == before
    # the server still writes and reads: a real import goes through and stays
    response = _post(client, "sites.json", _geojson())
    assert response.status_code == 302
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert client.post(response.headers["Location"], data={"csrf_token": csrf_token(page)}).status_code == 200
    with sqlite3.connect(f"file:{database}?mode=ro", uri=True) as db:
        assert db.execute("SELECT count(*) FROM site WHERE key = 'RC-J1'").fetchone() == (1,)
    assert {p: os.stat(p).st_ino for p in companions if p.exists()} == {
        p: i for p, i in before.items() if p.exists()
    }


def test_gdal_is_locked_down_to_the_import_drivers_and_no_network(tmp_path, listener):
    url, hits = listener
    gdal.lock_down()
    assert gdal.registered_drivers() == sorted(gdal.KEPT_DRIVERS)
    (tmp_path / "x.vrt").write_bytes(_vrt(f"/vsicurl/{url}/a.geojson"))
    for path in (
        f"/vsicurl/{url}/a.geojson",
        f"/vsicurl?url={url}/b.geojson",
        f"{url}/c.geojson",
        f"/vsicurl_streaming/{url}/d.geojson",
        str(tmp_path / "x.vrt"),
    ):
        with pytest.raises(pyogrio.errors.DataSourceError):
            pyogrio.read_dataframe(path)
    assert hits == []


def test_kml_links_are_not_followed(session, geodata, tmp_path, listener):
    """A KML may name other documents (NetworkLink, an external style): the import reads its own placemarks and
    fetches nothing."""
    url, hits = listener
    path = tmp_path / "sites.kml"
    path.write_text(
        '<?xml version="1.0" encoding="UTF-8"?><kml xmlns="http://www.opengis.net/kml/2.2"><Document>'
        f"<NetworkLink><Link><href>{url}/more.kml</href></Link></NetworkLink>"
        f"<Placemark><name>科学大道塌陷</name><styleUrl>{url}/style.kml#s</styleUrl>"
        f"<Point><coordinates>{A[0]},{A[1]}</coordinates></Point></Placemark></Document></kml>",
        encoding="utf-8",
    )
    source = read_source(path)
    assert "科学大道塌陷" in set(source.frame["Name"])
    assert hits == []


@pytest.mark.parametrize(
    "layer", ["/vsizip/x.zip/a.shp", "/etc/passwd", "C:\\data\\a.shp", "../a", "/vsicurl/http://x/"]
)
def test_a_layer_that_looks_like_a_path_is_refused_before_reading(tmp_path, layer, monkeypatch):
    path = tmp_path / "sites.geojson"
    path.write_bytes(_geojson())
    monkeypatch.setattr(pyogrio, "read_dataframe", _never)
    with pytest.raises(ValidationError, match="looks like a path"):
        read_source(path, layer=layer)


def test_a_file_outside_the_upload_folder_or_a_virtual_path_is_refused(tmp_path):
    folder = tmp_path / "upload"
    folder.mkdir()
    outside = tmp_path / "sites.geojson"
    outside.write_bytes(_geojson())
    (folder / "link.geojson").symlink_to(outside)
    with pytest.raises(ValidationError, match="outside the upload folder"):
        read_source(folder / "link.geojson", within=folder)
    with pytest.raises(ValidationError, match="not a local file"):
        read_source(Path("/vsizip/") / outside.relative_to("/"))


def _never(*args, **kwargs):
    raise AssertionError("the reader was called")


def test_kml_folders_are_read_as_one_whatever_their_names(tmp_path, listener):
    """A KML's folders are read in one SQL query on the file itself; a folder named like another data source
    (a path, a quoted `"db"."table"`) stays a name."""
    url, hits = listener
    names = ["/etc/passwd", f'x"."/vsicurl/{url}/a.geojson', "普通"]
    folders = "".join(
        f"<Folder><name>{name.replace('&', '&amp;').replace('<', '&lt;')}</name><Placemark><name>p{i}</name>"
        f"<Point><coordinates>{A[0]},{A[1]}</coordinates></Point></Placemark></Folder>"
        for i, name in enumerate(names)
    )
    path = tmp_path / "folders.kml"
    path.write_text(
        f'<?xml version="1.0" encoding="UTF-8"?><kml xmlns="http://www.opengis.net/kml/2.2"><Document>{folders}'
        "</Document></kml>",
        encoding="utf-8",
    )
    source = read_source(path)
    assert sorted(source.frame["Name"]) == ["p0", "p1", "p2"]
    assert source.layers == names
    assert hits == []
