"""The Atom feed (RFC 4287) of published daily reports, so newsrooms can subscribe."""

from __future__ import annotations

import json
from collections.abc import Callable
from xml.etree import ElementTree as ET

from recovery.incident import current_incident
from recovery.reports.models import PublishedReport
from recovery.timeutil import now, zone_iso

ATOM = "http://www.w3.org/2005/Atom"
#: the feed's id when its address is relative (no public URL set): an Atom id must be an absolute IRI
FEED_ID = "urn:uuid:5d1f0b8e-7c20-4a21-9e07-202107200720"


def feed(
    reports: list[PublishedReport], self_url: str, link_for: Callable[[PublishedReport, str], str]
) -> bytes:
    """The feed; `self_url` and `link_for` give absolute links, or links relative to the site's root when no
    public URL is set (RFC 4287 resolves them against the feed's own address)."""
    ET.register_namespace("", ATOM)
    root = ET.Element(f"{{{ATOM}}}feed")
    incident = current_incident()
    ET.SubElement(root, f"{{{ATOM}}}title").text = incident.report_title.zh
    ET.SubElement(root, f"{{{ATOM}}}id").text = (
        self_url if self_url.startswith(("http:", "https:")) else FEED_ID
    )
    ET.SubElement(root, f"{{{ATOM}}}updated").text = zone_iso(reports[0].published_at if reports else now())
    ET.SubElement(root, f"{{{ATOM}}}link", rel="self", href=self_url, type="application/atom+xml")
    author = ET.SubElement(root, f"{{{ATOM}}}author")
    ET.SubElement(author, f"{{{ATOM}}}name").text = incident.office.zh
    for report in reports:
        entry = ET.SubElement(root, f"{{{ATOM}}}entry")
        ET.SubElement(entry, f"{{{ATOM}}}title").text = f"灾后恢复重建日报 {report.day}(第{report.version}版)"
        ET.SubElement(entry, f"{{{ATOM}}}id").text = f"urn:sha256:{report.sha256}"
        ET.SubElement(entry, f"{{{ATOM}}}updated").text = zone_iso(report.published_at)
        ET.SubElement(entry, f"{{{ATOM}}}published").text = zone_iso(report.published_at)
        ET.SubElement(
            entry, f"{{{ATOM}}}link", rel="alternate", type="text/html", href=link_for(report, "html")
        )
        ET.SubElement(
            entry, f"{{{ATOM}}}link", rel="alternate", type="text/plain", href=link_for(report, "txt")
        )
        ET.SubElement(
            entry, f"{{{ATOM}}}link", rel="related", type="application/json", href=link_for(report, "json")
        )
        bulletin = json.loads(report.content)["bulletin"]
        ET.SubElement(entry, f"{{{ATOM}}}summary").text = bulletin
        ET.SubElement(
            entry, f"{{{ATOM}}}content", type="text"
        ).text = f"{bulletin}\n\nSHA-256: {report.sha256}\n记录截止 cutoff: {zone_iso(report.cutoff)}"
    return b'<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(root, encoding="utf-8")
