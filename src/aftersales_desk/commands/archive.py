"""Headless commands of the archive: ``search``, ``import customers``, ``export customers``,
``print card`` (the last three registered with commands/transfer.py)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from aftersales_desk.cli import TerminalProgress, _actor, _open, _print_json, command
from aftersales_desk.commands.transfer import EXPORTERS, IMPORTERS, PRINTERS, Importer, run_export
from aftersales_desk.errors import EXIT_OK
from aftersales_desk.i18n import N_, _

if TYPE_CHECKING:
    from aftersales_desk.services.archive_files import CustomerImportResult


# --- search --------------------------------------------------------------------------------------
def _search_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("text", help=_("name, pinyin, phone digits, plate, VIN or customer no."))
    p.add_argument("--limit", type=int, default=20, help=_("at most this many customers"))


@command("search")(_search_args)
def cmd_search(args: argparse.Namespace) -> int:
    from aftersales_desk.services.archive_search import search

    db = _open(args, write=False)
    try:
        rows = search(db, _actor(db, args), args.text, limit=max(1, args.limit))
    finally:
        db.dispose()
    docs = [
        {
            "id": str(r.id),
            "customer_no": r.customer_no,
            "name": r.name,
            "phone": r.phone,
            "region": r.region,
            "vip": r.vip,
            "club_member": r.club_member,
            "plates": r.plates.split(),
        }
        for r in rows
    ]
    if args.json:
        _print_json(docs)
    else:
        for d in docs:
            print("\t".join([d["customer_no"], d["name"], d["phone"], " ".join(d["plates"])]))
    return EXIT_OK


# --- import / export / print (see commands/transfer.py) ------------------------------------
def _customer_figures(result: CustomerImportResult) -> dict[str, int]:
    return {
        "rows": result.rows,
        "customers_added": result.customers_added,
        "customers_updated": result.customers_updated,
        "vehicles_added": result.vehicles_added,
        "vehicles_updated": result.vehicles_updated,
    }


def _customer_line(result: CustomerImportResult) -> str:
    return _(
        "{rows} rows: {added} new customers, {updated} updated, {vehicles} vehicles added; "
        "{bad} rows rejected."
    ).format(
        rows=result.rows,
        added=result.customers_added,
        updated=result.customers_updated,
        vehicles=result.vehicles_added,
        bad=result.rejected_rows,
    ) + (" " + _("Dry run: nothing was saved.") if result.dry_run else "")


def export_customers_cmd(args: argparse.Namespace) -> int:
    from aftersales_desk.services.archive_files import export_customers

    progress = TerminalProgress(_("Exporting customers"))
    return run_export(args, lambda db, actor, out: export_customers(db, actor, out, progress))


def print_card_cmd(args: argparse.Namespace) -> int:
    from aftersales_desk.services.archive_files import print_card

    out = Path(args.out).expanduser()
    db = _open(args, write=True)
    try:
        print_card(db, _actor(db, args), args.number, out)
    finally:
        db.dispose()
    if args.json:
        _print_json({"out": str(out)})
    else:
        print(_("Card written to {out}.").format(out=out))
    return EXIT_OK


IMPORTERS["customers"] = Importer(
    "aftersales_desk.services.archive_files:import_customers",
    N_("Importing customers"),
    _customer_figures,
    _customer_line,
    warnings=True,
)
EXPORTERS["customers"] = export_customers_cmd
PRINTERS["card"] = print_card_cmd
