"""Headless sync commands: ``central init``, ``central add-branch`` and ``sync`` (CONTRACT.md).

The central password is never written to a file: it is in the URL, typed on stdin once with
``--save-password`` (kept in the OS keyring), or read from the keyring.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from aftersales_desk.cli import _actor, _db_path, _open, _print_json, command
from aftersales_desk.commands import central_admin
from aftersales_desk.errors import EXIT_OK, EXIT_PARTIAL, UsageError
from aftersales_desk.i18n import _


def _central_args(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "action", choices=["init", "add-branch", *central_admin.ACTIONS], help=_("what to do")
    )
    p.add_argument(
        "--url", required=True, help=_("central PostgreSQL address, e.g. postgresql://host/db")
    )
    p.add_argument("--branch", metavar="CODE", help=_("branch code (add-branch)"))
    p.add_argument("--branch-name", metavar="NAME", help=_("branch name (add-branch)"))
    central_admin.add_arguments(p)  # issue 9: gaps, import parts


@command("central")(_central_args)
def cmd_central(args: argparse.Namespace) -> int:
    from aftersales_desk.services.sync import central

    if args.action in central_admin.ACTIONS:
        return central_admin.run(args)
    if args.action == "init":
        result = central.init(args.url)
        if args.json:
            _print_json(
                {
                    "created_tables": result.created_tables,
                    "added_columns": result.added_columns,
                    "synced_tables": result.synced_tables,
                    "accepted_revisions": result.revisions,
                }
            )
        else:
            print(
                _(
                    "Central database ready: {n} synced tables ({created} created, {added} "
                    "columns added), row-level security on every one."
                ).format(
                    n=result.synced_tables,
                    created=len(result.created_tables),
                    added=len(result.added_columns),
                )
            )
        return EXIT_OK
    if not args.branch:
        raise UsageError(_("add-branch needs --branch CODE."))
    creds = central.add_branch(args.url, args.branch, name=args.branch_name)
    if args.json:
        _print_json({"branch": creds.branch, "role": creds.role, "password": creds.password})
    else:
        print(
            _(
                "Branch {branch}: log in as {role} with password {password} (shown only this once)."
            ).format(branch=creds.branch, role=creds.role, password=creds.password)
        )
    return EXIT_OK


def _sync_args(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--url",
        required=True,
        help=_("central PostgreSQL address; the password may come from the keyring"),
    )
    p.add_argument(
        "--join",
        metavar="DEVICE",
        help=_("create the database as a new desk DEVICE of the branch, filled from central"),
    )
    p.add_argument(
        "--save-password",
        action="store_true",
        help=_("read the central password from stdin and keep it in the OS keyring"),
    )


@command("sync")(_sync_args)
def cmd_sync(args: argparse.Namespace) -> int:
    from aftersales_desk.services.sync import client

    password = None
    if args.save_password:
        password = sys.stdin.readline().strip()
        if not password:
            raise UsageError(_("No password on stdin."))
        try:
            client.store_password(args.url, password)
        except Exception as exc:
            raise UsageError(
                _("The password could not be kept in the keyring: {reason}").format(reason=exc)
            ) from exc
    if args.join:
        path: Path = _db_path(args)
        db, result = client.join(path, args.url, device_code=args.join, password=password)
        db.dispose()
    else:
        db = _open(args, write=True)
        try:
            result = client.sync(db, _actor(db, args), args.url, password=password)
        finally:
            db.dispose()
    if args.json:
        _print_json(result.as_dict())
    else:
        print(
            _(
                "Sent {pushed} changes in {batches} batches, received {pulled}; "
                "{conflicts} conflicts, {quarantined} set aside."
            ).format(
                pushed=result.pushed,
                batches=result.batches,
                pulled=result.pulled,
                conflicts=len(result.conflicts),
                quarantined=len(result.quarantined),
            )
        )
        for c in result.conflicts:
            print(
                _(
                    "Conflict in {table} {row} field {field}: kept {kept}, other value {lost}"
                ).format(table=c.tbl, row=c.pk, field=c.col, kept=c.kept_value, lost=c.lost_value)
            )
        shared = result.shared
        if shared.sent or shared.added or shared.closed:
            print(
                _(
                    "Conflicts shared with the branch's other desks: {sent} resolutions sent, "
                    "{added} new here, {closed} closed by another desk."
                ).format(sent=shared.sent, added=shared.added, closed=shared.closed)
            )
        for q in result.quarantined:
            print(
                _("Set aside: {table} {row}: {reason}").format(
                    table=q.tbl, row=q.pk, reason=q.reason
                )
            )
        if result.skewed:
            print(
                _(
                    "This computer's clock differs from the central server's by more than "
                    "five minutes; set the clock right."
                )
            )
    return EXIT_PARTIAL if result.quarantined else EXIT_OK
