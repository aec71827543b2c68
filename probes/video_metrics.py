"""No-reference picture metrics for Art. 17 (明暗适度, 画面清晰, 色彩饱满) — formulas in docs/video.md.

Every metric is computed on a copy scaled to ANALYSIS_WIDTH pixels wide (if wider), so scores
mean the same for a 720p and a 1080p source and a 1080p frame costs a few milliseconds.
Inputs are BGR uint8 frames as OpenCV delivers them.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import cv2
import numpy as np

ANALYSIS_WIDTH = 960
CLIP_LOW_LEVEL = 5  # luma ≤ this counts as crushed black
CLIP_HIGH_LEVEL = 250  # luma ≥ this counts as blown-out white
BLACK_PIXEL_LEVEL = 25  # blackdetect's pix_th = 0.10 of 255
BLACK_PICTURE_RATIO = 0.98  # blackdetect's picture_black_ratio_th
FROZEN_MAD_LEVEL = 0.5  # mean absolute luma difference (8-bit levels) below which two frames are "the same"
SHARPNESS_PRESMOOTH = 1.0
NOISE_TO_PRESMOOTH = 4.0
NOISE_FLOOR = 3.0  # below this the estimate is mostly fine texture, not noise: no extra smoothing
_IMMERKAER = np.array([[1, -2, 1], [-2, 4, -2], [1, -2, 1]], dtype=np.float32)


@dataclass(frozen=True)
class FrameMetrics:
    luma_mean: float
    luma_p05: float
    luma_p95: float
    clipped_low_frac: float
    clipped_high_frac: float
    contrast_rms: float
    sharpness: float
    noise_sigma: float
    colourfulness: float
    saturation_mean: float
    black: bool
    black_frac: float
    frame_diff: float | None  # vs the previous analysed frame; None for the first
    frozen: bool

    def as_dict(self) -> dict:
        return asdict(self)


def analysis_copy(frame: np.ndarray) -> np.ndarray:
    """The frame at ANALYSIS_WIDTH (area interpolation: no aliasing that would fake sharpness)."""
    height, width = frame.shape[:2]
    if width <= ANALYSIS_WIDTH:
        return frame
    scale = ANALYSIS_WIDTH / width
    return cv2.resize(frame, (ANALYSIS_WIDTH, max(1, round(height * scale))), interpolation=cv2.INTER_AREA)


def _percentile(histogram: np.ndarray, fraction: float) -> float:
    cumulative = np.cumsum(histogram)
    return float(np.searchsorted(cumulative, fraction * cumulative[-1]))


def _reblur_ratio(smooth: np.ndarray, axis: int) -> float | None:
    """Share of neighbour-to-neighbour variation a 9-tap blur along `axis` removes (uint8 maths:
    cv2.subtract saturates at 0, which is exactly the max(0, ·) of the method)."""
    reblurred = cv2.blur(smooth, (1, 9) if axis == 0 else (9, 1))
    if axis == 0:
        d_original = cv2.absdiff(smooth[1:, :], smooth[:-1, :])
        d_reblurred = cv2.absdiff(reblurred[1:, :], reblurred[:-1, :])
    else:
        d_original = cv2.absdiff(smooth[:, 1:], smooth[:, :-1])
        d_reblurred = cv2.absdiff(reblurred[:, 1:], reblurred[:, :-1])
    total = cv2.sumElems(d_original)[0]
    if total <= 0:
        return None
    return cv2.sumElems(cv2.subtract(d_original, d_reblurred))[0] / total


def sharpness_score(gray: np.ndarray, noise: float = 0.0) -> float:
    """0–100, higher = sharper: 100 × (1 − Crété-Roffet blur) of a lightly smoothed copy.

    The re-blur ratio compares how much neighbour-to-neighbour variation a 9-tap blur removes:
    a sharp picture loses much, a blurred one little. It is a ratio of the picture to itself, so it
    does not change with scene contrast or brightness. Gaussian pre-smoothing keeps sensor noise from
    counting as detail: σ = 1, plus (estimated noise σ − NOISE_FLOOR) / NOISE_TO_PRESMOOTH when the
    picture is noisy, so a noisy picture is never scored sharper than its clean original. The lower
    of the two directions is reported.
    """
    extra = max(0.0, noise - NOISE_FLOOR) / NOISE_TO_PRESMOOTH
    smooth = cv2.GaussianBlur(gray, (0, 0), SHARPNESS_PRESMOOTH + extra)
    ratios = [_reblur_ratio(smooth, axis) for axis in (0, 1)]
    if any(ratio is None for ratio in ratios):
        return 0.0
    return 100.0 * min(ratios)  # type: ignore[type-var]


def noise_sigma(gray: np.ndarray) -> float:
    """Immerkaer's fast estimate of white-noise σ in 8-bit levels, over the flatter half of the picture.

    Edges and fine texture would read as noise, so pixels whose Sobel gradient is above the median
    are left out (after Tai & Yang). Computed on every second pixel of every second row: subsampling
    without averaging keeps the noise as it is and quarters the work.
    """
    sample = np.ascontiguousarray(gray[::2, ::2])
    height, width = sample.shape
    if height < 3 or width < 3:
        return 0.0
    response = cv2.filter2D(sample, cv2.CV_16S, _IMMERKAER, borderType=cv2.BORDER_ISOLATED)[1:-1, 1:-1]
    gx = cv2.Sobel(sample, cv2.CV_16S, 1, 0, ksize=3)[1:-1, 1:-1]
    gy = cv2.Sobel(sample, cv2.CV_16S, 0, 1, ksize=3)[1:-1, 1:-1]
    gradient = cv2.addWeighted(cv2.convertScaleAbs(gx), 0.5, cv2.convertScaleAbs(gy), 0.5, 0)
    histogram = cv2.calcHist([gradient], [0], None, [256], [0, 256]).ravel()
    median = int(np.searchsorted(np.cumsum(histogram), histogram.sum() / 2))
    # gradient ≤ median. Not cv2.compare with a number: on a 1×1 interior (a 5-pixel-wide picture)
    # OpenCV takes the number for an array and refuses the sizes.
    _, flat = cv2.threshold(gradient, median, 255, cv2.THRESH_BINARY_INV)
    count = cv2.countNonZero(flat)
    if count == 0:
        return 0.0
    total = cv2.norm(response, cv2.NORM_L1, mask=flat)
    return float(total * np.sqrt(np.pi / 2) / (6.0 * count))


def colourfulness(bgr: np.ndarray) -> float:
    """Hasler–Süsstrunk M3 on 0–255 RGB: σ_rgyb + 0.3 μ_rgyb with rg = R−G, yb = ½(R+G)−B.

    Callers pass a reduced copy: the moments of a whole picture do not need every pixel.
    """
    b, g, r = cv2.split(bgr)
    rg = cv2.subtract(r, g, dtype=cv2.CV_16S)
    yb = cv2.subtract(cv2.add(r, g, dtype=cv2.CV_16S), cv2.add(b, b, dtype=cv2.CV_16S), dtype=cv2.CV_16S)
    rg_mean, rg_std = (float(v[0][0]) for v in cv2.meanStdDev(rg))
    yb_mean, yb_std = (float(v[0][0]) / 2.0 for v in cv2.meanStdDev(yb))
    return float(np.hypot(rg_std, yb_std) + 0.3 * np.hypot(rg_mean, yb_mean))


def measure(frame: np.ndarray, previous_gray: np.ndarray | None = None) -> tuple[FrameMetrics, np.ndarray]:
    """All metrics of one frame; returns them and the analysis-size gray image for the next call."""
    if frame.ndim == 2:
        frame = cv2.cvtColor(frame, cv2.COLOR_GRAY2BGR)
    full_gray = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)  # Y' = 0.299 R + 0.587 G + 0.114 B (BT.601)
    gray = analysis_copy(full_gray)
    # Colour statistics need no detail: a quarter-width sample of the pixels is plenty.
    colour = cv2.resize(
        frame, (max(1, gray.shape[1] // 2), max(1, gray.shape[0] // 2)), interpolation=cv2.INTER_NEAREST
    )
    histogram = cv2.calcHist([gray], [0], None, [256], [0, 256]).ravel()
    pixels = float(histogram.sum())
    black_frac = float(histogram[: BLACK_PIXEL_LEVEL + 1].sum() / pixels)
    mean, std = (float(v[0][0]) for v in cv2.meanStdDev(gray))
    saturation = cv2.cvtColor(colour, cv2.COLOR_BGR2HSV)[:, :, 1]
    noise = noise_sigma(gray)
    difference = None
    if previous_gray is not None and previous_gray.shape == gray.shape:
        difference = float(cv2.mean(cv2.absdiff(gray, previous_gray))[0])
    metrics = FrameMetrics(
        luma_mean=mean,
        luma_p05=_percentile(histogram, 0.05),
        luma_p95=_percentile(histogram, 0.95),
        clipped_low_frac=float(histogram[: CLIP_LOW_LEVEL + 1].sum() / pixels),
        clipped_high_frac=float(histogram[CLIP_HIGH_LEVEL:].sum() / pixels),
        contrast_rms=std / 255.0,
        sharpness=sharpness_score(gray, noise),
        noise_sigma=noise,
        colourfulness=colourfulness(colour),
        saturation_mean=float(cv2.mean(saturation)[0] / 255.0),
        black=black_frac >= BLACK_PICTURE_RATIO,
        black_frac=black_frac,
        frame_diff=difference,
        frozen=difference is not None and difference < FROZEN_MAD_LEVEL,
    )
    return metrics, gray
