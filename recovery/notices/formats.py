"""What a notice says and how a webhook message looks: the texts of each step in the reader's language, and the
bodies and signatures of 企业微信 (WeCom) and 钉钉 (DingTalk) group robots, 飞书 (Feishu) custom robots and a
generic JSON webhook signed with HMAC-SHA256.

The robots' formats: WeCom takes `{"msgtype": "markdown", "markdown": {"content": …}}` (at most 4096 bytes);
DingTalk `{"msgtype": "markdown", "markdown": {"title", "text"}}`, signed by `timestamp` (milliseconds) and
`sign` = url-encoded base64(HMAC-SHA256(key=secret, timestamp + "\\n" + secret)) in the query; Feishu
`{"msg_type": "text", "content": {"text"}}` with `timestamp` (seconds) and `sign` = base64(HMAC-SHA256(key=
timestamp + "\\n" + secret, empty message)) in the body. Each answers HTTP 200 with a JSON `errcode` (WeCom,
DingTalk) or `code` (Feishu) that is 0 on success.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from recovery.i18n import N_, in_locale
from recovery.vocab import label

#: the webhook kinds, in the order the admin's form lists them
KINDS = ("wecom", "dingtalk", "feishu", "generic")
KIND_NAMES = {
    "wecom": N_("WeCom group robot (企业微信)"),
    "dingtalk": N_("DingTalk robot (钉钉)"),
    "feishu": N_("Feishu robot (飞书)"),
    "generic": N_("Generic JSON webhook (HMAC-SHA256)"),
}
#: each step's text; `%(unit)s` is the order's lead unit, shown by its label
TEXTS = {
    "open": N_("%(key)s assigned to %(unit)s: %(title)s"),
    "acknowledge": N_("%(key)s acknowledged by %(unit)s: %(title)s"),
    "feedback": N_("%(key)s fed back by %(unit)s: %(title)s"),
    "resolve": N_("%(key)s resolved by %(unit)s, to verify: %(title)s"),
    "verify": N_("%(key)s verified: %(title)s"),
    "return": N_("%(key)s returned to %(unit)s: %(title)s"),
    "close": N_("%(key)s closed: %(title)s"),
    "request_extension": N_("%(key)s: %(unit)s asks for an extension: %(title)s"),
    "approve_extension": N_("%(key)s: extension approved for %(unit)s: %(title)s"),
    "refuse_extension": N_("%(key)s: extension refused for %(unit)s: %(title)s"),
    "transfer": N_("%(key)s transferred to %(unit)s: %(title)s"),
    "remind": N_("%(key)s reminder to %(unit)s: %(title)s"),
    "reopen": N_("%(key)s reopened for %(unit)s: %(title)s"),
    "test": N_("Test message of the flood recovery tracker for %(unit)s"),
}
ACTIONS = tuple(a for a in TEXTS if a != "test")
#: each step's short name, for lists and the delivery log
ACTION_NAMES = {
    "open": N_("assigned"),
    "acknowledge": N_("acknowledged"),
    "feedback": N_("fed back"),
    "resolve": N_("resolved"),
    "verify": N_("verified"),
    "return": N_("returned"),
    "close": N_("closed"),
    "request_extension": N_("extension asked"),
    "approve_extension": N_("extension approved"),
    "refuse_extension": N_("extension refused"),
    "transfer": N_("transferred"),
    "remind": N_("reminder"),
    "reopen": N_("reopened"),
    "test": N_("test message"),
}
#: an outbox message's states
MESSAGE_STATUS = {
    "pending": N_("waiting"),
    "sending": N_("sending"),
    "sent": N_("sent"),
    "dead": N_("given up"),
}
NOTE = N_("Note: %(note)s")
OPEN_LINK = N_("Open the work order")
#: the longest title and note a notice keeps (the order itself keeps the whole text)
MAX_TITLE, MAX_NOTE = 300, 500
#: WeCom's limit on a markdown message, in bytes
WECOM_MAX_BYTES = 4096


def content(*, item_key: str, title: str, unit: str, note: str = "") -> dict[str, str]:
    """The parameters a notice and a webhook message are made of (no sentence: that is the reader's language)."""
    return {
        "key": str(item_key or "")[:40],
        "title": " ".join(str(title or "").split())[:MAX_TITLE],
        "unit": str(unit or "")[:40],
        "note": str(note or "").strip()[:MAX_NOTE],
    }


def text(action: str, params: dict[str, Any], locale: str | None) -> str:
    """One line saying what happened, in `locale`'s language: "WI-000123 城市管理局 被退回：…"."""
    template = TEXTS.get(action, TEXTS["test"])
    return in_locale(
        template,
        locale,
        key=params.get("key", ""),
        unit=label("unit", params.get("unit") or params.get("recipient_unit") or "", locale),
        title=params.get("title", ""),
    )


def note_text(params: dict[str, Any], locale: str | None) -> str:
    note = params.get("note") or ""
    return in_locale(NOTE, locale, note=note) if note else ""


def work_item_path(work_item_id: Any) -> str:
    return f"/work-items/{work_item_id}" if work_item_id else "/notices"


@dataclass(frozen=True)
class Request:
    """One HTTP request to send: where, the body's bytes and the headers."""

    url: str
    body: bytes
    headers: dict[str, str]


def _json(document: dict[str, Any]) -> bytes:
    return json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def _markdown_safe(value: str) -> str:
    """User text inside a robot's markdown: no made-up links, headings or emphasis, one line."""
    out = " ".join(value.split())
    for char, safe in (
        ("[", "［"),
        ("]", "］"),
        ("<", "‹"),
        (">", "›"),
        ("*", "＊"),
        ("#", "＃"),
        ("`", "'"),
    ):
        out = out.replace(char, safe)
    return out


def _lines(params: dict[str, Any], link: str) -> tuple[str, str, str, str]:
    safe = params | {
        "title": _markdown_safe(params.get("title", "")),
        "note": _markdown_safe(params.get("note", "")),
    }
    zh, en = text(params.get("action", "test"), safe, "zh_CN"), text(params.get("action", "test"), safe, "en")
    note = note_text(safe, "zh_CN")
    more = (
        f"[{in_locale(OPEN_LINK, 'zh_CN')} / {in_locale(OPEN_LINK, 'en')}]({link})"
        if link.startswith("http")
        else ""
    )
    return zh, en, note, more


def dingtalk_sign(secret: str, timestamp_ms: int) -> str:
    """DingTalk's signature: base64 of HMAC-SHA256 keyed by the secret over "timestamp\\nsecret" (url-encoded by
    the caller, as a query parameter)."""
    digest = hmac.new(secret.encode(), f"{timestamp_ms}\n{secret}".encode(), hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def feishu_sign(secret: str, timestamp_s: int) -> str:
    """Feishu's signature: base64 of HMAC-SHA256 keyed by "timestamp\\nsecret" over an empty message."""
    digest = hmac.new(f"{timestamp_s}\n{secret}".encode(), b"", hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def generic_signature(secret: str, body: bytes) -> str:
    """The generic webhook's `X-Recovery-Signature`: "sha256=" and the hex HMAC-SHA256 of the body's bytes."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def _with_query(url: str, extra: dict[str, str]) -> str:
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k not in extra]
    return urlunsplit(parts._replace(query=urlencode([*query, *extra.items()])))


def build(
    kind: str,
    url: str,
    secret: str,
    payload: dict[str, Any],
    *,
    delivery_id: str,
    link: str,
    at: float | None = None,
) -> Request:
    """The request that delivers `payload` (a message's stored content) to a webhook of `kind`, signed now."""
    at = time.time() if at is None else at
    zh, en, note, more = _lines(payload, link)
    json_headers = {"Content-Type": "application/json; charset=utf-8"}
    if kind == "wecom":
        body = "\n".join(filter(None, (f"**{zh}**", f"> {note}" if note else "", en, more)))
        encoded = body.encode()
        if len(encoded) > WECOM_MAX_BYTES:
            body = encoded[: WECOM_MAX_BYTES - 3].decode("utf-8", "ignore") + "…"
        return Request(url, _json({"msgtype": "markdown", "markdown": {"content": body}}), json_headers)
    if kind == "dingtalk":
        body = "\n\n".join(filter(None, (f"#### {zh}", f"> {note}" if note else "", en, more)))
        document = {"msgtype": "markdown", "markdown": {"title": zh[:60], "text": body}}
        if secret:
            stamp = int(at * 1000)
            url = _with_query(url, {"timestamp": str(stamp), "sign": dingtalk_sign(secret, stamp)})
        return Request(url, _json(document), json_headers)
    if kind == "feishu":
        document: dict[str, Any] = {
            "msg_type": "text",
            "content": {
                "text": "\n".join(filter(None, (zh, note, en, link if link.startswith("http") else "")))
            },
        }
        if secret:
            stamp = int(at)
            document = {"timestamp": str(stamp), "sign": feishu_sign(secret, stamp), **document}
        return Request(url, _json(document), json_headers)
    if kind == "generic":
        unit = payload.get("unit", "")
        document = {
            "delivery_id": delivery_id,
            "event": f"work_item.{payload.get('action', 'test')}",
            "event_id": payload.get("event_id"),
            "work_item_id": payload.get("work_item_id"),
            "key": payload.get("key", ""),
            "title": payload.get("title", ""),
            "unit": unit,
            "unit_label": {"zh": label("unit", unit, "zh_CN"), "en": label("unit", unit, "en")},
            "recipient_unit": payload.get("recipient_unit", ""),
            "note": payload.get("note", ""),
            "text": {
                "zh": text(payload.get("action", "test"), payload, "zh_CN"),
                "en": text(payload.get("action", "test"), payload, "en"),
            },
            "link": link,
            "sent_at": int(at),
        }
        body_bytes = _json(document)
        headers = json_headers | {"X-Recovery-Delivery": delivery_id, "X-Recovery-Event": document["event"]}
        if secret:
            headers["X-Recovery-Signature"] = generic_signature(secret, body_bytes)
        return Request(url, body_bytes, headers)
    raise ValueError(f"unknown webhook kind {kind!r}")


def accepted(kind: str, status: int, body: bytes) -> tuple[bool, str]:
    """Whether the receiver took the message, and why not: a 2xx, and for the robots their JSON code 0 (they
    answer 200 with an error code when a signature or keyword does not match)."""
    if not 200 <= status < 300:
        return False, f"HTTP {status}"
    if kind == "generic":
        return True, ""
    try:
        answer = json.loads(body.decode("utf-8") or "{}")
    except (UnicodeDecodeError, ValueError):
        return False, "the robot's answer is not JSON"
    code = (
        answer.get("errcode", answer.get("code", answer.get("StatusCode", 0)))
        if isinstance(answer, dict)
        else 0
    )
    if code not in (0, "0", None):
        message = answer.get("errmsg") or answer.get("msg") or ""
        return False, f"robot error {code}: {message}"[:300]
    return True, ""
