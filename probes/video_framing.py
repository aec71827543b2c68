"""Art. 15 framing and Art. 16 background, advisory: who is in the front row, is the middle one
centred, and is the background plain (no clutter, text or plants)?

Faces come from OpenCV's frontal-face Haar cascade, which ships inside opencv-python-headless < 5
(offline, no model download). "Front row" = faces at least FRONT_ROW_SIZE of the largest one:
people further back look smaller. A finding here is at most a warning: people judge framing.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import cv2
import numpy as np

from contract.catalog import Catalog
from contract.findings import Article, Finding, Verdict

DETECT_WIDTH = 960
FRONT_ROW_SIZE = 0.6
CENTRE_TOLERANCE = 0.12  # the middle face within ±12 % of the frame width from the centre
EXPECTED_FRONT_ROW = 3
CLUTTER_WARN = 0.10  # share of edge pixels in the background band
GREEN_WARN = 0.08  # share of vivid green pixels (plants) in the picture

FRAMING_MESSAGES = Catalog(
    {
        "video.framing.ok": (
            "前排 {count} 位领导入镜，居中（偏离 {offset:.0%}）",
            "{count} leaders in the front row, centred (off by {offset:.0%})",
        ),
        "video.framing.count": (
            "前排入镜 {count} 人（应为 {expected} 位领导）",
            "{count} people in the front row in frame (expected {expected} leaders)",
        ),
        "video.framing.off_centre": (
            "主要领导未居中：偏离画面中心 {offset:.0%}",
            "the main leader is not centred: {offset:.0%} off the middle",
        ),
        "video.framing.nobody": ("画面中未检测到人脸（尚未就座？）", "no faces detected (not seated yet?)"),
        "video.background.ok": (
            "背景简洁（杂乱度 {clutter:.0%}，绿植 {green:.0%}）",
            "background plain (clutter {clutter:.0%}, greenery {green:.0%})",
        ),
        "video.background.busy": (
            "背景杂乱或有文字图案（杂乱度 {clutter:.0%}）",
            "background busy, text or patterns likely (clutter {clutter:.0%})",
        ),
        "video.background.plants": (
            "画面中可能有花草（绿色占 {green:.0%}）",
            "flowers or plants likely in picture (green {green:.0%})",
        ),
    }
)


@dataclass(frozen=True)
class Face:
    x: int
    y: int
    w: int
    h: int

    @property
    def centre_x(self) -> float:
        return self.x + self.w / 2


@dataclass(frozen=True)
class Framing:
    faces: list[Face]
    front_row: list[Face]
    middle_offset: float | None  # of the middle front-row face from the frame centre, in frame widths
    clutter: float
    green: float
    width: int
    height: int


@cache
def _cascade() -> cv2.CascadeClassifier:
    path = cv2.data.haarcascades + "haarcascade_frontalface_default.xml"
    classifier = cv2.CascadeClassifier(path)
    if classifier.empty():
        raise RuntimeError(f"cannot load the face cascade {path}")
    return classifier


def analyse(frame: np.ndarray) -> Framing:
    height, width = frame.shape[:2]
    scale = min(1.0, DETECT_WIDTH / width)
    small = (
        cv2.resize(frame, (round(width * scale), round(height * scale)), interpolation=cv2.INTER_AREA)
        if scale < 1
        else frame
    )
    gray = cv2.equalizeHist(cv2.cvtColor(small, cv2.COLOR_BGR2GRAY))
    min_side = max(24, small.shape[1] // 40)
    found = _cascade().detectMultiScale(gray, scaleFactor=1.1, minNeighbors=5, minSize=(min_side, min_side))
    faces = [Face(*(round(v / scale) for v in box)) for box in (found if len(found) else [])]
    largest = max((f.w for f in faces), default=0)
    front = sorted((f for f in faces if f.w >= FRONT_ROW_SIZE * largest), key=lambda f: f.centre_x)
    offset = None
    if front:
        middle = front[len(front) // 2]
        offset = abs(middle.centre_x - width / 2) / width
    # Background: the band above the heads (or the upper third when nobody is seen), faces masked.
    top = min((f.y for f in faces), default=height // 3) * scale
    band = gray[: max(1, int(top)), :]
    edges = cv2.Canny(band, 80, 160)
    clutter = float(np.count_nonzero(edges)) / edges.size if edges.size else 0.0
    hsv = cv2.cvtColor(small, cv2.COLOR_BGR2HSV)
    green_mask = cv2.inRange(hsv, (35, 80, 40), (85, 255, 255))
    green = float(np.count_nonzero(green_mask)) / green_mask.size
    return Framing(faces, front, offset, clutter, green, width, height)


def judge_framing(framing: Framing) -> Finding:
    count = len(framing.front_row)
    if count == 0:
        verdict, code, fields = Verdict.WARN, "video.framing.nobody", {}
    elif count != EXPECTED_FRONT_ROW:
        verdict, code, fields = Verdict.WARN, "video.framing.count", {"count": count, "expected": EXPECTED_FRONT_ROW}
    elif (framing.middle_offset or 0) > CENTRE_TOLERANCE:
        verdict, code, fields = Verdict.WARN, "video.framing.off_centre", {"offset": framing.middle_offset}
    else:
        verdict, code, fields = Verdict.OK, "video.framing.ok", {"count": count, "offset": framing.middle_offset or 0}
    return FRAMING_MESSAGES.finding("video.framing", verdict, code, Article.ART15, count, EXPECTED_FRONT_ROW, **fields)


def judge_background(framing: Framing) -> Finding:
    fields = {"clutter": framing.clutter, "green": framing.green}
    if framing.green > GREEN_WARN:
        verdict, code, value, threshold = Verdict.WARN, "video.background.plants", framing.green, GREEN_WARN
    elif framing.clutter > CLUTTER_WARN:
        verdict, code, value, threshold = Verdict.WARN, "video.background.busy", framing.clutter, CLUTTER_WARN
    else:
        verdict, code, value, threshold = Verdict.OK, "video.background.ok", framing.clutter, CLUTTER_WARN
    return FRAMING_MESSAGES.finding(
        "video.background", verdict, code, Article.ART16, round(value, 3), threshold, **fields
    )
