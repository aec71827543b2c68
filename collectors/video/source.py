"""Where the uplink picture comes from, and opening it with OpenCV.

A source is given as text: a V4L2 device (`0`, `/dev/video0` — usually an HDMI capture card on the
codec's output), a file (a video, or a still image for tests and demos), or a network URL
(`rtsp://`, `udp://`, `http://`, `https://`, `rtmp://`, `srt://`, read by OpenCV's FFmpeg backend).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import cv2
import numpy as np

from contract.catalog import Catalog
from contract.findings import Message

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp"}
URL_SCHEMES = ("rtsp", "rtsps", "udp", "rtp", "http", "https", "rtmp", "srt", "tcp")
EARLY = 0.2  # share of a sampling period by which a frame may come early and still be taken
OPEN_TIMEOUT_MS = 5000
# A live stream that sends nothing for this long is lost (#15 item 5: a loss on the broker within 2 s).
# A 25 frames/s uplink sends a packet every 40 ms or less, so a second of silence is an outage, not
# jitter. OpenCV's read timeout counts from the start of each grab; the keyframes path asks ffmpeg for
# the same (collectors/video/keyframes.py). One rule for both decoders.
LIVE_SILENCE_S = 1.0
READ_TIMEOUT_MS = 3000  # files: a slow disk or a busy machine is no loss


# Why a source cannot be used, keyed by stable codes, Chinese first (#17 item 4): a technician reading
# Chinese gets the whole reason in Chinese (it used to be `无视频信号：x.mp4: no such file`). The
# English text is what `str(error)` gives, so the daemon's log and older readers see what they saw.
SOURCE_MESSAGES = Catalog(
    {
        "video.source.empty": ("未指定视频源", "empty video source"),
        "video.source.fourcc": ("FOURCC 须为 4 个字符，而非 {fourcc}", "FOURCC must be 4 characters, got {fourcc}"),
        "video.source.no_file": ("{spec}：文件不存在", "{spec}: no such file"),
        "video.source.bad_image": ("{spec}：不是可读取的图像", "{spec}: not a readable image"),
        "video.source.bad_image_detail": (
            "{spec}：不是可读取的图像（{detail}）",
            "{spec}: not a readable image ({detail})",
        ),
        "video.source.no_device": (
            "{spec}：无法打开：设备不存在、被占用或无权限（video 组）",
            "{spec}: cannot open: no such device, busy, or no permission (group video)",
        ),
        "video.source.no_stream": (
            "{spec}：无法打开：该地址（暂时）没有视频流，或地址有误",
            "{spec}: cannot open: no stream there (yet), or the URL is wrong",
        ),
        "video.source.bad_file": (
            "{spec}：无法打开：不是 OpenCV 的 FFmpeg 能读取的视频",
            "{spec}: cannot open: not a video OpenCV's FFmpeg can read",
        ),
        "video.source.cannot_open": ("{spec}：无法打开", "{spec}: cannot open"),
        "video.source.other": ("视频源不可用（{en}）", "{en}"),
    }
)


class VideoSourceError(Exception):
    """The source cannot be opened or read; the message names the source and the reason.

    Raised with a code of `SOURCE_MESSAGES` and its fields (`message` has both languages); a plain
    English text (older raisers) is kept as it is, its Chinese saying only that the source failed."""

    def __init__(self, code_or_text: str, **fields: object):
        if code_or_text in SOURCE_MESSAGES:
            self.code, self.fields = code_or_text, fields
        else:
            self.code, self.fields = "video.source.other", {"en": code_or_text}
        self.message: Message = SOURCE_MESSAGES.render(self.code, **self.fields)
        super().__init__(self.message.en)


@dataclass(frozen=True)
class VideoSource:
    spec: str
    kind: Literal["device", "file", "image", "url"]
    width: int | None = None
    height: int | None = None
    fourcc: str | None = None

    @property
    def live(self) -> bool:
        """Live sources run on their own clock: sample the newest frame, drop the rest."""
        return self.kind in ("device", "url")


def parse_source(
    spec: str, width: int | None = None, height: int | None = None, fourcc: str | None = None
) -> VideoSource:
    text = spec.strip()
    if not text:
        raise VideoSourceError("video.source.empty")
    if fourcc is not None and len(fourcc) != 4:
        raise VideoSourceError("video.source.fourcc", fourcc=repr(fourcc))
    if text.isdigit() or re.fullmatch(r"/dev/video\d+", text):
        kind = "device"
    elif re.match(rf"^({'|'.join(URL_SCHEMES)})://", text, re.IGNORECASE):
        kind = "url"
    elif Path(text).suffix.lower() in IMAGE_SUFFIXES:
        kind = "image"
    else:
        kind = "file"
    return VideoSource(text, kind, width, height, fourcc)  # type: ignore[arg-type]


def read_image(source: VideoSource) -> np.ndarray:
    try:
        image = cv2.imread(source.spec, cv2.IMREAD_COLOR)
    except cv2.error as exc:  # a header OpenCV refuses outright, e.g. a BMP claiming a height past its limit
        detail = getattr(exc, "err", None) or exc
        raise VideoSourceError("video.source.bad_image_detail", spec=source.spec, detail=detail) from None
    if image is None:
        code = "video.source.no_file" if not Path(source.spec).exists() else "video.source.bad_image"
        raise VideoSourceError(code, spec=source.spec)
    return image


def open_capture(source: VideoSource) -> cv2.VideoCapture:
    """An opened VideoCapture, or VideoSourceError naming the source and the reason."""
    if source.kind == "device":
        index = int(source.spec) if source.spec.isdigit() else int(source.spec.removeprefix("/dev/video"))
        capture = cv2.VideoCapture(index, cv2.CAP_V4L2)
        if capture.isOpened():
            if source.fourcc:
                capture.set(cv2.CAP_PROP_FOURCC, cv2.VideoWriter_fourcc(*source.fourcc))
            if source.width:
                capture.set(cv2.CAP_PROP_FRAME_WIDTH, source.width)
            if source.height:
                capture.set(cv2.CAP_PROP_FRAME_HEIGHT, source.height)
    else:
        if source.kind == "file" and not Path(source.spec).exists():
            raise VideoSourceError("video.source.no_file", spec=source.spec)
        read_ms = int(LIVE_SILENCE_S * 1000) if source.kind == "url" else READ_TIMEOUT_MS
        params = [cv2.CAP_PROP_OPEN_TIMEOUT_MSEC, OPEN_TIMEOUT_MS, cv2.CAP_PROP_READ_TIMEOUT_MSEC, read_ms]
        capture = cv2.VideoCapture(source.spec, cv2.CAP_FFMPEG, params)
    if not capture.isOpened():
        capture.release()
        code = {
            "device": "video.source.no_device",
            "url": "video.source.no_stream",
            "file": "video.source.bad_file",
        }.get(source.kind, "video.source.cannot_open")
        raise VideoSourceError(code, spec=source.spec)
    return capture
