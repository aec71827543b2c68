"""`venue-agent probe video SOURCE`: sample the uplink picture, judge it and show the verdict."""

from __future__ import annotations

import json
from pathlib import Path

import click
from rich.console import Console

from agent.cli.configured import CONFIG_PROBE_OPTION, load
from agent.cli.messages import usage_error
from agent.cli.options import PROBLEMS_OPTION
from agent.cli.probe_output import exit_code, findings_json, print_findings, print_metrics
from agent.cli.quiet import quieten_opencv
from agent.cli.video_snapshot import draw_snapshot
from agent.sampling.video import VideoSample, sample_video
from collectors.video.source import VideoSourceError
from probes.video import VideoThresholds


def report_json(sample: VideoSample) -> dict:
    """The stable JSON shape (scripts depend on these keys: see docs/video.md)."""
    framing = sample.framing
    return {
        "source": sample.source,
        "kind": sample.kind,
        "frames": sample.frames,
        "analysed_s": sample.analysed_s,
        "whole_file": sample.whole_file,
        "width": sample.width,
        "height": sample.height,
        "ms_per_frame": sample.ms_per_frame,
        "metrics": sample.metrics,
        "framing": None
        if framing is None
        else {
            "faces": len(framing.faces),
            "front_row": len(framing.front_row),
            "middle_offset": None if framing.middle_offset is None else round(framing.middle_offset, 3),
            "clutter": round(framing.clutter, 3),
            "green": round(framing.green, 3),
        },
        "findings": findings_json(sample.findings),
    }


@click.command("video")
@click.argument("source", required=False)
@CONFIG_PROBE_OPTION
@click.option(
    "--seconds",
    type=float,
    default=None,
    help="How long to sample (media time for files). Default: a file whole, a live source 5 s.",
)
@click.option("--frames", "max_frames", type=int, default=None, help="How many frames to analyse at most.")
@click.option("--rate", "rate_hz", type=float, default=None, help="Frames analysed per second [default: 2].")
@click.option("--snapshot", type=click.Path(path_type=Path), default=None, help="Write the annotated frame (PNG).")
@click.option(
    "--decode",
    type=click.Choice(["auto", "all", "keyframes"]),
    default=None,
    help="Network streams: keyframes decodes only intra frames (ffmpeg), far less CPU; auto keyframes while they "
    "come every 2 s, else every frame [default: auto, as the daemon, or the config's].",
)
@PROBLEMS_OPTION
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def probe_video(
    source: str | None,
    config_path: Path | None,
    seconds: float | None,
    max_frames: int | None,
    rate_hz: float | None,
    snapshot: Path | None,
    decode: str | None,
    problems_only: bool,
    as_json: bool,
) -> None:
    """Judge the uplink picture (Art. 17; framing Art. 15 and background Art. 16 are advisory).

    SOURCE: a V4L2 device (0, /dev/video0), a video or image file, or a URL (rtsp://, udp://, http://);
    or none with -c: the config's [video] source, its thresholds and decode. A file is analysed whole
    unless --seconds or --frames limit it; JSON `analysed_s` and `frames` say how much was.
    Exit codes (Art. 17 and signal only): 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN.
    """
    quieten_opencv()
    rate_hz = 2.0 if rate_hz is None else rate_hz
    if rate_hz <= 0 or (max_frames is not None and max_frames < 1) or (seconds is not None and seconds <= 0):
        raise usage_error("cli.positive", options="--rate, --frames, --seconds")
    thresholds = VideoThresholds()  # the snapshot shows the thresholds the verdicts used
    size: dict = {}
    if config_path is not None:
        video = load(config_path).video
        if video is None:
            raise usage_error("cli.no_configured", table="video")
        source = source or video.source
        thresholds, decode = video.thresholds, decode or video.decode
        size = {"width": video.width, "height": video.height, "fourcc": video.fourcc}
    if source is None:
        raise usage_error("cli.target_or_config")
    try:
        sample = sample_video(source, seconds, max_frames, rate_hz, thresholds, decode or "auto", **size)
    except VideoSourceError as exc:
        raise usage_error("cli.bad_source", detail=exc.message) from None
    if snapshot is not None and sample.last_frame is not None and not draw_snapshot(sample, thresholds, snapshot):
        raise usage_error("cli.write_failed", what="snapshot", what_zh="截图", path=snapshot)
    if as_json:
        click.echo(json.dumps(report_json(sample), ensure_ascii=False, indent=2))
        raise SystemExit(exit_code(sample.findings))
    console = Console()
    code = print_findings(console, sample.findings, problems_only)
    if not problems_only and sample.metrics:  # nothing measured: the findings said why
        span = "whole file" if sample.whole_file else f"{sample.analysed_s:g} s"
        title = f"{source}: {sample.frames} frames ({span}), {sample.ms_per_frame} ms/frame analysis"
        print_metrics(console, title, sample.metrics, "value (median)")
    raise SystemExit(code)
