"""Uplink snapshots, the hub side: the envelope's bounds (contract/snapshot.py), hostile payloads refused
with a reason, and the store keeping the latest plus a bounded self-test history — on SQLite and on a
real PostgreSQL."""

from __future__ import annotations

import base64
import json
import uuid
from datetime import UTC, datetime, timedelta

import cv2
import numpy as np
import pytest
from sqlalchemy import insert, select

from contract.findings import Article, Finding, Message, Verdict
from contract.snapshot import MAX_JPEG_BYTES, Snapshot, jpeg_dimensions
from hub.db.engine import open_database, writer_engine
from hub.db.models import Venue
from hub.snapshots.decode import SnapshotRejected, decode_snapshot
from hub.snapshots.models import SnapshotRecord
from hub.snapshots.store import store_snapshot

pytest_plugins = ["tests.peers.postgres"]

KEY = "jilin/changchun/nongan/main"
VENUE = {
    "province": "jilin",
    "prefecture": "changchun",
    "county": "nongan",
    "id": "main",
    "name": "农安县政府视频会议室",
    "level": "county",
}


def test_jpeg(width: int = 320, height: int = 180, quality: int = 80, noise: bool = False) -> bytes:
    """A real JPEG (OpenCV's encoder) of a gradient, or of noise when it must be large."""
    rng = np.random.default_rng(7)
    if noise:
        image = rng.integers(0, 255, (height, width, 3), dtype=np.uint8)
    else:
        row = np.linspace(0, 255, width, dtype=np.uint8)
        image = np.dstack([np.tile(row, (height, 1))] * 3)
    ok, data = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, quality])
    assert ok
    return data.tobytes()


test_jpeg.__test__ = False  # a helper, not a test


def envelope(jpeg: bytes | None = None, **fields: object) -> dict:
    data = jpeg if jpeg is not None else test_jpeg()
    width, height = jpeg_dimensions(data)
    finding = Finding(
        check="video.brightness",
        verdict=Verdict.OK,
        code="video.brightness.ok",
        message=Message(zh="亮度适中", en="brightness moderate"),
        article=Article.ART17,
        value=120.0,
        threshold="60–200",
    )
    framing = Finding(
        check="video.framing",
        verdict=Verdict.WARN,
        code="video.framing.front_row",
        message=Message(zh="前排只检测到 2 位领导", en="only 2 leaders seen in the front row"),
        article=Article.ART15,
        value=2,
        threshold=3,
    )
    return {
        "schema": "venue-agent/snapshot/1",
        "id": str(uuid.uuid4()),
        "ts": datetime.now(UTC).isoformat(),
        "venue": VENUE,
        "trigger": "selftest",
        "width": width,
        "height": height,
        "jpeg": base64.b64encode(data).decode(),
        "findings": [finding.model_dump(mode="json"), framing.model_dump(mode="json")],
    } | fields


def raw(document: dict) -> bytes:
    return json.dumps(document, ensure_ascii=False).encode()


def test_a_valid_snapshot_round_trips_and_its_size_is_the_jpegs() -> None:
    data = test_jpeg(480, 270)
    snapshot = decode_snapshot(KEY, raw(envelope(data)))
    assert snapshot.jpeg_bytes() == data
    assert (snapshot.width, snapshot.height) == (480, 270)
    assert Snapshot.of_jpeg(data, **{k: v for k, v in envelope(data).items() if k not in ("width", "height", "jpeg")})


@pytest.mark.parametrize(
    ("change", "reason", "words"),
    [
        (lambda d: b"{not json", "bad_json", "json"),
        (lambda d: raw(d | {"jpeg": "!!!notbase64"}), "schema", "base64"),
        (lambda d: raw(d | {"jpeg": base64.b64encode(b"GIF89a" + b"\0" * 40).decode()}), "schema", "not a JPEG"),
        (lambda d: raw(d | {"jpeg": base64.b64encode(test_jpeg()[:-2]).decode()}), "schema", "truncated"),
        (lambda d: raw(d | {"width": 100}), "schema", "not the JPEG's own"),
        (lambda d: raw(d | {"trigger": "whenever"}), "schema", "trigger"),
        (lambda d: raw(d | {"extra": 1}), "schema", "extra"),
        (lambda d: raw(d | {"venue": VENUE | {"county": "lishu"}}), "venue_mismatch", "lishu"),
        (lambda d: raw(d | {"id": "a\u0000b"}), "schema", "NUL"),
    ],
)
def test_hostile_snapshots_are_refused_naming_what_is_wrong(change, reason: str, words: str) -> None:
    with pytest.raises(SnapshotRejected) as caught:
        decode_snapshot(KEY, change(envelope()))
    assert caught.value.reason == reason
    assert words.lower() in caught.value.detail.lower()


def test_too_large_or_too_wide_pictures_are_refused() -> None:
    big = test_jpeg(480, 480, quality=100, noise=True)
    assert len(big) > MAX_JPEG_BYTES
    document = envelope(big)
    with pytest.raises(SnapshotRejected, match="over 61440"):
        decode_snapshot(KEY, raw(document))
    wide = test_jpeg(640, 120)
    with pytest.raises(SnapshotRejected, match="less than or equal to 480"):
        decode_snapshot(KEY, raw(envelope(wide)))


def test_a_stated_content_type_must_be_json() -> None:
    with pytest.raises(SnapshotRejected) as caught:
        decode_snapshot(KEY, raw(envelope()), {"ContentType": "image/jpeg"})
    assert caught.value.reason == "content_type"
    assert decode_snapshot(KEY, raw(envelope()), {"ContentType": "application/json"})


def test_the_store_keeps_the_latest_and_a_bounded_selftest_history(database_url: str) -> None:
    engine = writer_engine(open_database(database_url))
    now = datetime.now(UTC)
    with engine.begin() as connection:
        connection.execute(
            insert(Venue).values(
                key=KEY, province="jilin", prefecture="changchun", county="nongan", venue_id="main", state="online"
            )
        )
    with engine.begin() as connection, pytest.raises(SnapshotRejected, match="not known"):
        store_snapshot(
            connection,
            "jilin/siping/lishu/main",
            raw(envelope(venue=VENUE | {"prefecture": "siping", "county": "lishu"})),
            None,
            now,
        )
    documents = [
        envelope(ts=(now + timedelta(seconds=n)).isoformat(), trigger="selftest" if n % 2 == 0 else "command")
        for n in range(10)
    ]
    with engine.begin() as connection:
        stored = [store_snapshot(connection, KEY, raw(d), None, now, keep_selftest=3) for d in documents]
        again = store_snapshot(connection, KEY, raw(documents[-1]), None, now, keep_selftest=3)
    assert all(stored) and again is False
    with engine.connect() as connection:
        kept = connection.execute(
            select(SnapshotRecord.id, SnapshotRecord.trigger).order_by(SnapshotRecord.ts.desc())
        ).all()
    # the newest (a command one) and the newest three self-test ones
    assert [row.id for row in kept] == [documents[9]["id"], documents[8]["id"], documents[6]["id"], documents[4]["id"]]
