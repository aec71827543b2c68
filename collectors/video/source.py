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

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp"}
URL_SCHEMES = ("rtsp", "rtsps", "udp", "rtp", "http", "https", "rtmp", "srt", "tcp")
EARLY = 0.2  # share of a sampling period by which a frame may come early and still be taken
OPEN_TIMEOUT_MS = 5000
READ_TIMEOUT_MS = 3000


class VideoSourceError(Exception):
    """The source cannot be opened or read; the message names the source and the reason."""


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
        raise VideoSourceError("empty video source")
    if fourcc is not None and len(fourcc) != 4:
        raise VideoSourceError(f"FOURCC must be 4 characters, got {fourcc!r}")
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
        raise VideoSourceError(f"{source.spec}: not a readable image ({getattr(exc, 'err', None) or exc})") from None
    if image is None:
        reason = "no such file" if not Path(source.spec).exists() else "not a readable image"
        raise VideoSourceError(f"{source.spec}: {reason}")
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
            raise VideoSourceError(f"{source.spec}: no such file")
        params = [cv2.CAP_PROP_OPEN_TIMEOUT_MSEC, OPEN_TIMEOUT_MS, cv2.CAP_PROP_READ_TIMEOUT_MSEC, READ_TIMEOUT_MS]
        capture = cv2.VideoCapture(source.spec, cv2.CAP_FFMPEG, params)
    if not capture.isOpened():
        capture.release()
        hint = {
            "device": "no such device, busy, or no permission (group video)",
            "url": "no stream there (yet), or the URL is wrong",
            "file": "not a video OpenCV's FFmpeg can read",
        }.get(source.kind, "cannot open")
        raise VideoSourceError(f"{source.spec}: cannot open: {hint}")
    return capture
