"""Where the uplink sound comes from: a sound input (`device:NAME_OR_INDEX`) or a file (WAV/FLAC)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile

from collectors.audio.ring import RingBuffer
from contract.catalog import Catalog
from contract.findings import Message

# Sample rates a file may have: those of sound inputs ([audio] rate). The loudness filters are
# designed for them, and a header claiming 1 Hz (a damaged file) would divide by zero further on.
MIN_RATE, MAX_RATE = 8000, 192000


# Why a source cannot be used, keyed by stable codes, Chinese first (#17 item 4): the whole reason
# in the reader's language. `str(error)` is the English text, as the daemon's log has always had it.
SOURCE_MESSAGES = Catalog(
    {
        "audio.source.empty": ("未指定音频源", "empty audio source"),
        "audio.source.bad_channel": ("声道须为 0 或更大，而非 {channel}", "channel must be 0 or more, got {channel}"),
        "audio.source.device_name": (
            "device: 后须给出名称或序号，例如 device:0 或 device:USB Audio",
            "device: needs a name or an index, e.g. device:0 or device:USB Audio",
        ),
        "audio.source.no_file": ("{spec}：文件不存在", "{spec}: no such file"),
        "audio.source.unreadable": (
            "{spec}：不是可读取的音频文件（{detail}）",
            "{spec}: not a readable sound file: {detail}",
        ),
        "audio.source.rate": (
            "{spec}：采样率 {rate} Hz，检查需要 {low}–{high} Hz",
            "{spec}: sample rate {rate} Hz, the checks need {low}–{high} Hz",
        ),
        "audio.source.channels": (
            "{spec}：只有 {channels} 个声道，却要求第 {channel} 声道",
            "{spec}: has {channels} channel(s), channel {channel} asked for",
        ),
        "audio.source.input_channels": (
            "{spec}：只有 {channels} 个输入声道，却要求第 {channel} 声道",
            "{spec}: has {channels} input channel(s), channel {channel} asked",
        ),
        "audio.source.no_device": ("{spec}：没有这个输入设备（{detail}）", "{spec}: no such input device ({detail})"),
        "audio.source.cannot_open": ("{spec}：无法打开（{detail}）", "{spec}: cannot open: {detail}"),
        "audio.source.stopped": (
            "{spec}：输入流已停止（设备被拔出？）",
            "{spec}: the input stream stopped (device removed?)",
        ),
        "audio.source.no_samples": ("{spec}：没有采样", "{spec}: no samples"),
        "audio.source.other": ("音频源不可用（{en}）", "{en}"),
    }
)


class AudioSourceError(Exception):
    """The source cannot be opened or read; the message names the source and the reason.

    Raised with a code of `SOURCE_MESSAGES` and its fields (`message` has both languages); a plain
    English text is kept as it is, its Chinese saying only that the source failed."""

    def __init__(self, code_or_text: str, **fields: object):
        if code_or_text in SOURCE_MESSAGES:
            self.code, self.fields = code_or_text, fields
        else:
            self.code, self.fields = "audio.source.other", {"en": code_or_text}
        self.message: Message = SOURCE_MESSAGES.render(self.code, **self.fields)
        super().__init__(self.message.en)


@dataclass(frozen=True)
class AudioSource:
    spec: str
    device: str | int | None  # None for a file
    channel: int = 0  # which channel of a multichannel input is the uplink mix (0-based)

    @property
    def is_device(self) -> bool:
        return self.device is not None


def parse_source(spec: str, channel: int = 0) -> AudioSource:
    text = spec.strip()
    if not text:
        raise AudioSourceError("audio.source.empty")
    if channel < 0:
        raise AudioSourceError("audio.source.bad_channel", channel=channel)
    if text.startswith("device:"):
        name = text.removeprefix("device:").strip()
        if not name:
            raise AudioSourceError("audio.source.device_name")
        return AudioSource(text, int(name) if name.isdigit() else name, channel)
    return AudioSource(text, None, channel)


def read_file(source: AudioSource, seconds: float | None = None) -> tuple[np.ndarray, int]:
    """Mono float32 samples of the chosen channel, and the sample rate."""
    path = Path(source.spec)
    if not path.exists():
        raise AudioSourceError("audio.source.no_file", spec=source.spec)
    try:
        info = soundfile.info(str(path))
        frames = -1 if seconds is None else int(seconds * info.samplerate)
        data, rate = soundfile.read(str(path), frames=frames, dtype="float32", always_2d=True)
    except (RuntimeError, soundfile.LibsndfileError) as exc:
        raise AudioSourceError("audio.source.unreadable", spec=source.spec, detail=exc) from None
    if not MIN_RATE <= rate <= MAX_RATE:
        raise AudioSourceError("audio.source.rate", spec=source.spec, rate=rate, low=MIN_RATE, high=MAX_RATE)
    if source.channel >= data.shape[1]:
        raise AudioSourceError(
            "audio.source.channels", spec=source.spec, channels=data.shape[1], channel=source.channel
        )
    return np.ascontiguousarray(data[:, source.channel]), int(rate)


def read_file_blocks(
    source: AudioSource, seconds: float | None = None, block_s: float = 10.0
) -> tuple[Iterator[np.ndarray], int]:
    """The chosen channel of a sound file as mono float32 blocks of `block_s`, and the rate.

    Bounded memory whatever the file's length (an hour at 48 kHz is 690 MB as float32): what
    `probe audio FILE` should read a whole file with. The file is checked as `read_file` checks
    it before the first block is handed out.
    """
    path = Path(source.spec)
    if not path.exists():
        raise AudioSourceError("audio.source.no_file", spec=source.spec)
    try:
        info = soundfile.info(str(path))
    except (RuntimeError, soundfile.LibsndfileError) as exc:
        raise AudioSourceError("audio.source.unreadable", spec=source.spec, detail=exc) from None
    rate = int(info.samplerate)
    if not MIN_RATE <= rate <= MAX_RATE:
        raise AudioSourceError("audio.source.rate", spec=source.spec, rate=rate, low=MIN_RATE, high=MAX_RATE)
    if source.channel >= info.channels:
        raise AudioSourceError(
            "audio.source.channels", spec=source.spec, channels=info.channels, channel=source.channel
        )
    frames = -1 if seconds is None else int(seconds * rate)

    def blocks() -> Iterator[np.ndarray]:
        try:
            for block in soundfile.blocks(
                str(path), blocksize=max(1, int(block_s * rate)), frames=frames, dtype="float32", always_2d=True
            ):
                yield np.ascontiguousarray(block[:, source.channel])
        except (RuntimeError, soundfile.LibsndfileError) as exc:
            raise AudioSourceError("audio.source.unreadable", spec=source.spec, detail=exc) from None

    return blocks(), rate


class LiveInput:
    """An open sound input writing the chosen channel into a ring buffer; counts overflows."""

    def __init__(self, source: AudioSource, rate: int = 48000, buffer_s: float = 30.0, channels: int | None = None):
        import sounddevice  # imported here: PortAudio is only needed for live input

        self.source = source
        self.rate = rate
        self.ring = RingBuffer(int(rate * buffer_s))
        self.overflows = 0
        self.error: str | None = None
        try:
            info = sounddevice.query_devices(source.device, "input")
        except (ValueError, sounddevice.PortAudioError) as exc:
            raise AudioSourceError("audio.source.no_device", spec=source.spec, detail=exc) from None
        self.channels = channels or max(1, min(int(info["max_input_channels"]), source.channel + 1))
        if source.channel >= self.channels:
            raise AudioSourceError(
                "audio.source.input_channels", spec=source.spec, channels=self.channels, channel=source.channel
            )
        column = source.channel
        # 16-bit is what line inputs deliver; asking for it avoids a format conversion layer in ALSA
        # (which, through plug, was seen to mangle the signal). Scaled into a preallocated buffer.
        scratch = np.zeros(rate, dtype=np.float32)
        scale = np.float32(1.0 / 32768.0)

        def callback(indata, frames, time_info, status) -> None:  # PortAudio's thread: keep it tiny
            if status.input_overflow:
                self.overflows += 1
            if frames > len(scratch):
                return  # a block over a second long: not something PortAudio delivers
            block = scratch[:frames]
            np.multiply(indata[:, column], scale, out=block, casting="unsafe")
            self.ring.write(block)

        def finished() -> None:
            if self.error is None:
                self.error = "the input stream stopped (device removed?)"

        try:
            self.stream = sounddevice.InputStream(
                device=source.device,
                channels=self.channels,
                samplerate=rate,
                dtype="int16",
                callback=callback,
                finished_callback=finished,
            )
            self.stream.start()
        except sounddevice.PortAudioError as exc:
            raise AudioSourceError("audio.source.cannot_open", spec=source.spec, detail=exc) from None
        self.started = time.monotonic()

    @property
    def active(self) -> bool:
        return self.stream.active and self.error is None

    def wait_for(self, seconds: float, stop: threading.Event | None = None) -> np.ndarray:
        """The next `seconds` of sound from now (fewer if the input stops); blocks until captured."""
        needed = int(seconds * self.rate)
        start = self.ring.written
        deadline = time.monotonic() + seconds + 5
        while self.ring.written < start + needed and time.monotonic() < deadline and self.active:
            if stop is not None and stop.is_set():
                break
            time.sleep(0.02)
        available = min(needed, self.ring.written - start)
        block = self.ring.read(start, available)
        return block if block is not None else self.ring.latest(available)

    def close(self) -> None:
        self.error = self.error or "closed"
        self.stream.abort(ignore_errors=True)
        self.stream.close(ignore_errors=True)


class FileInput(threading.Thread):
    """A sound file played into a ring buffer in real time, looping: a stand-in for a live input
    (the demo's simulated venue, tests), with the same interface as LiveInput."""

    def __init__(self, source: AudioSource, buffer_s: float = 30.0, block_s: float = 0.1):
        samples, rate = read_file(source)
        if samples.size == 0:
            raise AudioSourceError("audio.source.no_samples", spec=source.spec)
        super().__init__(name=f"audio-file {source.spec}", daemon=True)
        self.source, self.samples, self.rate = source, samples, rate
        self.ring = RingBuffer(int(rate * buffer_s))
        self.overflows = 0
        self.error: str | None = None
        self.block = max(1, int(rate * block_s))
        self._halt = threading.Event()
        self.start()

    def run(self) -> None:
        position, started, played = 0, time.monotonic(), 0
        while not self._halt.is_set():
            block = self.samples[position : position + self.block]
            if len(block) < self.block:  # wrap around: the file loops
                block = np.concatenate((block, self.samples[: self.block - len(block)]))
            self.ring.write(block)
            position = (position + self.block) % len(self.samples)
            played += self.block
            self._halt.wait(max(0.0, started + played / self.rate - time.monotonic()))

    @property
    def active(self) -> bool:
        return self.is_alive() and self.error is None

    def close(self) -> None:
        self.error = self.error or "closed"
        self._halt.set()
        self.join(timeout=2)


def open_input(source: AudioSource, rate: int, buffer_s: float) -> LiveInput | FileInput:
    """A live input for `device:…`, a real-time file player otherwise."""
    return LiveInput(source, rate=rate, buffer_s=buffer_s) if source.is_device else FileInput(source, buffer_s)
