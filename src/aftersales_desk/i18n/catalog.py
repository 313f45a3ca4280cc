"""Keep the catalogues in step with the code: ``python -m aftersales_desk.i18n.catalog``.

Extracts every ``_()``, ``N_()`` and ``ngettext()`` message from the package with Babel and merges
it into ``locale/<lang>/LC_MESSAGES/aftersales_desk.po`` (no fuzzy guesses: a new message stays
untranslated until someone translates it, and the test suite says which). ``--check`` only reports.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po, write_po

from aftersales_desk.i18n import DOMAIN, LANGUAGES, LOCALE_DIR

PACKAGE_DIR = Path(__file__).resolve().parent.parent
KEYWORDS = {"_": None, "N_": None, "ngettext": (1, 2)}


def extract() -> Catalog:
    template = Catalog(project="aftersales-desk", fuzzy=False)
    for filename, lineno, message, comments, context in extract_from_dir(
        str(PACKAGE_DIR),
        method_map=[("**.py", "python")],
        keywords=KEYWORDS,
        comment_tags=("Translators:",),
        strip_comment_tags=True,
    ):
        template.add(message, None, [(filename, lineno)], auto_comments=comments, context=context)
    return template


def po_path(lang: str) -> Path:
    return LOCALE_DIR / lang / "LC_MESSAGES" / f"{DOMAIN}.po"


def load(lang: str) -> Catalog:
    path = po_path(lang)
    if not path.exists():
        return Catalog(locale=lang, project="aftersales-desk", fuzzy=False)
    with path.open("rb") as f:
        return read_po(f, locale=lang)


def untranslated(lang: str) -> list[str]:
    """Messages of the code that ``lang``'s catalogue does not translate."""
    catalog = load(lang)
    missing = []
    for msg in extract():
        if not msg.id:
            continue
        have = catalog.get(msg.id)
        text = have.string if have is not None else None
        if isinstance(text, tuple | list):
            text = text[0] if all(text) else ""
        if not text:
            missing.append(msg.id if isinstance(msg.id, str) else msg.id[0])
    return missing


def update(lang: str) -> Catalog:
    template = extract()
    catalog = load(lang)
    catalog.update(template, no_fuzzy_matching=True, update_header_comment=False)
    catalog.obsolete.clear()
    path = po_path(lang)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as f:
        write_po(
            f, catalog, width=100, sort_output=True, ignore_obsolete=True, include_lineno=False
        )
    return catalog


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--check", action="store_true", help="only list untranslated messages")
    args = parser.parse_args(argv)
    status = 0
    for lang in LANGUAGES:
        if lang == "en":  # messages are English already; the catalogue exists for completeness
            if not args.check:
                update(lang)
            continue
        if not args.check:
            update(lang)
        missing = untranslated(lang)
        if missing:
            status = 1
            print(f"{lang}: {len(missing)} untranslated", file=sys.stderr)
            for m in missing:
                print(f"  {m}", file=sys.stderr)
    return status


if __name__ == "__main__":
    raise SystemExit(main())
