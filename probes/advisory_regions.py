"""Where in the picture the Art. 15/16 advice comes from: faces, vivid-green (plant) areas and
busy background, as regions a snapshot can outline.

probes/video_framing.analyse returns fractions only (`green` 20 %, `clutter` 12 %), which told a
technician there were plants but not where. This recomputes the same masks, the same way, and
returns their places; it judges nothing (the verdicts stay in video_framing). The fractions it
finds are returned too, so a test can hold the two computations to the same numbers.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from probes.video_framing import CLUTTER_WARN, DETECT_WIDTH, Face, Framing

# As probes/video_framing.analyse inlines them (tests/test_cli_pictures.py checks the fractions agree).
GREEN_HSV_LOW = (35, 80, 40)
GREEN_HSV_HIGH = (85, 255, 255)
CANNY_LOW, CANNY_HIGH = 80, 160
PLANT_MIN_AREA = 0.002  # a green patch smaller than this share of the picture is not outlined (a tie, a logo)
PLANT_CLOSE_PX = 9  # leaves with gaps between them are one plant (at DETECT_WIDTH)
CLUTTER_CELL_PX = 48  # busy background is shown as cells of this size (at DETECT_WIDTH) over CLUTTER_WARN

Box = tuple[int, int, int, int]  # x, y, w, h in frame pixels


@dataclass(frozen=True)
class AdvisoryRegions:
    faces: list[Face]
    front_row: list[Face]
    plants: list[list[tuple[int, int]]]  # outlines (polygons) of the vivid-green areas
    green: float  # share of vivid-green pixels, as video_framing's `green`
    background: Box  # the band the clutter is measured in: above the heads (upper third if nobody)
    busy_cells: list[Box]  # cells of that band whose edge share is over CLUTTER_WARN
    clutter: float  # share of edge pixels in the band, as video_framing's `clutter`


def _detect_copy(frame: np.ndarray) -> tuple[np.ndarray, float]:
    height, width = frame.shape[:2]
    scale = min(1.0, DETECT_WIDTH / width)
    if scale < 1:
        return cv2.resize(frame, (round(width * scale), round(height * scale)), interpolation=cv2.INTER_AREA), scale
    return frame, scale


def regions(frame: np.ndarray, framing: Framing) -> AdvisoryRegions:
    """The regions behind `framing` (the result of video_framing.analyse on the same frame)."""
    height = frame.shape[0]
    small, scale = _detect_copy(frame)
    gray = cv2.equalizeHist(cv2.cvtColor(small, cv2.COLOR_BGR2GRAY))
    top = min((f.y for f in framing.faces), default=height // 3) * scale
    band = gray[: max(1, int(top)), :]
    edges = cv2.Canny(band, CANNY_LOW, CANNY_HIGH)
    clutter = float(np.count_nonzero(edges)) / edges.size if edges.size else 0.0
    cells: list[Box] = []
    for y in range(0, edges.shape[0], CLUTTER_CELL_PX):
        for x in range(0, edges.shape[1], CLUTTER_CELL_PX):
            cell = edges[y : y + CLUTTER_CELL_PX, x : x + CLUTTER_CELL_PX]
            if cell.size and np.count_nonzero(cell) / cell.size > CLUTTER_WARN:
                cells.append(_box(x, y, cell.shape[1], cell.shape[0], scale))
    hsv = cv2.cvtColor(small, cv2.COLOR_BGR2HSV)
    mask = cv2.inRange(hsv, GREEN_HSV_LOW, GREEN_HSV_HIGH)
    green = float(np.count_nonzero(mask)) / mask.size
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (PLANT_CLOSE_PX, PLANT_CLOSE_PX))
    joined = cv2.morphologyEx(mask, cv2.MORPH_CLOSE, kernel)
    contours, _ = cv2.findContours(joined, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    plants = []
    for contour in sorted(contours, key=cv2.contourArea, reverse=True):
        if cv2.contourArea(contour) < PLANT_MIN_AREA * mask.size:
            break
        outline = cv2.approxPolyDP(contour, 2.0, True).reshape(-1, 2)
        plants.append([(round(x / scale), round(y / scale)) for x, y in outline])
    return AdvisoryRegions(
        faces=list(framing.faces),
        front_row=list(framing.front_row),
        plants=plants,
        green=green,
        background=_box(0, 0, band.shape[1], band.shape[0], scale),
        busy_cells=cells,
        clutter=clutter,
    )


def _box(x: int, y: int, w: int, h: int, scale: float) -> Box:
    return round(x / scale), round(y / scale), round(w / scale), round(h / scale)
