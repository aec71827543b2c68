"""The `[audio.thresholds]` table: what the Art. 17 sound verdicts are graded against.

A model of its own, free of the signal-processing stack, so that reading a config does not load SciPy.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class AudioThresholds(BaseModel):
    """Defaults are justified in docs/audio.md; every one can be set in `[audio.thresholds]`."""

    model_config = ConfigDict(extra="forbid")

    quiet_warn_lufs: float = Field(default=-30)
    quiet_fail_lufs: float = Field(default=-40)
    loud_warn_lufs: float = Field(default=-12)
    loud_fail_lufs: float = Field(default=-8)
    clipping_warn_frac: float = Field(default=0.0005, ge=0, le=1)
    clipping_fail_frac: float = Field(default=0.005, ge=0, le=1)
    snr_warn_db: float = Field(default=20)
    snr_fail_db: float = Field(default=15)
    hum_warn_db: float = Field(default=12)
    hum_fail_db: float = Field(default=20)
    noise_floor_warn_dbfs: float = Field(default=-50)
    noise_floor_fail_dbfs: float = Field(default=-40)
    dropouts_warn: int = Field(default=1, ge=1)
    dropouts_fail: int = Field(default=5, ge=1)
    min_speech_frac: float = Field(default=0.05, ge=0, le=1, description="Below this, level and SNR are not judged.")
    mains_hz: float = Field(default=50, description="China's mains: 50 Hz (60 Hz elsewhere).")
    hysteresis: float = Field(default=0.1, ge=0, le=0.5)
