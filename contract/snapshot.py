"""The uplink snapshot: a small JPEG of the frame the agent analysed, with that frame's verdicts.

Published by the agent on the retained leaf `snapshot` of its topic tree
(`vc/<province>/<prefecture>/<county>/<venue>/snapshot`) at every self-test and when the hub asks
(`cmd/snapshot`); never published where the venue sets `[video] snapshots = false`. The hub keeps the
latest per venue and a bounded history around self-tests (`hub/snapshots/`), and the board's patrol
wall (Art. 19) shows it.

**A JSON envelope, not MQTT 5 user properties.** The picture travels base64-encoded inside a versioned
JSON document like every other payload of the contract, because:

- every payload is versioned JSON validated against a schema generated from its model, and so is this
  one (`Snapshot.model_json_schema()`, printed in docs/board.md);
- a bridge hop or a client on MQTT 3.1.1 drops user properties, and the verdicts would be lost with
  them; a retained JSON document reaches a late subscriber whole;
- the verdicts are structured `Finding`s (value, threshold, article, bilingual message), not the flat
  string pairs user properties can hold.

The price is base64's third: a 60 KB picture is at most 80 KB on the wire — well inside the hub's
`max_payload_bytes` (1 MiB).

```json
{"schema": "venue-agent/snapshot/1", "id": "5f0c…", "ts": "2026-12-02T06:59:58.120Z",
 "venue": {"province": "jilin", "prefecture": "changchun", "county": "nongan", "id": "main",
           "name": "农安县政府视频会议室", "level": "county"},
 "trigger": "selftest", "selftest_id": "9b1e…", "conference_id": "2026-12-03-prov",
 "width": 480, "height": 270, "jpeg": "/9j/4AAQSkZJRgABAQ…",
 "findings": [{"check": "video.brightness", "verdict": "ok", "article": "第十七条 / Art. 17", …},
              {"check": "video.framing", "verdict": "warn", "article": "第十五条 / Art. 15", …}]}
```

Bounds, checked by the model itself so that the agent cannot publish and the hub cannot accept
anything else: the JPEG is at most `MAX_JPEG_BYTES` (60 KiB) decoded, its longest side at most
`MAX_SIDE_PX` (480), `width`/`height` are the JPEG's own (read from its SOF header), the data starts
with the JPEG start-of-image marker and ends with end-of-image, and at most `MAX_FINDINGS` findings.
"""

from __future__ import annotations

import base64
import binascii
from datetime import datetime
from typing import Literal

from pydantic import Field, field_validator, model_validator

from contract.findings import Finding
from contract.payloads import Payload, VenueRef

SNAPSHOT_SCHEMA = "venue-agent/snapshot/1"
MAX_JPEG_BYTES = 60 * 1024
MAX_SIDE_PX = 480
MAX_FINDINGS = 64
MAX_JPEG_BASE64 = (MAX_JPEG_BYTES + 2) // 3 * 4

# Start-of-frame markers (baseline, extended, progressive, lossless, and their arithmetic-coded kin):
# each carries the picture's height and width. DHT (C4), JPG (C8) and DAC (CC) share the range but are not frames.
_SOF_MARKERS = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}
_STANDALONE = frozenset({0x01, *range(0xD0, 0xD8)})  # TEM and RSTn: markers without a length


def jpeg_dimensions(data: bytes) -> tuple[int, int]:
    """(width, height) from a JPEG's start-of-frame header, without decoding the picture.

    Raises ValueError naming what is wrong: not a JPEG, truncated, or no frame header before the scan.
    Walking the marker segments is all a hostile payload can make this do: it never allocates by a
    size the payload states."""
    if len(data) < 4 or data[:2] != b"\xff\xd8":
        raise ValueError("not a JPEG (no start-of-image marker FFD8)")
    if data[-2:] != b"\xff\xd9":
        raise ValueError("truncated JPEG (no end-of-image marker FFD9)")
    position = 2
    while position + 4 <= len(data):
        if data[position] != 0xFF:
            raise ValueError(f"JPEG marker expected at byte {position}")
        marker = data[position + 1]
        if marker == 0xFF:  # fill byte
            position += 1
            continue
        if marker in _STANDALONE:
            position += 2
            continue
        length = int.from_bytes(data[position + 2 : position + 4], "big")
        if length < 2:
            raise ValueError(f"JPEG segment of length {length} at byte {position}")
        if marker in _SOF_MARKERS:
            if position + 9 > len(data):
                raise ValueError("truncated JPEG frame header")
            height = int.from_bytes(data[position + 5 : position + 7], "big")
            width = int.from_bytes(data[position + 7 : position + 9], "big")
            if width == 0 or height == 0:
                raise ValueError(f"JPEG frame of {width}×{height} pixels")
            return width, height
        if marker == 0xDA:  # start of scan before any frame header
            break
        position += 2 + length
    raise ValueError("no JPEG frame header (SOF) before the image data")


class Snapshot(Payload):
    """One analysed uplink frame as a small JPEG, with the verdicts judged on it (see the module doc)."""

    schema_: Literal["venue-agent/snapshot/1"] = Field(SNAPSHOT_SCHEMA, alias="schema")
    id: str = Field(min_length=1, max_length=64, description="Unique id (UUID) of this snapshot.")
    ts: datetime = Field(description="When the frame was captured (UTC, RFC 3339).")
    venue: VenueRef
    trigger: Literal["selftest", "command"] = Field(
        description="`selftest`: taken by a self-test (Art. 14); `command`: the hub asked (`cmd/snapshot`)."
    )
    selftest_id: str | None = Field(default=None, max_length=64, description="The self-test report it belongs to.")
    conference_id: str | None = Field(default=None, max_length=128)
    width: int = Field(ge=1, le=MAX_SIDE_PX, description="Pixels; the JPEG's own width.")
    height: int = Field(ge=1, le=MAX_SIDE_PX, description="Pixels; the JPEG's own height.")
    jpeg: str = Field(
        json_schema_extra={"maxLength": MAX_JPEG_BASE64},  # checked in _jpeg_is_base64_jpeg, saying so in bytes
        description=f"The picture: baseline or progressive JPEG, standard base64 with padding, at most "
        f"{MAX_JPEG_BYTES} bytes decoded, longest side at most {MAX_SIDE_PX} px.",
    )
    findings: list[Finding] = Field(
        default_factory=list,
        max_length=MAX_FINDINGS,
        description="The video findings judged on this frame: Art. 17 (brightness, clarity, colour) and the "
        "advisory Art. 15 framing / Art. 16 background checks.",
    )

    @field_validator("jpeg")
    @classmethod
    def _jpeg_is_base64_jpeg(cls, value: str) -> str:
        if len(value) > MAX_JPEG_BASE64:
            raise ValueError(f"the JPEG is over {MAX_JPEG_BYTES} bytes ({len(value)} base64 characters)")
        data = _decode(value)
        if len(data) > MAX_JPEG_BYTES:
            raise ValueError(f"the JPEG is {len(data)} bytes, over {MAX_JPEG_BYTES}")
        jpeg_dimensions(data)
        return value

    @model_validator(mode="after")
    def _size_is_the_jpegs(self) -> Snapshot:
        width, height = jpeg_dimensions(_decode(self.jpeg))
        if (width, height) != (self.width, self.height):
            raise ValueError(f"width×height {self.width}×{self.height} is not the JPEG's own {width}×{height}")
        return self

    def jpeg_bytes(self) -> bytes:
        return _decode(self.jpeg)

    @classmethod
    def of_jpeg(cls, data: bytes, **fields: object) -> Snapshot:
        """A snapshot of `data` (width and height read from it); raises ValueError when out of bounds."""
        width, height = jpeg_dimensions(data)
        return cls.model_validate(
            {**fields, "width": width, "height": height, "jpeg": base64.b64encode(data).decode("ascii")}
        )


def _decode(value: str) -> bytes:
    try:
        return binascii.a2b_base64(value.encode("ascii"), strict_mode=True)
    except (binascii.Error, UnicodeEncodeError) as exc:
        raise ValueError(f"not standard base64: {exc}") from None
