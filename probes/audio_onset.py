"""The onset check: what the newest sound says, looked at twice a second (#15 item 5: faults ≤ 2 s).

The Art. 17 window (10 s, judged every 5 s) is right for loudness, clarity and noise shares, but
it takes 10–15 s to call a muted input silent and up to 5 s to hear hum start. This looks at the
newest audio only, for the two faults that are plain from a second or two of sound:

- **digital silence**: the newest second is exactly zero — a mute button, a cut digital link, a
  stopped driver. A microphone's pauses are room noise, never exact zeros. A mixer that gates
  pauses to digital zeros is the exception: a feed that has shown `GATE_PAUSES` such pauses
  (zeros longer than a dropout, ended by sound) in the recent history is left to the window's
  whole-window rule, so each pause does not raise an alarm.
- **mains hum**: `probes.audio_metrics.hum` — the window's own detector — on the newest 2 s *and*
  the newest 4 s, the smaller reading kept. A single 2 s reading lets a voice whose pitch sweeps
  across 100 and 150 Hz read as rectifier buzz (14 dB on espeak speech, ~1 % of readings); the
  4 s reading alone reaches 12.7 dB. Together they stay under the 12 dB warn on the same speech
  (11.7 dB at most, the 10 s window 11.3 dB), while −45 dBFS hum is found once 1 s of it is in.

Measurement only: the verdicts are the window's (`probes.audio.AudioJudge.onset`, same codes and
thresholds). Rationale and measurements: docs/audio.md, "Onset check".
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from probes.audio_metrics import DROPOUT_MAX_S, hum

PERIOD_S = 0.5  # the daemon looks this often: silence is reported 1–1.5 s after it begins
SILENT_S = 1.0  # this much of exact zeros at the newest end is digital silence
HUM_S = (2.0, 4.0)  # hum must show in both of these newest stretches
GATE_PAUSE_S = DROPOUT_MAX_S  # zeros longer than a dropout, ended by sound: a gated mixer's pause
GATE_PAUSES = 3  # this many in the history: the feed gates its pauses, leave silence to the window
HISTORY_S = 20.0  # how much of the newest sound the daemon hands in (the gate evidence's reach)


@dataclass(frozen=True)
class OnsetMetrics:
    """What the newest sound shows: digital silence at its end, hum in its last seconds."""

    seconds: float  # of history looked at
    digital_silence: bool  # the newest SILENT_S exactly zero, on a feed not seen to gate its pauses
    gated_pauses: int  # zero runs ≥ GATE_PAUSE_S ended by sound, in the history
    hum_hz: float | None  # the mains frequency when both readings found hum
    hum_db: float  # the smaller of the newest-2 s and newest-4 s hum readings (0 with under 4 s)


def gated_pauses(samples: np.ndarray, rate: int) -> int:
    """Runs of exact zeros at least GATE_PAUSE_S long with sound on both sides: a gate's pauses
    (or a mute released). Runs touching either end are not counted: one is still going on."""
    zeros = samples == 0.0
    if not zeros.any():
        return 0
    edges = np.flatnonzero(np.diff(zeros.astype(np.int8)))
    starts = edges[zeros[edges + 1]] + 1  # a zero follows a sample of sound
    ends = edges[~zeros[edges + 1]] + 1  # sound follows a zero: the run ended before ends[i]
    if not starts.size or not ends.size:
        return 0
    ends = ends[ends > starts[0]]
    count = min(len(starts), len(ends))
    lengths = ends[:count] - starts[:count]
    return int(np.count_nonzero(lengths >= GATE_PAUSE_S * rate))


def measure_onset(history: np.ndarray, rate: int, mains_hz: float = 50.0) -> OnsetMetrics:
    """The onset metrics of `history`, the newest sound (up to HISTORY_S, newest sample last)."""
    history = np.asarray(history, dtype=np.float32)
    newest = history[-int(SILENT_S * rate) :]
    pauses = gated_pauses(history, rate)
    silent = len(newest) == int(SILENT_S * rate) and not newest.any() and pauses < GATE_PAUSES
    hum_hz, hum_db = None, 0.0
    if len(history) >= int(max(HUM_S) * rate):
        readings = [hum(history[-int(seconds * rate) :], rate, mains_hz) for seconds in HUM_S]
        hum_db = min(level for _, level in readings)
        hum_hz = mains_hz if all(hz is not None for hz, _ in readings) else None
    return OnsetMetrics(
        seconds=round(len(history) / rate, 3),
        digital_silence=bool(silent),
        gated_pauses=pauses,
        hum_hz=hum_hz,
        hum_db=hum_db,
    )
