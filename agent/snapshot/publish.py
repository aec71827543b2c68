"""A snapshot payload from the newest analysed frame: a JPEG within the contract's bounds, with the
picture's current verdicts (Art. 17, and the Art. 15/16 advice) beside it.

The JPEG quality steps down until the picture fits MAX_JPEG_BYTES (a busy 480 px frame at quality 80
is ~40 KB; a noisy one may need less). The snapshot is published retained, as the newest picture of
the venue: a hub that connects later reads it from the broker.
"""

from __future__ import annotations

import uuid

from agent.context import AgentContext
from contract.payloads import to_json
from contract.snapshot import MAX_FINDINGS, MAX_JPEG_BYTES, Snapshot

QUALITIES = (80, 65, 50, 35, 20)


class SnapshotUnavailable(Exception):
    """Why no snapshot can be made now (said in the command's error reply)."""


def encode_jpeg(frame) -> bytes:
    import cv2  # only a venue with a video source loads OpenCV

    for quality in QUALITIES:
        ok, data = cv2.imencode(".jpg", frame, [cv2.IMWRITE_JPEG_QUALITY, quality])
        if ok and len(data) <= MAX_JPEG_BYTES:
            return data.tobytes()
    raise SnapshotUnavailable(f"the picture does not fit {MAX_JPEG_BYTES} bytes even at quality {QUALITIES[-1]}")


def make_snapshot(
    context: AgentContext,
    trigger: str,
    selftest_id: str | None = None,
    conference_id: str | None = None,
) -> Snapshot:
    video = context.settings.video
    if video is None:
        raise SnapshotUnavailable("no [video] source is configured here")
    if not video.snapshots:
        raise SnapshotUnavailable("snapshots are off here ([video] snapshots = false)")
    taken = context.latest_frame.take()
    if taken is None:
        raise SnapshotUnavailable("no uplink frame has been analysed yet")
    frame, at = taken
    jpeg = encode_jpeg(frame)
    findings = [f for f in context.board.checks.values() if f.check.startswith("video.")][:MAX_FINDINGS]
    try:
        return Snapshot.of_jpeg(
            jpeg,
            id=str(uuid.uuid4()),
            ts=at,
            venue=context.venue,
            trigger=trigger,
            selftest_id=selftest_id,
            conference_id=conference_id,
            findings=findings,
        )
    except ValueError as exc:  # the contract's bounds: never publish what the hub must refuse
        raise SnapshotUnavailable(f"the snapshot is out of bounds: {exc}") from None


def publish_snapshot(context: AgentContext, snapshot: Snapshot) -> None:
    """Retained on the venue's `snapshot` leaf; held by the link until connected if it is down."""
    if context.link is not None:
        context.link.publish_latest(context.topics.snapshot, to_json(snapshot))
