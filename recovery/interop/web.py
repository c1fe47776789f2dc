"""The web side of interop: `GET /api/v1/export` (streamed) and the admin's import page (upload, preview, confirm)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    redirect,
    render_template,
    request,
    stream_with_context,
    url_for,
)

from recovery.db import get_session
from recovery.errors import ValidationError
from recovery.geodata import load_geodata
from recovery.i18n import current_locale, is_chinese, language
from recovery.interop import uploads
from recovery.interop.export import csv_chunks, file_name, geojson_chunks, get_format, write_file
from recovery.interop.importer import OUTCOMES, apply_import, plan_import
from recovery.interop.messages import render
from recovery.interop.readers import read_source
from recovery.interop.sniff import check_layer_name, expected_format
from recovery.kinds import KINDS, kind_label
from recovery.query.sites import SITE_FILTERS, parse_site_query
from recovery.query.sql import select_sites
from recovery.web.apidoc import operation
from recovery.web.declared import EXPORT_CONTENT, EXPORT_FORMAT, EXPORT_HEADERS
from recovery.web.limits import body_limit
from recovery.web.policy import READERS, allow

api_bp = Blueprint("interop_api", __name__, url_prefix="/api/v1")
admin_bp = Blueprint("interop_admin", __name__, url_prefix="/admin")


def _lang() -> str:
    return language(current_locale())


@api_bp.get("/export")
@operation(
    "Sites in GeoJSON, GeoPackage, zipped Shapefile, CSV, Excel or KML",
    tag="interop",
    query=(EXPORT_FORMAT, *SITE_FILTERS, EXPORT_HEADERS),
    responses={"200": {"description": "the file (GeoJSON and CSV are streamed)", "content": EXPORT_CONTENT}},
)
@allow(*READERS)
def export():
    """Every site matching the filters, in `format`; GeoJSON and CSV stream, the others are built then sent."""
    spec = get_format(request.args.get("format", "geojson"))
    site_filter = parse_site_query(request.args)
    lang = request.args.get("headers", _lang())
    if lang not in ("zh", "en"):
        raise ValidationError("headers must be zh or en.")
    records, _ = select_sites(get_session(), site_filter)
    label = (request.args.get("as_of") or "current").replace(":", "")
    headers = {"Content-Disposition": f'attachment; filename="{file_name(site_filter.kind, label, spec)}"'}
    if spec.streamed:
        chunks = (
            geojson_chunks(records, site_filter.kind)
            if spec.key == "geojson"
            else csv_chunks(records, site_filter.kind, lang)
        )
        encoded = (chunk.encode("utf-8") for chunk in chunks)
        return Response(stream_with_context(encoded), mimetype=spec.mimetype, headers=headers)
    handle, name = tempfile.mkstemp(prefix="recovery-export-", suffix=spec.suffix)
    os.close(handle)
    path = Path(name)
    try:
        write_file(records, spec.key, path, kind=site_filter.kind, lang=lang)
    except Exception:
        path.unlink(missing_ok=True)
        raise
    return Response(
        _read_then_delete(path),
        mimetype=spec.mimetype.split(";")[0],
        headers=headers | {"Content-Length": str(path.stat().st_size)},
    )


def _read_then_delete(path: Path):
    try:
        with path.open("rb") as handle:
            while chunk := handle.read(1 << 16):
                yield chunk
    finally:
        path.unlink(missing_ok=True)


# -- the admin's import page -----------------------------------------------------------------------------------


def _upload_dir() -> Path:
    folder = Path(current_app.instance_path) / "imports"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _form_class():
    from flask_wtf import FlaskForm
    from flask_wtf.file import FileField, FileRequired
    from wtforms import BooleanField, SelectField, StringField
    from wtforms.fields.choices import SelectChoice

    class ImportForm(FlaskForm):
        file = FileField(validators=[FileRequired()])
        kind = SelectField(choices=[SelectChoice("", "—")] + [SelectChoice(k, k) for k in KINDS], default="")
        crs = SelectField(
            choices=[
                SelectChoice("", "—"),
                SelectChoice("wgs84", "WGS-84"),
                SelectChoice("gcj02", "GCJ-02"),
                SelectChoice("bd09", "BD-09"),
                SelectChoice("EPSG:4547", "CGCS2000 / 3° GK CM 114E (EPSG:4547)"),
            ],
            default="",
        )
        layer = StringField(default="")
        skip_invalid = BooleanField(default=False)

    return ImportForm


def _confirm_form_class():
    from flask_wtf import FlaskForm
    from wtforms import HiddenField

    class ConfirmForm(FlaskForm):
        token = HiddenField()

    return ConfirmForm


@admin_bp.route("/import", methods=["GET", "POST"])
@body_limit("import")
@allow("admin")
def import_page():
    """Upload a file; the next page previews its rows and the validation report before anything is stored."""
    form = _form_class()()
    if request.method == "POST":
        if not form.validate_on_submit():
            raise ValidationError("Choose a file to import.")
        upload = form.file.data
        # not secure_filename: it drops Chinese (台账.csv → "csv"); the suffix is checked against a list and the
        # file is saved under a fixed name in its own folder, so the name given never reaches the file system
        name = (upload.filename or "").replace("\\", "/").rsplit("/", 1)[-1]
        expected_format(name)
        layer = form.layer.data or None
        check_layer_name(layer)
        options = {
            "kind": form.kind.data or None,
            "crs": form.crs.data or None,
            "layer": layer,
            "skip_invalid": bool(form.skip_invalid.data),
            "file_name": (name or "upload")[:200],
        }
        token = uploads.store(
            _upload_dir(),
            upload.stream,
            Path(name).suffix.lower(),
            options,
            lambda path, folder: read_source(path, layer=layer, upload=True, within=folder),
        )
        return redirect(url_for("interop_admin.preview", token=token))
    kinds = {key: kind_label(key, _lang()) for key in KINDS}
    return render_template("interop_import.html", form=form, kinds=kinds, zh=is_chinese(_lang()))


def _plan(pending: uploads.Pending):
    """The plan of a pending upload, from the rows read when it arrived (the file is not read again)."""
    options = pending.options
    return plan_import(
        get_session(),
        load_geodata(current_app.config["RECOVERY"]["GEODATA_DIR"]),
        None,
        kind=options["kind"],
        crs=options["crs"],
        file_name=options["file_name"],
        source=pending.source,
    )


@admin_bp.route("/import/<token>", methods=["GET", "POST"])
@allow("admin")
def preview(token: str):
    """GET: the preview and the report (nothing stored). POST: store it, then show the result."""
    pending = uploads.load(_upload_dir(), token)
    if pending is None:
        abort(404)
    options = pending.options
    plan = _plan(pending)
    form = _confirm_form_class()(token=token)
    lang = _lang()
    result = None
    if request.method == "POST":
        if not form.validate_on_submit():
            raise ValidationError("The form has expired; upload the file again.")
        from recovery.auth import current_account

        account = current_account()
        actor = account.username if account is not None else "admin"
        result = apply_import(
            get_session(),
            load_geodata(current_app.config["RECOVERY"]["GEODATA_DIR"]),
            plan,
            actor=actor,
            skip_invalid=options["skip_invalid"],
        )
        uploads.discard(_upload_dir(), token)
    return render_template(
        "interop_preview.html",
        plan=plan,
        options=options,
        form=form,
        result=result,
        token=token,
        outcomes={k: render(v, lang) for k, v in OUTCOMES.items()},
        render=lambda e: render(e, lang),
        zh=is_chinese(lang),
    )
