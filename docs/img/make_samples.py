"""Redraw the sample pictures in docs/img/ through the real CLI: `.venv/bin/python docs/img/make_samples.py`.

The media are the tests' own (espeak-ng speech over a room, scikit-image photographs); the
pictures are drawn by `venue-agent probe … --plot/--snapshot` exactly as a technician gets them,
then reduced to a palette (32 colours and the verdict colours) so each stays a few tens of KB in
the repository (the legend chunk is kept). Frames are shrunk to 360 px first, for the same reason.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

import cv2
import numpy as np
from PIL import Image
from PIL.PngImagePlugin import PngInfo

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from agent.cli.picture_text import GREY, INK, LEGEND_KEY, verdict_rgb  # noqa: E402
from contract.findings import Verdict  # noqa: E402
from tests.audio_media import room, speech, with_hum, write  # noqa: E402
from tests.test_cli_pictures import with_plants  # noqa: E402
from tests.video_media import gamma_gain, photo  # noqa: E402

OUT = Path(__file__).resolve().parent
COLOURS = 32
FRAME_WIDTH = 360


def shrink(path: Path) -> None:
    with Image.open(path) as image:
        image.load()
        legend = image.text[LEGEND_KEY]  # type: ignore[attr-defined]
        rgb = image.convert("RGB")
    # An adaptive palette for the photograph and lines, plus the verdict colours exactly, so a
    # warning does not come out grey.
    adaptive = rgb.quantize(COLOURS, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE).getpalette()
    exact = [c for v in Verdict for c in verdict_rgb(v)] + [*INK, *GREY, 255, 255, 255]
    palette = Image.new("P", (1, 1))
    palette.putpalette(adaptive[: 3 * COLOURS] + exact)
    reduced = rgb.quantize(palette=palette, dither=Image.Dither.NONE)
    info = PngInfo()
    info.add_itxt(LEGEND_KEY, legend)
    reduced.save(path, optimize=True, pnginfo=info)


def probe(kind: str, media: Path, option: str, picture: Path) -> None:
    subprocess.run(
        [sys.executable, "-m", "agent.cli.main", "probe", kind, str(media), option, str(picture), "--problems"],
        cwd=ROOT,
        check=False,  # a faulty sample exits 1 or 2, as it should
        capture_output=True,
    )
    shrink(picture)


def frame(image: np.ndarray) -> np.ndarray:
    height, width = image.shape[:2]
    return cv2.resize(image, (FRAME_WIDTH, round(height * FRAME_WIDTH / width)), interpolation=cv2.INTER_AREA)


def main() -> None:
    base = room(speech(8.0))
    sounds = {"audio-clean": base, "audio-hum": with_hum(base, -45), "audio-clipped": np.clip(base * 8, -1, 1)}
    pictures = {
        "video-good": photo("astronaut"),
        "video-dark": gamma_gain(photo("astronaut"), 2.4, 0.5),
        "video-plants": with_plants(photo("coffee")),
    }
    with tempfile.TemporaryDirectory() as scratch:
        for name, samples in sounds.items():
            probe("audio", write(Path(scratch) / f"{name}.wav", samples), "--plot", OUT / f"{name}.png")
        for name, image in pictures.items():
            media = Path(scratch) / f"{name}.png"
            cv2.imwrite(str(media), frame(image))
            probe("video", media, "--snapshot", OUT / f"{name}.png")
    for path in sorted(OUT.glob("*.png")):
        print(f"{path.name}: {path.stat().st_size // 1024} KB")


if __name__ == "__main__":
    main()
