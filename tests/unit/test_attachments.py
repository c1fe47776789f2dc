"""Documents an order carries: recognised by their bytes, named safely."""

from __future__ import annotations

import io
import zipfile

import pytest

from recovery.attachments import NAME_MAX, clean_name, sniff

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def ooxml(main: str, types: bool = True) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        if types:
            archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr(main, "<x/>")
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"%PDF-1.7\n...", "application/pdf"),
        (ooxml("word/document.xml"), DOCX),
        (ooxml("xl/workbook.xml"), XLSX),
        (ooxml("word/document.xml", types=False), None),  # a ZIP that is not an Office document
        (ooxml("evil.html"), None),
        (b"PK\x03\x04broken", None),
        (b"<html><script>alert(1)</script>", None),
        (b"\xff\xd8\xff\xe0 a JPEG goes through the photos", None),
        (b"", None),
    ],
)
def test_a_document_is_known_by_its_bytes(data, expected):
    assert sniff(data) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("调度会纪要.pdf", "调度会纪要.pdf"),
        ("../../etc/passwd", "passwd.pdf"),
        ("C:\\Users\\x\\方案.PDF", "方案.pdf"),
        ("a\x00b\u202ec.pdf", "abc.pdf"),  # control and direction-override characters dropped
        ("", "附件.pdf"),
        (None, "附件.pdf"),
        ("...", "附件.pdf"),
    ],
)
def test_a_name_is_safe_to_show_and_to_offer(raw, expected):
    assert clean_name(raw, "application/pdf") == expected


def test_a_long_name_is_cut_to_fit_with_its_extension():
    name = clean_name("长" * 500 + ".pdf", "application/pdf")
    assert len(name) == NAME_MAX and name.endswith("长.pdf")
