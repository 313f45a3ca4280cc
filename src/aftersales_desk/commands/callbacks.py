"""Headless commands of the callback queue: ``callbacks`` (queue what the rules say is due, for a
morning job; prints what each rule added) and ``export callbacks --out FILE.xlsx``."""

from __future__ import annotations

import argparse
from datetime import date

from aftersales_desk.cli import TerminalProgress, _actor, _open, _print_json, command
from aftersales_desk.commands.transfer import EXPORTERS, run_export
from aftersales_desk.errors import EXIT_OK, UsageError
from aftersales_desk.i18n import _


def _callbacks_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--date", dest="day", metavar="YYYY-MM-DD", help=_("the day (default: today)"))


@command("callbacks")(_callbacks_args)
def cmd_callbacks(args: argparse.Namespace) -> int:
    from aftersales_desk.services.callbacks import CallbackService

    day = None
    if args.day:
        try:
            day = date.fromisoformat(args.day)
        except ValueError:
            raise UsageError(
                _("{what} is a date YYYY-MM-DD: {value}").format(what="--date", value=args.day)
            ) from None
    db = _open(args, write=True)
    try:
        svc = CallbackService(db, _actor(db, args))
        result = svc.generate(day)
        counts = svc.counts(day)
    finally:
        db.dispose()
    if args.json:
        _print_json(
            {
                "added": result.added,
                "cancelled": result.cancelled,
                "due_today": counts.today,
                "overdue": counts.overdue,
            }
        )
    else:
        added = ", ".join(f"{k} {v}" for k, v in sorted(result.added.items())) or "0"
        print(
            _("Queued: {added}. Due today {today}, overdue {overdue}.").format(
                added=added, today=counts.today, overdue=counts.overdue
            )
        )
    return EXIT_OK


def export_callbacks_cmd(args: argparse.Namespace) -> int:
    from aftersales_desk.services.callbacks import export_callbacks

    progress = TerminalProgress(_("Exporting callbacks"))
    return run_export(args, lambda db, actor, out: export_callbacks(db, actor, out, progress))


EXPORTERS["callbacks"] = export_callbacks_cmd
