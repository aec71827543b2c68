"""A preallocated ring of float32 samples: the PortAudio callback writes, the analysis reads.

The callback runs on PortAudio's thread under a deadline, so `write` allocates nothing and does
no Python-heavy work: at most two slice copies into the preallocated array and a counter update.
"""

from __future__ import annotations

import threading

import numpy as np


class RingBuffer:
    def __init__(self, capacity: int):
        self.capacity = capacity
        self._data = np.zeros(capacity, dtype=np.float32)
        self._written = 0  # samples ever written; the newest is at (_written - 1) % capacity
        self._lock = threading.Lock()

    def write(self, block: np.ndarray) -> None:
        count = len(block)
        if count >= self.capacity:
            block = block[-self.capacity :]
            count = self.capacity
        with self._lock:
            start = self._written % self.capacity
            first = min(count, self.capacity - start)
            self._data[start : start + first] = block[:first]
            if first < count:
                self._data[: count - first] = block[first:]
            self._written += count

    @property
    def written(self) -> int:
        return self._written

    def latest(self, count: int) -> np.ndarray:
        """A copy of the newest `count` samples (fewer if fewer were ever written)."""
        with self._lock:
            count = min(count, self._written, self.capacity)
            end = self._written % self.capacity
            if count <= end:
                return self._data[end - count : end].copy()
            return np.concatenate((self._data[self.capacity - (count - end) :], self._data[:end]))

    def read(self, start: int, count: int) -> np.ndarray | None:
        """A copy of samples [start, start + count) by absolute position, or None when they have
        been overwritten already or not written yet."""
        with self._lock:
            if start < self._written - self.capacity or start + count > self._written or count > self.capacity:
                return None
            first = start % self.capacity
            if first + count <= self.capacity:
                return self._data[first : first + count].copy()
            return np.concatenate((self._data[first:], self._data[: first + count - self.capacity]))
