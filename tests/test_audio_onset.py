"""The onset check (#15 item 5) on real speech, tick by tick as the daemon runs it.

`replay` hands the judge what agent/monitors/audio.py hands it: every `PERIOD_S` the newest
`HISTORY_S` of sound (`measure_onset` → `AudioJudge.onset`), every `interval_s` the last
`window_s` judged with the newest onset (`measure` → `AudioJudge.findings`). Bounds are counted in
ticks from the sample where a fault begins, never in wall time; the real daemon's loop is
exercised through PortAudio in tests/test_audio_daemon.py.
"""

from __future__ import annotations

import io
import math
import subprocess
from dataclasses import dataclass

import numpy as np
import pytest
import soundfile
from scipy.signal import resample_poly

from contract.findings import Finding, Verdict
from probes.audio import AudioJudge
from probes.audio_metrics import hum, measure
from probes.audio_onset import GATE_PAUSES, HISTORY_S, HUM_S, PERIOD_S, SILENT_S, gated_pauses, measure_onset
from probes.audio_thresholds import AudioThresholds
from tests.audio_media import ALSA_SOUNDS, RATE, needs_espeak, room, speech, with_hum, with_noise

pytestmark = needs_espeak

HOP = int(PERIOD_S * RATE)


@dataclass(frozen=True)
class Given:
    tick: int  # onset ticks since the start: tick k looks at the sound up to sample k * HOP
    by: str  # "onset" or "window"
    finding: Finding


def replay(samples: np.ndarray, interval_s: float = 5.0, window_s: float = 10.0) -> list[Given]:
    judge = AudioJudge(AudioThresholds())
    samples = samples.astype(np.float32)
    per_window = round(interval_s / PERIOD_S)
    given, onset = [], None
    for tick in range(1, len(samples) // HOP + 1):
        end = tick * HOP
        history = samples[max(0, end - int(HISTORY_S * RATE)) : end]
        if len(history) >= RATE:
            onset = measure_onset(history, RATE)
            given += [Given(tick, "onset", finding) for finding in judge.onset(onset)]
        if tick % per_window == 0:
            metrics = measure(samples[max(0, end - int(window_s * RATE)) : end], RATE)
            given += [Given(tick, "window", finding) for finding in judge.findings(metrics, onset=onset)]
    return given


def changes(given: list[Given], check: str) -> list[Given]:
    """Each time `check`'s verdict changed (what becomes an event)."""
    out, last = [], None
    for item in given:
        if item.finding.check == check and item.finding.verdict != last:
            out.append(item)
            last = item.finding.verdict
    return out


def ticks_after(sample: int, tick: int) -> int:
    """Ticks from the one before `sample` to `tick`: 1 means the first look that could see it."""
    return tick - sample // HOP


def espeak(voice: str, text: str, speed: int, pitch: int) -> np.ndarray:
    out = subprocess.run(
        ["espeak-ng", "-v", voice, "-s", str(speed), "-p", str(pitch), "--stdout", text],
        capture_output=True,
        check=True,
    ).stdout
    data, rate = soundfile.read(io.BytesIO(out), dtype="float64")
    data = resample_poly(data, RATE, rate)
    return data / np.abs(data).max() * 0.5


VOICES = (
    ("zh", "各分会场请注意，省政府电视电话会议将于十分钟后开始，请检查音视频设备。"),
    ("zh", "联络员和技术人员请到位，发言时请靠近话筒，保持会场安静。"),
    ("en-us", "All branch venues, the provincial video conference begins in ten minutes."),
    ("en-gb", "I think we should move the item to next week instead."),
    ("de", "Wir treffen uns morgen früh um neun Uhr im Büro."),
)


def varied_speech() -> np.ndarray:
    """Several voices, languages, speeds and pitches, with their natural pauses, over a room."""
    parts = [espeak(voice, text, speed, pitch) for voice, text in VOICES for speed, pitch in ((140, 30), (175, 70))]
    return with_noise(np.concatenate(parts), 40)


def test_a_mute_is_raised_within_the_onset_bound_and_cleared_by_the_window():
    talk = room()
    mute_at = int(20.2 * RATE)  # between two ticks
    samples = np.concatenate([np.tile(talk, 2)[:mute_at], np.zeros(8 * RATE), talk])
    given = replay(samples)
    signal = changes(given, "audio.signal")
    assert [(g.by, g.finding.verdict, g.finding.code) for g in signal] == [
        ("window", Verdict.OK, "audio.signal.ok"),
        ("onset", Verdict.FAIL, "audio.signal.silent"),
        ("window", Verdict.OK, "audio.signal.ok"),
    ]
    raised = signal[1]
    # the first tick whose newest SILENT_S is all zeros: 2 ticks of a second each, plus the partial one
    assert ticks_after(mute_at, raised.tick) <= math.ceil(SILENT_S / PERIOD_S) + 1
    assert "第十七条" in raised.finding.article and raised.finding.message.en == "audio input is digital silence"
    window_alone = AudioJudge(AudioThresholds()).findings(
        measure(samples[raised.tick * HOP - 10 * RATE : raised.tick * HOP], RATE)
    )
    assert window_alone[0].code == "audio.signal.ok"  # the window rule alone would have waited ~10 s
    unmute_at = mute_at + 8 * RATE
    assert signal[2].tick * HOP >= unmute_at  # cleared only once sound is back, by the window


def test_hum_is_raised_within_two_ticks_of_its_first_second_and_does_not_flap():
    talk = np.tile(room(), 5)[: 50 * RATE]
    start, stop = int(20.2 * RATE), int(32.2 * RATE)
    samples = talk.copy()
    samples[start:stop] = with_hum(talk[start:stop], -45)
    noise = changes(replay(samples), "audio.noise")
    assert noise[0].finding.code == "audio.noise.ok"
    raised = noise[1]
    assert raised.by == "onset" and raised.finding.code == "audio.noise.hum" and "50 Hz" in raised.finding.message.en
    assert ticks_after(start, raised.tick) <= round(1.0 / PERIOD_S) + 1
    # worse, then never better while the hum lasts; cleared once, by a window without it
    verdicts = [g.finding.verdict for g in noise]
    assert verdicts[-1] is Verdict.OK and verdicts.count(Verdict.OK) == 2
    assert all(g.tick * HOP > stop for g in noise[2:] if g.finding.verdict is Verdict.OK)
    assert noise[-1].by == "window"


def test_speech_with_pauses_a_quiet_room_and_line_hiss_raise_nothing():
    """Pauses in a room are its noise, not zeros; a voice's harmonics sweeping across 100 and 150 Hz
    read as buzz on a single 2 s reading, which is why both HUM_S readings must agree."""
    talk = varied_speech()
    size = RATE // 50
    frames = talk[: len(talk) // size * size].reshape(-1, size)
    level = 10 * np.log10(np.mean(frames**2, axis=1) + 1e-20)
    assert np.mean(level < level.max() - 35) > 0.1  # it has pauses …
    assert gated_pauses(talk.astype(np.float32), RATE) == 0  # … and they are not digital zeros
    mandarin = room(speech(40))
    single = max(single_reading(mandarin, end) for end in range(4 * RATE, len(mandarin), RATE // 4))
    assert single >= AudioThresholds().hum_warn_db  # one 2 s reading alone would have cried hum
    rng = np.random.default_rng(7)
    for samples in (
        talk,
        mandarin,
        (rng.standard_normal(30 * RATE) * 10 ** (-60 / 20)),  # a quiet room, nobody speaking
        (rng.standard_normal(30 * RATE) * 10 ** (-90 / 20)),  # a line input's own hiss
    ):
        assert [g for g in replay(samples) if g.by == "onset"] == []


def single_reading(samples: np.ndarray, end: int) -> float:
    """The hum reading of the newest 2 s alone, ending at `end`."""
    return hum(samples[end - int(min(HUM_S) * RATE) : end].astype(np.float32), RATE, 50.0)[1]


def test_a_little_speech_before_a_mute_reads_no_hum():
    """The window that once read 12 dB of hum (a second of speech, then zeros), at every offset."""
    talk = room()
    for spoken in np.arange(0.25, 4.0, 0.25):
        for offset in (0.0, 3.3, 7.1):
            first = int(offset * RATE)
            history = np.concatenate([talk[first : first + int(spoken * RATE)], np.zeros(5 * RATE)])
            for cut in range(RATE, len(history) + 1, HOP // 2):
                onset = measure_onset(history[:cut], RATE)
                assert onset.hum_db < AudioThresholds().hum_warn_db, (spoken, offset, cut, onset)


def test_a_gated_mixer_is_left_to_the_window():
    """A mixer that gates pauses to digital zeros: once GATE_PAUSES of its pauses are in the
    history, a pause of more than a second is no onset silence; 10 s of zeros still fail."""
    if not ALSA_SOUNDS.exists():
        pytest.skip("alsa-utils' sounds are not installed")
    paths = [path for path in sorted(ALSA_SOUNDS.glob("*.wav")) if "Noise" not in path.name]
    phrases = [np.trim_zeros(soundfile.read(str(path), dtype="float32", always_2d=True)[0][:, 0]) for path in paths]
    gap = np.zeros(int(1.4 * RATE), np.float32)
    gated = np.concatenate([part for phrase in phrases * 3 for part in (phrase, gap)])
    given = replay(np.concatenate([gated, np.zeros(16 * RATE, np.float32)]))
    settled = (GATE_PAUSES * (len(gap) + max(len(p) for p in phrases))) // HOP
    silent = [g for g in changes(given, "audio.signal") if g.finding.code == "audio.signal.silent"]
    late = [g for g in silent if g.tick > settled]
    assert len(late) == 1 and late[0].tick * HOP >= len(gated) + 10 * RATE  # the real silence, not a pause
