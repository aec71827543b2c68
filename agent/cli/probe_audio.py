"""`venue-agent probe audio SOURCE`: listen to the uplink sound, judge it and show the verdict."""

from __future__ import annotations

import json
from pathlib import Path

import click
from rich.console import Console

from agent.cli.audio_plot import draw_plot
from agent.cli.messages import usage_error
from agent.cli.probe_output import PROBLEMS_OPTION, exit_code, findings_json, print_findings, print_metrics
from agent.sampling.audio import AudioSample, listen
from probes.audio import AudioThresholds


def report_json(sample: AudioSample) -> dict:
    """The stable JSON shape (scripts depend on these keys: see docs/audio.md)."""
    return {
        "source": sample.source,
        "seconds": sample.metrics.seconds if sample.metrics else 0.0,
        "rate": sample.rate,
        "overflows": sample.overflows,
        "metrics": sample.metrics.as_dict() if sample.metrics else {},
        "findings": findings_json(sample.findings),
    }


@click.command("audio")
@click.argument("source")
@click.option("--seconds", type=float, default=10.0, show_default=True, help="How much to listen to / read.")
@click.option("--channel", type=int, default=0, show_default=True, help="Which channel is the uplink mix (0-based).")
@click.option("--rate", "rate", type=int, default=48000, show_default=True, help="Sample rate of a live input.")
@click.option(
    "--mains",
    "mains_hz",
    type=click.Choice(["50", "60"]),
    default="50",
    show_default=True,
    help="Mains frequency for hum detection (China: 50).",
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
    source: str,
    seconds: float,
    channel: int,
    rate: int,
    mains_hz: str,
    plot: Path | None,
    problems_only: bool,
    as_json: bool,
) -> None:
    """Judge the uplink sound (Art. 17: 洪亮 loud, 清楚 clear, 无杂音 free of noise).

    SOURCE: a sound file (WAV, FLAC, …) or device:NAME_OR_INDEX for a live input.
    Exit codes: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN.
    """
    if seconds <= 0 or rate <= 0:
        raise usage_error("cli.positive", options="--seconds, --rate")
    thresholds = AudioThresholds(mains_hz=float(mains_hz))
    sample = listen(source, seconds, channel, rate, thresholds)
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
        print_metrics(console, f"{source}: {report['seconds']} s at {sample.rate} Hz", report["metrics"])
    raise SystemExit(code)
