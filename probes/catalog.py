"""A catalog of bilingual message templates keyed by stable codes.

Codes never change once published (hub tools match on them); the texts may be improved.
Templates use `str.format` fields so a message can carry the measured value.
"""

from __future__ import annotations

from collections.abc import Mapping

from probes.findings import Message


class Catalog:
    """Renders codes to `Message`s; an unknown code is a programming error, raised at once."""

    def __init__(self, templates: Mapping[str, tuple[str, str]]):
        self._templates = dict(templates)

    def __contains__(self, code: str) -> bool:
        return code in self._templates

    def codes(self) -> list[str]:
        return sorted(self._templates)

    def template(self, code: str) -> tuple[str, str]:
        return self._templates[code]

    def render(self, code: str, **fields: object) -> Message:
        zh, en = self._templates[code]
        return Message(zh=zh.format(**fields), en=en.format(**fields))
