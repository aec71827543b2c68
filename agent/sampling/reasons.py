"""A lost source's reason in each language, inside the finding that reports it (#17 item 4).

The judges (probes/audio.py, probes/video.py) word a lost signal as `无音频输入：{detail}` with one
detail for both languages, which made the Chinese half English (`无视频信号：x.mp4: no such file`).
The collectors now say why in both (their `SOURCE_MESSAGES`), so the sampling that catches a
source error puts each language's reason into that language's text.
"""

from __future__ import annotations

from contract.catalog import Catalog
from contract.findings import Finding, Message


def with_reason(findings: list[Finding], catalog: Catalog, code: str, reason: Message) -> list[Finding]:
    """`findings` whose `code` message takes `{detail}` from `reason`, per language."""
    zh, en = catalog.template(code)
    message = Message(zh=zh.format(detail=reason.zh), en=en.format(detail=reason.en))
    for finding in findings:
        if finding.code == code:
            finding.message = message
    return findings
