"""The archive's list dialogs: work orders, lost customers, missing documents, and the import
with its dry-run preview."""

from __future__ import annotations

import uuid
from pathlib import Path

from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QFileDialog,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QMessageBox,
    QPushButton,
    QTableView,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from aftersales_desk.domain.roles import Permission
from aftersales_desk.i18n import N_, _
from aftersales_desk.services.archive import LOST_REASONS, ArchiveService
from aftersales_desk.services.archive_lost import ChurnMonth, LostCustomers, LostOverview, LostRow
from aftersales_desk.services.archive_work_orders import (
    WorkOrderRow,
    WorkOrderService,
    status_label,
)
from aftersales_desk.services.pages import Page
from aftersales_desk.ui.context import AppContext
from aftersales_desk.ui.qt_models.lazy_table import Column, LazyTableModel
from aftersales_desk.ui.tabs.archive import dialogs


def _when(value) -> str:
    return value.astimezone().strftime("%Y-%m-%d %H:%M") if value else ""


def _view(model) -> QTableView:
    view = QTableView()
    view.setModel(model)
    view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
    view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    view.verticalHeader().setVisible(False)
    view.horizontalHeader().setStretchLastSection(True)
    return view


def _close_row(dlg: QDialog, extra: list[QWidget]) -> QHBoxLayout:
    row = QHBoxLayout()
    for w in extra:
        row.addWidget(w)
    row.addStretch(1)
    close = QPushButton(_("Close"))
    close.clicked.connect(dlg.accept)
    row.addWidget(close)
    return row


class WorkOrdersDialog(QDialog):
    """Work orders, newest first: dispatch, waiting for parts, close (writes the visit), cancel."""

    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.service = WorkOrderService(ctx.db, ctx.actor)
        self.setWindowTitle(_("Work orders"))
        self.resize(1100, 520)
        self.model = LazyTableModel(
            [
                Column("number", N_("Number")),
                Column("status", N_("Status"), fmt=status_label),
                Column("opened_at", N_("Opened"), fmt=_when),
                Column("customer_name", N_("Customer")),
                Column("plate", N_("Plate")),
                Column("fault", N_("Fault or request")),
                Column("advisor", N_("Advisor")),
                Column("assignee", N_("Technician / provider")),
            ],
            lambda cursor, limit: self.service.page(cursor, limit),
            parent=self,
        )
        self.view = _view(self.model)
        edit = ctx.actor.can(Permission.EDIT_CUSTOMERS)
        self.btn_dispatch = QPushButton(_("Dispatch…"))
        self.btn_wait = QPushButton(_("Waiting for parts"))
        self.btn_resume = QPushButton(_("Parts arrived"))
        self.btn_close = QPushButton(_("Close…"))
        self.btn_cancel = QPushButton(_("Cancel order…"))
        buttons = [
            self.btn_dispatch,
            self.btn_wait,
            self.btn_resume,
            self.btn_close,
            self.btn_cancel,
        ]
        for b in buttons:
            b.setEnabled(edit)
        self.btn_dispatch.clicked.connect(self.on_dispatch)
        self.btn_wait.clicked.connect(
            lambda: self._run(lambda r: self.service.set_waiting_for_parts(r.id, True))
        )
        self.btn_resume.clicked.connect(
            lambda: self._run(lambda r: self.service.set_waiting_for_parts(r.id, False))
        )
        self.btn_close.clicked.connect(self.on_close_order)
        self.btn_cancel.clicked.connect(self.on_cancel)
        layout = QVBoxLayout(self)
        layout.addWidget(self.view)
        layout.addLayout(_close_row(self, buttons))
        self.model.reload()
        self.view.resizeColumnsToContents()

    def selected(self) -> WorkOrderRow | None:
        rows = self.view.selectionModel().selectedRows()
        return self.model.row(rows[0].row()) if rows else None

    def _run(self, fn) -> None:
        row = self.selected()
        if row is None:
            return
        self.ctx.ops.run(
            lambda _p: fn(row),
            parent=self,
            on_success=lambda _r: self.model.reload(),
            changes={"archive"},
        )

    def on_dispatch(self) -> None:
        row = self.selected()
        if row is None:
            return
        name, ok = QInputDialog.getText(
            self,
            _("Dispatch"),
            _("Technician or service provider for {number}:").format(number=row.number),
            text=row.assignee,
        )
        if ok:
            self._run(lambda r: self.service.dispatch(r.id, name))

    def on_close_order(self) -> None:
        row = self.selected()
        if row is None:
            return
        dlg = dialogs.CloseWorkOrderDialog(row.number, row.mileage_km, self)
        if dlg.exec() != QDialog.DialogCode.Accepted:
            return
        try:
            data = dlg.values()
        except Exception as exc:
            from aftersales_desk.ui.tasks import show_error

            show_error(self, exc)
            return
        self._run(lambda r: self.service.close(r.id, data))

    def on_cancel(self) -> None:
        row = self.selected()
        if row is None:
            return
        reason, ok = QInputDialog.getText(self, _("Cancel order"), _("Reason:"))
        if ok:
            self._run(lambda r: self.service.cancel(r.id, reason))


class LostDialog(QDialog):
    """Lost customers 流失客户 and the reason when found out; the churn of the last months and the
    branch's rules (manager)."""

    CHURN_MONTHS = 6

    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.service = LostCustomers(ctx.db, ctx.actor)
        self.setWindowTitle(_("Lost customers"))
        self.resize(1000, 560)
        self.rows: list[LostRow] = []
        self.total = 0
        self.churn: list[ChurnMonth] = []
        self.lbl_churn = QLabel()
        self.lbl_churn.setWordWrap(True)
        self.model = LazyTableModel(
            [
                Column("customer_no", N_("Customer no.")),
                Column("name", N_("Name")),
                Column("phone", N_("Phone")),
                Column("plate", N_("Plate")),
                Column("last_visit", N_("Last visit"), fmt=lambda d: d.isoformat()),
                Column("expected", N_("Expected back"), fmt=lambda d: d.isoformat()),
                Column("overdue_days", N_("Days overdue"), align_right=True),
                Column("reason", N_("Reason"), fmt=lambda r: _(LOST_REASONS[r]) if r else ""),
            ],
            lambda _c, _l: Page(self.rows, None),
            parent=self,
        )
        self.view = _view(self.model)
        self.btn_reason = QPushButton(_("Record reason…"))
        self.btn_reason.setEnabled(ctx.actor.can(Permission.EDIT_CUSTOMERS))
        self.btn_reason.clicked.connect(self.on_reason)
        self.btn_rules = QPushButton(_("Rules…"))
        self.btn_rules.setToolTip(_("When a vehicle counts as lost"))
        self.btn_rules.setEnabled(ctx.actor.can(Permission.EDIT_BRANCH_SETTINGS))
        self.btn_rules.clicked.connect(self.on_rules)
        layout = QVBoxLayout(self)
        layout.addWidget(self.lbl_churn)
        layout.addWidget(self.view)
        layout.addLayout(_close_row(self, [self.btn_reason, self.btn_rules]))
        self.load()

    def load(self) -> None:
        from datetime import date

        def work(progress):
            today = date.today()
            months = []
            y, m = today.year, today.month
            for _i in range(self.CHURN_MONTHS):
                m -= 1
                if m == 0:
                    y, m = y - 1, 12
                months.append((y, m))
            return self.service.lost_overview(months[::-1], today, progress=progress)

        def shown(result: LostOverview) -> None:
            self.rows, self.total, self.churn = result.rows, result.total, result.churn
            self.model.reload()
            self.view.resizeColumnsToContents()
            self.lbl_churn.setText(
                _(
                    "{n} vehicles lost, the {shown} most overdue listed. Churn per month: {months}"
                ).format(
                    n=self.total,
                    shown=len(self.rows),
                    months="; ".join(
                        f"{c.label} {c.rate:.1%} ({c.lost}/{c.active})" for c in self.churn
                    ),
                )
            )

        self.ctx.ops.run(
            work,
            parent=self,
            write=False,
            on_success=shown,
            label=_("Finding lost customers…"),
        )

    def on_reason(self) -> None:
        rows = self.view.selectionModel().selectedRows()
        if not rows:
            return
        row = self.model.row(rows[0].row())
        dlg = dialogs.LostReasonDialog(f"{row.name} {row.plate}", self)
        if dlg.exec() == QDialog.DialogCode.Accepted:
            reason, note = dlg.cb_reason.currentData(), dlg.ed_note.text()
            self.ctx.ops.run(
                lambda _p: self.service.record_lost_reason(row.id, reason, note),
                parent=self,
                on_success=lambda _r: self.load(),
                changes={"archive"},
            )

    def on_rules(self) -> None:
        dlg = dialogs.LostRulesDialog(self.service.lost_rules(), self)
        if dlg.exec() == QDialog.DialogCode.Accepted:
            rules = dlg.values()
            self.ctx.ops.run(
                lambda _p: self.service.set_lost_rules(rules),
                parent=self,
                on_success=lambda _r: self.load(),
                changes={"settings"},
            )


class MissingDocumentsDialog(QDialog):
    """Customers whose paper file lacks required documents; double-click opens the customer."""

    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.service = ArchiveService(ctx.db, ctx.actor)
        self.chosen: uuid.UUID | None = None
        self.setWindowTitle(_("Missing documents"))
        self.resize(900, 520)

        def fetch(cursor, limit):
            page = self.service.missing_documents_page(cursor, limit)
            return Page([_MissingRow(r, names) for r, names in page.rows], page.next_cursor)

        self.model = LazyTableModel(
            [
                Column("customer_no", N_("Customer no.")),
                Column("name", N_("Name")),
                Column("plates", N_("Plates")),
                Column("missing", N_("Missing")),
            ],
            fetch,
            parent=self,
        )
        self.view = _view(self.model)
        self.view.doubleClicked.connect(self.on_open)
        layout = QVBoxLayout(self)
        layout.addWidget(self.view)
        layout.addLayout(_close_row(self, []))
        self.model.reload()
        self.view.resizeColumnsToContents()

    def on_open(self, index) -> None:
        self.chosen = self.model.row(index.row()).id
        self.accept()


class _MissingRow:
    __slots__ = ("customer_no", "id", "missing", "name", "plates")

    def __init__(self, row, names: list[str]) -> None:
        self.id, self.customer_no, self.name, self.plates = (
            row.id,
            row.customer_no,
            row.name,
            row.plates,
        )
        self.missing = "、".join(names)


class ImportDialog(QDialog):
    """Choose a file, see the dry-run preview (counts and every problem by row and column),
    then import."""

    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.path: Path | None = None
        self.setWindowTitle(_("Import customers"))
        self.resize(900, 520)
        self.lbl_file = QLabel(_("No file chosen."))
        self.lbl_summary = QLabel()
        self.lbl_summary.setWordWrap(True)
        self.problems = QTableWidget(0, 4)
        self.problems.setHorizontalHeaderLabels([_("Row"), _("Column"), _("Problem"), _("Kind")])
        self.problems.horizontalHeader().setStretchLastSection(True)
        self.problems.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.btn_choose = QPushButton(_("Choose file…"))
        self.btn_import = QPushButton(_("Import the valid rows"))
        self.btn_import.setEnabled(False)
        self.btn_choose.clicked.connect(self.on_choose)
        self.btn_import.clicked.connect(lambda: self.run(dry_run=False))
        layout = QVBoxLayout(self)
        layout.addWidget(self.lbl_file)
        layout.addWidget(self.lbl_summary)
        layout.addWidget(self.problems, 1)
        layout.addLayout(_close_row(self, [self.btn_choose, self.btn_import]))

    def on_choose(self) -> None:
        path, _f = QFileDialog.getOpenFileName(
            self, _("Import customers"), "", _("Excel files (*.xlsx)")
        )
        if path:
            self.preview(Path(path))

    def preview(self, path: Path) -> None:
        self.path = path
        self.lbl_file.setText(str(path))
        self.run(dry_run=True)

    def run(self, *, dry_run: bool) -> None:
        from aftersales_desk.services.archive_files import import_customers

        path = self.path
        if path is None:
            return

        def shown(result) -> None:
            self.show_result(result)
            if not dry_run:
                self.btn_import.setEnabled(False)
                QMessageBox.information(self, _("Import"), self.lbl_summary.text())

        self.ctx.ops.run(
            lambda p: import_customers(
                self.ctx.db, self.ctx.actor, path, dry_run=dry_run, progress=p
            ),
            parent=self,
            label=_("Reading the file…") if dry_run else _("Importing customers"),
            on_success=shown,
            changes=None if dry_run else {"archive"},
        )

    def show_result(self, result) -> None:
        text = _(
            "{rows} rows: {added} new customers, {updated} updated, {vehicles} vehicles added; "
            "{bad} rows rejected."
        ).format(
            rows=result.rows,
            added=result.customers_added,
            updated=result.customers_updated,
            vehicles=result.vehicles_added,
            bad=result.rejected_rows,
        )
        if result.dry_run:
            text = _("Preview (nothing saved yet): ") + text
        self.lbl_summary.setText(text)
        items = [(e, _("error")) for e in result.errors] + [
            (w, _("warning")) for w in result.warnings
        ]
        self.problems.setRowCount(len(items))
        for i, (e, kind) in enumerate(items):
            for j, value in enumerate((str(e.row), e.column, e.message, kind)):
                self.problems.setItem(i, j, QTableWidgetItem(value))
        self.problems.resizeColumnsToContents()
        self.btn_import.setEnabled(result.dry_run and result.rows > result.rejected_rows)
