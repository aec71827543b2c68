"""The `probe video --snapshot` picture: the analysed frame with faces boxed, metrics and verdicts."""

from __future__ import annotations

import cv2
import numpy as np

from agent.sampling.video import VideoSample
from contract.findings import Verdict

COLOURS = {
    Verdict.OK: (80, 200, 80),
    Verdict.WARN: (0, 200, 255),
    Verdict.FAIL: (60, 60, 255),
    Verdict.UNKNOWN: (180, 180, 180),
}


def draw_snapshot(sample: VideoSample) -> np.ndarray:
    """The last analysed frame with faces boxed and metrics and verdicts written under it."""
    assert sample.last_frame is not None
    image = sample.last_frame.copy()
    scale = max(1.0, image.shape[1] / 1280)
    if sample.framing is not None:
        front = set(sample.framing.front_row)
        for face in sample.framing.faces:
            colour = (80, 220, 80) if face in front else (0, 200, 255)
            cv2.rectangle(image, (face.x, face.y), (face.x + face.w, face.y + face.h), colour, max(2, int(2 * scale)))
    metrics = sample.metrics
    lines = [(f"{sample.source}  {sample.width}x{sample.height}  frames {sample.frames}", (255, 255, 255))]
    lines.append(
        (
            f"luma {metrics.get('luma_mean', 0):.0f} (p05 {metrics.get('luma_p05', 0):.0f} / p95 "
            f"{metrics.get('luma_p95', 0):.0f})  sharp {metrics.get('sharpness', 0):.0f}  noise "
            f"{metrics.get('noise_sigma', 0):.1f}  colour {metrics.get('colourfulness', 0):.0f}",
            (255, 255, 255),
        )
    )
    for finding in sample.findings:
        lines.append((f"{finding.check}: {finding.verdict.value} - {finding.message.en}", COLOURS[finding.verdict]))
    # The text goes in a panel under the picture, so it hides nothing a technician needs to see.
    font, size, thickness = cv2.FONT_HERSHEY_SIMPLEX, 0.5 * scale, max(1, int(scale))
    line_h = int(22 * scale)
    text_w = max(cv2.getTextSize(text, font, size, thickness)[0][0] for text, _ in lines) + 20
    width = max(image.shape[1], text_w)
    canvas = np.zeros((image.shape[0] + line_h * len(lines) + 12, width, 3), np.uint8)
    canvas[: image.shape[0], : image.shape[1]] = image
    for row, (text, colour) in enumerate(lines):
        cv2.putText(canvas, text, (10, image.shape[0] + line_h * (row + 1)), font, size, colour, thickness, cv2.LINE_AA)
    return canvas
