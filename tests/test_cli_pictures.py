"""Pictures that explain themselves (#17 item 3): `probe audio --plot` and `probe video --snapshot`
rendered through the real entry point, and what they drew checked through the legend each PNG
carries (agent/cli/picture_text.read_legend) — not pixels by hash.

The hum marker is on the hum file only, clip marks on the clipped one only, dropout marks only
where the sound dropped out, a silence band only on the silent file; face boxes only where faces
were found, a plant outline only on the plant-filled picture. The words are the verdict map's,
the target band is the thresholds' own, and the font is Debian's, not the repository's.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from agent.cli import picture_text
from agent.cli.picture_text import read_legend
from agent.cli.verdicts import NAGIOS_CODE
from probes.advisory_regions import regions
from probes.audio_metrics import HUM_DETECT_DB
from probes.audio_thresholds import AudioThresholds
from probes.video_framing import analyse
from tests.audio_media import RATE, needs_espeak, room, speech, with_hum, write
from tests.video_media import gamma_gain, photo

ROOT = Path(__file__).resolve().parent.parent
SECONDS = 6.0  # short media: each case is one CLI run
GAPS_S = (1.25, 3.25, 5.25)  # where the dropout file has 30 ms of digital zeros


def probe(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "agent.cli.main", "probe", *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
        env={**os.environ, **(env or {})},
    )


def rendered(kind: str, media: Path, option: str, picture: Path) -> tuple[int, dict, dict]:
    """(exit code, the probe's JSON, the picture's legend) of one real CLI run."""
    result = probe(kind, str(media), option, str(picture), "--json")
    assert result.stdout, result.stderr[-2000:]
    with Image.open(picture) as image:
        assert image.format == "PNG" and image.width >= 900
    return result.returncode, json.loads(result.stdout), read_legend(picture)


def kinds(legend: dict, kind: str) -> list[dict]:
    return [e for e in legend["elements"] if e["kind"] == kind]


def word_of(code: int) -> str:
    return next(v.value for v, c in NAGIOS_CODE.items() if c == code)


# --- audio -------------------------------------------------------------------------------------


def audio_media(case: str, path: Path) -> Path:
    base = room(speech(SECONDS))
    if case == "clean":
        return write(path, base)
    if case == "hum":
        return write(path, with_hum(base, -45))
    if case == "clipped":
        return write(path, np.clip(base * 8, -1, 1))  # +18 dB into a hard limit
    if case == "silent":
        return write(path, np.zeros(int(RATE * SECONDS)))
    broken = base.copy()
    for at in GAPS_S:
        start = int(at * RATE)
        broken[start : start + int(0.03 * RATE)] = 0.0
    return write(path, broken)


@needs_espeak
@pytest.mark.timeout(300)
@pytest.mark.parametrize("case", ["clean", "hum", "clipped", "silent", "dropouts"])
def test_audio_plot_marks_only_what_was_found(tmp_path, case):
    code, report, legend = rendered("audio", audio_media(case, tmp_path / f"{case}.wav"), "--plot", tmp_path / "p.png")
    metrics, verdicts = report["metrics"], {f["check"]: f["verdict"] for f in report["findings"]}

    # The title: the overall verdict is the one the exit code says, and each Art. 17 check's.
    assert legend["picture"] == "audio_plot" and legend["overall"] == word_of(code)
    (overall,) = kinds(legend, "overall")
    assert "第十七条 / Art. 17" in overall["text"] and f"(exit {code})" in overall["text"]
    assert {e["check"]: e["verdict"] for e in kinds(legend, "verdict")} == verdicts
    # A time axis in seconds over the whole file, a LUFS scale with the thresholds' target band.
    (axis,) = kinds(legend, "time_axis")
    assert axis["unit"] == "s" and axis["end_s"] == pytest.approx(SECONDS, abs=0.01)
    assert kinds(legend, "level_scale")[0]["unit"] == "LUFS"
    t = AudioThresholds()
    (band,) = kinds(legend, "target_band")
    assert (band["low_lufs"], band["high_lufs"]) == (t.quiet_warn_lufs, t.loud_warn_lufs)
    assert sorted(e["lufs"] for e in kinds(legend, "fail_line")) == sorted((t.quiet_fail_lufs, t.loud_fail_lufs))

    hum_lines = kinds(legend, "hum_line")
    assert bool(hum_lines) == (case == "hum") == (metrics["hum_hz"] is not None)
    if hum_lines:  # marked with their level: the fundamental at least, each standing out
        assert hum_lines[0]["hz"] == 50 and all(e["excess_db"] >= HUM_DETECT_DB for e in hum_lines)
        assert kinds(legend, "hum")[0]["db"] == metrics["hum_db"] and verdicts["audio.noise"] != "ok"

    clips = kinds(legend, "clipping")
    assert bool(clips) == (case == "clipped")
    if clips:  # the marked spans hold at least the clipped samples
        marked = sum(e["end_s"] - e["start_s"] for e in clips)
        assert marked >= metrics["clipping_frac"] * SECONDS * 0.99

    drops = kinds(legend, "dropout")
    assert bool(drops) == (case == "dropouts")
    assert len(drops) == metrics["dropouts"]  # the same rule as the count the verdict used
    for drop in drops:  # where the sound really dropped out
        assert min(abs(drop["at_s"] - at) for at in GAPS_S) < 0.01 and drop["length_ms"] == pytest.approx(30, abs=1)

    silences = kinds(legend, "silence")
    assert bool(silences) == (case == "silent")
    if silences:
        assert silences[0]["start_s"] == 0 and silences[0]["end_s"] == pytest.approx(SECONDS, abs=0.05)
        assert not kinds(legend, "loudness_curve")  # nothing drawn along the floor for −∞
    else:
        assert {e["which"] for e in kinds(legend, "loudness_curve")} == {"momentary", "short_term"}


# --- video -------------------------------------------------------------------------------------


def with_plants(image: np.ndarray, seed: int = 4) -> np.ndarray:
    """Two potted plants, one each side: leaves of varied greens as a venue's flower pots show."""
    rng = np.random.default_rng(seed)
    out = image.copy()
    height, width = out.shape[:2]
    for cx, cy in ((int(width * 0.12), int(height * 0.68)), (int(width * 0.88), int(height * 0.66))):
        cv2.rectangle(out, (cx - 30, cy + 45), (cx + 30, height - 1), (40, 60, 120), -1)
        for _ in range(70):
            centre = (cx + int(rng.normal(0, 32)), cy + int(rng.normal(-10, 32)))
            axes = (int(rng.integers(12, 26)), int(rng.integers(5, 10)))
            colour = (int(rng.integers(20, 70)), int(rng.integers(120, 210)), int(rng.integers(10, 60)))
            cv2.ellipse(out, centre, axes, float(rng.integers(0, 180)), 0, 360, colour, -1, cv2.LINE_AA)
    return out


VIDEO = {
    "good": lambda: photo("astronaut"),
    "dark": lambda: gamma_gain(photo("astronaut"), 2.4, 0.5),
    "blurred": lambda: cv2.GaussianBlur(photo("astronaut"), (0, 0), 5),
    "plants": lambda: with_plants(photo("coffee")),  # and nobody in the picture
}


@pytest.mark.timeout(300)
@pytest.mark.parametrize("case", list(VIDEO))
def test_video_snapshot_outlines_only_what_was_found(tmp_path, case):
    media = tmp_path / f"{case}.png"
    cv2.imwrite(str(media), VIDEO[case]())
    code, report, legend = rendered("video", media, "--snapshot", tmp_path / "s.png")
    verdicts = {f["check"]: f["verdict"] for f in report["findings"]}

    assert legend["picture"] == "video_snapshot" and legend["overall"] == word_of(code)
    (overall,) = kinds(legend, "overall")
    assert "第十七条 / Art. 17" in overall["text"] and f"(exit {code})" in overall["text"]
    expected = {"good": "ok", "dark": "fail", "blurred": "fail", "plants": "ok"}[case]
    assert legend["overall"] == expected
    # Every metric of the probe, each with a unit-bearing value and a threshold (or "for reference").
    rows = kinds(legend, "metric")
    shown = {key for row in rows for key in row["keys"]}
    assert set(report["metrics"]) <= shown and {"faces", "front_row", "clutter", "green"} <= shown
    assert all(row["threshold"] for row in rows)
    assert {e["check"]: e["verdict"] for e in kinds(legend, "finding")} == verdicts
    if case == "dark":
        assert verdicts["video.brightness"] == "fail"
    if case == "blurred":
        assert verdicts["video.clarity"] == "fail"

    faces = kinds(legend, "face")
    assert len(faces) == report["framing"]["faces"]
    assert bool(faces) == (case != "plants")
    assert sum(f["front_row"] for f in faces) == report["framing"]["front_row"]
    plants = kinds(legend, "plants")
    assert bool(plants) == (case == "plants")
    if plants:  # outlined where the greens are: the left and the right pot
        assert verdicts["video.background"] == "warn" and report["framing"]["green"] > 0.08
        centres = sorted((p["box"][0] + p["box"][2] / 2) / legend["frame_width"] for p in plants)
        assert centres[0] < 0.25 and centres[-1] > 0.75
    clutter = kinds(legend, "clutter")
    assert bool(clutter) == (report["framing"]["clutter"] > 0.10)


def test_advisory_regions_measure_what_video_framing_judged():
    """probes/advisory_regions.py recomputes video_framing's masks to find places: its fractions
    must be framing's own, or an outline could disagree with the advice it explains."""
    for image in (photo("astronaut"), with_plants(photo("coffee")), cv2.resize(photo("chelsea"), (1280, 853))):
        framing = analyse(image)
        found = regions(image, framing)
        assert found.green == pytest.approx(framing.green, abs=1e-12)
        assert found.clutter == pytest.approx(framing.clutter, abs=1e-12)
        assert found.faces == framing.faces


# --- the font ------------------------------------------------------------------------------------


def test_the_cjk_font_is_debians_found_at_run_time_not_the_repositorys():
    path, index = picture_text.cjk_font_file()
    assert path.is_file() and not path.resolve().is_relative_to(ROOT)
    assert picture_text.font(14).getname()[0] == picture_text.FONT_FAMILY and index >= 0
    if shutil.which("dpkg"):
        owner = subprocess.run(["dpkg", "-S", str(path.resolve())], capture_output=True, text=True).stdout
        assert owner.startswith("fonts-noto-cjk"), owner
    tracked = subprocess.run(["git", "ls-files"], capture_output=True, text=True, cwd=ROOT).stdout.split()
    assert not [name for name in tracked if name.lower().endswith((".ttc", ".otf", ".ttf"))]


def test_no_cjk_font_is_one_clear_bilingual_error(monkeypatch):
    monkeypatch.delenv(picture_text.FONT_ENV, raising=False)
    monkeypatch.setattr(picture_text, "_fc_match", lambda family: None)
    monkeypatch.setattr(picture_text, "FONT_PATHS", (Path("/nonexistent/NotoSansCJK-Regular.ttc"),))
    picture_text.cjk_font_file.cache_clear()
    try:
        with pytest.raises(picture_text.PictureError) as raised:
            picture_text.cjk_font_file()
    finally:
        picture_text.cjk_font_file.cache_clear()
    message = raised.value.format_message()
    assert "fonts-noto-cjk" in message and "中文字体" in message and "no CJK font" in message


def test_a_font_file_that_is_not_there_exits_unknown_with_one_line(tmp_path):
    media = tmp_path / "good.png"
    cv2.imwrite(str(media), photo("astronaut"))
    result = probe("video", str(media), "--snapshot", str(tmp_path / "s.png"), env={picture_text.FONT_ENV: "/no/font"})
    assert result.returncode == 3 and not (tmp_path / "s.png").exists()
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith("UNKNOWN") and "/no/font" in line and "字体" in line
