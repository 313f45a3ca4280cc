"""The parts counter tab 配件管理: stock, documents, counter sale, old parts, tools, reports."""

from __future__ import annotations

from PySide6.QtWidgets import QTabWidget, QVBoxLayout, QWidget

from aftersales_desk.i18n import N_, _
from aftersales_desk.ui.context import AppContext
from aftersales_desk.ui.tabs import TabSpec, register


class PartsTab(QWidget):
    """Pages for each job of the warehouse keeper; they refresh when parts data changes (lazily,
    when shown)."""

    def __init__(self, ctx: AppContext) -> None:
        super().__init__()
        from aftersales_desk.ui.tabs.parts.pages import (
            DocumentsPage,
            OldPartsPage,
            ReportsPage,
            SalePage,
            StockPage,
            ToolsPage,
        )

        self.ctx = ctx
        self.stock = StockPage(ctx)
        self.documents = DocumentsPage(ctx)
        self.sale = SalePage(ctx)
        self.old_parts = OldPartsPage(ctx)
        self.tools = ToolsPage(ctx)
        self.reports = ReportsPage(ctx)
        from aftersales_desk.ui.tabs.parts.counts import CountsPage

        self.counts = CountsPage(ctx)
        self.pages = QTabWidget()
        self.pages.addTab(self.stock, _("Stock"))
        self.pages.addTab(self.documents, _("Slips and receipts"))
        self.pages.addTab(self.sale, _("Counter sale"))
        self.pages.addTab(self.old_parts, _("Old parts"))
        self.pages.addTab(self.tools, _("Tools"))
        self.pages.addTab(self.counts, _("Stock count"))
        self.pages.addTab(self.reports, _("Reports"))
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.pages)
        self._dirty: set[QWidget] = set()
        ctx.ops.sig_changes_applied.connect(self.on_changes)
        self.pages.currentChanged.connect(lambda _i: self._refresh_current())
        self.stock.reload()

    def on_changes(self, areas: frozenset) -> None:
        if "parts" not in areas:
            return
        self._dirty = {self.stock, self.documents, self.old_parts, self.tools, self.counts}
        self._refresh_current()

    def _refresh_current(self) -> None:
        page = self.pages.currentWidget()
        if page in self._dirty:
            self._dirty.discard(page)
            page.reload()


register(TabSpec("parts", N_("Parts counter"), PartsTab, order=20))
