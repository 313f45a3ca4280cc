"""Head-office commands on central (issue 9): ``central gaps`` (document numbers per device
series) and ``central import parts FILE.xlsx`` (catalogue maintenance). Registered through the
``central`` command of ``commands/sync.py``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from aftersales_desk.errors import EXIT_OK, EXIT_USAGE, UsageError
from aftersales_desk.i18n import _

ACTIONS = ["gaps", "import", "compact"]
IMPORT_KINDS = ["parts", "insurers"]


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "what",
        nargs="*",
        metavar="KIND FILE",
        help=_("import: what to import (parts, insurers) and the Excel file (.xlsx)"),
    )
    p.add_argument(
        "--dry-run", action="store_true", help=_("import: check the file, write nothing")
    )
    p.add_argument("--report", metavar="OUT.xlsx", help=_("import: write the rejected rows here"))
    p.add_argument(
        "--before",
        type=float,
        metavar="DAYS",
        help=_("compact: remove only changes older than this many days"),
    )


def run(args: argparse.Namespace) -> int:
    if args.action == "gaps":
        return _gaps(args)
    if args.action == "compact":
        return _compact(args)
    return _import(args)


def _compact(args: argparse.Namespace) -> int:
    from aftersales_desk.cli import _print_json
    from aftersales_desk.services.sync.central_compact import compact

    if args.before is None:
        raise UsageError(_("compact needs --before DAYS."))
    result = compact(args.url, before_days=args.before)
    if args.json:
        _print_json(result.as_dict())
    else:
        print(
            _(
                "Change log compacted: {removed} of {examined} changes removed (no device "
                "needs them), {kept} kept."
            ).format(removed=result.removed, examined=result.examined, kept=result.kept)
        )
    return EXIT_OK


def _gaps(args: argparse.Namespace) -> int:
    from aftersales_desk.cli import _print_json
    from aftersales_desk.services.sync.central_documents import central_gaps, ranges_text

    if args.what:
        raise UsageError(_("gaps takes no file; filter with --branch CODE."))
    report = central_gaps(args.url, branch=args.branch)
    if args.json:
        _print_json([g.as_dict() for g in report])
        return EXIT_OK
    if not report:
        print(_("No numbered documents on central yet."))
    for g in report:
        line = _(
            "{branch} desk {device} {kind} ({prefix}): {count} documents, numbers {first} to "
            "{last}, last issued {issued}; missing {missing_count}: {missing}"
        ).format(
            branch=g.branch,
            device=g.device or "?",
            kind=g.kind,
            prefix=g.prefix,
            count=g.count,
            first=g.first if g.first is not None else "-",
            last=g.last if g.last is not None else "-",
            issued=g.last_issued,
            missing_count=g.missing_count,
            missing=ranges_text(g.missing),
        )
        if g.set_aside:
            line += _("; set aside at central: {numbers}").format(
                numbers=", ".join(str(n) for n in g.set_aside)
            )
        print(line)
    return EXIT_OK


def _import(args: argparse.Namespace) -> int:
    from aftersales_desk.cli import TerminalProgress, _print_json
    from aftersales_desk.services.sync.central_catalogue import import_insurers, import_parts
    from aftersales_desk.services.xlsx_io import write_import_report

    if len(args.what) != 2 or args.what[0] not in IMPORT_KINDS:
        raise UsageError(_("Use: central import parts|insurers FILE.xlsx --url URL"))
    path = Path(args.what[1]).expanduser()
    user = getattr(args, "user", None) or "system"
    if args.what[0] == "insurers":
        result = import_insurers(args.url, path, user=user, dry_run=args.dry_run)
    else:
        result = import_parts(
            args.url, path, user=user, dry_run=args.dry_run, progress=TerminalProgress(_("import"))
        )
    for e in result.errors:
        print(
            _("row {row}, column {column}: {reason}").format(
                row=e.row, column=e.column, reason=e.reason
            ),
            file=sys.stderr,
        )
    if args.report:
        write_import_report(result, Path(args.report).expanduser())
    if args.json:
        _print_json(
            {
                "created": result.created,
                "updated": result.updated,
                "unchanged": result.unchanged,
                "rejected_rows": result.rejected_rows,
                "rejected": [
                    {"row": e.row, "column": e.column, "reason": e.reason} for e in result.errors
                ],
                "dry_run": result.dry_run,
                "written": result.written,
            }
        )
    elif result.errors:
        print(
            _(
                "{rejected} rows rejected; nothing was written to central. Correct the file "
                "and import it again."
            ).format(rejected=result.rejected_rows),
            file=sys.stderr,
        )
    else:
        print(
            (_("Dry run, nothing changed: ") if result.dry_run else "")
            + _(
                "{created} new, {updated} updated, {unchanged} unchanged; the desks get the "
                "changes with their next sync."
            ).format(created=result.created, updated=result.updated, unchanged=result.unchanged)
        )
    return EXIT_USAGE if result.errors else EXIT_OK
