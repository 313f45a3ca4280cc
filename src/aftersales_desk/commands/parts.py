"""Headless commands of the parts counter: ``print slip|receipt|old-parts``, ``import parts``,
``export parts|movements`` (see ../shared/CONTRACT.md)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from aftersales_desk.cli import TerminalProgress, _actor, _open, _print_json
from aftersales_desk.commands.transfer import EXPORTERS, IMPORTERS, PRINTERS, Importer, run_export
from aftersales_desk.errors import EXIT_OK, UsageError
from aftersales_desk.i18n import N_, _

if TYPE_CHECKING:
    from aftersales_desk.services.parts_io import PartsImportResult


def cmd_print(args: argparse.Namespace) -> int:
    import aftersales_desk.services.modules  # noqa: F401
    from aftersales_desk.reports.slips import render_receipt, render_slip
    from aftersales_desk.services.documents import DocumentService
    from aftersales_desk.services.old_parts import OldParts
    from aftersales_desk.services.settings import SettingsService

    out = Path(args.out).expanduser()
    out.parent.mkdir(parents=True, exist_ok=True)
    db = _open(args, write=True)
    try:
        actor = _actor(db, args)
        if args.kind == "old-parts":
            OldParts(db, actor).write_batch(args.number, out)
        else:
            docs = DocumentService(db, actor)
            docs.view(args.number)  # a clear error before a print is counted
            if args.kind == "slip":
                size = args.size or SettingsService(db, actor).get("paper_size")
                from aftersales_desk.reports.slips import SLIP_SIZES

                if size not in SLIP_SIZES:
                    raise UsageError(
                        _("Unknown paper size: {value}").format(value=size)
                        + " ("
                        + ", ".join(SLIP_SIZES)
                        + ")"
                    )
                render_slip(docs.for_print(args.number), out, size=size)
            else:
                size = args.size or "80mm"
                if size not in ("80mm", "A5"):
                    raise UsageError(
                        _("Unknown paper size: {value}").format(value=size) + " (80mm, A5)"
                    )
                data = docs.view(args.number)
                if data.kind not in ("sale", "sale_return"):
                    raise UsageError(
                        _("{number} is not a counter-sale receipt.").format(number=args.number)
                    )
                render_receipt(docs.for_print(args.number), out, size=size)
    finally:
        db.dispose()
    if args.json:
        _print_json({"printed": args.number, "out": str(out)})
    else:
        print(_("Written to {out}.").format(out=out))
    return EXIT_OK


def _parts_figures(result: PartsImportResult) -> dict[str, int]:
    return {"created": result.created, "updated": result.updated, "unchanged": result.unchanged}


def _parts_line(result: PartsImportResult) -> str:
    return (_("Dry run, nothing changed: ") if result.dry_run else "") + _(
        "{created} new, {updated} updated, {unchanged} unchanged, {rejected} rows rejected."
    ).format(
        created=result.created,
        updated=result.updated,
        unchanged=result.unchanged,
        rejected=result.rejected_rows,
    )


def cmd_export(args: argparse.Namespace) -> int:
    import aftersales_desk.services.modules  # noqa: F401
    from aftersales_desk.services.parts_io import export_movements, export_parts

    fn = export_parts if args.kind == "parts" else export_movements
    progress = TerminalProgress(_("Export"))
    return run_export(
        args,
        lambda db, actor, out: fn(db, actor, out, progress=progress),
        xlsx_only=True,
        with_kind=True,
    )


for _kind in ("slip", "receipt", "old-parts"):
    PRINTERS[_kind] = cmd_print
IMPORTERS["parts"] = Importer(
    "aftersales_desk.services.parts_io:import_parts",
    N_("Import"),
    _parts_figures,
    _parts_line,
    problems=("rejected", "reason"),
)
for _kind in ("parts", "movements"):
    EXPORTERS[_kind] = cmd_export
