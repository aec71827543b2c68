"""The simulated venue's peers, each with a fault the fault-to-hub benchmark can inject at a known instant.

Every injection returns an `Instant` read on the benchmark's clocks at the moment the fault
reaches the agent's input (the first faulty sample written into the microphone's pipe, the first
black frame handed to the encoder, the recording changed, the datagram sent), so the measured
latency is the agent's and the broker's, not the benchmark's own start-up costs:

- `MicFeed` — a live microphone with no sound card: an ALSA `file` PCM (tests/peers/alsa_file_input)
  whose `infile` is a FIFO this process writes in real time. The PCM has no clock, so the writer
  is the clock; it writes blocks that are a whole number of PortAudio's reads, because a read the
  pipe cannot fill would be padded with stale samples by alsa-lib (`preflight` checks it).
- `PictureFeed` — ffmpeg's `testsrc2` relayed frame by frame into an H.264 encoder sending MPEG-TS
  over UDP (as sim/stream.py does); the relay swaps in black frames, or both processes are killed.
- `SnmpDevice` — snmpsim serving a private copy of a recording: a varbind rewritten at run time
  (snmpsim re-indexes a recording whose mtime changed), or the process frozen with SIGSTOP.
- `trap_datagram` / `send_datagram` — a trap encoded by net-snmp's `snmptrap` ahead of time and sent
  as one datagram at the injection instant (snmptrap's own start-up is not the agent's latency).
- `Watch` — a paho subscriber (what `mosquitto_sub -v -t 'vc/#'` would see) stamping each arrival.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from sim.snmp import OWN_RECORDINGS, SnmpSimulator
from sim.stream import stop_process
from tests.peers.alsa_file_input import ASOUNDRC

RATE = 48000
# PortAudio reads this ALSA PCM 417 frames at a time (its default period for a 48 kHz mono input,
# seen with strace); a block of 4 such reads (3336 bytes) is written atomically (≤ PIPE_BUF), so
# every read is whole. `preflight` verifies it before the agent is started.
READ_FRAMES = 417
BLOCK_FRAMES = 4 * READ_FRAMES


@dataclass(frozen=True)
class Instant:
    """One moment on both clocks: monotonic for the latency at the subscriber, wall for the event's `ts`."""

    mono: float
    wall: float

    @staticmethod
    def now() -> Instant:
        return Instant(time.monotonic(), time.time())


class MicFeed(threading.Thread):
    """A live microphone the benchmark controls: one of several int16 signals, written in real time.

    Signals are equally long and played at the same position, so switching from speech to speech
    with hum changes only what the fault adds.
    """

    def __init__(self, home: Path, signals: dict[str, np.ndarray], name: str = "benchmic"):
        super().__init__(name=f"mic-feed {name}", daemon=True)
        home.mkdir(parents=True, exist_ok=True)
        self.home, self.pcm = home, name
        self.fifo = home / f"{name}.fifo"
        if not self.fifo.exists():
            os.mkfifo(self.fifo)
        (home / ".asoundrc").write_text(ASOUNDRC.format(name=name, infile=self.fifo), encoding="utf-8")
        # O_RDWR: opening does not wait for the agent, and the pipe never reports "no writer" to it.
        self._fd = os.open(self.fifo, os.O_RDWR | os.O_NONBLOCK)
        self.signals = {key: np.asarray(value, dtype="<i2") for key, value in signals.items()}
        self.length = min(len(value) for value in self.signals.values())
        self.mode = "normal"
        self._wanted = "normal"
        self._switched: threading.Event | None = None
        self.switched_at: Instant | None = None
        self._halt = threading.Event()
        self.written = 0

    @property
    def env(self) -> dict[str, str]:
        """The environment under which PortAudio lists this PCM (ALSA reads $HOME/.asoundrc)."""
        return {"HOME": str(self.home)}

    def switch(self, mode: str, timeout_s: float = 5.0) -> Instant:
        """Play `mode` from the next block on; returns the instant its first block entered the pipe."""
        if mode not in self.signals:
            raise KeyError(mode)
        done = threading.Event()
        self._switched, self._wanted = done, mode
        if not done.wait(timeout_s):
            raise TimeoutError(f"the microphone feed did not switch to {mode} (is the agent reading?)")
        assert self.switched_at is not None
        return self.switched_at

    def run(self) -> None:
        position, anchor, played = 0, time.monotonic(), 0
        while not self._halt.is_set():
            mode = self._wanted
            stop = position + BLOCK_FRAMES
            indices = np.arange(position, stop) % self.length
            block = self.signals[mode][indices].tobytes()
            at = Instant.now()
            try:
                os.write(self._fd, block)  # atomic: all of it or EAGAIN
            except BlockingIOError:  # nobody reads (the agent is starting): keep the clock, not the backlog
                self._halt.wait(0.01)
                anchor, played = time.monotonic(), 0
                continue
            except OSError as exc:
                if exc.errno in (errno.EBADF, errno.EPIPE):
                    return
                raise
            if mode != self.mode:
                self.mode, self.switched_at = mode, at
                if self._switched is not None:
                    self._switched.set()
            position = stop % self.length
            played += BLOCK_FRAMES
            self.written += BLOCK_FRAMES
            delay = anchor + played / RATE - time.monotonic()
            if delay < -0.5:  # the reader stalled for a while: re-anchor instead of bursting
                anchor, played = time.monotonic(), 0
            elif delay > 0:
                self._halt.wait(delay)

    def close(self) -> None:
        self._halt.set()
        self.join(timeout=2)
        with contextlib.suppress(OSError):
            os.close(self._fd)


def preflight(workdir: Path, seconds: float = 4.0) -> tuple[int, int]:
    """Open the FIFO microphone through the agent's own capture code (collectors/audio LiveInput,
    same rate and PortAudio defaults) and count discontinuities in a ramp: (steps checked, broken).

    Runs in this process with HOME pointing at the PCM; the PortAudio library is initialised here
    for this check only (the agent is a separate process)."""
    ramp = (np.arange(RATE * 20) % 20000).astype("<i2")
    feed = MicFeed(workdir, {"normal": ramp}, name="preflight")
    os.environ["HOME"] = str(workdir)  # read by ALSA when PortAudio initialises (at sounddevice's import)
    feed.start()
    from collectors.audio.source import LiveInput, parse_source

    live = LiveInput(parse_source(f"device:{feed.pcm}"), rate=RATE, buffer_s=seconds + 5)
    try:
        time.sleep(seconds)
        samples = np.round(live.ring.latest(int(RATE * (seconds - 1))) * 32768).astype(np.int64)
    finally:
        live.close()
        feed.close()
    steps = np.diff(samples) % 20000
    return len(steps), int(np.sum(steps != 1))


class PictureFeed:
    """The uplink picture: ffmpeg's moving `testsrc2` (what the tests use), relayed raw into an H.264
    encoder that sends MPEG-TS over UDP to the agent; the relay can swap every frame for black."""

    def __init__(self, port: int, size: tuple[int, int] = (1280, 720), rate: int = 25):
        self.port, self.size, self.rate = port, size, rate
        width, height = size
        self.frame_bytes = width * height * 3 // 2  # yuv420p
        black = np.empty(self.frame_bytes, np.uint8)
        black[: width * height] = 16  # video-range black
        black[width * height :] = 128
        self.black = black.tobytes()
        self.mode = "normal"
        self._wanted = "normal"
        self._switched: threading.Event | None = None
        self.switched_at: Instant | None = None
        self.generator: subprocess.Popen[bytes] | None = None
        self.encoder: subprocess.Popen[bytes] | None = None
        self._relay: threading.Thread | None = None

    def start(self) -> PictureFeed:
        width, height = self.size
        raw = ["-f", "rawvideo", "-pix_fmt", "yuv420p"]
        quiet = ["ffmpeg", "-hide_banner", "-loglevel", "error", "-nostdin"]
        self.generator = subprocess.Popen(
            [*quiet, "-re", "-f", "lavfi", "-i", f"testsrc2=size={width}x{height}:rate={self.rate}", *raw, "pipe:1"],
            stdout=subprocess.PIPE,
            stdin=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,  # it only ever says "broken pipe", when the relay is stopped
        )
        self.encoder = subprocess.Popen(
            [
                *quiet,
                *raw,
                "-s",
                f"{width}x{height}",
                "-r",
                str(self.rate),
                "-i",
                "pipe:0",
                # the options of sim/stream.py's udp_stream_command: GOP 1 s, real-time x264
                "-c:v",
                "libx264",
                "-preset",
                "ultrafast",
                "-tune",
                "zerolatency",
                "-g",
                str(self.rate),
                "-pix_fmt",
                "yuv420p",
                "-f",
                "mpegts",
                f"udp://127.0.0.1:{self.port}?pkt_size=1316",
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
        )
        self.mode = self._wanted = "normal"
        self._relay = threading.Thread(target=self._run, name="picture-relay", daemon=True)
        self._relay.start()
        return self

    def _run(self) -> None:
        source, sink = self.generator.stdout, self.encoder.stdin  # type: ignore[union-attr]
        assert source is not None and sink is not None
        while True:
            frame = source.read(self.frame_bytes)
            if len(frame) < self.frame_bytes:
                return
            mode = self._wanted
            at = Instant.now()
            try:
                sink.write(self.black if mode == "black" else frame)
                sink.flush()
            except (BrokenPipeError, ValueError, OSError):
                return
            if mode != self.mode:
                self.mode, self.switched_at = mode, at
                if self._switched is not None:
                    self._switched.set()

    def switch(self, mode: str, timeout_s: float = 5.0) -> Instant:
        """Send `mode` ("normal" or "black") from the next frame; returns when its first frame was written."""
        done = threading.Event()
        self._switched, self._wanted = done, mode
        if not done.wait(timeout_s):
            raise TimeoutError(f"the picture relay did not switch to {mode}")
        assert self.switched_at is not None
        return self.switched_at

    def kill(self) -> Instant:
        """The source is lost: the encoder dies (SIGKILL, nothing more is sent), then its feeder."""
        at = Instant.now()
        for process in (self.encoder, self.generator):
            if process is not None and process.poll() is None:
                process.send_signal(signal.SIGKILL)
        self.stop()
        return at

    def stop(self) -> None:
        for process in (self.encoder, self.generator):
            if process is not None:
                with contextlib.suppress(OSError):
                    for stream in (process.stdin, process.stdout):
                        if stream is not None:
                            stream.close()
                stop_process(process, timeout_s=3)
        if self._relay is not None:
            self._relay.join(timeout=3)
        self.encoder = self.generator = self._relay = None


class SnmpDevice:
    """snmpsim serving a private copy of one recording (community = its name) on its own port."""

    def __init__(self, recording: str):
        self.recording = recording
        self.data_dir = Path(tempfile.mkdtemp(prefix=f"venue-agent-fault-{recording}-"))
        for name in {recording, "linux_host"}:  # linux_host: SnmpSimulator's readiness probe asks it
            shutil.copy(OWN_RECORDINGS / f"{name}.snmprec", self.data_dir / f"{name}.snmprec")
        self.path = self.data_dir / f"{recording}.snmprec"
        self.simulator = SnmpSimulator(data_dirs=[self.data_dir])
        self._mtime = 0

    @property
    def port(self) -> int:
        return self.simulator.port

    def start(self) -> SnmpDevice:
        self.simulator.start()
        return self

    def set(self, oid: str, tag: int, value: str) -> Instant:
        """Change one varbind. The file is replaced whole, and its mtime moved to a whole second later
        than both the last one and now: snmpsim compares integer mtimes, and rebuilds its index only
        when the text is newer than the index it built."""
        lines = self.path.read_text(encoding="utf-8").splitlines()
        changed = [f"{oid}|{tag}|{value}" if line.split("|", 1)[0] == oid else line for line in lines]
        if changed == lines and not any(line.split("|", 1)[0] == oid for line in lines):
            raise KeyError(f"{oid} is not in {self.path.name}")
        scratch = self.path.with_suffix(".tmp")
        scratch.write_text("\n".join(changed) + "\n", encoding="utf-8")
        self._mtime = max(int(time.time()) + 1, self._mtime + 1)
        os.utime(scratch, (self._mtime, self._mtime))
        at = Instant.now()
        os.replace(scratch, self.path)
        return at

    @property
    def pid(self) -> int:
        process = self.simulator._process  # sim/snmp.py keeps its child private; the benchmark signals it
        if process is None:
            raise RuntimeError("the simulator is not running")
        return process.pid

    def freeze(self) -> Instant:
        """The device stops answering (hung firmware, cable pulled): SIGSTOP, requests go unanswered."""
        at = Instant.now()
        os.kill(self.pid, signal.SIGSTOP)
        return at

    def thaw(self) -> None:
        os.kill(self.pid, signal.SIGCONT)

    def stop(self) -> None:
        with contextlib.suppress(ProcessLookupError, RuntimeError):
            self.thaw()  # a stopped process does not act on SIGTERM
        self.simulator.stop()
        shutil.rmtree(self.data_dir, ignore_errors=True)


def trap_datagram(community: str, trap_oid: str, *varbinds: str) -> bytes:
    """A v2c trap as net-snmp's `snmptrap` encodes it, caught on a loopback socket (fresh request-id)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as catcher:
        catcher.bind(("127.0.0.1", 0))
        catcher.settimeout(20)
        port = catcher.getsockname()[1]
        subprocess.run(
            ["snmptrap", "-v2c", "-c", community, f"127.0.0.1:{port}", "", trap_oid, *varbinds],
            check=True,
            timeout=20,
            capture_output=True,
        )
        return catcher.recv(65535)


def send_datagram(datagram: bytes, port: int) -> Instant:
    """Send from 127.0.0.1 (the device's address in the agent's config) to the agent's trap port."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sender:
        sender.bind(("127.0.0.1", 0))
        at = Instant.now()
        sender.sendto(datagram, ("127.0.0.1", port))
        return at


@dataclass
class Arrival:
    """A message as the subscriber received it, stamped on the monotonic clock."""

    mono: float
    topic: str
    payload: Any


class Watch:
    """The hub's side of the link: subscribes to the venue's topics, keeps events and the latest status."""

    def __init__(self, port: int, base: str):
        self.base = base
        self.events: list[Arrival] = []
        self.status: dict[str, Any] = {}
        self.status_at = 0.0
        self._cond = threading.Condition()
        subscribed = threading.Event()
        self.client = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id=f"fault-bench-{uuid.uuid4().hex[:8]}", protocol=mqtt.MQTTv5
        )
        self.client.on_connect = lambda c, u, f, r, p: c.subscribe([(f"{base}/events", 1), (f"{base}/status", 1)])
        self.client.on_subscribe = lambda *a: subscribed.set()
        self.client.on_message = self._on_message
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()
        if not subscribed.wait(10):
            raise TimeoutError("the benchmark's subscriber could not subscribe")

    def _on_message(self, client: mqtt.Client, userdata: object, message: mqtt.MQTTMessage) -> None:
        arrived = time.monotonic()
        try:
            payload = json.loads(message.payload)
        except ValueError:
            return
        with self._cond:
            if message.topic.endswith("/events"):
                self.events.append(Arrival(arrived, message.topic, payload))
            elif message.topic.endswith("/status"):
                self.status, self.status_at = payload, arrived
            self._cond.notify_all()

    def wait_event(self, predicate: Callable[[dict], bool], after: float, timeout_s: float) -> Arrival | None:
        """The first event arriving after monotonic `after` that satisfies `predicate`, or None."""
        deadline = time.monotonic() + timeout_s
        with self._cond:
            while True:
                for arrival in self.events:
                    if arrival.mono >= after and predicate(arrival.payload):
                        return arrival
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return None
                self._cond.wait(min(remaining, 0.5))

    def wait_status(self, predicate: Callable[[dict], bool], timeout_s: float, since: float = 0.0) -> bool:
        """True once a status that arrived after monotonic `since` satisfies `predicate`. The status
        is republished on change and every status interval, so one older than the fault's own
        event may still show the state before the fault."""
        deadline = time.monotonic() + timeout_s
        with self._cond:
            while not (self.status and self.status_at > since and predicate(self.status)):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._cond.wait(min(remaining, 0.5))
            return True

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()
