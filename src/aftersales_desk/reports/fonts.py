"""One place that finds a CJK font with TrueType outlines, for the window and for PDFs.

reportlab embeds only TrueType (``glyf``) outlines, not CFF/OTF ones such as Noto CJK, so every
candidate is checked by reading its table directory. Search order: ``AFTERSALES_CJK_FONT``,
``resources/fonts``, then the fonts each system ships (Windows, macOS, Linux).
"""

from __future__ import annotations

import os
import struct
import subprocess
import sys
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from aftersales_desk.errors import UserError
from aftersales_desk.i18n import _

ENV_VAR = "AFTERSALES_CJK_FONT"
PDF_FONT_NAME = "CJK"

_WINDOWS = ["msyh.ttc", "msyh.ttf", "simsun.ttc", "simhei.ttf", "simkai.ttf", "msjh.ttc"]
_MACOS = [
    "/System/Library/Fonts/STHeiti Light.ttc",
    "/System/Library/Fonts/STHeiti Medium.ttc",
    "/System/Library/Fonts/Supplemental/Songti.ttc",
    "/Library/Fonts/Arial Unicode.ttf",
    "/System/Library/Fonts/Supplemental/Arial Unicode.ttf",
]
_LINUX = [
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/wqy-microhei/wqy-microhei.ttc",
    "/usr/share/fonts/wenquanyi/wqy-microhei/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/arphic/uming.ttc",
    "/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf",
]


class FontNotFound(UserError):
    """No usable CJK TrueType font: PDFs cannot be made, the window may show boxes."""


@dataclass(frozen=True, slots=True)
class FontChoice:
    path: Path
    subfont_index: int


def _tables_at(data: bytes, offset: int) -> set[bytes]:
    num_tables = struct.unpack_from(">H", data, offset + 4)[0]
    return {data[offset + 12 + 16 * i : offset + 16 + 16 * i] for i in range(num_tables)}


def truetype_subfont(path: Path) -> int | None:
    """Index of the first sub-font of ``path`` with TrueType outlines, or None."""
    try:
        with path.open("rb") as f:
            head = f.read(65536)
    except OSError:
        return None
    try:
        if head[:4] == b"ttcf":
            count = struct.unpack_from(">I", head, 8)[0]
            for i in range(min(count, 32)):
                offset = struct.unpack_from(">I", head, 12 + 4 * i)[0]
                if offset + 12 <= len(head) and b"glyf" in _tables_at(head, offset):
                    return i
            return None
        if head[:4] in (b"\x00\x01\x00\x00", b"true") and b"glyf" in _tables_at(head, 0):
            return 0
    except struct.error:
        return None
    return None


def _candidates():
    """Font files to try, best first; asks fontconfig only when the known places have none."""
    from aftersales_desk.paths import resources_dir

    out: list[Path] = []
    try:
        fonts = resources_dir() / "fonts"
        if fonts.is_dir():
            out += sorted(p for p in fonts.iterdir() if p.suffix.lower() in (".ttf", ".ttc"))
    except FileNotFoundError:
        pass
    if sys.platform == "win32":
        windir = Path(os.environ.get("WINDIR", r"C:\Windows")) / "Fonts"
        out += [windir / name for name in _WINDOWS]
    elif sys.platform == "darwin":
        out += [Path(p) for p in _MACOS]
    else:
        out += [Path(p) for p in _LINUX]
        try:
            listed = subprocess.run(
                ["fc-list", ":lang=zh", "file"],
                capture_output=True,
                text=True,
                timeout=5,
                check=False,
            ).stdout
            out += sorted(
                Path(line.split(":")[0].strip()) for line in listed.splitlines() if line.strip()
            )
        except (OSError, subprocess.SubprocessError):
            pass
    return out


@cache
def find_cjk_font() -> FontChoice:
    """The CJK font to use, or ``FontNotFound`` with what to install."""
    explicit = os.environ.get(ENV_VAR)
    if explicit:
        path = Path(explicit)
        index = truetype_subfont(path) if path.is_file() else None
        if index is None:
            raise FontNotFound(
                _(
                    "The font {path} named in {var} is missing or has no TrueType outlines "
                    "(OTF/CFF fonts such as Noto CJK cannot be embedded in PDFs)."
                ).format(path=path, var=ENV_VAR)
            )
        return FontChoice(path, index)
    for path in _candidates():
        if path.suffix.lower() not in (".ttf", ".ttc"):
            continue
        index = truetype_subfont(path) if path.is_file() else None
        if index is not None:
            return FontChoice(path, index)
    raise FontNotFound(
        _(
            "No Chinese TrueType font was found, so Chinese text cannot be printed. Install "
            "WenQuanYi Micro Hei (Debian/Ubuntu: apt install fonts-wqy-microhei) or Microsoft YaHei, "
            "or set {var} to a .ttf/.ttc file."
        ).format(var=ENV_VAR)
    )


def register_pdf_font() -> str:
    """Register the CJK font with reportlab (once) and return its name for styles."""
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont

    if PDF_FONT_NAME not in pdfmetrics.getRegisteredFontNames():
        choice = find_cjk_font()
        pdfmetrics.registerFont(
            TTFont(PDF_FONT_NAME, str(choice.path), subfontIndex=choice.subfont_index)
        )
    return PDF_FONT_NAME
