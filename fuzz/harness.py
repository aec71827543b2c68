"""What every atheris harness in fuzz/ shares: seeding a corpus, and running libFuzzer on one target.

A harness module defines `seeds() -> list[bytes]` (valid inputs the mutations start from) and
`one_input(data: bytes) -> None`, which must return for every input or raise only an error the
boundary does not document — that is the finding, and libFuzzer saves the input that caused it.
Run one with `scripts/fuzz.sh` (bounded per target), or directly:

    .venv/bin/python -m fuzz.config_file CORPUS_DIR -max_total_time=60
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

# What the harnesses instrument for coverage: the project's own packages. Instrumenting everything
# imported (numpy, scipy, OpenCV through probes) takes minutes and guides nothing of ours.
OURS = ["agent", "collectors", "contract", "probes"]


def run(seeds: Callable[[], list[bytes]], one_input: Callable[[bytes], None]) -> None:
    """libFuzzer's main over `one_input`; the first directory argument is the corpus, seeded first."""
    import atheris

    corpus = next((Path(arg) for arg in sys.argv[1:] if not arg.startswith("-")), None)
    if corpus is not None:
        corpus.mkdir(parents=True, exist_ok=True)
        for number, seed in enumerate(seeds()):
            path = corpus / f"seed-{number:03d}"
            if not path.exists():
                path.write_bytes(seed)
    atheris.Setup(sys.argv, one_input)
    atheris.Fuzz()
