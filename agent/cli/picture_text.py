"""Text and verdict colours for the `--plot` and `--snapshot` pictures, in Chinese and English.

OpenCV's Hershey fonts have no CJK or Greek glyphs (σ came out as `??`), so the pictures are
drawn with Pillow, which renders any OpenType font through FreeType. The font is Debian's
`fonts-noto-cjk` (Noto Sans CJK SC), found at run time through fontconfig (`fc-match`) or its
package path — never copied into the repository — and a clear bilingual error says what to
install when it is absent. Pillow rather than matplotlib: the two pictures are a few lines,
boxes and labels, and Pillow is a wheel of a few MB with no dependencies, while matplotlib would
add tens of MB and its own font cache to a venue PC (docs/audio.md, *The plot*).

Each picture also carries a machine-readable legend of what was drawn (a PNG iTXt chunk, read
back with `read_legend`): the tests assert on it, and a script can tell a hum marker from speech
without looking at pixels.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import click
from PIL import Image, ImageDraw, ImageFont
from PIL.PngImagePlugin import PngInfo
from rich.color import Color

from agent.cli.verdicts import as_verdict, code, style, word
from contract.catalog import Catalog
from contract.findings import Verdict

FONT_FAMILY = "Noto Sans CJK SC"  # Simplified Chinese glyph forms, as the regulation is printed
# Debian's fonts-noto-cjk paths, tried when fontconfig is missing or answers with another font.
FONT_PATHS = (
    Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"),
    Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc"),
)
FONT_ENV = "VENUE_AGENT_CJK_FONT"  # an explicit font file (another distribution's CJK font)
LEGEND_KEY = "venue-agent-legend"

PICTURE_MESSAGES = Catalog(
    {
        "picture.no_cjk_font": (
            "找不到中文字体 {family}，无法绘制图片；请安装 Debian 软件包 fonts-noto-cjk（apt install fonts-noto-cjk）"
            "，或用环境变量 {env} 指定字体文件",
            "no CJK font ({family}) to draw the picture with: install Debian's fonts-noto-cjk "
            "(apt install fonts-noto-cjk) or name a font file in {env}",
        ),
        "picture.bad_font": ("字体文件无法使用：{path}", "cannot use the font file {path}: {detail}"),
    }
)

# Chinese beside the verdict map's own word (agent/cli/verdicts.py gives word, colour and code).
VERDICT_ZH = {Verdict.OK: "正常", Verdict.WARN: "警告", Verdict.FAIL: "严重", Verdict.UNKNOWN: "未知"}
INK = (20, 20, 20)
GREY = (120, 120, 120)


class PictureError(click.UsageError):
    """The picture cannot be drawn here (no CJK font): one bilingual line, exit 3 (UNKNOWN),
    as agent/cli/usage.py reports every error the command line itself finds."""

    def __init__(self, message_code: str, **fields: object):
        message = PICTURE_MESSAGES.render(message_code, **fields)
        super().__init__(f"{message.zh} / {message.en}")


def _fc_match(family: str) -> tuple[Path, int] | None:
    """fontconfig's answer for `family`, if it really is that family (fc-match always answers)."""
    if shutil.which("fc-match") is None:
        return None
    try:
        out = subprocess.run(
            ["fc-match", "-f", "%{file}|%{index}|%{family}", f"{family}:lang=zh-cn"],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    path, _, rest = out.partition("|")
    index, _, families = rest.partition("|")
    if family not in families.split(",") or not Path(path).is_file():
        return None
    return Path(path), int(index) if index.isdigit() else 0


def _face_index(path: Path, family: str) -> int:
    """The face of a collection (.ttc) named `family`; 0 for a single font."""
    for index in range(16):
        try:
            if ImageFont.truetype(str(path), 12, index=index).getname()[0] == family:
                return index
        except OSError:
            break
    return 0


@cache
def cjk_font_file() -> tuple[Path, int]:
    """(font file, face index) of the CJK font: $VENUE_AGENT_CJK_FONT, fontconfig, Debian's path."""
    explicit = os.environ.get(FONT_ENV)
    if explicit:
        path = Path(explicit)
        if not path.is_file():
            raise PictureError("picture.bad_font", path=path, detail="no such file")
        return path, _face_index(path, FONT_FAMILY)
    found = _fc_match(FONT_FAMILY)
    if found is not None:
        return found
    for path in FONT_PATHS:
        if path.is_file():
            return path, _face_index(path, FONT_FAMILY)
    raise PictureError("picture.no_cjk_font", family=FONT_FAMILY, env=FONT_ENV)


@cache
def font(size: int) -> ImageFont.FreeTypeFont:
    path, index = cjk_font_file()
    try:
        return ImageFont.truetype(str(path), size, index=index)
    except OSError as exc:
        raise PictureError("picture.bad_font", path=path, detail=exc) from None


def verdict_rgb(verdict: object) -> tuple[int, int, int]:
    """The verdict's colour from the one verdict map (its rich style), darkened a little where
    the terminal colour would be faint on a white plot (yellow)."""
    parsed = Color.parse(style(verdict).split()[-1]).get_truecolor()
    r, g, b = parsed.red, parsed.green, parsed.blue
    if r + g + b > 400:
        r, g, b = (int(c * 0.8) for c in (r, g, b))
    return r, g, b


def verdict_words(verdict: object, graded: bool = True) -> str:
    """`严重 CRITICAL (exit 2)`: the Chinese, then the word and code the CLI prints and exits with;
    an advisory (graded=False) is shown without a code, as it changes none."""
    v = as_verdict(verdict)
    return f"{VERDICT_ZH[v]} {word(v)}" + (f" (exit {code(v)})" if graded else "")


_TOKEN = re.compile(r"[\u2e80-\u9fff\uff00-\uffef\u3000-\u303f]|\S+\s*|\s+")


def wrap(text: str, size: int, width: int) -> list[str]:
    """Greedy line breaks that fit `width` pixels: at spaces in English, between any two
    characters in Chinese (which has no spaces)."""
    lines: list[str] = []
    current = ""
    face = font(size)
    for token in _TOKEN.findall(text):
        trial = current + token
        if current and face.getlength(trial.rstrip()) > width:
            lines.append(current.rstrip())
            current = token.lstrip()
        else:
            current = trial
    if current.strip() or not lines:
        lines.append(current.rstrip())
    return lines


@dataclass
class Picture:
    """A Pillow canvas plus the legend of every element drawn on it."""

    image: Image.Image
    kind: str
    legend: list[dict[str, Any]] = field(default_factory=list)
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def draw(self) -> ImageDraw.ImageDraw:
        return ImageDraw.Draw(self.image)

    def mark(self, kind: str, **details: Any) -> None:
        """Record an element as drawn (called by whoever just drew it)."""
        self.legend.append({"kind": kind, **details})

    def text(self, xy: tuple[float, float], text: str, size: int = 14, fill=INK, anchor: str = "la") -> float:
        """Draw one line; returns its width in pixels."""
        self.draw.text(xy, text, font=font(size), fill=fill, anchor=anchor)
        return font(size).getlength(text)

    def label(self, xy: tuple[float, float], text: str, size: int, fill, anchor: str = "lb") -> None:
        """Text on a dark box, legible over any part of a photograph."""
        left, top, right, bottom = self.draw.textbbox(xy, text, font=font(size), anchor=anchor)
        self.draw.rectangle([left - 3, top - 2, right + 3, bottom + 2], fill=(20, 20, 20))
        self.draw.text(xy, text, font=font(size), fill=fill, anchor=anchor)

    def paragraph(self, x: float, y: float, text: str, width: int, size: int = 14, fill=INK, gap: int = 3) -> float:
        """Wrapped text from (x, y); returns the y below it."""
        for line in wrap(text, size, width):
            self.text((x, y), line, size, fill)
            y += size + gap
        return y

    def save(self, path: Path) -> bool:
        """PNG with the legend inside (iTXt, UTF-8: the labels are Chinese and English)."""
        info = PngInfo()
        info.add_itxt(LEGEND_KEY, json.dumps({"picture": self.kind, **self.meta, "elements": self.legend}))
        try:
            self.image.save(path, format="PNG", pnginfo=info, optimize=True)
        except (OSError, ValueError):
            return False
        return True


def read_legend(path: Path) -> dict[str, Any]:
    """The legend a picture was saved with: {picture, overall, …, elements: [{kind, …}]}."""
    with Image.open(path) as image:
        image.load()
        return json.loads(image.text[LEGEND_KEY])  # type: ignore[attr-defined]
