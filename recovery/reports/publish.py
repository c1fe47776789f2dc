"""Publishing a day's report: freeze its figures at a record-time cutoff, hash them, and find the corrections
that events recorded later (but valid before the day's end) would make."""

from __future__ import annotations

import hashlib
import json
from datetime import date

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from recovery.errors import NotFoundError, PreconditionFailed, ValidationError
from recovery.metrics.compute import cube_at, evaluate_all
from recovery.models import Event, Site
from recovery.models_accounts import User
from recovery.numbers import read_whole_number
from recovery.reports.build import build_report, canonical_json
from recovery.reports.frozen import freeze
from recovery.reports.models import PublishedReport
from recovery.timeutil import end_of_day, now, zone_iso
from recovery.vocab import label


def publish(
    session: Session, day: date, username: str, locale: str = "zh", shown_as: str | None = None
) -> PublishedReport:
    """Freeze the report of `day` as known now: the figures are computed with known_at = the cutoff, and every
    file (.json, .txt, .md, .xlsx, .geojson) is stored as rendered then, so a later fetch of the same version
    returns the same bytes. `username` is kept for the audit; the publication names the publisher `shown_as`
    (a display name), since it is public."""
    cutoff = now()
    payload = build_report(session, day, known_at=cutoff, locale=locale)
    version = (
        session.scalar(
            select(func.max(PublishedReport.version)).where(PublishedReport.day == day.isoformat())
        )
        or 0
    ) + 1
    payload["published"] = {"version": version, "cutoff": zone_iso(cutoff), "by": shown_as or username}
    content = canonical_json(payload)
    report = PublishedReport(
        day=day.isoformat(),
        version=version,
        cutoff=cutoff,
        published_at=cutoff,
        published_by=username,
        sha256=hashlib.sha256(content).hexdigest(),
        content=content.decode(),
    )
    session.add(report)
    session.flush()
    freeze(session, report, payload)  # the files too, in the same transaction: all of it or nothing
    session.commit()
    return report


def publish_reviewed(
    session: Session, day: date, version: int, username: str, locale: str = "zh", shown_as: str | None = None
) -> tuple[PublishedReport, bool]:
    """Publish `day` as the reviewer confirmed it: as version `version`, the one the review announced. A second
    confirmation of the same review (a double click, a resent form) replays the version it made, never a
    duplicate; a review overtaken by another publication is refused. Returns the report and whether it is new."""
    current = latest(session, day)
    made = current.version if current else 0
    if version <= made:
        previous = get_version(session, day, version)
        if previous.published_by == username:
            return previous, False
    if version != made + 1:
        raise PreconditionFailed(
            "Version %(version)s of %(day)s was published meanwhile; review the report again.",
            version=version,
            day=day.isoformat(),
        )
    return publish(session, day, username, locale, shown_as), True


def public_name(display_name: str, role: str, locale: str) -> str:
    """How a publisher is named in public: the display name, else the role's label; never the login name."""
    return display_name.strip() or label("role", role, locale) or ""


def publisher_names(session: Session, reports: list[PublishedReport], locale: str) -> dict[str, str]:
    """Each publisher's public name by login name (a removed account: a dash)."""
    usernames = {r.published_by for r in reports}
    users = session.execute(
        select(User.username, User.display_name, User.role).where(User.username.in_(usernames))
    ).all()
    names = {u.username: public_name(u.display_name, u.role, locale) for u in users}
    return {name: names.get(name, "—") for name in usernames}


def latest(session: Session, day: date) -> PublishedReport | None:
    return session.scalars(
        select(PublishedReport)
        .where(PublishedReport.day == day.isoformat())
        .order_by(PublishedReport.version.desc())
        .limit(1)
    ).first()


def select_version(session: Session, day: date, version: str) -> PublishedReport:
    """A publication chosen by a request: `latest` or a version number."""
    if version == "latest":
        report = latest(session, day)
        if report is None:
            raise NotFoundError("No published report for %(day)s.", day=day.isoformat())
        return report
    number = read_whole_number(version)
    if number is None:
        raise ValidationError("version must be a number or latest.")
    return get_version(session, day, number)


def get_version(session: Session, day: date, version: int) -> PublishedReport:
    report = session.scalars(
        select(PublishedReport).where(
            PublishedReport.day == day.isoformat(), PublishedReport.version == version
        )
    ).first()
    if report is None:
        raise NotFoundError(
            "No published report for %(day)s, version %(version)s.", day=day.isoformat(), version=version
        )
    return report


def all_published(session: Session, limit: int = 200) -> list[PublishedReport]:
    return list(
        session.scalars(
            select(PublishedReport)
            .order_by(PublishedReport.published_at.desc(), PublishedReport.id.desc())
            .limit(limit)
        )
    )


def payload_of(report: PublishedReport) -> dict:
    return json.loads(report.content)


def corrections(session: Session, report: PublishedReport) -> list[dict]:
    """Each figure that differs now from the published one, by how much, and the late events that caused it:
    the events with valid_at before the day's end and recorded_at after the cutoff."""
    day = date.fromisoformat(report.day)
    published = {f["key"]: f for f in payload_of(report)["figures"]}
    late = session.execute(
        select(Event, Site.key, Site.name, Site.kind)
        .outerjoin(Site, Site.id == Event.site_id)
        .where(Event.valid_at < end_of_day(day), Event.recorded_at > report.cutoff)
        .order_by(Event.recorded_at, Event.id)
    ).all()
    if not late:
        return []
    current = evaluate_all(cube_at(session, end_of_day(day), None, use_rollup=False))
    causes = [
        {
            "id": event.id,
            "site_key": key,
            "site_name": name,
            "kind": kind,
            "action": event.action,
            "from_status": event.from_status,
            "to_status": event.to_status,
            "measures": event.measures,
            "valid_at": zone_iso(event.valid_at),
            "recorded_at": zone_iso(event.recorded_at),
            "actor": event.actor,
        }
        for event, key, name, kind in late
    ]
    out = []
    for key, figure in current.items():
        before = published.get(key)
        if before is None or figure.printed == before["printed"]:
            continue
        kinds = {figure.metric.numerator.kind} | (
            {figure.metric.denominator.kind} if figure.metric.denominator else set()
        )
        percent = figure.metric.percent
        delta = None
        if figure.value is not None and before["value"] is not None:
            delta = round((figure.value - before["value"]) * (100 if percent else 1), figure.metric.precision)
        out.append(
            {
                "key": key,
                "label": before["label"],
                "published": before["printed"],
                "now": figure.printed,
                "delta": delta,
                "delta_printed": "—" if delta is None else f"{delta:+.{figure.metric.precision}f}",
                "unit": before["unit"],
                "events": [c for c in causes if c["kind"] in kinds],
            }
        )
    return out
