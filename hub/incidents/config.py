"""The `[[sink]]` tables of the hub config: where incident notices go (Art. 8(5)) and how hard to try.

One model for the three kinds (generic webhook, WeCom group robot, DingTalk group robot) so that a
config reads as a flat list of tables, checked as strictly as the rest of the hub config: unknown keys,
a secret given twice, or a key that means nothing for the chosen kind are errors, not silently ignored.

The robot URLs of WeCom (`…/webhook/send?key=…`) and DingTalk (`…/robot/send?access_token=…`) are
credentials — anyone holding one can post to the group — so they can come from the environment or a
file like every other secret, and no log line or status output ever prints a sink's URL.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

SinkKind = Literal["webhook", "wecom", "dingtalk"]
# Both robots document a limit of 20 messages per minute per robot (more are refused, DingTalk then
# throttles the robot for 10 minutes): pace below it by default.
ROBOT_MESSAGES_PER_MINUTE = 20
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


class SinkConfig(BaseModel):
    """One place incident notices are posted to."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(
        pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$",
        description="Stable label: keys the delivery ledger (renaming a sink makes it a new one) and the status.",
    )
    kind: SinkKind = Field(description="`webhook` (JSON), `wecom` (企业微信群机器人) or `dingtalk` (钉钉群机器人).")
    url: SecretStr | None = Field(default=None, description="https:// URL to POST to (a robot URL holds its key).")
    url_env: str | None = Field(default=None, description="Name of an environment variable holding the URL.")
    url_file: Path | None = Field(default=None, description="File holding the URL (one line).")
    format: Literal["text", "markdown"] = Field(
        default="markdown", description="Robot message type (wecom, dingtalk); the webhook always posts JSON."
    )
    secret: SecretStr | None = Field(
        default=None,
        description="dingtalk: the robot's signing secret (SEC…, 加签); webhook: HMAC-SHA256 key of the body.",
    )
    secret_env: str | None = Field(default=None, description="Name of an environment variable holding the secret.")
    secret_file: Path | None = Field(default=None, description="File holding the secret (one line).")
    headers: dict[str, str] = Field(default_factory=dict, description="webhook only: extra HTTP headers.")
    mention_contacts: bool = Field(
        default=True, description="robots: @-mention the venue's liaison and technical head by mobile number."
    )
    min_severity: Literal["warning", "critical"] = Field(
        default="warning", description="Incidents below this severity are not posted here."
    )
    timeout_s: float = Field(default=10.0, gt=0, le=120, description="One attempt's time limit.")
    max_attempts: int = Field(default=10, ge=1, le=100, description="Attempts before an incident is given up here.")
    backoff_initial_s: float = Field(default=2.0, gt=0, le=600, description="Delay before the first retry; doubles.")
    backoff_max_s: float = Field(default=300.0, gt=0, le=3600, description="Longest delay between attempts.")
    per_minute: int | None = Field(
        default=None,
        ge=1,
        le=6000,
        description=f"Posts per minute at most; robots default to {ROBOT_MESSAGES_PER_MINUTE}, webhooks unpaced.",
    )
    allow_http: bool = Field(default=False, description="Accept a plain http:// URL (loopback tests, a local relay).")

    @field_validator("url_env", "secret_env")
    @classmethod
    def _env_name(cls, value: str | None) -> str | None:
        if value is not None and not _ENV_NAME.fullmatch(value):
            raise ValueError(f"{value!r} is not an environment variable name")
        return value

    @field_validator("url")
    @classmethod
    def _valid_url(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and (problem := url_problem(value.get_secret_value(), allow_http=True)):
            raise ValueError(problem)  # the URL itself is not repeated: it may hold the robot's key
        return value

    @model_validator(mode="after")
    def _consistent(self) -> SinkConfig:
        urls = [n for n in ("url", "url_env", "url_file") if getattr(self, n) is not None]
        if len(urls) != 1:
            raise ValueError(f"give exactly one of url, url_env, url_file (got {', '.join(urls) or 'none'})")
        secrets = [n for n in ("secret", "secret_env", "secret_file") if getattr(self, n) is not None]
        if len(secrets) > 1:
            raise ValueError(f"give at most one of secret, secret_env, secret_file, not {', '.join(secrets)}")
        if secrets and self.kind == "wecom":
            raise ValueError("a WeCom group robot has no signing secret: its key is part of the URL")
        if self.headers and self.kind != "webhook":
            raise ValueError("headers are for kind = 'webhook' only")
        if self.url is not None and not self.allow_http and self.url.get_secret_value().startswith("http://"):
            raise ValueError("the URL is plain http://; use https:// or set allow_http = true")
        if self.backoff_initial_s > self.backoff_max_s:
            raise ValueError("backoff_initial_s must not exceed backoff_max_s")
        return self

    @property
    def pace_per_minute(self) -> int | None:
        """Posts allowed per minute: the configured value, else the robots' documented limit."""
        if self.per_minute is not None:
            return self.per_minute
        return ROBOT_MESSAGES_PER_MINUTE if self.kind in ("wecom", "dingtalk") else None


def url_problem(url: str, allow_http: bool) -> str | None:
    """Why `url` cannot be posted to, or None; the message never contains the URL (it may hold a key)."""
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http"):
        return f"scheme must be https:// (or http:// with allow_http), got {parts.scheme or 'none'!r}"
    if parts.scheme == "http" and not allow_http:
        return "the URL is plain http://; use https:// or set allow_http = true"
    if not parts.hostname:
        return "no host in the URL"
    try:
        _ = parts.port
    except ValueError:
        return "bad port in the URL"
    return None
