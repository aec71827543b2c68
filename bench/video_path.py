"""Video analysis cost: the metric set on 1080p frames against ffmpeg's signalstats+blurdetect,
and the daemon's whole video path at 1 analysed frame/s.

Run: .venv/bin/python -m bench.video_path
1. 60 frames of 1080p (ffmpeg testsrc2 with noise, H.264) decoded once into memory; `measure()` on
   each, single-threaded (`cv2.setNumThreads(1)`), median ms per frame. Anchor, same file, same
   machine: `ffmpeg -threads 1 -filter_threads 1 -vf signalstats,blurdetect -f null -`, minus the
   same command with `-vf null` (decode only), per frame.
2. The daemon's path: the Sampler on (a) a still 1080p image (no decoding: the analysis share of a
   raw capture) and (b) a live 1080p25 H.264 stream over UDP from ffmpeg, analysing 1 frame/s for
   20 s; CPU of this process as a share of one core (the ffmpeg sender is another process).
Targets (issue #5): ≤ 4 ms median per 1080p frame and ≥ 10× faster than the ffmpeg chain;
≤ 1 % of a core on raw capture, ≤ 5 % on a 1080p25 H.264 stream.
"""

from __future__ import annotations

import os
import platform
import resource
import socket
import statistics
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import cv2

from collectors.video.sampler import Sampler, frames
from collectors.video.source import parse_source
from probes.video_metrics import measure
from sim.ports import free_port
from sim.stream import start_udp_stream

FFMPEG = ["ffmpeg", "-hide_banner", "-loglevel", "error"]


def make_clip(path: Path, seconds: int = 2) -> None:
    subprocess.run(
        [
            *FFMPEG,
            "-y",
            "-f",
            "lavfi",
            "-i",
            "testsrc2=size=1920x1080:rate=30",
            "-vf",
            "noise=alls=8:allf=t",
            "-t",
            str(seconds),
            "-c:v",
            "libx264",
            "-preset",
            "veryfast",
            "-pix_fmt",
            "yuv420p",
            str(path),
        ],
        check=True,
    )


def ffmpeg_seconds(path: Path, video_filter: str) -> float:
    start = time.perf_counter()
    subprocess.run(
        [*FFMPEG, "-threads", "1", "-filter_threads", "1", "-i", str(path), "-vf", video_filter, "-f", "null", "-"],
        check=True,
    )
    return time.perf_counter() - start


def cpu_share(run_for_s: float, source_spec: str, decode: str = "all") -> tuple[float, int]:
    """CPU of this process and its children (the keyframe decoder) over `run_for_s`, per wall second."""
    analysed = 0
    previous = [None]

    def on_frame(_at, frame) -> None:
        nonlocal analysed
        _, previous[0] = measure(frame, previous[0])
        analysed += 1

    sampler = Sampler(parse_source(source_spec), 1.0, on_frame, lambda reason: None, decode=decode)
    cpu, wall = time.process_time() + children_cpu(), time.perf_counter()
    sampler.start()
    time.sleep(run_for_s)
    sampler.stop()
    return (time.process_time() + children_cpu() - cpu) / (time.perf_counter() - wall), analysed


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def main() -> None:
    cv2.setNumThreads(1)
    with tempfile.TemporaryDirectory() as workdir:
        clip = Path(workdir) / "clip.mp4"
        make_clip(clip)
        decoded = [frame for _, frame in frames(parse_source(str(clip)), rate_hz=1000)]
        times, previous = [], None
        for frame in decoded:
            start = time.perf_counter()
            _, previous = measure(frame, previous)
            times.append((time.perf_counter() - start) * 1000)
        ours = statistics.median(times)
        with_filters = min(ffmpeg_seconds(clip, "signalstats,blurdetect") for _ in range(3))
        decode_only = min(ffmpeg_seconds(clip, "null") for _ in range(3))
        theirs = (with_filters - decode_only) / len(decoded) * 1000
        print(
            f"machine: {platform.node()} {platform.machine()}, {os.cpu_count()} cores, Python "
            f"{platform.python_version()}, OpenCV {cv2.__version__}"
        )
        print(f"1080p metric set, single thread: median {ours:.2f} ms/frame over {len(decoded)} frames (target ≤ 4 ms)")
        print(
            f"ffmpeg signalstats+blurdetect, -threads 1: {theirs:.2f} ms/frame "
            f"({with_filters:.2f} s with filters − {decode_only:.2f} s decode only)"
        )
        print(f"ratio ffmpeg/agent: {theirs / ours:.1f}× faster (target ≥ 10×)")
        still = Path(workdir) / "still.png"
        cv2.imwrite(str(still), decoded[0])
        share, count = cpu_share(20, str(still))
        print(
            f"daemon path, raw picture (still image source), 1 frame/s: {share * 100:.2f} % of a core "
            f"({count} frames; target ≤ 1 %)"
        )
        for decode in ("all", "keyframes", "auto"):  # auto is the default
            port = free_port(socket.SOCK_DGRAM)
            sender = start_udp_stream(port, 40, size="1920x1080", bitrate="4M")
            try:
                threading.Event().wait(1.0)
                share, count = cpu_share(20, f"udp://127.0.0.1:{port}", decode)
            finally:
                sender.kill()
                sender.wait()
            print(
                f"daemon path, 1080p25 H.264 over UDP (GOP 1 s), 1 frame/s, decode = {decode}: "
                f"{share * 100:.1f} % of a core ({count} frames; target ≤ 5 %)"
            )


if __name__ == "__main__":
    main()
