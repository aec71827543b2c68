"""Real pictures and real streams for the video tests: scikit-image photographs, ffmpeg encodes."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import cv2
import numpy as np
import pytest
import skimage.data

from sim.stream import start_udp_stream

PHOTOS = ("astronaut", "coffee", "chelsea")
needs_ffmpeg = pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="ffmpeg is not installed")


def photo(name: str) -> np.ndarray:
    return cv2.cvtColor(getattr(skimage.data, name)(), cv2.COLOR_RGB2BGR)


def gamma_gain(image: np.ndarray, gamma: float, gain: float, offset: float = 0) -> np.ndarray:
    linear = (image.astype(np.float32) / 255.0) ** gamma
    return np.clip(linear * gain * 255.0 + offset, 0, 255).astype(np.uint8)


def noisy(image: np.ndarray, sigma: float, seed: int = 7) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.clip(image + rng.normal(0, sigma, image.shape), 0, 255).astype(np.uint8)


def desaturated(image: np.ndarray, keep: float) -> np.ndarray:
    gray = cv2.cvtColor(cv2.cvtColor(image, cv2.COLOR_BGR2GRAY), cv2.COLOR_GRAY2BGR)
    return cv2.addWeighted(image, keep, gray, 1 - keep, 0)


def start_stream(port: int, seconds: float) -> subprocess.Popen[bytes]:
    return start_udp_stream(port, seconds)


def still_video(path: Path, image: np.ndarray, seconds: float) -> Path:
    """An H.264 file showing one still picture: a frozen uplink, decoded for real."""
    picture = path.with_suffix(".png")
    cv2.imwrite(str(picture), image)
    subprocess.run(
        [
            "ffmpeg",
            "-hide_banner",
            "-loglevel",
            "error",
            "-y",
            "-loop",
            "1",
            "-i",
            str(picture),
            "-t",
            str(seconds),
            "-r",
            "10",
            "-c:v",
            "libx264",
            "-pix_fmt",
            "yuv420p",
            str(path),
        ],
        check=True,
    )
    return path
