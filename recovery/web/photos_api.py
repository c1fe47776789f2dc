"""Photos: uploaded in chunks that resume after a dropped connection, checked by content, served back."""

from __future__ import annotations

import hashlib
import re

from flask import Blueprint, current_app, jsonify, request, send_file
from sqlalchemy.exc import IntegrityError

from recovery import photos, workitems
from recovery.auth import current_account
from recovery.db import get_session
from recovery.errors import NotFoundError, ValidationError
from recovery.models_accounts import Photo
from recovery.web.apidoc import IMAGE, operation
from recovery.web.declared import CONTENT_RANGE, UPLOAD_ID
from recovery.web.limits import body_limit
from recovery.web.policy import SIGNED_IN, allow
from recovery.web.site_access import (
    PHOTO_TAKERS,
    check_scope,
    photo_dict,
    photo_store,
    site_or_404,
    work_item_or_404,
)

bp = Blueprint("photos_api", __name__, url_prefix="/api/v1")
RANGE = re.compile(r"^bytes (\d+)-(\d+)/(\d+)$")


def _max_bytes() -> int:
    return current_app.config["RECOVERY"]["MAX_PHOTO_MB"] * 1024 * 1024


@bp.route("/sites/<id:site_id>/photos/<upload_id>", methods=["PUT", "POST"])
@bp.post("/sites/<id:site_id>/photos", defaults={"upload_id": None})
@body_limit("photo")  # one chunk, or a whole photo, read no further than the photo limit
@operation(
    "Upload a photo, whole or in chunks (Content-Range) that resume; the last chunk stores it",
    tag="field",
    headers=(CONTENT_RANGE, UPLOAD_ID),
    content=IMAGE,
    responses={"201": "the photo", "200": "bytes received so far"},
)
@allow(*PHOTO_TAKERS)
def upload(site_id: int, upload_id: str | None):
    """Append a chunk (`Content-Range: bytes a-b/total`) or a whole photo; the last chunk stores it."""
    site = site_or_404(site_id)
    check_scope(site)
    return _receive(upload_id, site_id=site_id)


@bp.route("/work-items/<id:item_id>/photos/<upload_id>", methods=["PUT", "POST"])
@bp.post("/work-items/<id:item_id>/photos", defaults={"upload_id": None})
@body_limit("photo")
@operation(
    "Upload a photo of a work order (for orders that concern no site), whole or in resuming chunks",
    tag="work orders",
    headers=(CONTENT_RANGE, UPLOAD_ID),
    content=IMAGE,
    responses={"201": "the photo", "200": "bytes received so far"},
)
@allow(*workitems.CONTRIBUTORS)
def upload_for_order(item_id: int, upload_id: str | None):
    """The same upload as a site's, kept with the order: a commander's, or its lead or co-unit's."""
    work_item_or_404(item_id)
    return _receive(upload_id, work_item_id=item_id)


def _receive(upload_id: str | None, *, site_id: int | None = None, work_item_id: int | None = None):
    """Append a chunk or a whole photo to the caller's upload; the last chunk stores it for its site or order."""
    session, account = get_session(), current_account()
    upload_id = upload_id or request.headers.get("Upload-Id")
    if not upload_id:
        raise ValidationError("Give the upload an id (Upload-Id header or in the address).")
    existing = photos.upload_of(session, account.id, upload_id)
    if existing is not None and existing.complete:
        return jsonify({"photo": photo_dict(existing), "received": existing.size, "complete": True})
    data = request.get_data()
    header = request.headers.get("Content-Range")
    if header:
        match = RANGE.match(header.strip())
        if not match:
            raise ValidationError("Content-Range must look like bytes 0-1023/4096.")
        start, end, total = (int(g) for g in match.groups())
        if end - start + 1 != len(data) or end >= total:
            raise ValidationError("Content-Range does not match the bytes sent.")
    else:
        start, total = 0, len(data)
    if total == 0:
        raise ValidationError("The photo is empty.")
    store = photo_store()
    # partial files are per user: two phones may pick the same upload id
    received = store.append_chunk(_store_id(account.id, upload_id), start, data, total, _max_bytes())
    if received < total:
        return jsonify({"received": received, "complete": False})
    stored = store.finish(_store_id(account.id, upload_id))
    photo = photos.add_photo(
        session, stored, upload_id=upload_id, site_id=site_id, work_item_id=work_item_id, user_id=account.id
    )
    try:
        session.commit()
    except IntegrityError:  # the same upload finished by a parallel request: its row is the answer
        session.rollback()
        photo = photos.upload_of(session, account.id, upload_id)
    response = jsonify({"photo": photo_dict(photo), "received": photo.size, "complete": True})
    response.status_code = 201
    return response


@bp.get("/sites/<id:site_id>/photos/<upload_id>")
@operation("Progress of a resumable upload", tag="field", responses={"200": "bytes received"})
@allow(*PHOTO_TAKERS)
def upload_status(site_id: int, upload_id: str):
    """How much of an upload the server has, so a client can resume where it stopped."""
    site_or_404(site_id)
    return _progress(upload_id)


@bp.get("/work-items/<id:item_id>/photos/<upload_id>")
@operation(
    "Progress of a resumable upload of a work order's photo",
    tag="work orders",
    responses={"200": "bytes received"},
)
@allow(*workitems.CONTRIBUTORS)
def order_upload_status(item_id: int, upload_id: str):
    work_item_or_404(item_id)
    return _progress(upload_id)


def _progress(upload_id: str):
    session, account = get_session(), current_account()
    photo = photos.upload_of(session, account.id, upload_id)
    if photo is not None and photo.complete:
        return jsonify({"received": photo.size, "complete": True, "photo": photo_dict(photo)})
    return jsonify({"received": photo_store().received(_store_id(account.id, upload_id)), "complete": False})


#: an upload id fits its column (`Photo.upload_id`); a longer one is refused, never cut
UPLOAD_ID_MAX = Photo.__table__.c.upload_id.type.length
UPLOAD_ID = re.compile(rf"[A-Za-z0-9_-]{{8,{UPLOAD_ID_MAX}}}")
#: the longest name of a partial upload that `PhotoStore` takes
STORE_ID_MAX = 100


def _store_id(user_id: int, upload_id: str) -> str:
    """The name of the user's partial upload in the store: the id itself when it fits the store's names, else
    its SHA-256 (after "_", where the plain form has "-"); never the id cut short, which would let two uploads
    that differ only at the end write into one file."""
    if not UPLOAD_ID.fullmatch(upload_id):
        raise ValidationError("An upload id is 8 to %(limit)s letters, digits, - or _.", limit=UPLOAD_ID_MAX)
    plain = f"u{user_id}-{upload_id}"
    if len(plain) <= STORE_ID_MAX:
        return plain
    return f"u{user_id}_{hashlib.sha256(upload_id.encode()).hexdigest()}"


def _photo(photo_id: int) -> Photo:
    photo = photos.finished_photo(get_session(), photo_id)
    if photo is None:
        raise NotFoundError("Photo %(photo)s does not exist.", photo=photo_id)
    return photo


@bp.get("/photos/<id:photo_id>")
@operation("A photo", tag="field", responses={"200": {"description": "the image", "content": IMAGE}})
@allow(*SIGNED_IN)
def photo_file(photo_id: int):
    photo = _photo(photo_id)
    return send_file(photo_store().locate(photo.path), mimetype=photo.content_type, max_age=86400)


@bp.get("/photos/<id:photo_id>/thumb")
@operation(
    "A photo's thumbnail", tag="field", responses={"200": {"description": "the thumbnail", "content": IMAGE}}
)
@allow(*SIGNED_IN)
def photo_thumb(photo_id: int):
    photo = _photo(photo_id)
    store = photo_store()
    return send_file(store.thumbnail(store.locate(photo.path)), mimetype="image/jpeg", max_age=86400)
