"""Headless commands of stock counts: ``import stock-count FILE`` (a filled-in count sheet: all
rows or none), ``export stock-count --out FILE`` (the newest open count's sheet to fill in) and
``print count-sheet|count NUMBER --out FILE.pdf|.xlsx`` (see ../shared/CONTRACT.md)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aftersales_desk.cli import _actor, _open, _print_json
from aftersales_desk.commands.transfer import EXPORTERS, IMPORTERS, PRINTERS, Importer, run_export
from aftersales_desk.errors import EXIT_OK
from aftersales_desk.i18n import N_, _

if TYPE_CHECKING:
    from aftersales_desk.services.counts_io import CountImportResult


def _count_figures(result: CountImportResult) -> dict[str, Any]:
    return {
        "count": result.number,
        "rows": result.rows,
        "lines_counted": 0 if result.errors else result.lines_counted,
        "lines_added": 0 if result.errors else result.lines_added,
    }


def _count_line(result: CountImportResult) -> str:
    if result.errors:
        return _("The count sheet was not imported: {n} rows are wrong. Nothing changed.").format(
            n=result.rejected_rows
        )
    return (_("Dry run, nothing changed: ") if result.dry_run else "") + _(
        "Stock count {number}: {lines} lines counted, {added} lines added."
    ).format(number=result.number, lines=result.lines_counted, added=result.lines_added)


def cmd_export(args: argparse.Namespace) -> int:
    import aftersales_desk.services.modules  # noqa: F401
    from aftersales_desk.services.counts_io import export_sheet

    return run_export(
        args,
        lambda db, actor, out: export_sheet(db, actor, None, out),
        write=False,
        with_kind=True,
    )


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


IMPORTERS["stock-count"] = Importer(
    "aftersales_desk.services.counts_io:import_sheet",
    N_("Import"),
    _count_figures,
    _count_line,
    problems=("rejected", "reason"),
    all_or_nothing=True,
)
EXPORTERS["stock-count"] = cmd_export
PRINTERS["count-sheet"] = cmd_print
PRINTERS["count"] = cmd_print
