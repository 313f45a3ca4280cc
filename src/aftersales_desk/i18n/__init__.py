"""The one translation layer: gettext catalogues (Babel), usable without Qt.

Messages in the code are English; ``zh_CN`` and ``en`` ship. Use ``_("…")`` at the moment a
message is shown (the language can change while the program runs) and ``N_("…")`` to mark a
constant for extraction without translating it yet. Catalogues live beside this file as ``.po``;
the compiled ``.mo`` is built on first use (or by the installer) and never committed.
"""

from __future__ import annotations

import gettext as _gettext
import locale
import os
import threading
from pathlib import Path

DOMAIN = "aftersales_desk"
LANGUAGES = ("zh_CN", "en")
LANGUAGE_NAMES = {"zh_CN": "简体中文", "en": "English"}
LOCALE_DIR = Path(__file__).resolve().parent / "locale"

_lock = threading.Lock()
_current = "en"
_translation: _gettext.NullTranslations = _gettext.NullTranslations()
_cache: dict[str, _gettext.NullTranslations] = {}


def normalize(lang: str | None) -> str:
    """Map any locale name (``zh``, ``zh_CN.UTF-8``, ``en_US``) to a shipped language."""
    if not lang:
        return system_language()
    lang = lang.replace("-", "_").split(".")[0].lower()
    if lang.startswith("zh"):
        return "zh_CN"
    return "en"


def system_language() -> str:
    for var in ("AFTERSALES_LANG", "LC_ALL", "LC_MESSAGES", "LANG", "LANGUAGE"):
        value = os.environ.get(var)
        if value and value not in ("C", "POSIX", "C.UTF-8"):
            return normalize(value.split(":")[0])
    try:
        loc = locale.getlocale()[0]
    except ValueError:
        loc = None
    return normalize(loc) if loc else "en"


def _mo_path(lang: str) -> Path:
    """The compiled catalogue for ``lang``, compiling the ``.po`` when it is newer or missing."""
    po = LOCALE_DIR / lang / "LC_MESSAGES" / f"{DOMAIN}.po"
    beside = po.with_suffix(".mo")
    if beside.exists() and (not po.exists() or beside.stat().st_mtime >= po.stat().st_mtime):
        return beside
    if not po.exists():
        return beside
    target = beside
    if not os.access(po.parent, os.W_OK):
        from aftersales_desk.paths import user_cache_dir

        target = user_cache_dir() / "locale" / lang / f"{DOMAIN}.mo"
        if target.exists() and target.stat().st_mtime >= po.stat().st_mtime:
            return target
    compile_catalogue(po, target)
    return target


def compile_catalogue(po: Path, mo: Path) -> None:
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    with po.open("rb") as f:
        catalog = read_po(f, locale=po.parent.parent.name)
    mo.parent.mkdir(parents=True, exist_ok=True)
    tmp = mo.with_suffix(f".tmp{os.getpid()}")
    with tmp.open("wb") as f:
        write_mo(f, catalog, use_fuzzy=False)
    os.replace(tmp, mo)


def _load(lang: str) -> _gettext.NullTranslations:
    if lang not in _cache:
        mo = _mo_path(lang)
        if mo.exists():
            with mo.open("rb") as f:
                _cache[lang] = _gettext.GNUTranslations(f)
        else:
            _cache[lang] = _gettext.NullTranslations()
    return _cache[lang]


def set_language(lang: str | None) -> str:
    """Switch the language for everything translated from now on; returns the shipped name."""
    global _current, _translation
    lang = normalize(lang)
    with _lock:
        _translation = _load(lang)
        _current = lang
    return lang


def current_language() -> str:
    return _current


def _(message: str) -> str:
    return _translation.gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    return _translation.ngettext(singular, plural, n)


def N_(message: str) -> str:
    """Mark ``message`` for extraction; translate it later with ``_``."""
    return message
