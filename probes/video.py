"""Art. 17 verdicts on the uplink picture: windowed medians, thresholds with hysteresis.

明暗适度 → video.brightness, 画面清晰 → video.clarity, 色彩饱满 → video.colour; and video.signal
(no signal, black, frozen). Thresholds and why they are where they are: docs/video.md.
"""

from __future__ import annotations

import statistics
from collections import deque
from dataclasses import dataclass

from contract.catalog import Catalog
from contract.findings import Article, Finding, Verdict, severity_rank, worst
from probes.hysteresis import Band
from probes.video_metrics import FrameMetrics
from probes.video_thresholds import VideoThresholds

VIDEO_MESSAGES = Catalog(
    {
        "video.brightness.ok": (
            "画面明暗适度（平均亮度 {value:.0f}）",
            "picture brightness is moderate (mean luma {value:.0f})",
        ),
        "video.brightness.dark": (
            "画面过暗：平均亮度 {value:.0f}（应不低于 {threshold:.0f}），请补光或调整摄像机光圈",
            "picture too dark: mean luma {value:.0f} (should be at least {threshold:.0f}); add light or open the iris",
        ),
        "video.brightness.bright": (
            "画面过亮：平均亮度 {value:.0f}（应不高于 {threshold:.0f}）",
            "picture too bright: mean luma {value:.0f} (should be at most {threshold:.0f})",
        ),
        "video.brightness.blown": (
            "画面过曝：{value:.0%} 的像素亮度饱和",
            "picture blown out: {value:.0%} of pixels at full white",
        ),
        "video.brightness.crushed": (
            "暗部死黑：{value:.0%} 的像素亮度为零附近",
            "shadows crushed: {value:.0%} of pixels at black",
        ),
        "video.clarity.ok": (
            "画面清晰（清晰度 {value:.0f}，噪声 {noise:.1f}）",
            "picture is clear (sharpness {value:.0f}, noise {noise:.1f})",
        ),
        "video.clarity.blurred": (
            "画面模糊：清晰度 {value:.0f}（应不低于 {threshold:.0f}），请检查对焦",
            "picture blurred: sharpness {value:.0f} (should be at least {threshold:.0f}); check the focus",
        ),
        "video.clarity.noisy": (
            "画面噪点多：噪声 {value:.1f}（应不高于 {threshold:.1f}），多因照度不足",
            "picture noisy: noise σ {value:.1f} (should be at most {threshold:.1f}), usually too little light",
        ),
        "video.colour.ok": ("色彩饱满（色彩度 {value:.0f}）", "colour is saturated (colourfulness {value:.0f})"),
        "video.colour.washed": (
            "色彩不饱满：色彩度 {value:.0f}（应不低于 {threshold:.0f}），请检查白平衡与色彩设置",
            "colour washed out: colourfulness {value:.0f} (should be at least {threshold:.0f}); check white balance",
        ),
        "video.colour.mono": (
            "画面几乎无色彩：色彩度 {value:.0f}",
            "picture almost monochrome: colourfulness {value:.0f}",
        ),
        "video.signal.ok": (
            "上传画面正常（{fps:.1f} 帧/秒分析）",
            "uplink picture present ({fps:.1f} frames/s analysed)",
        ),
        "video.signal.lost": ("无视频信号：{detail}", "no video signal: {detail}"),
        "video.signal.black": ("画面全黑（{value:.0%} 像素为黑）", "picture is black ({value:.0%} of pixels black)"),
        "video.signal.frozen": (
            "画面冻结已 {value:.0f} 秒",
            "picture frozen for {value:.0f} s",
        ),
        "video.signal.frozen_throughout": (
            "画面在整个 {value:.0f} 秒采样中没有变化（持续 {threshold:.0f} 秒即判为冻结）",
            "picture unchanged all through the {value:.0f} s sampled (frozen at {threshold:.0f} s)",
        ),
    }
)
# A sample shorter than frozen_fail_s that was frozen all through warns (whole_span): at least this
# many analysed frames after the first, and this much time, so one repeated frame is not a freeze.
FROZEN_THROUGHOUT_FRAMES = 3
FROZEN_THROUGHOUT_MIN_S = 2.0
BLACK_RUN = 2  # consecutive black samples that are a black picture in the daemon: a second at 1 frame/s


@dataclass(frozen=True)
class Sample:
    at: float
    metrics: FrameMetrics


def _finding(check: str, verdict: Verdict, code: str, value=None, threshold=None, unit=None, **fields) -> Finding:
    return VIDEO_MESSAGES.finding(check, verdict, code, Article.ART17, value, threshold, unit, **fields)


def signal_lost(detail: str) -> Finding:
    """video.signal failing because the source is gone (or ended), naming why."""
    return _finding("video.signal", Verdict.FAIL, "video.signal.lost", detail=detail)


class VideoJudge:
    """Keeps the analysed frames of the last `window_s` seconds and the previous verdicts.

    Frozen is one rule for the daemon and the probes: unchanged (probes/video_metrics
    FROZEN_MAD_LEVEL) for `frozen_fail_s` (10 s) fails. A probe judges its whole sample as one
    window (`whole_span`), and its sample may be shorter than that (5 s live by default): a picture
    unchanged in every frame of such a sample warns, naming the sampled span and the 10 s rule,
    instead of passing as ok. The daemon watches continuously and never needs this (its window
    reaches 10 s within 10 s), so it is off there."""

    def __init__(self, thresholds: VideoThresholds, subject: str | None = None, whole_span: bool = False):
        self.t = thresholds
        self.subject = subject
        self.whole_span = whole_span
        self.frozen_frames = 0
        self.samples: deque[Sample] = deque()
        self.previous: dict[str, Verdict] = {}
        self.frozen_since: float | None = None
        t = thresholds
        self.bands = {
            "dark": Band(t.luma_dark_warn, t.luma_dark_fail, low=True, margin=t.hysteresis),
            "bright": Band(t.luma_bright_warn, t.luma_bright_fail, low=False, margin=t.hysteresis),
            "blown": Band(t.clipped_high_warn, t.clipped_high_fail, low=False, margin=t.hysteresis),
            "crushed": Band(t.clipped_low_warn, t.clipped_low_fail, low=False, margin=t.hysteresis),
            "blurred": Band(t.sharpness_warn, t.sharpness_fail, low=True, margin=t.hysteresis),
            "noisy": Band(t.noise_warn, t.noise_fail, low=False, margin=t.hysteresis),
            "washed": Band(t.colourfulness_warn, t.colourfulness_fail, low=True, margin=t.hysteresis),
        }

    def add(self, at: float, metrics: FrameMetrics) -> None:
        self.samples.append(Sample(at, metrics))
        while self.samples and self.samples[0].at < at - self.t.window_s:
            self.samples.popleft()
        if metrics.frozen:
            # the frame before the first unchanged one already showed this picture
            if self.frozen_since is None:
                self.frozen_since = self.samples[-2].at if len(self.samples) > 1 else at
            self.frozen_frames += 1
        elif metrics.frame_diff is not None:
            self.frozen_since = None
            self.frozen_frames = 0

    def median(self, name: str) -> float:
        return statistics.median(getattr(s.metrics, name) for s in self.samples)

    def _graded(self, check: str, candidates: list[tuple[str, float]]) -> tuple[Verdict, str, float]:
        """The worst of several bands on one check; each band remembers its own previous verdict."""
        results = []
        for band_name, value in candidates:
            key = f"{check}:{band_name}"
            verdict = self.bands[band_name].judge(value, self.previous.get(key))
            self.previous[key] = verdict
            results.append((verdict, band_name, value))
        return max(results, key=lambda item: severity_rank(item[0]))

    def findings(self, now: float, signal_error: str | None = None) -> list[Finding]:
        """Verdicts for the current window; `signal_error` says the source is gone."""
        if signal_error is not None or not self.samples:
            detail = signal_error or "no frame received yet"
            findings = [signal_lost(detail)]
            findings += [
                _finding(check, Verdict.UNKNOWN, "video.signal.lost", detail=detail)
                for check in ("video.brightness", "video.clarity", "video.colour")
            ]
            return self._with_subject(findings)
        t = self.t
        findings = [self._signal(now)]
        verdict, band, value = self._graded(
            "brightness",
            [
                ("dark", self.median("luma_mean")),
                ("bright", self.median("luma_mean")),
                ("blown", self.median("clipped_high_frac")),
                ("crushed", self.median("clipped_low_frac")),
            ],
        )
        if verdict is Verdict.OK:
            findings.append(
                _finding(
                    "video.brightness",
                    verdict,
                    "video.brightness.ok",
                    round(self.median("luma_mean"), 1),
                    t.luma_dark_warn,
                )
            )
        else:
            threshold = {
                "dark": t.luma_dark_warn if verdict is Verdict.WARN else t.luma_dark_fail,
                "bright": t.luma_bright_warn if verdict is Verdict.WARN else t.luma_bright_fail,
                "blown": t.clipped_high_warn if verdict is Verdict.WARN else t.clipped_high_fail,
                "crushed": t.clipped_low_warn if verdict is Verdict.WARN else t.clipped_low_fail,
            }[band]
            findings.append(
                _finding("video.brightness", verdict, f"video.brightness.{band}", round(value, 3), threshold)
            )
        verdict, band, value = self._graded(
            "clarity", [("blurred", self.median("sharpness")), ("noisy", self.median("noise_sigma"))]
        )
        if verdict is Verdict.OK:
            findings.append(
                _finding(
                    "video.clarity",
                    verdict,
                    "video.clarity.ok",
                    round(self.median("sharpness"), 1),
                    t.sharpness_warn,
                    noise=self.median("noise_sigma"),
                )
            )
        else:
            threshold = (
                {"blurred": t.sharpness_warn, "noisy": t.noise_warn}
                if verdict is Verdict.WARN
                else {"blurred": t.sharpness_fail, "noisy": t.noise_fail}
            )[band]
            findings.append(_finding("video.clarity", verdict, f"video.clarity.{band}", round(value, 1), threshold))
        verdict, _, value = self._graded("colour", [("washed", self.median("colourfulness"))])
        code = {Verdict.OK: "video.colour.ok", Verdict.WARN: "video.colour.washed", Verdict.FAIL: "video.colour.mono"}
        threshold = t.colourfulness_warn if verdict is not Verdict.FAIL else t.colourfulness_fail
        findings.append(_finding("video.colour", verdict, code[verdict], round(value, 1), threshold))
        return self._with_subject(findings)

    def _black(self) -> bool:
        """A black picture: the newest sample black and the majority of the window black — or, in
        the daemon, the newest BLACK_RUN samples black (a camera switched off is on the broker
        within 2 s, #15 item 5, instead of once most of a 10 s window is black). A probe judges its
        whole sample and keeps the majority, so a recording that fades out is not called black."""
        if not self.samples[-1].metrics.black:
            return False
        recent = list(self.samples)[-BLACK_RUN:]
        if not self.whole_span and len(recent) == BLACK_RUN and all(s.metrics.black for s in recent):
            return True
        return sum(s.metrics.black for s in self.samples) * 2 > len(self.samples)

    def _signal(self, now: float) -> Finding:
        latest = self.samples[-1].metrics
        if self._black():
            return _finding("video.signal", Verdict.FAIL, "video.signal.black", round(latest.black_frac, 3))
        if self.frozen_since is not None and now - self.frozen_since >= self.t.frozen_fail_s:
            return _finding(
                "video.signal",
                Verdict.FAIL,
                "video.signal.frozen",
                round(now - self.frozen_since, 1),
                self.t.frozen_fail_s,
                "s",
            )
        span = self.samples[-1].at - self.samples[0].at
        if (
            self.whole_span
            and self.frozen_since is not None
            and self.frozen_since <= self.samples[0].at
            and self.frozen_frames >= FROZEN_THROUGHOUT_FRAMES
            and span >= FROZEN_THROUGHOUT_MIN_S
        ):
            return _finding(
                "video.signal",
                Verdict.WARN,
                "video.signal.frozen_throughout",
                round(span, 1),
                self.t.frozen_fail_s,
                "s",
            )
        fps = (len(self.samples) - 1) / span if span > 0 else 0.0
        return _finding("video.signal", Verdict.OK, "video.signal.ok", True, fps=fps)

    def _with_subject(self, findings: list[Finding]) -> list[Finding]:
        if self.subject:
            for finding in findings:
                finding.subject = self.subject
        return findings

    @property
    def overall(self) -> Verdict:
        return worst(list(self.previous.values()))


AGGREGATE_FLAGS = ("black", "frozen")


def aggregate(samples: list[FrameMetrics]) -> dict:
    """The probe's `metrics`: medians of the numbers, majority of the flags (docs/video.md)."""
    result: dict = {}
    for name in FrameMetrics.__dataclass_fields__:
        values = [getattr(s, name) for s in samples]
        if name in AGGREGATE_FLAGS:
            result[name] = sum(bool(v) for v in values) * 2 > len(values)
        else:
            numbers = [v for v in values if v is not None]
            result[name] = round(statistics.median(numbers), 4) if numbers else None
    return result
