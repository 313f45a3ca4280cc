"""The headless commands (see ../shared/CONTRACT.md): ``aftersales-desk COMMAND --db PATH …``.

Exit codes: 0 done, 2 bad usage or nothing done, 3 partly done, 4 refused. Errors are one line on
stderr in the chosen language; tracebacks go to the log file only. Heavy imports (Qt, reportlab)
happen inside the commands that need them, so ``ls`` and ``check`` start fast.
"""

from __future__ import annotations

import argparse
import getpass
import json
import logging
import sys
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from aftersales_desk import __version__
from aftersales_desk.errors import EXIT_OK, EXIT_REFUSED, Cancelled, UsageError, UserError
from aftersales_desk.i18n import _, set_language
from aftersales_desk.services.progress import Progress

log = logging.getLogger(__name__)
Command = Callable[[argparse.Namespace], int]
COMMANDS: dict[str, tuple[Callable[[argparse.ArgumentParser], None], Command]] = {}


class TerminalProgress(Progress):
    """A progress bar on stderr when it is a terminal; silent otherwise."""

    def __init__(self, label: str) -> None:
        super().__init__()
        self.label = label
        self.tty = sys.stderr.isatty()
        self._last = -1

    def report(self, done: int, total: int | None, label: str) -> None:
        if not self.tty or not total:
            return
        pct = int(100 * done / total)
        if pct == self._last:
            return
        self._last = pct
        bar = "#" * (pct // 4)
        sys.stderr.write(f"\r{self.label} [{bar:<25}] {pct:3d}%")
        if done >= total:
            sys.stderr.write("\n")
        sys.stderr.flush()


def command(
    name: str,
) -> Callable[[Callable[[argparse.ArgumentParser], None]], Callable[[Command], Command]]:
    """Register ``name`` with an argument builder (decorated function's first decorator arg)."""

    def with_args(build: Callable[[argparse.ArgumentParser], None]) -> Callable[[Command], Command]:
        def deco(fn: Command) -> Command:
            COMMANDS[name] = (build, fn)
            return fn

        return deco

    return with_args


def _db_path(args: argparse.Namespace) -> Path:
    if getattr(args, "db", None):
        return Path(args.db).expanduser()
    from aftersales_desk.paths import default_db_path

    return default_db_path()


def _open(args: argparse.Namespace, *, write: bool):
    from aftersales_desk.services.bootstrap import open_database

    return open_database(_db_path(args), write=write)


def _actor(db, args: argparse.Namespace):
    from aftersales_desk.services.bootstrap import local_actor

    return local_actor(db, getattr(args, "user", None) or "system")


def _print_json(doc: Any) -> None:
    sys.stdout.write(json.dumps(doc, ensure_ascii=False, indent=None, default=str))
    sys.stdout.write("\n")


def _print_rows(rows: Iterable[dict[str, Any]], as_json: bool) -> int:
    if as_json:
        sys.stdout.write("[")
        for i, row in enumerate(rows):
            sys.stdout.write(
                ("," if i else "") + "\n" + json.dumps(row, ensure_ascii=False, default=str)
            )
        sys.stdout.write("\n]\n")
        return EXIT_OK
    header_done = False
    for row in rows:
        if not header_done:
            print("\t".join(row.keys()))
            header_done = True
        print("\t".join("" if v is None else str(v) for v in row.values()))
    return EXIT_OK


# --- gui -------------------------------------------------------------------------------------


def _gui_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--tab", help=_("tab to show: archive, parts, callbacks, insurance, schedule"))
    p.add_argument(
        "--screenshot", metavar="OUT.png", help=_("render offscreen, save a PNG and exit")
    )
    p.add_argument(
        "--size", default="1440x900", help=_("window size for the screenshot, e.g. 1440x900")
    )


@command("gui")(_gui_args)
def cmd_gui(args: argparse.Namespace) -> int:
    from aftersales_desk.app import run_gui, screenshot

    if args.screenshot:
        try:
            width, height = (int(v) for v in args.size.lower().split("x"))
        except ValueError:
            raise UsageError(_("The size is WIDTHxHEIGHT, e.g. 1440x900.")) from None
        return screenshot(
            _db_path(args),
            tab=args.tab,
            out=Path(args.screenshot),
            size=(width, height),
            username=getattr(args, "user", None) or "admin",
        )
    return run_gui(_db_path(args) if getattr(args, "db", None) else None, tab=args.tab)


# --- init ------------------------------------------------------------------------------------


def _init_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--branch", required=True, help=_("branch code, e.g. BJ01"))
    p.add_argument("--branch-name", required=True, help=_("the branch's name"))
    p.add_argument("--device", default="A", help=_("this device's code in the branch (default A)"))


def _read_password() -> str:
    if sys.stdin is not None and sys.stdin.isatty():
        first = getpass.getpass(_("Password for admin: "))
        if getpass.getpass(_("Repeat the password: ")) != first:
            raise UsageError(_("The passwords differ; nothing was created."))
        return first
    line = sys.stdin.readline() if sys.stdin is not None else ""
    return line.rstrip("\r\n")


@command("init")(_init_args)
def cmd_init(args: argparse.Namespace) -> int:
    from aftersales_desk.services.bootstrap import initialize

    path = _db_path(args)
    password = _read_password()
    db = initialize(
        path,
        branch_code=args.branch,
        branch_name=args.branch_name,
        device_code=args.device,
        admin_password=password,
    )
    db.dispose()
    if args.json:
        _print_json({"db": str(path), "branch": args.branch.upper(), "device": args.device.upper()})
    else:
        print(
            _("Created {path} for branch {branch}; log in as admin.").format(
                path=path, branch=args.branch.upper()
            )
        )
    return EXIT_OK


# --- demo ------------------------------------------------------------------------------------


def _demo_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--customers", type=int, default=500, help=_("number of demo customers"))
    p.add_argument(
        "--seed", type=int, default=1, help=_("random seed: the same seed gives the same data")
    )


@command("demo")(_demo_args)
def cmd_demo(args: argparse.Namespace) -> int:
    import aftersales_desk.services.modules  # noqa: F401
    from aftersales_desk.services.demo import DEMO_PASSWORD, fill_demo

    if args.customers < 0:
        raise UsageError(_("The number of customers cannot be negative."))
    path = _db_path(args)
    db = fill_demo(
        path, customers=args.customers, seed=args.seed, progress=TerminalProgress(_("Demo data"))
    )
    db.dispose()
    if args.json:
        _print_json({"db": str(path), "password": DEMO_PASSWORD})
    else:
        print(
            _(
                "Demo data is in {path}. Users: admin, zhangli, wangqiang, lijianguo; password {pw}."
            ).format(path=path, pw=DEMO_PASSWORD)
        )
    return EXIT_OK


# --- check, backup, restore ----------------------------------------------------------------


@command("check")(lambda p: None)
def cmd_check(args: argparse.Namespace) -> int:
    import aftersales_desk.services.modules  # noqa: F401
    from aftersales_desk.data.engine import check_openable
    from aftersales_desk.data.uow import Database
    from aftersales_desk.services.integrity import run_checks

    path = _db_path(args)
    readonly = check_openable(path, write=False)  # check never upgrades or writes
    db = Database(path, readonly=readonly)
    try:
        result = run_checks(db)
    finally:
        db.dispose()
    if args.json:
        _print_json({"ok": result.ok, "checked": result.checked, "problems": result.problems})
    else:
        for problem in result.problems:
            print(problem)
        print(
            _("The database is whole.")
            if result.ok
            else _("The database has problems (see above).")
        )
    return EXIT_OK if result.ok else EXIT_REFUSED


def _backup_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--out", required=True, help=_("backup file to write"))


@command("backup")(_backup_args)
def cmd_backup(args: argparse.Namespace) -> int:
    from aftersales_desk.data.backup import backup_file
    from aftersales_desk.data.engine import check_openable

    path, out = _db_path(args), Path(args.out).expanduser()
    check_openable(path, write=False)
    if out.resolve() == path.resolve():
        raise UsageError(_("The backup cannot overwrite the database itself."))
    backup_file(path, out)
    if args.json:
        _print_json({"backup": str(out)})
    else:
        print(_("Backup written to {out}.").format(out=out))
    return EXIT_OK


def _restore_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("file", help=_("backup file to restore"))


@command("restore")(_restore_args)
def cmd_restore(args: argparse.Namespace) -> int:
    from aftersales_desk.data.backup import restore_file

    path, source = _db_path(args), Path(args.file).expanduser()
    saved = restore_file(source, path)
    if args.json:
        _print_json({"restored": str(path), "previous_copy": str(saved) if saved else None})
    else:
        print(_("Restored {path} from {file}.").format(path=path, file=source))
        if saved:
            print(_("The database as it was before is kept in {copy}.").format(copy=saved))
    return EXIT_OK


# --- ls ------------------------------------------------------------------------------------


def _ls_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("kind", help=_("what to list"))
    p.add_argument("--limit", type=int, default=None, help=_("at most this many rows"))
    p.add_argument(
        "--filter",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help=_("only rows where KEY equals VALUE (repeatable)"),
    )


@command("ls")(_ls_args)
def cmd_ls(args: argparse.Namespace) -> int:
    import itertools

    import aftersales_desk.services.modules  # noqa: F401
    from aftersales_desk.services.listing import LISTINGS

    if args.kind not in LISTINGS:
        raise UsageError(
            _("Unknown kind {kind}; known kinds: {kinds}").format(
                kind=args.kind, kinds=", ".join(sorted(LISTINGS))
            )
        )
    filters: dict[str, str] = {}
    for item in args.filter:
        key, sep, value = item.partition("=")
        if not sep:
            raise UsageError(_("A filter is KEY=VALUE: {item}").format(item=item))
        filters[key.strip()] = value.strip()
    db = _open(args, write=False)
    try:
        rows: Iterable[dict[str, Any]] = LISTINGS[args.kind](db, _actor(db, args), filters)
        if args.limit is not None:
            rows = itertools.islice(rows, max(0, args.limit))
        return _print_rows(rows, args.json)
    finally:
        db.dispose()


# --- report ------------------------------------------------------------------------------


def _report_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("name", help=_("which report"))
    p.add_argument("--date", dest="day", metavar="YYYY-MM-DD", help=_("the day the report covers"))
    p.add_argument("--week", metavar="YYYY-Www", help=_("the ISO week the report covers"))
    p.add_argument("--month", metavar="YYYY-MM", help=_("the month the report covers"))
    p.add_argument("--out", required=True, help=_("file to write: .xlsx or .pdf"))


@command("report")(_report_args)
def cmd_report(args: argparse.Namespace) -> int:
    import aftersales_desk.services.modules  # noqa: F401
    from aftersales_desk.services.report_registry import parse_period, run_report

    period = parse_period(day=args.day, week=args.week, month=args.month)
    out = Path(args.out).expanduser()
    db = _open(args, write=False)
    try:
        run_report(db, _actor(db, args), args.name, period, out, TerminalProgress(args.name))
    finally:
        db.dispose()
    if args.json:
        _print_json({"report": args.name, "period": period.label, "out": str(out)})
    else:
        print(_("Report written to {out}.").format(out=out))
    return EXIT_OK


# --- fonts -----------------------------------------------------------------------------------


@command("fonts")(lambda p: None)
def cmd_fonts(args: argparse.Namespace) -> int:
    from aftersales_desk.reports.fonts import find_cjk_font

    choice = find_cjk_font()
    if args.json:
        _print_json({"path": str(choice.path), "subfont_index": choice.subfont_index})
    else:
        print(_("Chinese font for the window and PDFs: {path}").format(path=choice.path))
    return EXIT_OK


# --- main ------------------------------------------------------------------------------------


def _common(p: argparse.ArgumentParser, *, suppress: bool) -> None:
    d = argparse.SUPPRESS if suppress else None
    p.add_argument(
        "--db", metavar="PATH", default=d, help=_("database file (default: your data folder)")
    )
    p.add_argument("--lang", choices=["zh_CN", "en"], default=d, help=_("language of messages"))
    p.add_argument(
        "--json",
        action="store_true",
        default=argparse.SUPPRESS if suppress else False,
        help=_("machine-readable output"),
    )
    p.add_argument(
        "--user", metavar="NAME", default=d, help=_("acting user recorded in the audit log")
    )


def build_parser() -> argparse.ArgumentParser:
    import importlib

    from aftersales_desk.commands import COMMAND_MODULES

    for module in COMMAND_MODULES:
        importlib.import_module(module)
    parser = argparse.ArgumentParser(
        prog="aftersales-desk",
        description=_(
            "After-sales branch desk: customer archive, parts counter, callbacks, insurance, schedule."
        ),
    )
    parser.add_argument("--version", action="version", version=f"aftersales-desk {__version__}")
    _common(parser, suppress=False)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (build, fn) in COMMANDS.items():
        p = sub.add_parser(name)
        _common(p, suppress=True)
        build(p)
        p.set_defaults(func=fn)
    return parser


def _pre_language(argv: list[str]) -> str | None:
    for i, arg in enumerate(argv):
        if arg == "--lang" and i + 1 < len(argv):
            return argv[i + 1]
        if arg.startswith("--lang="):
            return arg.split("=", 1)[1]
    return None


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    set_language(_pre_language(argv))  # help texts and errors in the chosen language
    args = build_parser().parse_args(argv)
    if getattr(args, "command", None) is None:
        args.func = cmd_gui
        args.tab = None
        args.screenshot = None
    try:
        return args.func(args)
    except UserError as exc:
        print(exc.message, file=sys.stderr)
        return exc.exit_code
    except (Cancelled, KeyboardInterrupt):
        print(_("Cancelled; nothing was changed."), file=sys.stderr)
        return 2
    except Exception as exc:
        from aftersales_desk.data.engine import translate_error

        translated = translate_error(exc, _db_path(args))
        if isinstance(translated, UserError):
            print(translated.message, file=sys.stderr)
            return translated.exit_code
        from aftersales_desk.logsetup import setup_logging

        where = setup_logging()
        log.exception("command %s failed", getattr(args, "command", "gui"))
        print(
            _("Unexpected error: {error}. Details are in {log}.").format(
                error=exc, log=where or "-"
            ),
            file=sys.stderr,
        )
        return 1


if __name__ == "__main__":
    raise SystemExit(main())
