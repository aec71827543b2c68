"""Child processes of the simulated venue: a live H.264 test stream over UDP, and stopping children."""

from __future__ import annotations

import subprocess


def udp_stream_command(
    port: int,
    seconds: float | None = None,
    size: str = "1280x720",
    rate: int = 25,
    source: list[str] | None = None,
    bitrate: str | None = None,
    gop: int | None = None,
) -> list[str]:
    """ffmpeg sending H.264 (GOP = 1 s, or `gop` frames) in MPEG-TS over UDP to 127.0.0.1:port, in real time.

    The default picture is ffmpeg's moving `testsrc2` pattern; `source` replaces the input options.
    """
    source = source or ["-f", "lavfi", "-i", f"testsrc2=size={size}:rate={rate}"]
    command = ["ffmpeg", "-hide_banner", "-loglevel", "error", "-re", *source]
    command += ["-t", str(seconds)] if seconds is not None else []
    command += ["-c:v", "libx264", "-preset", "ultrafast", "-tune", "zerolatency", "-g", str(gop or rate)]
    command += ["-b:v", bitrate] if bitrate else []
    command += ["-keyint_min", str(gop), "-sc_threshold", "0"] if gop else []  # exactly `gop` apart
    return [*command, "-pix_fmt", "yuv420p", "-f", "mpegts", f"udp://127.0.0.1:{port}?pkt_size=1316"]


def start_udp_stream(port: int, seconds: float | None = None, **options: object) -> subprocess.Popen[bytes]:
    return subprocess.Popen(udp_stream_command(port, seconds, **options), stdin=subprocess.DEVNULL)  # type: ignore[arg-type]


def stop_process(process: subprocess.Popen[bytes] | None, timeout_s: float = 5) -> None:
    """SIGTERM, then SIGKILL if it has not gone within `timeout_s`."""
    if process is None or process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
