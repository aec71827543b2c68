"""The audio tests' material: real speech and faults from sim/speech.py, and skip markers."""

from __future__ import annotations

import pytest

from sim.speech import ALSA_SOUNDS, RATE, have_espeak, room, speech, with_hum, with_noise, write

needs_espeak = pytest.mark.skipif(not have_espeak(), reason="espeak-ng is not installed")

__all__ = ["ALSA_SOUNDS", "RATE", "needs_espeak", "room", "speech", "with_hum", "with_noise", "write"]
