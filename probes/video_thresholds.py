"""The `[video.thresholds]` table: what the Art. 17 picture verdicts are graded against.

A model of its own, free of the image stack, so that reading a config does not load OpenCV.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class VideoThresholds(BaseModel):
    """Defaults are justified in docs/video.md; every one can be set in `[video.thresholds]`."""

    model_config = ConfigDict(extra="forbid")

    luma_dark_warn: float = Field(default=60, ge=0, le=255)
    luma_dark_fail: float = Field(default=35, ge=0, le=255)
    luma_bright_warn: float = Field(default=180, ge=0, le=255)
    luma_bright_fail: float = Field(default=210, ge=0, le=255)
    clipped_high_warn: float = Field(default=0.05, ge=0, le=1)
    clipped_high_fail: float = Field(default=0.20, ge=0, le=1)
    clipped_low_warn: float = Field(default=0.20, ge=0, le=1)
    clipped_low_fail: float = Field(default=0.40, ge=0, le=1)
    sharpness_warn: float = Field(default=24, ge=0, le=100)
    sharpness_fail: float = Field(default=16, ge=0, le=100)
    noise_warn: float = Field(default=6, ge=0)
    noise_fail: float = Field(default=12, ge=0)
    colourfulness_warn: float = Field(default=15, ge=0)
    colourfulness_fail: float = Field(default=5, ge=0)
    frozen_fail_s: float = Field(default=10, gt=0, description="A picture unchanged this long is frozen.")
    window_s: float = Field(default=10, gt=0, description="Verdicts use the median over this window.")
    hysteresis: float = Field(default=0.1, ge=0, le=0.5, description="Margin to clear before a verdict improves.")
