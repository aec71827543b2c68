"""`venue-agent probe video SOURCE`: sample the uplink picture, measure it and judge it (Art. 15–17)."""

from __future__ import annotations

import json
import math
import threading
import time
from pathlib import Path

import click
import cv2
import numpy as np
from rich.console import Console

from agent.cli.probe_output import exit_code, findings_json, print_findings, print_metrics
from collectors.video.sampler import frames
from collectors.video.source import VideoSourceError, parse_source
from contract.findings import Finding, Verdict
from probes.video import VideoJudge, VideoThresholds, aggregate, signal_lost
from probes.video_framing import Framing, analyse, judge_background, judge_framing
from probes.video_metrics import FrameMetrics, measure

ADVISORY = ("video.framing", "video.background")
COLOURS = {
    Verdict.OK: (80, 200, 80),
    Verdict.WARN: (0, 200, 255),
    Verdict.FAIL: (60, 60, 255),
    Verdict.UNKNOWN: (180, 180, 180),
}


def run_probe(
    spec: str,
    seconds: float | None,
    max_frames: int | None,
    rate_hz: float,
    thresholds: VideoThresholds,
    decode: str = "all",
) -> dict:
    source = parse_source(spec)
    if max_frames is None and seconds is None:
        max_frames, seconds = (1, None) if source.kind == "image" else (None, 10.0 if source.kind == "file" else 5.0)
    judge = VideoJudge(thresholds.model_copy(update={"window_s": math.inf}))
    samples: list[FrameMetrics] = []
    analysis_ms: list[float] = []
    previous_gray = None
    last_frame: np.ndarray | None = None
    first_at = None
    loss = None
    started = time.monotonic()
    stop = threading.Event()
    timer = threading.Timer(seconds + 5 if seconds is not None else 0, stop.set)
    timer.daemon = True
    if source.live and seconds is not None:  # a stream with scarce frames must not hold the probe
        timer.start()
    try:
        for at, frame in frames(source, rate_hz, stop, decode=decode):
            first_at = at if first_at is None else first_at
            t0 = time.perf_counter()
            metrics, previous_gray = measure(frame, previous_gray)
            analysis_ms.append((time.perf_counter() - t0) * 1000)
            samples.append(metrics)
            judge.add(at, metrics)
            last_frame = frame
            if max_frames is not None and len(samples) >= max_frames:
                break
            if seconds is not None and (at - first_at >= seconds or time.monotonic() - started > seconds + 15):
                break
        else:
            if source.live and not stop.is_set():
                loss = "the stream ended"
    except VideoSourceError as exc:
        loss = str(exc)
    finally:
        timer.cancel()
        stop.set()
    findings = judge.findings(
        judge.samples[-1].at if judge.samples else 0.0, signal_error=loss if not samples else None
    )
    if loss and samples:  # the picture was judged, but the source went away during the probe
        findings[0] = signal_lost(loss)
    framing = analyse(last_frame) if last_frame is not None else None
    if framing is not None:
        findings += [judge_framing(framing), judge_background(framing)]
    return {
        "source": spec,
        "kind": source.kind,
        "frames": len(samples),
        "width": None if last_frame is None else int(last_frame.shape[1]),
        "height": None if last_frame is None else int(last_frame.shape[0]),
        "ms_per_frame": round(float(np.median(analysis_ms)), 2) if analysis_ms else None,
        "metrics": aggregate(samples) if samples else {},
        "framing": None
        if framing is None
        else {
            "faces": len(framing.faces),
            "front_row": len(framing.front_row),
            "middle_offset": None if framing.middle_offset is None else round(framing.middle_offset, 3),
            "clutter": round(framing.clutter, 3),
            "green": round(framing.green, 3),
        },
        "_findings": findings,
        "_frame": last_frame,
        "_framing": framing,
    }


def draw_snapshot(frame: np.ndarray, framing: Framing | None, result: dict, findings: list[Finding]) -> np.ndarray:
    """The analysed frame with faces boxed and metrics and verdicts written on it."""
    image = frame.copy()
    scale = max(1.0, image.shape[1] / 1280)
    if framing is not None:
        front = set(framing.front_row)
        for face in framing.faces:
            colour = (80, 220, 80) if face in front else (0, 200, 255)
            cv2.rectangle(image, (face.x, face.y), (face.x + face.w, face.y + face.h), colour, max(2, int(2 * scale)))
    metrics = result["metrics"]
    lines = [(f"{result['source']}  {result['width']}x{result['height']}  frames {result['frames']}", (255, 255, 255))]
    lines.append(
        (
            f"luma {metrics.get('luma_mean', 0):.0f} (p05 {metrics.get('luma_p05', 0):.0f} / p95 "
            f"{metrics.get('luma_p95', 0):.0f})  sharp {metrics.get('sharpness', 0):.0f}  noise "
            f"{metrics.get('noise_sigma', 0):.1f}  colour {metrics.get('colourfulness', 0):.0f}",
            (255, 255, 255),
        )
    )
    for finding in findings:
        lines.append((f"{finding.check}: {finding.verdict.value} - {finding.message.en}", COLOURS[finding.verdict]))
    # The text goes in a panel under the picture, so it hides nothing a technician needs to see.
    font, size, thickness = cv2.FONT_HERSHEY_SIMPLEX, 0.5 * scale, max(1, int(scale))
    line_h = int(22 * scale)
    text_w = max(cv2.getTextSize(text, font, size, thickness)[0][0] for text, _ in lines) + 20
    width = max(image.shape[1], text_w)
    canvas = np.zeros((image.shape[0] + line_h * len(lines) + 12, width, 3), np.uint8)
    canvas[: image.shape[0], : image.shape[1]] = image
    for row, (text, colour) in enumerate(lines):
        cv2.putText(canvas, text, (10, image.shape[0] + line_h * (row + 1)), font, size, colour, thickness, cv2.LINE_AA)
    return canvas


@click.command("video")
@click.argument("source")
@click.option("--seconds", type=float, default=None, help="How long to sample (media time for files).")
@click.option("--frames", "max_frames", type=int, default=None, help="How many frames to analyse.")
@click.option("--rate", "rate_hz", type=float, default=2.0, show_default=True, help="Frames analysed per second.")
@click.option("--snapshot", type=click.Path(path_type=Path), default=None, help="Write the annotated frame (PNG).")
@click.option(
    "--decode",
    type=click.Choice(["all", "keyframes"]),
    default="all",
    show_default=True,
    help="Network streams: keyframes decodes only intra frames (ffmpeg), far less CPU.",
)
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def probe_video(
    source: str,
    seconds: float | None,
    max_frames: int | None,
    rate_hz: float,
    snapshot: Path | None,
    decode: str,
    as_json: bool,
) -> None:
    """Judge the uplink picture (Art. 17; framing Art. 15 and background Art. 16 are advisory).

    SOURCE: a V4L2 device (0, /dev/video0), a video or image file, or a URL (rtsp://, udp://, http://).
    Exit codes (Art. 17 and signal only): 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN.
    """
    if rate_hz <= 0 or (max_frames is not None and max_frames < 1) or (seconds is not None and seconds <= 0):
        raise click.UsageError("--rate, --frames and --seconds must be positive")
    try:
        result = run_probe(source, seconds, max_frames, rate_hz, VideoThresholds(), decode)
    except VideoSourceError as exc:
        raise click.UsageError(str(exc)) from None
    findings: list[Finding] = result.pop("_findings")
    frame, framing = result.pop("_frame"), result.pop("_framing")
    code = exit_code([f for f in findings if f.check not in ADVISORY])
    if (
        snapshot is not None
        and frame is not None
        and not cv2.imwrite(str(snapshot), draw_snapshot(frame, framing, result, findings))
    ):
        raise click.UsageError(f"cannot write the snapshot to {snapshot}")
    if as_json:
        click.echo(json.dumps(result | {"findings": findings_json(findings)}, ensure_ascii=False, indent=2))
    else:
        console = Console()
        title = f"{source}: {result['frames']} frames, {result['ms_per_frame']} ms/frame analysis"
        print_metrics(console, title, result["metrics"], "value (median)")
        print_findings(console, findings)
    raise SystemExit(code)
