"""`venue-agent probe audio SOURCE`: listen to the uplink sound, judge it and show the verdict."""

from __future__ import annotations

import json
from pathlib import Path

import click
from rich.console import Console

from agent.cli.audio_plot import draw_plot
from agent.cli.configured import CONFIG_PROBE_OPTION, load
from agent.cli.messages import usage_error
from agent.cli.options import PROBLEMS_OPTION
from agent.cli.probe_output import exit_code, findings_json, print_findings, print_metrics
from agent.sampling.audio import PLOT_KEEP_S, AudioSample, listen
from probes.audio import AudioThresholds


def report_json(sample: AudioSample) -> dict:
    """The stable JSON shape (scripts depend on these keys: see docs/audio.md)."""
    return {
        "source": sample.source,
        "seconds": sample.metrics.seconds if sample.metrics else 0.0,
        "analysed_s": sample.analysed_s,
        "whole_file": sample.whole_file,
        "rate": sample.rate,
        "overflows": sample.overflows,
        "metrics": sample.metrics.as_dict() if sample.metrics else {},
        "findings": findings_json(sample.findings),
    }


@click.command("audio")
@click.argument("source", required=False)
@CONFIG_PROBE_OPTION
@click.option(
    "--seconds",
    type=float,
    default=None,
    help="How much to read of a file (default: all of it) or to listen to live (default: 10 s).",
)
@click.option("--channel", type=int, default=None, help="Which channel is the uplink mix (0-based) [default: 0].")
@click.option("--rate", "rate", type=int, default=None, help="Sample rate of a live input [default: 48000].")
@click.option(
    "--mains",
    "mains_hz",
    type=click.Choice(["50", "60"]),
    default=None,
    help="Mains frequency for hum detection [default: 50, China; or the config's].",
)
@click.option(
    "--plot",
    type=click.Path(path_type=Path),
    default=None,
    help="Write the loudness and spectrum plot, with verdicts (PNG).",
)
@PROBLEMS_OPTION
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def probe_audio(
    source: str | None,
    config_path: Path | None,
    seconds: float | None,
    channel: int | None,
    rate: int | None,
    mains_hz: str | None,
    plot: Path | None,
    problems_only: bool,
    as_json: bool,
) -> None:
    """Judge the uplink sound (Art. 17: 洪亮 loud, 清楚 clear, 无杂音 free of noise).

    SOURCE: a sound file (WAV, FLAC, …) or device:NAME_OR_INDEX for a live input; or none with -c:
    the config's [audio] source, channel, rate and thresholds. A file is measured whole (as
    ffmpeg's ebur128 would) unless --seconds limits it; JSON `analysed_s` says how much was.
    Exit codes: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN.
    """
    if (seconds is not None and seconds <= 0) or (rate is not None and rate <= 0):
        raise usage_error("cli.positive", options="--seconds, --rate")
    thresholds = AudioThresholds()
    if config_path is not None:
        audio = load(config_path).audio
        if audio is None:
            raise usage_error("cli.no_configured", table="audio")
        source, thresholds = source or audio.source, audio.thresholds
        channel = audio.channel if channel is None else channel
        rate = audio.rate if rate is None else rate
    if source is None:
        raise usage_error("cli.target_or_config")
    if mains_hz is not None:
        thresholds = thresholds.model_copy(update={"mains_hz": float(mains_hz)})
    sample = listen(source, seconds, channel or 0, rate or 48000, thresholds, keep_s=PLOT_KEEP_S if plot else 0.0)
    drawn = plot is None or draw_plot(sample, thresholds, plot)
    if not drawn:
        raise usage_error("cli.write_failed", what="plot", what_zh="图", path=plot)
    report = report_json(sample)
    if as_json:
        click.echo(json.dumps(report, ensure_ascii=False, indent=2))
        raise SystemExit(exit_code(sample.findings))
    console = Console()
    code = print_findings(console, sample.findings, problems_only)
    if not problems_only and report["metrics"]:  # nothing measured: the findings said why
        span = "whole file" if sample.whole_file else f"{sample.analysed_s:g} s"
        print_metrics(console, f"{source}: {span} ({sample.analysed_s:g} s) at {sample.rate} Hz", report["metrics"])
    raise SystemExit(code)
