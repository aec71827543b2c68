"""A simulated fleet of venue agents for the hub's load benchmark: realistic payloads at real rates.

Each venue publishes what a venue agent publishes (docs/mqtt.md): a retained `online` availability,
a retained complete status every 30 s, metrics every 60 s and an event every EVENT_INTERVAL_S, all at
QoS 1, on its own topics. Payloads are built with the contract's models (`contract.payloads`) and
validated once per venue and kind; per message only the time, the id and the seq change, which are
filled into the validated JSON text (so the generator can keep up with 10,000 venues in Python).

Time can be compressed by `scale`: the intervals are divided by it (a 10× fleet sends a status every
3 s per venue), so a few minutes cover an hour of a real fleet's traffic. Every event carries the
time it was handed to the broker client in `data.bench_sent` (epoch seconds), so the benchmark can
compare it with the row the hub stored (`event.received_at`).

The fleet shares a few MQTT connections (`connections`) between its venues rather than opening one per
venue: what the hub sees — topics, payloads, rates, QoS — is the same; the broker's per-connection
cost for 10,000 agents is not what is measured (the anchor, mosquitto_sub, sees the same stream).
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from contract.findings import Finding, Message, Verdict
from contract.payloads import AgentInfo, Event, Metrics, OutboxState, Severity, Status, TaskState, VenueRef
from contract.topics import VenueTopics

STATUS_INTERVAL_S = 30.0
METRICS_INTERVAL_S = 60.0
EVENT_INTERVAL_S = 300.0  # a venue raises a few hundred events a day: check changes, self-tests, conferences
PREFECTURES = ("changchun", "jilin", "siping", "liaoyuan", "tonghua", "baishan", "songyuan", "baicheng", "yanbian")
TS_MARK = "2000-01-01T00:00:00Z"  # replaced per message by the real time
CHECKS = (
    ("host.disk", "第十三条 / Art. 13", 41.0, "%"),
    ("host.cpu", "第十三条 / Art. 13", 12.0, "%"),
    ("host.memory", "第十三条 / Art. 13", 38.0, "%"),
    ("net.latency", "第十三条 / Art. 13", 8.2, "ms"),
    ("net.loss", "第十三条 / Art. 13", 0.0, "%"),
    ("net.jitter", "第十三条 / Art. 13", 1.1, "ms"),
    ("snmp.codec.if_status", "第十三条 / Art. 13", "up", None),
    ("snmp.switch.if_errors", "第十三条 / Art. 13", 0, None),
    ("video.signal", "第十七条 / Art. 17", True, None),
    ("video.brightness", "第十七条 / Art. 17", 118.0, None),
    ("video.clarity", "第十七条 / Art. 17", 240.0, None),
    ("video.colour", "第十七条 / Art. 17", 38.0, None),
    ("audio.signal", "第十七条 / Art. 17", True, None),
    ("audio.level", "第十七条 / Art. 17", -23.0, "LUFS"),
    ("audio.clarity", "第十七条 / Art. 17", 31.0, "dB"),
    ("audio.noise", "第十七条 / Art. 17", -62.0, "dBFS"),
)


def fleet_refs(count: int) -> list[VenueRef]:
    """`count` venues spread over Jilin's nine prefectures: each has its own venue and counties of 20."""
    refs = []
    for n in range(count):
        prefecture = PREFECTURES[n % len(PREFECTURES)]
        local = n // len(PREFECTURES)
        if local == 0:
            county, venue, level = "_", "main", "prefecture"
        else:
            county, venue, level = f"c{(local - 1) // 20:03d}", f"v{(local - 1) % 20:02d}", "county"
        refs.append(
            VenueRef(
                province="jilin",
                prefecture=prefecture,
                county=county,
                id=venue,
                name=f"{prefecture}-{county}-{venue} 分会场",
                level=level,  # type: ignore[arg-type]
            )
        )
    return refs


def _finding(check: str, article: str, value, unit) -> Finding:
    return Finding(
        check=check,
        verdict=Verdict.OK,
        code=f"{check}.ok",
        message=Message(zh=f"{check} 正常（{value}）", en=f"{check} ok ({value})"),
        article=article,
        value=value,
        unit=unit,
        ts=datetime(2000, 1, 1, tzinfo=UTC),
    )


@dataclass
class VenueTemplates:
    """One venue's validated JSON texts, with the parts that change per message left as marks."""

    ref: VenueRef
    topics: VenueTopics
    status: str
    metrics: str
    event: str
    seq: int = 0

    def status_bytes(self, now: str) -> bytes:
        return self.status.replace(TS_MARK, now).encode()

    def metrics_bytes(self, now: str) -> bytes:
        return self.metrics.replace(TS_MARK, now).replace("@ID@", uuid.uuid4().hex).encode()

    def event_bytes(self, now: str, sent: float) -> tuple[str, bytes]:
        self.seq += 1
        event_id = str(uuid.uuid4())
        text = (
            self.event.replace(TS_MARK, now)
            .replace("@ID@", event_id)
            .replace('"seq":1,', f'"seq":{self.seq},', 1)
            .replace('"bench_sent":0.0', f'"bench_sent":{sent:.6f}', 1)
        )
        return event_id, text.encode()


def templates_for(ref: VenueRef, prefix: str = "vc") -> VenueTemplates:
    """Build the venue's payloads with the contract models and keep their JSON with marks in it."""
    epoch = datetime(2000, 1, 1, tzinfo=UTC)
    status = Status(
        ts=epoch,
        venue=ref,
        agent=AgentInfo(
            version="bench", hostname=f"{ref.prefecture}-{ref.county}-{ref.id}", pid=4242, started_at=epoch
        ),
        overall=Verdict.OK,
        checks={check: _finding(check, article, value, unit) for check, article, value, unit in CHECKS},
        devices={"codec": {"model": "Cisco Room Kit", "calls": 0}, "switch": {"model": "H3C S5130", "ports_up": 12}},
        tasks={name: TaskState(state="running") for name in ("host", "snmp", "ssh", "video", "audio", "net")},
        outbox=OutboxState(pending=0, dropped_metrics=0, dropped_events=0, held_in_memory=0),
        contacts={
            "liaison": {"name": "联络员", "phone": "13904310001"},
            "technical_head": {"name": "技术负责人", "phone": "13904310002"},
        },
    )
    metrics = Metrics(
        id="@ID@",
        ts=epoch,
        venue=ref,
        interval_s=METRICS_INTERVAL_S,
        values={f"{check}.value": float(n) for n, (check, *_rest) in enumerate(CHECKS)},
    )
    event = Event(
        id="@ID@",
        seq=1,
        ts=epoch,
        venue=ref,
        code="video.brightness_low",
        severity=Severity.INFO,
        message=Message(zh="画面偏暗：亮度 62（下限 70）", en="picture too dark: brightness 62 (minimum 70)"),
        check="video.brightness",
        verdict=Verdict.OK,
        previous=Verdict.WARN,
        data={"value": 62.0, "threshold": 70.0, "subject": None, "bench_sent": 0.0},
    )

    def text(model) -> str:
        raw = json.dumps(json.loads(model.model_dump_json(by_alias=True)), ensure_ascii=False, separators=(",", ":"))
        return raw.replace("2000-01-01T00:00:00Z", TS_MARK)

    return VenueTemplates(ref, VenueTopics.for_venue(prefix, ref), text(status), text(metrics), text(event))


def rfc3339_now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass
class Sent:
    """What the fleet handed to the broker client, by kind, and every event's id."""

    counts: dict[str, int] = field(default_factory=lambda: {"availability": 0, "status": 0, "metrics": 0, "event": 0})
    event_ids: list[str] = field(default_factory=list)

    @property
    def total(self) -> int:
        return sum(self.counts.values())


class Fleet:
    """The venues and their shared connections to one broker."""

    def __init__(self, port: int, venues: int, connections: int = 4, prefix: str = "vc", host: str = "127.0.0.1"):
        self.venues = [templates_for(ref, prefix) for ref in fleet_refs(venues)]
        self.sent = Sent()
        self._lock = threading.Lock()
        self._clients: list[mqtt.Client] = []
        self._acked = 0
        self._ack_cond = threading.Condition()
        for n in range(connections):
            client = mqtt.Client(
                CallbackAPIVersion.VERSION2, client_id=f"bench-fleet-{n}-{uuid.uuid4().hex[:6]}", protocol=mqtt.MQTTv5
            )
            client.max_inflight_messages_set(1000)
            client.max_queued_messages_set(0)
            client.on_publish = self._on_publish
            client.connect(host, port, keepalive=60)
            client.loop_start()
            self._clients.append(client)

    def _on_publish(self, client, userdata, mid, reason_code, properties) -> None:
        with self._ack_cond:
            self._acked += 1
            self._ack_cond.notify_all()

    def _publish(self, index: int, topic: str, payload: bytes, retain: bool, kind: str) -> None:
        client = self._clients[index % len(self._clients)]
        client.publish(topic, payload, qos=1, retain=retain)
        with self._lock:
            self.sent.counts[kind] += 1

    def online(self) -> None:
        """Every venue's retained availability and a first status, as agents do on connecting."""
        now = rfc3339_now()
        for index, venue in enumerate(self.venues):
            self._publish(index, venue.topics.availability, b"online", True, "availability")
            self._publish(index, venue.topics.status, venue.status_bytes(now), True, "status")

    def send(self, index: int, kind: str) -> None:
        venue = self.venues[index]
        now = rfc3339_now()
        if kind == "status":
            self._publish(index, venue.topics.status, venue.status_bytes(now), True, "status")
        elif kind == "metrics":
            self._publish(index, venue.topics.metrics, venue.metrics_bytes(now), False, "metrics")
        else:
            event_id, payload = venue.event_bytes(now, time.time())
            self._publish(index, venue.topics.events, payload, False, "event")
            with self._lock:
                self.sent.event_ids.append(event_id)

    def run(self, seconds: float, scale: float, stop: threading.Event | None = None) -> None:
        """Each venue's traffic at its real rates × `scale`, for `seconds`; venues' phases spread evenly."""
        n = len(self.venues)
        schedule = [
            ("status", STATUS_INTERVAL_S / scale),
            ("metrics", METRICS_INTERVAL_S / scale),
            ("event", EVENT_INTERVAL_S / scale),
        ]
        start = time.monotonic()
        # next due time per (kind, venue), as one pointer per kind walking the venues in a fixed order
        cursors = {kind: 0 for kind, _ in schedule}
        while True:
            elapsed = time.monotonic() - start
            if elapsed >= seconds or (stop is not None and stop.is_set()):
                return
            for kind, interval in schedule:
                due = int(elapsed / interval * n)  # messages of this kind due by now
                while cursors[kind] < due:
                    self.send(cursors[kind] % n, kind)
                    cursors[kind] += 1
            time.sleep(0.005)

    def flood(self, messages: int) -> None:
        """`messages` in the fleet's mix (status : metrics : event = 10 : 5 : 1), as fast as possible."""
        pattern = ["status"] * 10 + ["metrics"] * 5 + ["event"]
        for count in range(messages):
            self.send(count % len(self.venues), pattern[count % len(pattern)])

    def wait_acked(self, timeout: float = 120.0) -> bool:
        """True once the broker acknowledged everything handed to the clients."""
        deadline = time.monotonic() + timeout
        with self._ack_cond:
            while self._acked < self.sent.total:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._ack_cond.wait(remaining)
        return True

    def close(self) -> None:
        for client in self._clients:
            client.disconnect()
            client.loop_stop()


def every_kind(venue: VenueTemplates) -> Iterator[tuple[str, bytes]]:
    """One of each payload of a venue (for checking them against the contract); its seq is left as it was."""
    now = rfc3339_now()
    seq = venue.seq
    yield "status", venue.status_bytes(now)
    yield "metrics", venue.metrics_bytes(now)
    yield "event", venue.event_bytes(now, time.time())[1]
    venue.seq = seq
