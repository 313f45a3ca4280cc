"""Headless commands of the daily schedule: ``calendar --out FILE.ics`` (the duty calendar as
iCalendar with recurrence rules) and ``agenda`` (today's duties, for scripts and scheduled jobs)."""

from __future__ import annotations

import argparse
from datetime import date
from pathlib import Path

from aftersales_desk.cli import _actor, _open, _print_json, _print_rows, command
from aftersales_desk.errors import EXIT_OK, UsageError
from aftersales_desk.i18n import _


def _day(value: str | None, what: str) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise UsageError(
            _("{what} is a date YYYY-MM-DD: {value}").format(what=what, value=value)
        ) from None


def _calendar_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--out", required=True, metavar="FILE.ics", help=_("iCalendar file to write"))
    p.add_argument(
        "--from", dest="start", metavar="YYYY-MM-DD", help=_("first day (default: 1 January)")
    )
    p.add_argument(
        "--until",
        dest="end",
        metavar="YYYY-MM-DD",
        help=_("last day (default: 31 December of next year)"),
    )


@command("calendar")(_calendar_args)
def cmd_calendar(args: argparse.Namespace) -> int:
    from aftersales_desk.services.schedule import ScheduleService, export_ics

    out = Path(args.out).expanduser()
    if out.suffix.lower() != ".ics":
        raise UsageError(_("The calendar is written as .ics, not {name}.").format(name=out.name))
    db = _open(args, write=False)
    try:
        actor = _actor(db, args)
        today = ScheduleService(db, actor).today()
        start = _day(args.start, "--from") or date(today.year, 1, 1)
        last = _day(args.end, "--until") or date(today.year + 1, 12, 31)
        end = date.fromordinal(last.toordinal() + 1)
        n = export_ics(db, actor, out, start, end)
    finally:
        db.dispose()
    if args.json:
        _print_json(
            {"out": str(out), "duties": n, "from": start.isoformat(), "until": last.isoformat()}
        )
    else:
        print(_("{n} duties written to {out}.").format(n=n, out=out))
    return EXIT_OK


def _agenda_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--date", dest="day", metavar="YYYY-MM-DD", help=_("the day (default: today)"))


@command("agenda")(_agenda_args)
def cmd_agenda(args: argparse.Namespace) -> int:
    from aftersales_desk.services.schedule import ScheduleService

    db = _open(args, write=False)
    try:
        agenda = ScheduleService(db, _actor(db, args)).agenda(_day(args.day, "--date"))
    finally:
        db.dispose()
    rows = (
        {
            "due_at": i.due_at.isoformat(),
            "code": i.code,
            "title": i.title,
            "state": i.state.value,
            "done_at": i.done_at.isoformat() if i.done_at else None,
            "done_by": i.done_by,
            "note": i.note,
        }
        for i in agenda.items
    )
    return _print_rows(rows, args.json)
