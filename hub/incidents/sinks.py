"""A configured sink made ready to post: its URL and secret resolved, its pace kept, its health counted.

A sink whose URL or secret cannot be had (an unset environment variable, an unreadable file) is not
fatal: it is reported as unusable — logged once, shown in the status — and its incidents wait in the
ledger as `pending` until a restart with a working config delivers them.
"""

from __future__ import annotations

import logging
import os
import time
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import httpx

from hub.incidents.config import SinkConfig, url_problem
from hub.incidents.formats import Outcome, build_request, read_answer
from hub.incidents.incident import Incident
from hub.incidents.texts import render

log = logging.getLogger(__name__)
# httpx logs every request's full URL at INFO (httpcore at DEBUG); a robot's URL holds its key, so
# neither may log below WARNING in the hub process. The desk logs each attempt itself, by sink name.
for _name in ("httpx", "httpcore"):
    logging.getLogger(_name).setLevel(logging.WARNING)
ANSWER_READ_LIMIT = 64 * 1024  # a robot's answer is a few dozen bytes; read no more than this


class SinkUnusable(Exception):
    """The sink's URL or secret cannot be had; the message says which key (never the value)."""


def _secret(value, env_name: str | None, path: Path | None, field_name: str, environ: dict[str, str]) -> str | None:
    if value is not None:
        return value.get_secret_value()
    if env_name is not None:
        if env_name not in environ:
            raise SinkUnusable(f"{field_name}_env: environment variable {env_name} is not set")
        return environ[env_name]
    if path is not None:
        try:
            return path.read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError) as exc:
            raise SinkUnusable(f"{field_name}_file: cannot read {path}: {exc.__class__.__name__}") from None
    return None


@dataclass
class Pacer:
    """At most `per_minute` posts in any 60 s window (the robots refuse more, DingTalk then throttles)."""

    per_minute: int | None
    sent: deque[float] = field(default_factory=deque)

    def room(self, now: float) -> int:
        """How many posts may go now."""
        if self.per_minute is None:
            return 1_000_000
        while self.sent and now - self.sent[0] >= 60.0:
            self.sent.popleft()
        return max(0, self.per_minute - len(self.sent))

    def wait_s(self, now: float) -> float:
        """Seconds until one more post may go (0 when it may go now)."""
        if self.room(now) > 0:
            return 0.0
        return max(0.0, 60.0 - (now - self.sent[0]))

    def note(self, now: float) -> None:
        if self.per_minute is not None:
            self.sent.append(now)


@dataclass
class SinkHealth:
    """Counters since this process started, for logs and `venue-hub incidents` (the ledger has the totals)."""

    attempts: int = 0
    delivered: int = 0
    failed_attempts: int = 0
    given_up: int = 0
    last_error: str | None = None
    last_error_at: datetime | None = None
    last_delivered_at: datetime | None = None


class Sink:
    def __init__(self, config: SinkConfig, environ: dict[str, str] | None = None):
        env = os.environ if environ is None else environ
        self.config = config
        self.name = config.name
        self.health = SinkHealth()
        self.pacer = Pacer(config.pace_per_minute)
        self.problem: str | None = None
        self._url: str | None = None
        self._secret: str | None = None
        try:
            url = _secret(config.url, config.url_env, config.url_file, "url", env)
            if url is None or (problem := url_problem(url, config.allow_http)):
                raise SinkUnusable(f"url: {problem if url else 'none given'}")
            self._url = url
            self._secret = _secret(config.secret, config.secret_env, config.secret_file, "secret", env)
        except SinkUnusable as exc:
            self.problem = str(exc)
            log.error("%s", render("sink.unconfigured", sink=self.name, reason=self.problem).en)

    @property
    def usable(self) -> bool:
        return self.problem is None

    def wants(self, incident: Incident) -> bool:
        return incident.reaches(self.config.min_severity)

    def backoff_s(self, attempt: int) -> float:
        """Delay after failed attempt number `attempt` (1-based): initial × 2^(attempt−1), capped."""
        return min(self.config.backoff_max_s, self.config.backoff_initial_s * 2 ** (attempt - 1))

    def _scrub(self, text: str) -> str:
        """`text` without the URL or its query (a robot's key lives there) or the secret."""
        if self._url:
            text = text.replace(self._url, "<url>")
            query = self._url.partition("?")[2]
            if query:
                text = text.replace(query, "<query>")
        if self._secret:
            text = text.replace(self._secret, "<secret>")
        return text

    async def post(self, client: httpx.AsyncClient, incident: Incident, now: datetime) -> Outcome:
        """One attempt; never raises for a network or HTTP failure (that is an Outcome)."""
        if self._url is None:
            return Outcome(False, True, self.problem or "unusable")
        request = build_request(
            self.config.kind,
            self._url,
            incident,
            fmt=self.config.format,
            mention=self.config.mention_contacts,
            secret=self._secret,
            headers=self.config.headers,
            now_ms=int(now.timestamp() * 1000),
        )
        self.health.attempts += 1
        self.pacer.note(time.monotonic())
        try:
            async with client.stream(
                "POST", request.url, content=request.body, headers=request.headers, timeout=self.config.timeout_s
            ) as response:
                answer = b""
                async for chunk in response.aiter_bytes():
                    answer += chunk
                    if len(answer) >= ANSWER_READ_LIMIT:
                        break
                outcome = read_answer(self.config.kind, response.status_code, answer)
        except httpx.TimeoutException:
            outcome = Outcome(False, True, f"no answer within {self.config.timeout_s:g} s")
        except httpx.HTTPError as exc:
            outcome = Outcome(False, True, f"{exc.__class__.__name__}: {self._scrub(str(exc))}"[:200])
        if outcome.delivered:
            self.health.delivered += 1
            self.health.last_delivered_at = now
        else:
            self.health.failed_attempts += 1
            self.health.last_error = outcome.reason
            self.health.last_error_at = now
        return outcome
