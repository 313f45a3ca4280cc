"""Headless commands of stock counts: ``import stock-count FILE`` (a filled-in count sheet: all
rows or none), ``export stock-count --out FILE`` (the newest open count's sheet to fill in) and
``print count-sheet|count NUMBER --out FILE.pdf|.xlsx`` (see ../shared/CONTRACT.md)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from aftersales_desk.cli import TerminalProgress, _actor, _open, _print_json
from aftersales_desk.commands.transfer import EXPORTERS, IMPORTERS, PRINTERS
from aftersales_desk.errors import EXIT_OK, EXIT_USAGE
from aftersales_desk.i18n import _


def cmd_import(args: argparse.Namespace) -> int:
    import aftersales_desk.services.modules  # noqa: F401
    from aftersales_desk.services.counts_io import import_sheet
    from aftersales_desk.services.xlsx_io import write_import_report

    db = _open(args, write=True)
    try:
        result = import_sheet(
            db,
            _actor(db, args),
            Path(args.file).expanduser(),
            dry_run=args.dry_run,
            progress=TerminalProgress(_("Import")),
        )
    finally:
        db.dispose()
    for e in result.errors:
        print(
            _("row {row}, column {column}: {reason}").format(
                row=e.row, column=e.column, reason=e.message
            ),
            file=sys.stderr,
        )
    if args.report:
        write_import_report(result, Path(args.report).expanduser())
    if args.json:
        _print_json(
            {
                "count": result.number,
                "rows": result.rows,
                "lines_counted": 0 if result.errors else result.lines_counted,
                "lines_added": 0 if result.errors else result.lines_added,
                "rejected_rows": result.rejected_rows,
                "rejected": [
                    {"row": e.row, "column": e.column, "reason": e.message} for e in result.errors
                ],
                "dry_run": result.dry_run,
            }
        )
    elif result.errors:
        print(
            _("The count sheet was not imported: {n} rows are wrong. Nothing changed.").format(
                n=result.rejected_rows
            ),
            file=sys.stderr,
        )
    else:
        print(
            (_("Dry run, nothing changed: ") if result.dry_run else "")
            + _("Stock count {number}: {lines} lines counted, {added} lines added.").format(
                number=result.number, lines=result.lines_counted, added=result.lines_added
            )
        )
    return EXIT_USAGE if result.errors else EXIT_OK


def cmd_export(args: argparse.Namespace) -> int:
    import aftersales_desk.services.modules  # noqa: F401
    from aftersales_desk.services.counts_io import export_sheet

    out = Path(args.out).expanduser()
    db = _open(args, write=False)
    try:
        n = export_sheet(db, _actor(db, args), None, out)
    finally:
        db.dispose()
    if args.json:
        _print_json({"kind": "stock-count", "rows": n, "out": str(out)})
    else:
        print(_("{n} rows written to {out}.").format(n=n, out=out))
    return EXIT_OK


def cmd_print(args: argparse.Namespace) -> int:
    import aftersales_desk.services.modules  # noqa: F401
    from aftersales_desk.services.counts_io import print_count

    out = Path(args.out).expanduser()
    db = _open(args, write=False)
    try:
        what = "sheet" if args.kind == "count-sheet" else "result"
        print_count(db, _actor(db, args), args.number, out, what=what)
    finally:
        db.dispose()
    if args.json:
        _print_json({"printed": args.number, "out": str(out)})
    else:
        print(_("Written to {out}.").format(out=out))
    return EXIT_OK


IMPORTERS["stock-count"] = cmd_import
EXPORTERS["stock-count"] = cmd_export
PRINTERS["count-sheet"] = cmd_print
PRINTERS["count"] = cmd_print
