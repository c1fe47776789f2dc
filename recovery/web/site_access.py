"""What the API's views share when a request acts on a site: its JSON body, the site it names, whether the caller
may change it, and the site's photos as the API shows them. No routes: views import this, never each other."""

from __future__ import annotations

from pathlib import Path

from flask import current_app, request, url_for

from recovery import jsondoc, photos, scope, workitems
from recovery.auth import current_account
from recovery.db import get_session
from recovery.errors import NotFoundError, ValidationError
from recovery.models import Site, WorkItem
from recovery.models_accounts import Attachment, Photo
from recovery.query.site import find_site
from recovery.timeutil import zone_iso
from recovery.web.policy import Forbidden
from recovery.workitems_read import find_item

#: the roles that record changes to sites
WRITERS = ("field", "commander", "admin")
#: the roles that upload photos: the writers, and a responsible unit's staff for the sites of their orders
PHOTO_TAKERS = (*WRITERS, "unit")
#: the most photos one change may carry
MAX_EVENT_PHOTOS = 20


def json_body() -> dict:
    # the body is bounded while it is read (recovery.web.limits): over the route's limit this raises a 413
    raw = request.get_data(cache=True)
    # parsed by the one parser of outside JSON: too deep, NaN, huge numbers, NUL, lone surrogates are 400s
    body = jsondoc.loads(raw) if request.is_json else None
    if not isinstance(body, dict):
        raise ValidationError("The body must be a JSON object.")
    return body


def site_or_404(site_id: int) -> Site:
    site = find_site(get_session(), site_id)
    if site is None:
        raise NotFoundError("Site %(site)s does not exist.", site=site_id)
    return site


def check_scope(site: Site) -> None:
    account = current_account()
    if account.role == "unit":
        # a unit's staff photograph the sites their unit's work orders concern (the order's step carries them)
        from recovery.workitems_read import unit_concerns_site

        if not unit_concerns_site(get_session(), account.unit, site.id):
            raise Forbidden("This site is outside your scope.")
        return
    if not scope.may_change(account, site):
        raise Forbidden("This site is outside your scope.")


def work_item_or_404(item_id: int) -> WorkItem:
    """The work order a request names: 404 when there is none, 403 when it is another unit's."""
    item = find_item(get_session(), item_id)
    if item is None:
        raise NotFoundError("Work item %(item)s does not exist.", item=item_id)
    if not workitems.may_read(current_account(), item):
        raise Forbidden("This work order belongs to another unit.")
    return item


def photo_store() -> photos.PhotoStore:
    """The app's photo folder (attachments of work orders are kept there too)."""
    settings = current_app.config["RECOVERY"]
    return photos.PhotoStore(Path(settings["PHOTO_DIR"] or Path(current_app.instance_path) / "photos"))


def attachment_dict(row: Attachment) -> dict:
    """A work order's attachment as the API and the order page show it."""
    return {
        "id": row.id,
        "name": row.name,
        "content_type": row.content_type,
        "size": row.size,
        "created_at": zone_iso(row.created_at),
        "url": url_for("workitems_api.attachment_file", item_id=row.work_item_id, attachment_id=row.id),
    }


def photo_dict(photo: Photo) -> dict:
    return {
        "id": photo.id,
        "upload_id": photo.upload_id,
        "content_type": photo.content_type,
        "width": photo.width,
        "height": photo.height,
        "size": photo.size,
        "created_at": zone_iso(photo.created_at),
        "url": url_for("photos_api.photo_file", photo_id=photo.id),
        "thumb_url": url_for("photos_api.photo_thumb", photo_id=photo.id),
    }


def photos_of(session, site_id: int) -> list[dict]:
    return [photo_dict(p) for p in photos.site_photos(session, site_id)]
