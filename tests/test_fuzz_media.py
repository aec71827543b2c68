"""Fuzz: media files the agent is pointed at — the audio file of `[audio] source` (collectors/audio)
and a still image as the video source (collectors/video) — and what the probes measure of them.

A WAV written by libsndfile (any rate, channels, sample format, NaN and infinite samples in float
files) with its header bytes overwritten, cut short, or replaced by arbitrary bytes: `read_file`
gives samples and a rate, or AudioSourceError naming the file; whatever it reads, `measure` gives
metrics whose figures are finite or None. The same for images: `read_image` gives a picture or
VideoSourceError, and the frame metrics of any picture it reads are finite.
"""

from __future__ import annotations

import io
import math
import tempfile
from pathlib import Path

import cv2
import numpy as np
import soundfile
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from collectors.audio.source import AudioSourceError, parse_source, read_file
from collectors.video.source import VideoSourceError, read_image
from collectors.video.source import parse_source as parse_video_source
from fuzz.budget import examples
from probes.audio_metrics import measure as measure_audio
from probes.video_metrics import measure as measure_frame

FUZZ = settings(max_examples=examples(150), deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def wav_bytes(draw: st.DrawFn) -> bytes:
    rate = draw(st.sampled_from([8000, 16000, 44100, 48000, 1, 192000]))
    channels = draw(st.integers(1, 3))
    subtype = draw(st.sampled_from(["PCM_16", "PCM_24", "FLOAT", "DOUBLE", "PCM_U8", "ULAW"]))
    frames = draw(st.integers(0, 4000))
    samples = np.random.default_rng(draw(st.integers(0, 2**32 - 1))).uniform(-1, 1, (frames, channels))
    if subtype in ("FLOAT", "DOUBLE") and frames and draw(st.booleans()):
        samples[draw(st.integers(0, frames - 1)), 0] = draw(st.sampled_from([math.nan, math.inf, -math.inf, 1e30]))
    out = io.BytesIO()
    soundfile.write(out, samples, rate, subtype=subtype, format="WAV")
    data = bytearray(out.getvalue())
    for _ in range(draw(st.integers(0, 4))):  # the header: sizes, format, channels, rate, bits
        at = draw(st.integers(0, min(len(data), 64) - 1))
        data[at] = draw(st.integers(0, 255))
    if draw(st.booleans()):
        data = data[: draw(st.integers(0, len(data)))]
    return bytes(data)


def _finite_or_none(values: dict) -> None:
    for key, value in values.items():
        if isinstance(value, float):
            assert math.isfinite(value), (key, value)


def _read_audio(data: bytes, channel: int) -> None:
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "uplink.wav"
        path.write_bytes(data)
        try:
            samples, rate = read_file(parse_source(str(path), channel))
        except AudioSourceError as exc:
            assert str(exc).startswith(str(path)), exc
            event("AudioSourceError")
            return
    event("read")
    assert rate > 0 and samples.ndim == 1
    _finite_or_none(measure_audio(samples, rate).as_dict())  # empty too: the daemon's window can be


@given(wav_bytes(), st.integers(0, 3))
@FUZZ
def test_a_damaged_wav_is_read_or_refused(data: bytes, channel: int) -> None:
    _read_audio(data, channel)


@given(st.binary(max_size=400))
@FUZZ
def test_arbitrary_bytes_as_the_audio_file(data: bytes) -> None:
    _read_audio(data, 0)


# Found by the fuzzing above (regressions).


def _wav(rate: int, frames: int) -> bytes:
    out = io.BytesIO()
    soundfile.write(out, np.zeros(frames), rate, subtype="PCM_16", format="WAV")
    return out.getvalue()


def test_a_wav_claiming_a_sample_rate_of_1_hz_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "one-hertz.wav"
    path.write_bytes(_wav(1, 2))  # measure() divided by zero (a 0-sample loudness hop)
    try:
        read_file(parse_source(str(path)))
    except AudioSourceError as exc:
        assert "sample rate 1 Hz" in str(exc)
    else:
        raise AssertionError("read a 1 Hz file")


def test_loudness_of_no_samples_or_a_tiny_rate_is_no_figure() -> None:
    for samples, rate in ((np.zeros(0, np.float32), 48000), (np.ones(10, np.float32), 4), (np.ones(100), 8000)):
        metrics = measure_audio(samples, rate)  # sosfilt raised on an empty array; rate 4 divided by zero
        assert metrics.integrated_lufs is None and metrics.momentary_max_lufs is None


def test_a_bmp_claiming_a_huge_height_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "uplink.bmp"
    path.write_bytes(  # biHeight 0x01010000 rows: cv2.imread raised cv2.error (CV_IO_MAX_IMAGE_HEIGHT)
        b"BM:\x00\x00\x00\x00\x00\x00\x006\x00\x00\x00(\x00\x00\x00\x01\x00\x00\x00\x01\x00\x00\x01\x01\x00\x18\x00"
        + b"\x00" * 24
        + b"_\x82\xc2\x00"
    )
    try:
        read_image(parse_video_source(str(path)))
    except VideoSourceError as exc:
        assert str(exc).startswith(f"{path}: not a readable image"), exc
    else:
        raise AssertionError("read an image 16 million rows high")


def test_pictures_a_few_pixels_wide_are_measured() -> None:
    for size in range(1, 13):  # 5 and 6 wide: cv2.compare refused a 1×1 interior in noise_sigma
        picture = np.random.default_rng(size).integers(0, 256, (size, size, 3), np.uint8)
        metrics, _gray = measure_frame(picture)
        _finite_or_none(vars(metrics))


@st.composite
def image_bytes(draw: st.DrawFn) -> tuple[str, bytes]:
    height, width = draw(st.integers(1, 40)), draw(st.integers(1, 40))
    picture = np.random.default_rng(draw(st.integers(0, 2**32 - 1))).integers(0, 256, (height, width, 3), np.uint8)
    suffix = draw(st.sampled_from([".png", ".jpg", ".bmp"]))
    ok, encoded = cv2.imencode(suffix, picture)
    assert ok
    data = bytearray(encoded.tobytes())
    for _ in range(draw(st.integers(0, 6))):
        at = draw(st.integers(0, len(data) - 1))
        data[at] = draw(st.integers(0, 255))
    if draw(st.booleans()):
        data = data[: draw(st.integers(0, len(data)))]
    return suffix, bytes(data)


def _read_picture(suffix: str, data: bytes) -> None:
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / f"uplink{suffix}"
        path.write_bytes(data)
        try:
            image = read_image(parse_video_source(str(path)))
        except VideoSourceError as exc:
            assert str(exc).startswith(str(path)), exc
            event("VideoSourceError")
            return
    event("read")
    metrics, _gray = measure_frame(image)
    _finite_or_none(vars(metrics))


@given(image_bytes())
@FUZZ
def test_a_damaged_image_is_read_or_refused(generated: tuple[str, bytes]) -> None:
    _read_picture(*generated)


@given(st.sampled_from([".png", ".jpg"]), st.binary(max_size=300))
@FUZZ
def test_arbitrary_bytes_as_the_image(suffix: str, data: bytes) -> None:
    _read_picture(suffix, data)
