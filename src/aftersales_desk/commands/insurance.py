"""Headless commands of the insurance log: ``import policies`` and ``export policies`` (registered
with commands/transfer.py), and ``renewals`` — the policies still to renew within N days, for
scripts and scheduled jobs (``ls policies``, ``report renewals`` and ``report insurance-daily``
come from the shared registries)."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from aftersales_desk.cli import TerminalProgress, _actor, _open, _print_rows, command
from aftersales_desk.commands.transfer import EXPORTERS, IMPORTERS, Importer, run_export
from aftersales_desk.errors import UsageError
from aftersales_desk.i18n import N_, _

if TYPE_CHECKING:
    from aftersales_desk.services.insurance_io import PolicyImportResult


def _policy_figures(result: PolicyImportResult) -> dict[str, int]:
    return {
        "rows": result.rows,
        "policies_added": result.policies_added,
        "policies_updated": result.policies_updated,
        "policies_unchanged": result.policies_unchanged,
    }


def _policy_line(result: PolicyImportResult) -> str:
    return _(
        "{rows} rows: {added} new policies, {updated} updated, {same} unchanged; "
        "{bad} rows rejected."
    ).format(
        rows=result.rows,
        added=result.policies_added,
        updated=result.policies_updated,
        same=result.policies_unchanged,
        bad=result.rejected_rows,
    ) + (" " + _("Dry run: nothing was saved.") if result.dry_run else "")


def export_policies_cmd(args: argparse.Namespace) -> int:
    from aftersales_desk.services.insurance_io import export_policies

    progress = TerminalProgress(_("Exporting policies"))
    return run_export(
        args, lambda db, actor, out: export_policies(db, actor, out, progress), xlsx_only=True
    )


IMPORTERS["policies"] = Importer(
    "aftersales_desk.services.insurance_io:import_policies",
    N_("Importing policies"),
    _policy_figures,
    _policy_line,
)
EXPORTERS["policies"] = export_policies_cmd


def _renewals_args(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--within", type=int, default=30, metavar="DAYS", help=_("ending within this many days")
    )


@command("renewals")(_renewals_args)
def cmd_renewals(args: argparse.Namespace) -> int:
    from aftersales_desk.services.insurance import InsuranceService

    if not 0 <= args.within <= 90:
        raise UsageError(_("--within is a number of days from 0 to 90."))
    db = _open(args, write=False)
    try:
        svc = InsuranceService(db, _actor(db, args))
        today = svc.today()
        cursor, rows = None, []
        while True:
            page = svc.pipeline_page(today, cursor, 500)
            rows += [r for r in page.rows if 0 <= r.days_left <= args.within]
            cursor = page.next_cursor
            if cursor is None:
                break
    finally:
        db.dispose()
    return _print_rows(
        (
            {
                "end_date": r.end_date.isoformat(),
                "days_left": r.days_left,
                "policy_no": r.policy_no,
                "kind": r.kind,
                "insurer": r.insurer,
                "customer_name": r.customer_name,
                "plate": r.plate,
                "premium_minor": r.premium_minor,
                "renewal_status": r.renewal_status,
            }
            for r in rows
        ),
        args.json,
    )
