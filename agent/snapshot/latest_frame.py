"""The newest analysed uplink frame, kept already shrunk to the snapshot's size.

The video monitor's sampler thread hands each analysed frame here; a snapshot (at a self-test, on
`cmd/snapshot`) takes the newest from the event loop. Shrinking at once (longest side 480 px, a
~1 ms resize of a 1080p frame at the monitor's 1 frame/s) keeps 0.4 MB instead of 6 MB and means a
snapshot never has to reopen a capture card the monitor holds.
"""

from __future__ import annotations

import threading
from datetime import datetime
from typing import TYPE_CHECKING

from contract.payloads import utc_now
from contract.snapshot import MAX_SIDE_PX

if TYPE_CHECKING:  # numpy comes with the video monitor; a venue without [video] never loads it
    import numpy as np


class LatestFrame:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._frame: np.ndarray | None = None
        self._at: datetime | None = None

    def keep(self, frame: np.ndarray) -> None:
        """Any thread: the frame just analysed (BGR), shrunk to fit MAX_SIDE_PX."""
        import cv2  # only a venue with a video source loads OpenCV

        height, width = frame.shape[:2]
        scale = MAX_SIDE_PX / max(height, width)
        small = (
            cv2.resize(
                frame, (max(1, round(width * scale)), max(1, round(height * scale))), interpolation=cv2.INTER_AREA
            )
            if scale < 1
            else frame.copy()
        )
        with self._lock:
            self._frame, self._at = small, utc_now()

    def take(self) -> tuple[np.ndarray, datetime] | None:
        """The newest frame and when it was analysed, or None before the first."""
        with self._lock:
            if self._frame is None or self._at is None:
                return None
            return self._frame, self._at
