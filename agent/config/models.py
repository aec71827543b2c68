"""Typed configuration of one venue agent (one TOML file; see docs/config.md).

Every table forbids unknown keys, so a typo fails loudly instead of silently taking a default.
Key names are part of the public contract: scripts and the hub's provisioning depend on them.
"""

from __future__ import annotations

from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, field_validator, model_validator

from agent.config.devices import SnmpConfig, SshConfig
from agent.config.paths import LocalPath
from contract.broker import PREFECTURE_LEVEL, SEGMENT_PATTERN, BrokerConfig, Segment, Strict
from contract.conference import MAX_CONFERENCES, Conference
from probes.audio_thresholds import AudioThresholds
from probes.net import NetThresholds
from probes.video_thresholds import VideoThresholds


class VenueConfig(Strict):
    """Where this venue sits in the administrative tree; it becomes the MQTT topic path."""

    province: Segment = Field(description="Province id, e.g. `jilin`.")
    prefecture: Segment = Field(description="Prefecture (市/州) id, e.g. `changchun`.")
    county: Segment = Field(description="County id, or `_` for the prefecture's own venue (see docs/mqtt.md).")
    id: Segment = Field(description="Venue id within the county, e.g. `main`.")
    name: str = Field(min_length=1, description="Display name, e.g. 农安县政府视频会议室.")

    @field_validator("province", "prefecture", "id")
    @classmethod
    def _not_level_marker(cls, value: str) -> str:
        if value == PREFECTURE_LEVEL:
            raise ValueError("`_` is only allowed for `county` (a prefecture's own venue)")
        return value

    @property
    def level(self) -> Literal["prefecture", "county"]:
        return "prefecture" if self.county == PREFECTURE_LEVEL else "county"


PHONE_PATTERN = r"^\+?[0-9][0-9 -]{4,30}$"

# What a pattern means, for error messages people can act on.
PATTERN_HINTS = {
    SEGMENT_PATTERN: "must be lower-case ASCII letters, digits, '-' or '_' (pinyin ids), at most 64",
    PHONE_PATTERN: "must be a phone number: digits, spaces and '-', optionally a leading '+'",
}


class Contact(Strict):
    """A person filed with the province under Art. 7."""

    name: str = Field(min_length=1, description="Full name.")
    phone: str = Field(pattern=PHONE_PATTERN, description="Phone number reachable during meetings.")


class ContactsConfig(Strict):
    """Art. 7 roles; alerts name who is responsible."""

    meeting_head: Contact | None = None
    liaison: Contact | None = None
    technical_head: Contact | None = None
    technicians: list[Contact] = Field(default_factory=list)


class AgentConfig(Strict):
    """The daemon itself: where it keeps state, how often it publishes, how it bounds its outbox."""

    state_dir: LocalPath = Field(description="Where the outbox (outbox.sqlite3) and other state live.")
    log_level: Literal["debug", "info", "warning", "error"] = Field(default="info", description="Log verbosity.")
    status_interval_s: float = Field(
        default=30.0, ge=1, le=3600, description="Retained status republished at least this often (and on change)."
    )
    metrics_interval_s: float = Field(default=60.0, ge=1, le=3600, description="Period of `metrics` messages.")
    outbox_max_messages: int = Field(
        default=100_000, ge=100, le=10_000_000, description="Bound of the outbox; see docs/outbox.md for what goes."
    )
    outbox_sync: Literal["normal", "full"] = Field(
        default="normal", description="SQLite synchronous mode: normal survives crashes, full also power loss."
    )
    shutdown_flush_s: float = Field(
        default=5.0, ge=0, le=120, description="On SIGTERM, wait this long for the outbox to drain."
    )


class HostConfig(Strict):
    """The venue PC itself: free space for the outbox (Art. 13, keep faults out)."""

    enabled: bool = Field(default=True, description="Run the host monitor.")
    interval_s: float = Field(default=30.0, ge=1, le=3600, description="Poll period.")
    disk_warn_free_mb: float = Field(default=1024, ge=0, description="`host.disk` warns below this free space.")
    disk_fail_free_mb: float = Field(default=200, ge=0, description="`host.disk` fails below this free space.")

    @model_validator(mode="after")
    def _ordered(self) -> HostConfig:
        if self.disk_fail_free_mb > self.disk_warn_free_mb:
            raise ValueError("disk_fail_free_mb must not exceed disk_warn_free_mb")
        return self


class VideoConfig(Strict):
    """The uplink picture (Art. 17; framing Art. 15 and background Art. 16 as advice)."""

    source: str = Field(
        min_length=1, description="`0` or `/dev/video0` (capture card), a file, or rtsp:// udp:// http:// URL."
    )
    rate_hz: float = Field(default=1.0, gt=0, le=30, description="Frames analysed per second.")
    width: int | None = Field(default=None, ge=16, le=8192, description="Requested capture width (devices).")
    height: int | None = Field(default=None, ge=16, le=8192, description="Requested capture height (devices).")
    fourcc: str | None = Field(default=None, min_length=4, max_length=4, description="e.g. MJPG or YUYV (devices).")
    framing_interval_s: float = Field(
        default=60, ge=1, description="How often the advisory framing/background checks run."
    )
    decode: Literal["auto", "all", "keyframes"] = Field(
        default="auto",
        description="Network streams: `keyframes` decodes only intra frames (ffmpeg), far less CPU; `all` every "
        "frame (OpenCV); `auto` keyframes while they come at least every 2 s (or twice the sample period), "
        "every frame otherwise, switching by itself.",
    )
    thresholds: VideoThresholds = Field(default_factory=VideoThresholds)
    snapshots: bool = Field(
        default=True,
        description="Publish a small JPEG of the analysed uplink frame (retained leaf `snapshot`) at each "
        "self-test and on `cmd/snapshot`; false where the venue forbids pictures leaving the room.",
    )


class AudioConfig(Strict):
    """The uplink sound (Art. 17: loud, clear, free of noise)."""

    source: str = Field(min_length=1, description="`device:NAME_OR_INDEX` (a sound input), or a file played in a loop.")
    channel: int = Field(default=0, ge=0, le=63, description="Which input channel carries the uplink mix (0-based).")
    rate: int = Field(default=48000, ge=8000, le=192000, description="Sample rate of a live input.")
    window_s: float = Field(default=10, ge=1, le=60, description="Verdicts judge the last window_s seconds.")
    interval_s: float = Field(default=5, ge=1, le=600, description="How often the window is judged.")
    thresholds: AudioThresholds = Field(default_factory=AudioThresholds)


class ScheduleConfig(Strict):
    """Where the schedule's local times live (Art. 14's "15:00 the day before" is local time)."""

    timezone: str = Field(default="Asia/Shanghai", description="IANA time zone name.")
    ics_file: LocalPath | None = Field(
        default=None, description="An iCalendar file of conferences, read besides [[conference]]."
    )

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError, OSError):  # OSError: a directory such as "Asia"
            raise ValueError(f"unknown time zone {value!r} (an IANA name such as Asia/Shanghai)") from None
        return value


class SelftestConfig(Strict):
    """The Art. 14 self-test: what it measures beyond the monitors, and how long it may take."""

    far_end: str | None = Field(
        default=None,
        description="Host of the MCU / far end for path checks when a conference names none (or only a number).",
    )
    udp_echo_port: int | None = Field(
        default=None, ge=1, le=65535, description="Measure the path with this UDP echo service instead of ICMP."
    )
    ports: list[int] = Field(
        default=[5060, 1720], description="TCP ports of the far end that must answer (SIP 5060, H.323 1720)."
    )
    probes: int = Field(default=10, ge=3, le=200, description="Echo probes sent to the far end.")
    probe_interval_s: float = Field(default=0.2, ge=0.01, le=2, description="Seconds between echo probes.")
    path: NetThresholds = Field(default_factory=NetThresholds)
    ntp_server: str | None = Field(default=None, description="NTP server the venue clock is checked against.")
    ntp_port: int = Field(default=123, ge=1, le=65535, description="Its UDP port.")
    clock_warn_ms: float = Field(default=500, gt=0, description="`clock.offset` warns beyond this offset.")
    clock_fail_ms: float = Field(default=2000, gt=0, description="`clock.offset` fails beyond this offset.")
    sample_s: float = Field(
        default=4, ge=1, le=15, description="Seconds of video and audio sampled when no monitor has a fresh verdict."
    )
    timeout_s: float = Field(
        default=20, ge=5, le=120, description="The whole run's budget; an item not done by then is `unknown`."
    )

    @field_validator("ports")
    @classmethod
    def _valid_ports(cls, value: list[int]) -> list[int]:
        bad = [port for port in value if not 0 < port < 65536]
        if bad:
            raise ValueError(f"ports must be 1–65535, not {bad}")
        return value

    @model_validator(mode="after")
    def _ordered(self) -> SelftestConfig:
        if self.clock_fail_ms < self.clock_warn_ms:
            raise ValueError("clock_fail_ms must not be below clock_warn_ms")
        return self


class SimulationConfig(Strict):
    """Only for the simulated venue (demo and tests): a check that flips between ok and warn."""

    flap_interval_s: float = Field(default=5.0, gt=0, le=3600, description="Period of the simulated check's flips.")


class Settings(Strict):
    """The whole configuration file."""

    venue: VenueConfig
    broker: BrokerConfig
    agent: AgentConfig
    contacts: ContactsConfig = Field(default_factory=ContactsConfig)
    host: HostConfig = Field(default_factory=HostConfig)
    snmp: SnmpConfig = Field(default_factory=SnmpConfig)
    ssh: SshConfig = Field(default_factory=SshConfig)
    video: VideoConfig | None = None
    audio: AudioConfig | None = None
    schedule: ScheduleConfig = Field(default_factory=ScheduleConfig)
    selftest: SelftestConfig = Field(default_factory=SelftestConfig)
    conference: list[Conference] = Field(
        default_factory=list,
        max_length=MAX_CONFERENCES,
        description=f"Scheduled conferences ([[conference]]), at most {MAX_CONFERENCES}.",
    )
    simulation: SimulationConfig | None = None

    @model_validator(mode="after")
    def _unique_conferences(self) -> Settings:
        ids = [conference.id for conference in self.conference]
        duplicates = sorted({i for i in ids if ids.count(i) > 1})
        if duplicates:
            raise ValueError(f"conference ids must be unique: {', '.join(duplicates)}")
        return self
