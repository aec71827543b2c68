"""How many examples the suite's hypothesis fuzz tests run: their own bound (100–300, well under
30 s a file) times FUZZ_EXAMPLES_SCALE, which `scripts/fuzz.sh` raises for the longer run."""

from __future__ import annotations

import os


def examples(count: int) -> int:
    try:
        scale = int(os.environ.get("FUZZ_EXAMPLES_SCALE", "1"))
    except ValueError:
        scale = 1
    return count * min(max(scale, 1), 1000)
