"""The `probe video --snapshot` picture: the analysed frame with what the verdicts rest on.

Above, the frame with the regions behind each advisory outlined — faces (Art. 15 framing; green
boxes for the front row) with the centre band the middle face should sit in, vivid-green areas
where plants were suspected and the busy cells of the background (Art. 16) — drawn only where the
probe found them. Below, in Chinese and English: the overall verdict (the word and code the CLI
exits with, agent/cli/verdicts.py), every metric with its unit and the thresholds it was judged
against (from the VideoThresholds the probe used, and video_framing's constants), and each
finding with its article. Text goes in a panel under the frame, so it hides nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from agent.cli.picture_text import GREY, INK, Picture, verdict_rgb, verdict_words, wrap
from agent.cli.probe_output import verdict_of
from agent.sampling.video import VideoSample
from contract.findings import Article, Finding, Verdict, is_advisory
from probes.advisory_regions import AdvisoryRegions, regions
from probes.video_framing import CENTRE_TOLERANCE, CLUTTER_WARN, EXPECTED_FRONT_ROW, GREEN_WARN, Framing
from probes.video_metrics import BLACK_PICTURE_RATIO, FROZEN_MAD_LEVEL
from probes.video_thresholds import VideoThresholds

MAX_WIDTH = 1280  # a 1080p frame is shown at 720p: text stays legible, the file small
MIN_WIDTH = 960  # the panel needs this much for its columns
FRONT = (60, 200, 60)
BEHIND = (255, 170, 0)
PLANT = (255, 0, 200)  # magenta: stands out on green leaves
CLUTTER = (0, 200, 255)
CENTRE = (255, 255, 255)
PANEL = (250, 250, 250)


@dataclass(frozen=True)
class MetricRow:
    """One line of the metrics table: what it is, its value with unit, the thresholds it was
    judged against (warn / fail), the check it feeds and the metric keys (JSON) it shows."""

    label: str
    value: str
    threshold: str
    check: str
    keys: tuple[str, ...]


def _pct(value: object) -> str:
    return "—" if value is None else f"{float(value):.1%}"


def _num(value: object, digits: int = 1, unit: str = "") -> str:
    return "—" if value is None else f"{float(value):.{digits}f}{unit}"


def _yes(flag: object) -> str:
    return "是 yes" if flag else "否 no"


REFERENCE = "（参考 for reference）"  # measured and shown, judged by nothing


def metric_rows(sample: VideoSample, t: VideoThresholds) -> list[MetricRow]:
    """Every metric of the probe (the keys of its JSON `metrics`, and framing's), with its unit
    and the thresholds the verdicts used."""
    m = sample.metrics
    rows = [
        MetricRow(
            "平均亮度 mean luma",
            _num(m.get("luma_mean"), 0, " /255"),
            f"过暗 dark < {t.luma_dark_warn:g} / {t.luma_dark_fail:g} · "
            f"过亮 bright > {t.luma_bright_warn:g} / {t.luma_bright_fail:g}",
            "video.brightness",
            ("luma_mean",),
        ),
        MetricRow(
            "亮度分位 luma p05 / p95",
            f"{_num(m.get('luma_p05'), 0)} / {_num(m.get('luma_p95'), 0)} /255",
            REFERENCE,
            "video.brightness",
            ("luma_p05", "luma_p95"),
        ),
        MetricRow(
            "过曝像素 blown-out pixels",
            _pct(m.get("clipped_high_frac")),
            f"> {t.clipped_high_warn:.0%} / {t.clipped_high_fail:.0%}",
            "video.brightness",
            ("clipped_high_frac",),
        ),
        MetricRow(
            "死黑像素 crushed pixels",
            _pct(m.get("clipped_low_frac")),
            f"> {t.clipped_low_warn:.0%} / {t.clipped_low_fail:.0%}",
            "video.brightness",
            ("clipped_low_frac",),
        ),
        MetricRow(
            "对比度 contrast (RMS)", _num(m.get("contrast_rms"), 2), REFERENCE, "video.clarity", ("contrast_rms",)
        ),
        MetricRow(
            "清晰度 sharpness",
            _num(m.get("sharpness"), 1, " /100"),
            f"< {t.sharpness_warn:g} / {t.sharpness_fail:g}",
            "video.clarity",
            ("sharpness",),
        ),
        MetricRow(
            "噪声 noise σ",
            _num(m.get("noise_sigma"), 1, " 灰度级 levels"),
            f"> {t.noise_warn:g} / {t.noise_fail:g}",
            "video.clarity",
            ("noise_sigma",),
        ),
        MetricRow(
            "色彩度 colourfulness (Hasler–Süsstrunk)",
            _num(m.get("colourfulness"), 1),
            f"< {t.colourfulness_warn:g} / {t.colourfulness_fail:g}",
            "video.colour",
            ("colourfulness",),
        ),
        MetricRow("饱和度 saturation", _pct(m.get("saturation_mean")), REFERENCE, "video.colour", ("saturation_mean",)),
        MetricRow(
            "黑色像素 black pixels · 全黑 black",
            f"{_pct(m.get('black_frac'))} · {_yes(m.get('black'))}",
            f"全黑 black ≥ {BLACK_PICTURE_RATIO:.0%}",
            "video.signal",
            ("black_frac", "black"),
        ),
        MetricRow(
            "帧间差 frame difference · 冻结 frozen",
            f"{_num(m.get('frame_diff'), 2, ' 灰度级 levels')} · {_yes(m.get('frozen'))}",
            f"冻结 frozen < {FROZEN_MAD_LEVEL:g} for ≥ {t.frozen_fail_s:g} s",
            "video.signal",
            ("frame_diff", "frozen"),
        ),
    ]
    framing = sample.framing
    if framing is not None:
        rows += [
            MetricRow(
                "前排人数 front row (all faces)",
                f"{len(framing.front_row)} ({len(framing.faces)})",
                f"= {EXPECTED_FRONT_ROW}",
                "video.framing",
                ("front_row", "faces"),
            ),
            MetricRow(
                "居中偏离 middle face off centre",
                _pct(framing.middle_offset),
                f"≤ {CENTRE_TOLERANCE:.0%}",
                "video.framing",
                ("middle_offset",),
            ),
            MetricRow(
                "背景杂乱度 background clutter",
                _pct(framing.clutter),
                f"≤ {CLUTTER_WARN:.0%}",
                "video.background",
                ("clutter",),
            ),
            MetricRow(
                "绿色（花草）green (plants)", _pct(framing.green), f"≤ {GREEN_WARN:.0%}", "video.background", ("green",)
            ),
        ]
    return rows


def _outline_regions(picture: Picture, found: AdvisoryRegions, framing: Framing, scale: float) -> None:
    """Faces always (they are what framing counts); plants and busy cells only where their share
    is past the limit judge_background warns at, so an outline always means advice was given."""
    draw = picture.draw
    width = max(2, round(3 * scale))
    for face in found.faces:
        front = face in found.front_row
        box = [face.x * scale, face.y * scale, (face.x + face.w) * scale, (face.y + face.h) * scale]
        draw.rectangle(box, outline=FRONT if front else BEHIND, width=width)
        label = "前排 front row" if front else "后排 behind"
        picture.label((box[0] + 3, box[1] - 5), label, 14, FRONT if front else BEHIND)
        picture.mark("face", box=[face.x, face.y, face.w, face.h], front_row=front)
    if found.front_row:
        centre, half = picture.meta["frame_width"] / 2, CENTRE_TOLERANCE * picture.meta["frame_width"]
        height = picture.meta["frame_height"] * scale
        for x in (centre - half, centre + half):
            for y in np.arange(0, height, 16):
                draw.line([(x * scale, y), (x * scale, min(y + 8, height))], CENTRE, 1)
        picture.label(((centre - half) * scale + 4, 22), f"居中 centre ±{CENTRE_TOLERANCE:.0%}", 12, CENTRE)
        picture.mark("centre_band", left=round(centre - half), right=round(centre + half))
    if framing.green > GREEN_WARN:
        for outline in found.plants:
            points = [(x * scale, y * scale) for x, y in outline]
            draw.line([*points, points[0]], PLANT, width)
            picture.mark("plants", points=len(outline), box=_bounds(outline))
        if found.plants:
            x, y, _, _ = _bounds(found.plants[0])
            picture.label((x * scale + 3, y * scale - 5), f"花草？plants? 绿色 green {found.green:.0%}", 14, PLANT)
    if framing.clutter > CLUTTER_WARN:
        bx, by, bw, bh = found.background
        draw.rectangle([bx * scale, by * scale, (bx + bw) * scale, (by + bh) * scale], outline=CLUTTER, width=1)
        picture.mark("background_band", box=list(found.background))
        for x, y, w, h in found.busy_cells:
            draw.rectangle([x * scale, y * scale, (x + w) * scale, (y + h) * scale], outline=CLUTTER, width=width)
            picture.mark("clutter", box=[x, y, w, h])
        label = f"背景杂乱 busy background {found.clutter:.0%}"
        picture.label((bx * scale + 6, (by + bh) * scale - 6), label, 14, CLUTTER)


def _bounds(points: list[tuple[int, int]]) -> list[int]:
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    return [min(xs), min(ys), max(xs) - min(xs), max(ys) - min(ys)]


def _panel_lines(sample: VideoSample, t: VideoThresholds, width: int) -> list[tuple]:
    """What the panel says, as drawing steps: ('text', str, size, colour) or ('row', cells, colour)."""
    overall = verdict_of(sample.findings)
    verdicts = {f.check: f.verdict for f in sample.findings}
    # A file by its name (the directory is the technician's own); a device or URL as given.
    name = Path(sample.source).name if sample.kind in ("file", "image") else sample.source
    steps: list[tuple] = [
        (
            "text",
            f"上传画面 uplink picture · {name} · {sample.width}×{sample.height} · 分析 {sample.frames} 帧 "
            f"frames (数值为中位数 values are medians)",
            15,
            INK,
        ),
        ("overall", f"总体 overall: {verdict_words(overall)} · {Article.ART17}", 20, verdict_rgb(overall), overall),
        (
            "text",
            "第十五条 / Art. 15 取景与第十六条 / Art. 16 背景仅为建议，不计入总体结论 / framing and background "
            "are advisory: they change neither the verdict nor the exit code",
            12,
            GREY,
        ),
        ("row", ("指标 metric", "数值 value", "阈值 警告 / 严重 warn / fail", "检查 check"), INK, None),
    ]
    for row in metric_rows(sample, t):
        verdict = verdicts.get(row.check, Verdict.UNKNOWN)
        steps.append(("row", (row.label, row.value, row.threshold, row.check), verdict_rgb(verdict), row))
    steps.append(("gap",))
    for finding in sorted(sample.findings, key=lambda f: (is_advisory(f.check), f.verdict is Verdict.OK)):
        advisory = " · 建议 advisory" if is_advisory(finding.check) else ""
        words = verdict_words(finding.verdict, graded=not advisory)
        head = f"{words} · {finding.check} · {finding.article}{advisory}"
        steps.append(("finding", head, finding))
        for line in wrap(f"{finding.message.zh} / {finding.message.en}", 13, width - 50):
            steps.append(("text", line, 13, INK, 30))
    return steps


COLUMNS = (0.0, 0.36, 0.56, 0.85)  # of the panel width


def _draw_panel(picture: Picture, steps: list[tuple], top: int, width: int) -> int:
    y = top + 12
    for step in steps:
        kind = step[0]
        if kind == "text":
            indent = step[4] if len(step) > 4 else 0
            for line in wrap(step[1], step[2], width - 24 - indent):
                picture.text((12 + indent, y), line, step[2], step[3])
                y += step[2] + 6
        elif kind == "overall":
            picture.text((12, y), step[1], step[2], step[3])
            picture.mark("overall", verdict=step[4].value, text=step[1])
            y += step[2] + 10
        elif kind == "row":
            for cell, left in zip(step[1], COLUMNS, strict=True):
                picture.text((12 + left * (width - 24), y), cell, 13, step[2])
            if step[3] is not None:
                row: MetricRow = step[3]
                picture.mark(
                    "metric",
                    check=row.check,
                    keys=list(row.keys),
                    label=row.label,
                    value=row.value,
                    threshold=row.threshold,
                )
            else:
                picture.draw.line([(12, y + 19), (width - 12, y + 19)], GREY)
            y += 21
        elif kind == "gap":
            y += 8
        elif kind == "finding":
            finding: Finding = step[2]
            picture.draw.ellipse([14, y + 4, 24, y + 14], fill=verdict_rgb(finding.verdict))
            picture.text((30, y), step[1], 14, verdict_rgb(finding.verdict))
            picture.mark("finding", check=finding.check, verdict=finding.verdict.value, code=finding.code)
            y += 20
    return y + 10


def render_snapshot(sample: VideoSample, thresholds: VideoThresholds) -> Picture:
    """The snapshot as a Picture (image and legend of what was drawn), before it is saved."""
    assert sample.last_frame is not None
    frame = sample.last_frame
    height, width = frame.shape[:2]
    scale = min(1.0, MAX_WIDTH / width)
    shown = cv2.resize(frame, (round(width * scale), round(height * scale)), interpolation=cv2.INTER_AREA)
    canvas_width = max(shown.shape[1], MIN_WIDTH)
    overall = verdict_of(sample.findings)
    meta = {"overall": overall.value, "frame_width": width, "frame_height": height}
    steps = _panel_lines(sample, thresholds, canvas_width)
    # The panel is laid out once on scratch to learn its height, then drawn under the frame.
    panel_height = _draw_panel(Picture(Image.new("RGB", (canvas_width, 4000)), "scratch"), steps, 0, canvas_width)
    picture = Picture(
        Image.new("RGB", (canvas_width, shown.shape[0] + panel_height), PANEL), "video_snapshot", meta=meta
    )
    picture.image.paste(Image.fromarray(cv2.cvtColor(shown, cv2.COLOR_BGR2RGB)), (0, 0))
    if sample.framing is not None:
        _outline_regions(picture, regions(frame, sample.framing), sample.framing, scale)
    _draw_panel(picture, steps, shown.shape[0], canvas_width)
    return picture


def draw_snapshot(sample: VideoSample, thresholds: VideoThresholds, path: Path) -> bool:
    """Write the snapshot to `path` (PNG, legend inside); False when it cannot be written there."""
    return render_snapshot(sample, thresholds).save(path)
