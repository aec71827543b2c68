"""atheris harness: a Cisco codec's xAPI answer. Any text through `codec.merge` and
`codec.codec_status` gives a CodecStatus that serialises, with loss percentages in 0–100."""

from __future__ import annotations

import math

import atheris

from fuzz.harness import OURS, run

with atheris.instrument_imports(include=OURS):
    from collectors.ssh import codec


def seeds() -> list[bytes]:
    from collectors.ssh.xapi import render_status
    from sim.ssh_vendor_output import CodecState, codec_tree

    lines = render_status(codec_tree(CodecState(loss_pct=2.0, diagnostics=[("Warning", "CameraId", "off")])))
    return ["\r\n".join(["xStatus", *lines, "** end", "", "OK", ""]).encode()]


def one_input(data: bytes) -> None:
    text = data.decode("utf-8", "replace")
    status = codec.codec_status(codec.merge({"xStatus": text}))
    status.model_dump_json()
    for channel in status.media:
        if channel.loss_pct is not None and not (math.isfinite(channel.loss_pct) and 0 <= channel.loss_pct <= 100):
            raise AssertionError(f"loss {channel.loss_pct}")


if __name__ == "__main__":
    run(seeds, one_input)
