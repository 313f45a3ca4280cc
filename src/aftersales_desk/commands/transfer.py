"""``import KIND FILE``, ``export KIND --out FILE`` and ``print WHAT NUMBER --out FILE``: one
command each, dispatching on KIND to the module that registered it (customers, parts, policies,
stock-count; movements, callbacks; card, slip, receipt, old-parts …)."""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from aftersales_desk.cli import TerminalProgress, _actor, _open, _print_json, command
from aftersales_desk.errors import EXIT_OK, EXIT_PARTIAL, EXIT_USAGE, UsageError
from aftersales_desk.i18n import _

Handler = Callable[[argparse.Namespace], int]
T = TypeVar("T")


@dataclass(frozen=True)
class Importer:
    """What one ``import KIND FILE`` declares; ``run_import`` does the rest: the file check, the
    service's import with a progress bar, each rejected cell on stderr, ``--report``, the summary
    (``--json`` or one line) and the exit code (see ../shared/CONTRACT.md)."""

    service: str  # "module:function" of the service's import, loaded when the command runs
    progress: str  # the progress bar's label (an N_() msgid)
    figures: Callable[[Any], dict[str, Any]]  # the kind's counts: the JSON summary's first fields
    line: Callable[[Any], str]  # the one-line summary (translated)
    problems: tuple[str, str] = ("errors", "message")  # JSON names: the list, a problem's text
    warnings: bool = False  # the JSON summary lists the warnings too
    all_or_nothing: bool = False  # a bad row refuses the file: exit 2, the summary on stderr


IMPORTERS: dict[str, Importer] = {}
EXPORTERS: dict[str, Handler] = {}
PRINTERS: dict[str, Handler] = {}


def _lookup(table: dict[str, T], kind: str) -> T:
    if kind not in table:
        raise UsageError(
            _("Unknown kind {kind}; known kinds: {kinds}").format(
                kind=kind, kinds=", ".join(sorted(table))
            )
        )
    return table[kind]


def _import_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("kind", help=_("what to import: customers, parts, …"))
    p.add_argument("file", help=_("the Excel file (.xlsx)"))
    p.add_argument("--dry-run", action="store_true", help=_("check the file, change nothing"))
    p.add_argument("--report", metavar="OUT.xlsx", help=_("write every problem to this file"))


@command("import")(_import_args)
def cmd_import(args: argparse.Namespace) -> int:
    return run_import(_lookup(IMPORTERS, args.kind), args)


def run_import(kind: Importer, args: argparse.Namespace) -> int:
    import aftersales_desk.services.modules  # noqa: F401

    module, name = kind.service.split(":")
    service = getattr(importlib.import_module(module), name)
    path = Path(args.file).expanduser()
    if not path.exists():
        raise UsageError(_("The file {file} does not exist.").format(file=path))
    db = _open(args, write=True)
    try:
        result = service(
            db,
            _actor(db, args),
            path,
            dry_run=args.dry_run,
            progress=TerminalProgress(_(kind.progress)),
        )
    finally:
        db.dispose()
    for e in result.errors:
        print(
            _("row {row}, column {column}: {message}").format(
                row=e.row, column=e.column or "-", message=e.message
            ),
            file=sys.stderr,
        )
    if args.report:
        from aftersales_desk.services.xlsx_io import write_import_report

        write_import_report(result, Path(args.report).expanduser())
    refused = kind.all_or_nothing and bool(result.errors)
    if args.json:
        listed, text = kind.problems
        doc = {**kind.figures(result), "rejected_rows": result.rejected_rows}
        doc[listed] = [{"row": e.row, "column": e.column, text: e.message} for e in result.errors]
        if kind.warnings:
            doc["warnings"] = [
                {"row": w.row, "column": w.column, text: w.message} for w in result.warnings
            ]
        _print_json({**doc, "dry_run": result.dry_run})
    else:
        print(kind.line(result), file=sys.stderr if refused else sys.stdout)
    if result.rows == 0:  # CONTRACT: nothing done is exit 2
        raise UsageError(_("The file has no data rows; nothing was imported."))
    if refused or result.rejected_rows == result.rows:
        return EXIT_USAGE
    return EXIT_PARTIAL if result.errors else EXIT_OK


def _export_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("kind", help=_("what to export: customers, parts, movements, …"))
    p.add_argument("--out", required=True, help=_("the Excel file to write (.xlsx)"))


@command("export")(_export_args)
def cmd_export(args: argparse.Namespace) -> int:
    return _lookup(EXPORTERS, args.kind)(args)


def run_export(
    args: argparse.Namespace,
    export: Callable[[Any, Any, Path], int],
    *,
    xlsx_only: bool = False,
    write: bool = True,
    with_kind: bool = False,
) -> int:
    """``export KIND --out FILE``: ``export(db, actor, out)`` writes the file and returns its row
    count; the summary is ``{"out", "rows"}`` (``{"kind", "rows", "out"}`` with ``with_kind``)."""
    out = Path(args.out).expanduser()
    if xlsx_only and out.suffix.lower() != ".xlsx":
        raise UsageError(_("Write a .xlsx file, not {name}.").format(name=out.name))
    db = _open(args, write=write)
    try:
        n = export(db, _actor(db, args), out)
    finally:
        db.dispose()
    if args.json:
        _print_json(
            {"kind": args.kind, "rows": n, "out": str(out)}
            if with_kind
            else {"out": str(out), "rows": n}
        )
    else:
        print(_("{n} rows written to {out}.").format(n=n, out=out))
    return EXIT_OK


def _print_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("kind", help=_("what to print: card, slip, receipt, old-parts"))
    p.add_argument(
        "number", help=_("its number (customer no. for a card, document no. for a slip)")
    )
    p.add_argument("--out", required=True, help=_("the file to write (.pdf)"))
    p.add_argument("--size", default=None, help=_("paper: A4, A5 or 241x140; 80mm for receipts"))


@command("print")(_print_args)
def cmd_print(args: argparse.Namespace) -> int:
    return _lookup(PRINTERS, args.kind)(args)
