"""What each kind of sink is sent, and how its answer is read.

The robot formats follow the vendors' public documentation (see docs/hub-reports.md for the sources):

- WeCom group robot (企业微信群机器人): POST JSON to `https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=…`,
  `{"msgtype": "text", "text": {"content": …, "mentioned_mobile_list": […]}}` (content ≤ 2048 bytes) or
  `{"msgtype": "markdown", "markdown": {"content": …}}` (≤ 4096 bytes; markdown cannot @-mention by phone).
- DingTalk custom robot (钉钉自定义机器人): POST JSON to `https://oapi.dingtalk.com/robot/send?access_token=…`,
  `{"msgtype": "text", "text": {"content": …}, "at": {"atMobiles": […], "isAtAll": false}}` or
  `{"msgtype": "markdown", "markdown": {"title": …, "text": …}, "at": {…}}`; with 加签 the URL gains
  `&timestamp=<ms>&sign=<urlencode(base64(HMAC-SHA256(secret, "<ms>\\n<secret>")))>`.

Both robots answer HTTP 200 even when they refuse a message: the refusal is `errcode` ≠ 0 in the JSON
body (e.g. WeCom 45009 or DingTalk 130101 when posting too fast, DingTalk 310000 for a bad signature),
so a delivery counts only when the status is 2xx **and** `errcode` is 0.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import quote_plus, urlsplit, urlunsplit
from zoneinfo import ZoneInfo

from hub.incidents.incident import Incident
from hub.incidents.texts import SEVERITY_NAMES, label

BEIJING = ZoneInfo("Asia/Shanghai")  # people read local time; the JSON keeps UTC (RFC 3339)
WECOM_TEXT_MAX_BYTES = 2048
WECOM_MARKDOWN_MAX_BYTES = 4096
DINGTALK_MAX_BYTES = 18_000  # DingTalk documents no exact limit; stay well below what it accepts
SIGNATURE_HEADER = "X-Venue-Hub-Signature"
IDEMPOTENCY_HEADER = "Idempotency-Key"
# Robot errcodes that mean "not now" rather than "never": posting too fast, or a busy server.
RETRIABLE_ROBOT_ERRCODES = frozenset({-1, 45009, 45033, 130101, 130102})


@dataclass(frozen=True)
class Request:
    """One HTTP POST: where, what, with which headers (the URL may hold a credential: never log it)."""

    url: str
    body: bytes
    headers: dict[str, str]


@dataclass(frozen=True)
class Outcome:
    """How one attempt went: delivered, or why not and whether trying again can help."""

    delivered: bool
    retriable: bool
    reason: str


def _local(at: datetime) -> str:
    return at.astimezone(BEIJING).strftime("%Y-%m-%d %H:%M:%S") + " (北京时间 / Beijing time)"


def notice_lines(incident: Incident, markdown: bool) -> tuple[str, list[str]]:
    """A title and the body lines people read, Chinese first, then the English summary."""
    zh_level, en_level = SEVERITY_NAMES[incident.severity]
    title = f"【{zh_level} / {en_level}】{incident.message.zh}"

    def field(name: str, value: str) -> str:
        return f"> **{label(name)}**：{value}" if markdown else f"{label(name)}：{value}"

    lines = [field("venue", f"{incident.venue_name}（{incident.venue}）")]
    if incident.conference is not None:
        conference = incident.conference
        shown = f"{conference.title}（{conference.id}）" if conference.title else conference.id
        lines.append(field("conference", shown))
        if conference.start is not None:
            lines.append(field("starts", _local(conference.start)))
    lines.append(field("at", _local(incident.at)))
    if incident.detail is not None:
        lines.append(field("detail", f"{incident.detail.zh} / {incident.detail.en}"))
    none = label("none")
    lines.append(field("liaison", (incident.liaison.shown if incident.liaison else None) or none))
    lines.append(field("technical_head", (incident.technical_head.shown if incident.technical_head else None) or none))
    lines.append(f"{en_level}: {incident.message.en}")
    return title, lines


def _fit(text: str, limit: int) -> str:
    """Cut `text` to at most `limit` UTF-8 bytes on a character boundary, marking the cut."""
    data = text.encode("utf-8")
    if len(data) <= limit:
        return text
    marker = "…"
    return data[: limit - len(marker.encode())].decode("utf-8", errors="ignore") + marker


def wecom_body(incident: Incident, fmt: str, mention: bool) -> dict:
    markdown = fmt == "markdown"
    title, lines = notice_lines(incident, markdown)
    if markdown:
        colour = "warning" if incident.severity == "critical" else "comment"
        content = f'### <font color="{colour}">{title}</font>\n' + "\n".join(lines)
        return {"msgtype": "markdown", "markdown": {"content": _fit(content, WECOM_MARKDOWN_MAX_BYTES)}}
    text: dict = {"content": _fit(title + "\n" + "\n".join(lines), WECOM_TEXT_MAX_BYTES)}
    if mention and incident.mobiles:
        text["mentioned_mobile_list"] = incident.mobiles
    return {"msgtype": "text", "text": text}


def dingtalk_body(incident: Incident, fmt: str, mention: bool) -> dict:
    markdown = fmt == "markdown"
    title, lines = notice_lines(incident, markdown)
    mobiles = incident.mobiles if mention else []
    # DingTalk shows an @-mention only where "@<mobile>" appears in the text itself.
    mentions = " ".join(f"@{m}" for m in mobiles)
    if markdown:
        text = f"#### {title}\n" + "\n\n".join(lines) + (f"\n\n{mentions}" if mentions else "")
        body: dict = {"msgtype": "markdown", "markdown": {"title": _fit(title, 200), "text": _fit(text, 18_000)}}
    else:
        text = title + "\n" + "\n".join(lines) + (f"\n{mentions}" if mentions else "")
        body = {"msgtype": "text", "text": {"content": _fit(text, DINGTALK_MAX_BYTES)}}
    body["at"] = {"atMobiles": mobiles, "isAtAll": False}
    return body


def dingtalk_signed_url(url: str, secret: str, timestamp_ms: int) -> str:
    """The robot URL with DingTalk's 加签 parameters: the server checks the timestamp is within an hour."""
    to_sign = f"{timestamp_ms}\n{secret}".encode()
    digest = hmac.new(secret.encode("utf-8"), to_sign, hashlib.sha256).digest()
    sign = quote_plus(base64.b64encode(digest).decode("ascii"))
    parts = urlsplit(url)
    query = (parts.query + "&" if parts.query else "") + f"timestamp={timestamp_ms}&sign={sign}"
    return urlunsplit(parts._replace(query=query))


def webhook_signature(secret: str, body: bytes) -> str:
    """`sha256=<hex>` of the exact body bytes, so a receiver can check the sender knows the secret."""
    return "sha256=" + hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


def build_request(
    kind: str,
    url: str,
    incident: Incident,
    fmt: str = "markdown",
    mention: bool = True,
    secret: str | None = None,
    headers: dict[str, str] | None = None,
    now_ms: int = 0,
) -> Request:
    """The POST for one sink kind; `now_ms` is the clock DingTalk's signature needs (ms since the epoch)."""
    base_headers = {"Content-Type": "application/json; charset=utf-8"}
    if kind == "webhook":
        body = json.dumps(incident.to_json(), ensure_ascii=False).encode("utf-8")
        all_headers = {**base_headers, **(headers or {}), IDEMPOTENCY_HEADER: incident.key}
        if secret:
            all_headers[SIGNATURE_HEADER] = webhook_signature(secret, body)
        return Request(url, body, all_headers)
    if kind == "wecom":
        payload = wecom_body(incident, fmt, mention)
    elif kind == "dingtalk":
        payload = dingtalk_body(incident, fmt, mention)
        if secret:
            url = dingtalk_signed_url(url, secret, now_ms)
    else:
        raise ValueError(f"unknown sink kind {kind!r}")
    return Request(url, json.dumps(payload, ensure_ascii=False).encode("utf-8"), base_headers)


def read_answer(kind: str, status: int, body: bytes) -> Outcome:
    """Whether a sink took the message. 5xx, 408 and 429 may pass; other 4xx will not; robots' errcodes."""
    if not 200 <= status < 300:
        retriable = status >= 500 or status in (408, 425, 429)
        return Outcome(False, retriable, f"HTTP {status}")
    if kind == "webhook":
        return Outcome(True, False, f"HTTP {status}")
    try:
        answer = json.loads(body)
        errcode = int(answer.get("errcode", -1)) if isinstance(answer, dict) else -1
        errmsg = str(answer.get("errmsg", ""))[:200] if isinstance(answer, dict) else ""
    except (ValueError, TypeError):
        return Outcome(False, True, f"HTTP {status} with an answer that is not JSON")
    if errcode == 0:
        return Outcome(True, False, "errcode 0")
    return Outcome(False, errcode in RETRIABLE_ROBOT_ERRCODES, f"errcode {errcode} {errmsg}".strip())
