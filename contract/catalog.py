"""A catalog of bilingual message templates keyed by stable codes.

Codes never change once published (hub tools match on them); the texts may be improved.
Templates use `str.format` fields so a message can carry the measured value.
"""

from __future__ import annotations

from collections.abc import Mapping

from contract.findings import Finding, Message, Verdict


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

    def finding(
        self,
        check: str,
        verdict: Verdict,
        code: str,
        article: str,
        value: float | int | str | bool | None = None,
        threshold: float | int | str | None = None,
        unit: str | None = None,
        subject: str | None = None,
        **fields: object,
    ) -> Finding:
        """A Finding whose message is this catalog's text for `code` (value and threshold are
        available to the template as {value} and {threshold})."""
        return Finding(
            check=check,
            verdict=verdict,
            code=code,
            article=article,
            value=value,
            threshold=threshold,
            unit=unit,
            subject=subject,
            message=self.render(code, value=value, threshold=threshold, **fields),
        )
