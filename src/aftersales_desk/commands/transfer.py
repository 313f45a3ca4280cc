"""``import KIND FILE``, ``export KIND --out FILE`` and ``print WHAT NUMBER --out FILE``: one
command each, dispatching on KIND to the module that registered it (customers, parts, policies,
stock-count; movements, callbacks; card, slip, receipt, old-parts …)."""

from __future__ import annotations

import argparse
from collections.abc import Callable

from aftersales_desk.cli import command
from aftersales_desk.errors import UsageError
from aftersales_desk.i18n import _

Handler = Callable[[argparse.Namespace], int]
IMPORTERS: dict[str, Handler] = {}
EXPORTERS: dict[str, Handler] = {}
PRINTERS: dict[str, Handler] = {}


def _dispatch(table: dict[str, Handler], kind: str, args: argparse.Namespace) -> int:
    if kind not in table:
        raise UsageError(
            _("Unknown kind {kind}; known kinds: {kinds}").format(
                kind=kind, kinds=", ".join(sorted(table))
            )
        )
    return table[kind](args)


def _import_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("kind", help=_("what to import: customers, parts, …"))
    p.add_argument("file", help=_("the Excel file (.xlsx)"))
    p.add_argument("--dry-run", action="store_true", help=_("check the file, change nothing"))
    p.add_argument("--report", metavar="OUT.xlsx", help=_("write every problem to this file"))


@command("import")(_import_args)
def cmd_import(args: argparse.Namespace) -> int:
    return _dispatch(IMPORTERS, args.kind, args)


def _export_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("kind", help=_("what to export: customers, parts, movements, …"))
    p.add_argument("--out", required=True, help=_("the Excel file to write (.xlsx)"))


@command("export")(_export_args)
def cmd_export(args: argparse.Namespace) -> int:
    return _dispatch(EXPORTERS, args.kind, args)


def _print_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("kind", help=_("what to print: card, slip, receipt, old-parts"))
    p.add_argument(
        "number", help=_("its number (customer no. for a card, document no. for a slip)")
    )
    p.add_argument("--out", required=True, help=_("the file to write (.pdf)"))
    p.add_argument("--size", default=None, help=_("paper: A4, A5 or 241x140; 80mm for receipts"))


@command("print")(_print_args)
def cmd_print(args: argparse.Namespace) -> int:
    return _dispatch(PRINTERS, args.kind, args)
