"""A sound input with no sound card: an ALSA PCM of type `file` (slave `null`) reading raw 16-bit PCM.

PortAudio enumerates it (it has a `hint`), so sounddevice opens it like any capture device and
the agent's callback, ring buffer and windowed verdicts run for real. The PCM has no clock of its
own: it delivers as fast as it is read, which the capture code must (and does) cope with.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

ASOUNDRC = """\
pcm.{name} {{
    type file
    slave.pcm "null"
    file "/dev/null"
    infile "{infile}"
    format "raw"
    hint {{
        show on
        description "venue-agent test uplink (ALSA file plugin)"
    }}
}}
"""


def alsa_home(directory: Path, samples: np.ndarray, name: str = "uplink") -> dict[str, str]:
    """Write the raw PCM and an .asoundrc under `directory`; returns the environment to run with."""
    directory.mkdir(parents=True, exist_ok=True)
    raw = directory / f"{name}.raw"
    raw.write_bytes((np.clip(samples, -1, 1) * 32767).astype("<i2").tobytes())
    (directory / ".asoundrc").write_text(ASOUNDRC.format(name=name, infile=raw), encoding="utf-8")
    return {"HOME": str(directory)}
