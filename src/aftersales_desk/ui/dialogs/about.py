"""The about box: version, database, schema, fonts — what support asks for first."""

from __future__ import annotations

import html

from PySide6 import __version__ as pyside_version

from aftersales_desk import __version__
from aftersales_desk.i18n import _
from aftersales_desk.ui.context import AppContext


def about_text(ctx: AppContext) -> str:
    from aftersales_desk.data.migrate import current_revision
    from aftersales_desk.errors import UserError
    from aftersales_desk.reports.fonts import find_cjk_font

    try:
        font = str(find_cjk_font().path)
    except UserError as exc:
        font = exc.message
    rows = [
        (_("Version"), __version__),
        (_("Database"), str(ctx.db.path)),
        (_("Schema"), current_revision(ctx.db.engine) or "-"),
        (_("Chinese font"), font),
        ("Qt / PySide6", pyside_version),
    ]
    body = "".join(
        f"<tr><td><b>{html.escape(k)}</b></td><td>{html.escape(v)}</td></tr>" for k, v in rows
    )
    intro = _(
        "The desk program of an after-sales branch office: customer archive, parts counter, "
        "callbacks, insurance log and daily schedule, offline first."
    )
    return (
        f"<h3>aftersales-desk</h3><p>{html.escape(intro)}</p><table cellspacing='6'>{body}</table>"
    )
