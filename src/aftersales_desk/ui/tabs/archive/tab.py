"""The customer archive tab 客户档案: search as you type, the customer list, the customer service
card (vehicles, visits, document checklist) and the archive's dialogs. Every service call runs
through ``ctx.ops``; lists are LazyTableModels over keyset pages."""

from __future__ import annotations

import uuid
from pathlib import Path

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QFileDialog,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QMessageBox,
    QPushButton,
    QSplitter,
    QTableView,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from aftersales_desk.domain.money import format_money
from aftersales_desk.domain.roles import Permission
from aftersales_desk.i18n import N_, _
from aftersales_desk.services.archive import ArchiveService, CustomerCard, kind_label
from aftersales_desk.services.archive_search import CustomerRow, search
from aftersales_desk.services.archive_work_orders import (
    WorkOrderRow,
    WorkOrderService,
    status_label,
)
from aftersales_desk.services.pages import Page
from aftersales_desk.ui.context import AppContext
from aftersales_desk.ui.qt_models.lazy_table import Column, LazyTableModel
from aftersales_desk.ui.tabs.archive import dialogs

SEARCH_DELAY_MS = 150


def _yes(value: bool) -> str:
    return _("yes") if value else ""


def _day(value) -> str:
    return value.isoformat() if value else ""


def _when(value) -> str:
    return value.astimezone().strftime("%Y-%m-%d %H:%M") if value else ""


def _table(headers: list[str]) -> QTableWidget:
    t = QTableWidget(0, len(headers))
    t.setHorizontalHeaderLabels(headers)
    t.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    t.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    t.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
    t.verticalHeader().setVisible(False)
    t.horizontalHeader().setStretchLastSection(True)
    return t


def _fill(table: QTableWidget, rows: list[list[str]]) -> None:
    table.setRowCount(len(rows))
    for i, row in enumerate(rows):
        for j, value in enumerate(row):
            table.setItem(i, j, QTableWidgetItem(value))
    table.resizeColumnsToContents()


class CustomerCardView(QWidget):
    """The customer service card of the selected customer."""

    def __init__(self, tab: ArchiveTab) -> None:
        super().__init__()
        self.tab = tab
        self.card: CustomerCard | None = None
        self.lbl_title = QLabel(_("Choose a customer on the left, or search."))
        self.lbl_title.setStyleSheet("font-size: 15pt; font-weight: bold;")
        self.lbl_details = QLabel()
        self.lbl_details.setWordWrap(True)
        self.lbl_details.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.lbl_advice = QLabel()
        self.lbl_advice.setWordWrap(True)
        self.lbl_advice.setStyleSheet("color: #a15c00;")
        self.btn_reveal = QPushButton(_("Show numbers"))
        self.btn_edit = QPushButton(_("Edit…"))
        self.btn_vehicle = QPushButton(_("Add vehicle…"))
        self.btn_visit = QPushButton(_("Add visit…"))
        self.btn_order = QPushButton(_("Open work order…"))
        self.btn_print = QPushButton(_("Print card…"))
        actions = QHBoxLayout()
        for b in (
            self.btn_reveal,
            self.btn_edit,
            self.btn_vehicle,
            self.btn_visit,
            self.btn_order,
            self.btn_print,
        ):
            actions.addWidget(b)
            b.setEnabled(False)
        actions.addStretch(1)
        self.vehicles = _table(
            [
                _("Plate"),
                _("VIN"),
                _("Engine no."),
                _("Brand"),
                _("Model"),
                _("Colour"),
                _("Purchase date"),
                _("Mileage"),
            ]
        )
        self.vehicles.setMaximumHeight(130)
        self.vehicles.doubleClicked.connect(lambda _i: self.tab.on_edit_vehicle())
        self.visits = _table(
            [
                _("Date"),
                _("Plate"),
                _("Type"),
                _("Mileage"),
                _("Work done"),
                _("Amount"),
                _("Advisor"),
                _("Next due"),
                _("Advice declined"),
            ]
        )
        self.documents = QListWidget()
        self.documents.itemChanged.connect(self.tab.on_document_toggled)
        self.btn_attach = QPushButton(_("Attach scan…"))
        self.btn_open_scan = QPushButton(_("Open scan"))
        self.btn_attach.setEnabled(False)
        self.btn_open_scan.setEnabled(False)
        self.lbl_missing = QLabel()
        docs_box = QGroupBox(_("Paper file"))
        docs_layout = QVBoxLayout(docs_box)
        docs_layout.addWidget(self.lbl_missing)
        docs_layout.addWidget(self.documents, 1)
        row = QHBoxLayout()
        row.addWidget(self.btn_attach)
        row.addWidget(self.btn_open_scan)
        docs_layout.addLayout(row)
        lower = QSplitter(Qt.Orientation.Horizontal)
        visits_box = QGroupBox(_("Service history"))
        QVBoxLayout(visits_box).addWidget(self.visits)
        lower.addWidget(visits_box)
        lower.addWidget(docs_box)
        lower.setStretchFactor(0, 3)
        lower.setStretchFactor(1, 1)
        vehicles_box = QGroupBox(_("Vehicles and products"))
        QVBoxLayout(vehicles_box).addWidget(self.vehicles)
        layout = QVBoxLayout(self)
        layout.addWidget(self.lbl_title)
        layout.addWidget(self.lbl_details)
        layout.addLayout(actions)
        layout.addWidget(self.lbl_advice)
        layout.addWidget(vehicles_box)
        layout.addWidget(lower, 1)
        self.btn_reveal.clicked.connect(self.tab.on_reveal)
        self.btn_edit.clicked.connect(self.tab.on_edit_customer)
        self.btn_vehicle.clicked.connect(self.tab.on_add_vehicle)
        self.btn_visit.clicked.connect(self.tab.on_add_visit)
        self.btn_order.clicked.connect(self.tab.on_open_work_order)
        self.btn_print.clicked.connect(self.tab.on_print_card)
        self.btn_attach.clicked.connect(self.tab.on_attach_scan)
        self.btn_open_scan.clicked.connect(self.tab.on_open_scan)
        self.documents.currentItemChanged.connect(lambda *_a: self._doc_buttons())

    def _doc_buttons(self) -> None:
        item = self.documents.currentItem()
        can = self.tab.ctx.actor.can(Permission.EDIT_CUSTOMERS)
        self.btn_attach.setEnabled(item is not None and can)
        self.btn_open_scan.setEnabled(
            item is not None and bool(item.data(Qt.ItemDataRole.UserRole + 1))
        )

    def show_card(self, card: CustomerCard) -> None:
        self.card = card
        actor = self.tab.ctx.actor
        edit = actor.can(Permission.EDIT_CUSTOMERS)
        flags = [f for f, on in ((_("VIP"), card.vip), (_("club member"), card.club_member)) if on]
        self.lbl_title.setText(
            f"{card.name}  ·  {card.customer_no}" + (f"  ·  {' · '.join(flags)}" if flags else "")
        )
        kind = _("Company") if card.kind == "company" else _("Person")
        self.lbl_details.setText(
            _(
                "{kind} · phone {phone} {phone2} · {address} {region} · ID {ident} · "
                "calls {consent}"
            ).format(
                kind=kind,
                phone=card.phone or "-",
                phone2=card.phone2,
                address=card.address,
                region=card.region,
                ident=card.id_number or "-",
                consent=_("allowed") if card.consent_call else _("not wanted"),
            )
            + (f"\n{card.notes}" if card.notes else "")
        )
        advice = card.pending_advice()
        self.lbl_advice.setText(
            _("Declined last time: {items}").format(
                items="; ".join(f"{plate} {text}" for plate, text in advice)
            )
            if advice
            else ""
        )
        self.lbl_advice.setVisible(bool(advice))
        self.btn_reveal.setEnabled(not card.revealed and actor.can(Permission.VIEW_PERSONAL_DATA))
        for b in (self.btn_vehicle, self.btn_visit, self.btn_order):
            b.setEnabled(edit)
        self.btn_edit.setEnabled(edit and actor.can(Permission.VIEW_PERSONAL_DATA))
        self.btn_print.setEnabled(True)
        _fill(
            self.vehicles,
            [
                [
                    v.plate,
                    v.vin,
                    v.engine_no,
                    v.brand,
                    v.model,
                    v.colour,
                    _day(v.purchase_date),
                    f"{v.mileage_km:,}",
                ]
                for v in card.vehicles
            ],
        )
        _fill(
            self.visits,
            [
                [
                    _day(v.visit_date),
                    v.plate,
                    kind_label(v.kind) + (" " + _("(free)") if v.free_campaign else ""),
                    f"{v.mileage_km:,}",
                    v.items,
                    format_money(v.amount_minor),
                    v.advisor,
                    " ".join(
                        x
                        for x in (
                            _day(v.next_due_date),
                            f"{v.next_due_km:,} km" if v.next_due_km else "",
                        )
                        if x
                    ),
                    v.declined_advice,
                ]
                for v in card.visits
            ],
        )
        self.documents.blockSignals(True)
        self.documents.clear()
        for d in card.documents:
            text = d.name
            if d.received_on:
                text += f"  ({d.received_on.isoformat()})"
            if d.attachment_name:
                text += "  📎 " + d.attachment_name
            item = QListWidgetItem(text)
            item.setData(Qt.ItemDataRole.UserRole, d.name)
            item.setData(
                Qt.ItemDataRole.UserRole + 1, str(d.attachment_id) if d.attachment_id else ""
            )
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            if not edit:
                item.setFlags(item.flags() & ~Qt.ItemFlag.ItemIsEnabled)
            item.setCheckState(Qt.CheckState.Checked if d.received else Qt.CheckState.Unchecked)
            self.documents.addItem(item)
        self.documents.blockSignals(False)
        missing = card.missing_documents
        self.lbl_missing.setText(
            _("Missing: {n} of {total}").format(n=len(missing), total=len(card.documents))
            if missing
            else _("The file is complete.")
        )
        self._doc_buttons()


class ArchiveTab(QWidget):
    def __init__(self, ctx: AppContext) -> None:
        super().__init__()
        self.ctx = ctx
        self.service = ArchiveService(ctx.db, ctx.actor)
        self.orders = WorkOrderService(ctx.db, ctx.actor)
        self.current_id: uuid.UUID | None = None
        self._card_request = 0  # newest load_card request; older answers are dropped
        self._query = ""
        self.ed_search = QLineEdit()
        self.ed_search.setPlaceholderText(
            _("Search: name, pinyin (zs / zhangsan), phone digits, plate, VIN, customer no.")
        )
        self.ed_search.setClearButtonEnabled(True)
        self.lbl_hits = QLabel()
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(SEARCH_DELAY_MS)
        self._timer.timeout.connect(self.run_search)
        self.ed_search.textChanged.connect(lambda _t: self._timer.start())
        edit = ctx.actor.can(Permission.EDIT_CUSTOMERS)
        self.btn_new = QPushButton(_("New customer…"))
        self.btn_new.setEnabled(edit)
        self.btn_orders = QPushButton(_("Work orders…"))
        self.btn_lost = QPushButton(_("Lost customers…"))
        self.btn_missing = QPushButton(_("Missing documents…"))
        self.btn_import = QPushButton(_("Import…"))
        self.btn_import.setEnabled(edit)
        self.btn_export = QPushButton(_("Export…"))
        self.btn_export.setEnabled(ctx.actor.can(Permission.EXPORT_PERSONAL_DATA))
        self.btn_template = QPushButton(_("Template…"))
        self.btn_checklist = QPushButton(_("Checklist…"))
        self.btn_checklist.setToolTip(_("The documents every customer's paper file needs"))
        self.btn_checklist.setEnabled(ctx.actor.can(Permission.EDIT_BRANCH_SETTINGS))
        top = QHBoxLayout()
        top.addWidget(self.ed_search, 3)
        top.addWidget(self.lbl_hits)
        for b in (
            self.btn_new,
            self.btn_orders,
            self.btn_lost,
            self.btn_missing,
            self.btn_import,
            self.btn_export,
            self.btn_template,
            self.btn_checklist,
        ):
            top.addWidget(b)
        self.model = LazyTableModel(
            [
                Column("customer_no", N_("Customer no.")),
                Column("name", N_("Name")),
                Column("phone", N_("Phone")),
                Column("plates", N_("Plates")),
                Column("region", N_("Region")),
                Column("vip", N_("VIP"), fmt=_yes),
            ],
            self.service.page,
            parent=self,
        )
        self.view = QTableView()
        self.view.setModel(self.model)
        self.view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.view.verticalHeader().setVisible(False)
        self.view.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        self.view.horizontalHeader().setStretchLastSection(True)
        self.view.selectionModel().currentRowChanged.connect(self._on_row)
        self.card_view = CustomerCardView(self)
        split = QSplitter(Qt.Orientation.Horizontal)
        split.addWidget(self.view)
        split.addWidget(self.card_view)
        split.setStretchFactor(0, 2)
        split.setStretchFactor(1, 3)
        split.setSizes([520, 900])
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(split, 1)
        self.btn_new.clicked.connect(self.on_new_customer)
        self.btn_orders.clicked.connect(self.on_work_orders)
        self.btn_lost.clicked.connect(self.on_lost)
        self.btn_missing.clicked.connect(self.on_missing)
        self.btn_import.clicked.connect(self.on_import)
        self.btn_export.clicked.connect(self.on_export)
        self.btn_template.clicked.connect(self.on_template)
        self.btn_checklist.clicked.connect(self.on_checklist)
        self._dirty = False
        ctx.ops.sig_changes_applied.connect(self._on_changes)
        self.model.reload()
        self.view.setColumnWidth(0, 90)
        self.view.setColumnWidth(1, 110)
        self.view.setColumnWidth(2, 110)
        self.view.setColumnWidth(3, 130)
        if self.model.rowCount():
            self.view.selectRow(0)

    # --- list and search ------------------------------------------------------------------------
    def run_search(self) -> None:
        query = self.ed_search.text().strip()
        self._query = query
        if not query:
            self.lbl_hits.setText("")
            self.model.reload(self.service.page)
            return

        def found(rows: list[CustomerRow]) -> None:
            if query != self._query:
                return  # a newer search is under way
            self.model.reload(lambda _cursor, _limit: Page(rows, None))
            self.lbl_hits.setText(_("{n} found").format(n=len(rows)))
            if rows:
                self.view.selectRow(0)

        self.ctx.ops.run(
            lambda _p: search(self.ctx.db, self.ctx.actor, query, limit=200),
            parent=self,
            write=False,
            on_success=found,
        )

    def _on_row(self, current, _previous) -> None:
        if not current.isValid():
            return
        row: CustomerRow = self.model.row(current.row())
        self.load_card(row.id)

    def load_card(self, customer_id: uuid.UUID, *, reveal: bool = False) -> None:
        """Loads the card off the UI thread. Only the newest request is shown: reads and the
        (audited, writer-thread) reveal finish in any order, and an older masked read must not
        cover a revealed card."""
        self.current_id = customer_id
        self._card_request += 1
        request = self._card_request

        def shown(card: CustomerCard) -> None:
            if request == self._card_request and card.id == self.current_id:
                self.card_view.show_card(card)

        self.ctx.ops.run(
            lambda _p: self.service.card(customer_id, reveal=reveal),
            parent=self,
            write=reveal,
            on_success=shown,
        )

    def _on_changes(self, areas) -> None:
        if "archive" in areas:
            self.refresh()

    def refresh(self) -> None:
        if self._query:
            self.run_search()
        else:
            self.model.reload(self.service.page)
        if self.current_id is not None:
            self.load_card(self.current_id)

    def _save(self, fn, *, then=None, label: str | None = None) -> None:
        def done(result) -> None:
            warnings = getattr(result, "warnings", ())
            if warnings:
                QMessageBox.information(self, _("Saved, with warnings"), "\n".join(warnings))
            if then is not None:
                then(result)

        self.ctx.ops.run(
            lambda _p: fn(), parent=self, label=label, on_success=done, changes={"archive"}
        )

    # --- customers, vehicles, visits --------------------------------------------------------------
    def _confirm_warnings(self, warnings: list[str]) -> bool:
        if not warnings:
            return True
        answer = QMessageBox.question(
            self,
            _("Please check"),
            "\n".join(warnings) + "\n\n" + _("Save anyway?"),
        )
        return answer == QMessageBox.StandardButton.Yes

    def on_new_customer(self) -> None:
        dlg = dialogs.CustomerDialog(None, self)
        if dlg.exec() != QDialog.DialogCode.Accepted:
            return
        data, vehicle = dlg.values(), dlg.vehicle_values()

        def check():
            warnings = self.service.check_customer(data)
            if vehicle is not None:
                warnings += self.service.check_vehicle(vehicle)
            return warnings

        def checked(warnings: list[str]) -> None:
            if self._confirm_warnings(warnings):
                self._save(
                    lambda: self.service.create_customer(data, vehicle),
                    then=lambda saved: self.select_customer(saved.id),
                )

        self.ctx.ops.run(lambda _p: check(), parent=self, write=False, on_success=checked)

    def select_customer(self, customer_id: uuid.UUID) -> None:
        self.current_id = customer_id
        row = self.model.row_for_id(customer_id)
        if row is not None:
            self.view.selectRow(row)
        self.load_card(customer_id)

    def on_reveal(self) -> None:
        if self.current_id is not None:
            self.load_card(self.current_id, reveal=True)

    def on_edit_customer(self) -> None:
        if self.current_id is None:
            return
        cid = self.current_id

        def edit(card: CustomerCard) -> None:
            self.card_view.show_card(card)
            dlg = dialogs.CustomerDialog(card, self)
            if dlg.exec() == QDialog.DialogCode.Accepted:
                data = dlg.values()
                self._save(lambda: self.service.update_customer(cid, data))

        self.ctx.ops.run(
            lambda _p: self.service.card(cid, reveal=True), parent=self, on_success=edit
        )

    def on_add_vehicle(self) -> None:
        if self.current_id is None:
            return
        cid = self.current_id
        dlg = dialogs.VehicleDialog(None, self)
        if dlg.exec() != QDialog.DialogCode.Accepted:
            return
        data = dlg.values()
        self.ctx.ops.run(
            lambda _p: self.service.check_vehicle(data),
            parent=self,
            write=False,
            on_success=lambda w: (
                self._confirm_warnings(w)
                and self._save(lambda: self.service.add_vehicle(cid, data))
            ),
        )

    def on_edit_vehicle(self) -> None:
        card = self.card_view.card
        row = self.card_view.vehicles.currentRow()
        if card is None or row < 0 or not self.ctx.actor.can(Permission.EDIT_CUSTOMERS):
            return
        vehicle = card.vehicles[row]
        dlg = dialogs.VehicleDialog(vehicle, self)
        if dlg.exec() == QDialog.DialogCode.Accepted:
            data = dlg.values()
            self._save(lambda: self.service.update_vehicle(vehicle.id, data))

    def on_add_visit(self) -> None:
        card = self.card_view.card
        if card is None:
            return
        dlg = dialogs.VisitDialog(card, self)
        if dlg.exec() != QDialog.DialogCode.Accepted:
            return
        try:
            data = dlg.values()
        except Exception as exc:  # a bad amount: ValidationError with a message
            from aftersales_desk.ui.tasks import show_error

            show_error(self, exc)
            return
        self._save(lambda: self.service.add_visit(card.id, data))

    # --- documents --------------------------------------------------------------------------------
    def on_document_toggled(self, item: QListWidgetItem) -> None:
        if self.current_id is None:
            return
        cid, name = self.current_id, item.data(Qt.ItemDataRole.UserRole)
        ticked = item.checkState() == Qt.CheckState.Checked
        self._save(lambda: self.service.set_document(cid, name, ticked))

    def on_attach_scan(self) -> None:
        item = self.card_view.documents.currentItem()
        if item is None or self.current_id is None:
            return
        path, _f = QFileDialog.getOpenFileName(
            self,
            _("Attach a scan"),
            "",
            _("Scans (*.pdf *.jpg *.jpeg *.png *.tif *.tiff);;All files (*)"),
        )
        if path:
            cid, name = self.current_id, item.data(Qt.ItemDataRole.UserRole)
            self._save(lambda: self.service.set_document(cid, name, True, scan=Path(path)))

    def on_open_scan(self) -> None:
        item = self.card_view.documents.currentItem()
        aid = item.data(Qt.ItemDataRole.UserRole + 1) if item else ""
        if not aid:
            return

        def opened(result) -> None:
            import shutil
            import tempfile

            from PySide6.QtCore import QUrl
            from PySide6.QtGui import QDesktopServices

            path, name = result
            copy = Path(tempfile.mkdtemp(prefix="asd-scan-")) / name
            shutil.copyfile(path, copy)
            QDesktopServices.openUrl(QUrl.fromLocalFile(str(copy)))

        self.ctx.ops.run(
            lambda _p: self.service.attachment_path(uuid.UUID(aid)),
            parent=self,
            write=False,
            on_success=opened,
        )

    # --- work orders, lost customers, missing documents --------------------------------------------
    def on_open_work_order(self) -> None:
        card = self.card_view.card
        if card is None:
            return
        dlg = dialogs.OpenWorkOrderDialog(card, self)
        if dlg.exec() != QDialog.DialogCode.Accepted:
            return
        vid, kind = dlg.cb_vehicle.currentData(), dlg.cb_kind.currentData()
        fault, advisor, km = dlg.ed_fault.toPlainText(), dlg.ed_advisor.text(), dlg.sp_km.value()
        self._save(
            lambda: self.orders.open(
                card.id, vehicle_id=vid, kind=kind, fault=fault, advisor=advisor, mileage_km=km
            ),
            then=lambda wo: QMessageBox.information(
                self, _("Work order"), _("Work order {number} is open.").format(number=wo.number)
            ),
        )

    def on_work_orders(self) -> None:
        from aftersales_desk.ui.tabs.archive.lists import WorkOrdersDialog

        WorkOrdersDialog(self.ctx, self).exec()

    def on_lost(self) -> None:
        from aftersales_desk.ui.tabs.archive.lists import LostDialog

        LostDialog(self.ctx, self).exec()

    def on_missing(self) -> None:
        from aftersales_desk.ui.tabs.archive.lists import MissingDocumentsDialog

        dlg = MissingDocumentsDialog(self.ctx, self)
        if dlg.exec() == QDialog.DialogCode.Accepted and dlg.chosen is not None:
            self.select_customer(dlg.chosen)

    # --- files ----------------------------------------------------------------------------------
    def on_print_card(self) -> None:
        card = self.card_view.card
        if card is None:
            return
        out, _f = QFileDialog.getSaveFileName(
            self, _("Print card"), f"{card.customer_no}.pdf", _("PDF files (*.pdf)")
        )
        if not out:
            return
        from aftersales_desk.services.archive_files import print_card

        self.ctx.ops.run(
            lambda _p: print_card(self.ctx.db, self.ctx.actor, card.customer_no, Path(out)),
            parent=self,
            label=_("Writing the card…"),
            write=False,
            on_success=lambda _r: self._open_file(Path(out)),
        )

    def _open_file(self, path: Path) -> None:
        from PySide6.QtCore import QUrl
        from PySide6.QtGui import QDesktopServices

        QDesktopServices.openUrl(QUrl.fromLocalFile(str(path)))

    def on_import(self) -> None:
        from aftersales_desk.ui.tabs.archive.lists import ImportDialog

        ImportDialog(self.ctx, self).exec()

    def on_export(self) -> None:
        out, _f = QFileDialog.getSaveFileName(
            self, _("Export customers"), "customers.xlsx", _("Excel files (*.xlsx)")
        )
        if not out:
            return
        from aftersales_desk.services.archive_files import export_customers

        self.ctx.ops.run(
            lambda p: export_customers(self.ctx.db, self.ctx.actor, Path(out), p),
            parent=self,
            label=_("Exporting customers…"),
            on_success=lambda n: QMessageBox.information(
                self, _("Export"), _("{n} rows written to {out}.").format(n=n, out=out)
            ),
        )

    def on_checklist(self) -> None:
        from PySide6.QtWidgets import QInputDialog

        current = "\n".join(self.service.required_documents())
        text, ok = QInputDialog.getMultiLineText(
            self,
            _("Document checklist"),
            _("The documents every customer's paper file needs, one per line:"),
            current,
        )
        if ok:
            names = text.splitlines()
            self._save(
                lambda: self.service.set_required_documents(names),
                then=lambda _r: self.refresh(),
            )

    def on_template(self) -> None:
        out, _f = QFileDialog.getSaveFileName(
            self, _("Import template"), _("customers-template.xlsx"), _("Excel files (*.xlsx)")
        )
        if not out:
            return
        from aftersales_desk.services.archive_files import write_template

        self.ctx.ops.run(
            lambda _p: write_template(Path(out)),
            parent=self,
            write=False,
            on_success=lambda _r: self._open_file(Path(out)),
        )


def order_label(row: WorkOrderRow) -> str:
    return f"{row.number} {status_label(row.status)} {_when(row.opened_at)}"
