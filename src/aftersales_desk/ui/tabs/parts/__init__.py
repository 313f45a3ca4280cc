"""The parts counter tab 配件管理: stock, documents, counter sale, work orders and the parts they
wait for 待件工单, old parts, tools, reports; and the watcher that tells the clerk in the status
bar when a part that work orders wait for has arrived."""

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
        from aftersales_desk.ui.tabs.parts.work_orders import WaitsPage, WorkOrderPartsPage

        self.ctx = ctx
        self.stock = StockPage(ctx)
        self.documents = DocumentsPage(ctx)
        self.sale = SalePage(ctx)
        self.waits = WaitsPage(ctx)
        self.work_orders = WorkOrderPartsPage(ctx)
        self.old_parts = OldPartsPage(ctx)
        self.tools = ToolsPage(ctx)
        self.reports = ReportsPage(ctx)
        from aftersales_desk.ui.tabs.parts.counts import CountsPage

        self.counts = CountsPage(ctx)
        self.pages = QTabWidget()
        self.pages.addTab(self.stock, _("Stock"))
        self.pages.addTab(self.documents, _("Slips and receipts"))
        self.pages.addTab(self.sale, _("Counter sale"))
        self.pages.addTab(self.waits, _("Work orders waiting for parts"))
        self.pages.addTab(self.work_orders, _("Work order parts"))
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
        if "archive" in areas:  # work orders opened, dispatched, closed in the archive
            self._dirty |= {self.waits, self.work_orders}
        if "parts" in areas:
            self._dirty |= {
                self.stock,
                self.documents,
                self.waits,
                self.work_orders,
                self.old_parts,
                self.tools,
                self.counts,
            }
        self._refresh_current()

    def _refresh_current(self) -> None:
        page = self.pages.currentWidget()
        if page in self._dirty:
            self._dirty.discard(page)
            page.reload()


def _watch(ctx: AppContext, window: QWidget):
    from aftersales_desk.ui.tabs.parts.watch import ArrivalsWatcher

    return ArrivalsWatcher(ctx, window)


register(TabSpec("parts", N_("Parts counter"), PartsTab, order=20, watch=_watch))
