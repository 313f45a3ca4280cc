"""The insurance tab (保险出单): policies (a vehicle's compulsory and commercial policies seen
together), the renewal pipeline (30/60/90 days, contacted, quoted, renewed, lost), accident
vehicles received, engine-oil sales and the manager's daily figures with the reports."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QSplitter,
    QTableView,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from aftersales_desk.domain.money import format_money
from aftersales_desk.domain.roles import Permission
from aftersales_desk.i18n import N_, _
from aftersales_desk.services.insurance import (
    BUCKET_LABELS,
    BUCKETS,
    DailyFigures,
    InsuranceService,
    InsurerRow,
    PipelineRow,
    PolicyInput,
    PolicyRow,
    business_label,
    coverage_labels,
    figure_lines,
    kind_label,
    payment_label,
    renewal_label,
)
from aftersales_desk.services.insurance_logs import InsuranceLogs
from aftersales_desk.services.pages import Page
from aftersales_desk.ui.context import AppContext
from aftersales_desk.ui.doc_numbers import number_width
from aftersales_desk.ui.qt_models.lazy_table import Column, LazyTableModel
from aftersales_desk.ui.tabs.insurance.dialogs import (
    AccidentDialog,
    InsurersDialog,
    OilSaleDialog,
    PolicyDialog,
    RenewalStepDialog,
    date_edit,
    from_qdate,
    to_qdate,
)

AREA = "insurance"
PAGE_SIZE = 200
OPEN_ROWS = 60  # the first read of the pipeline: a screenful and more; scrolling pages on
BUCKET_COLOURS = {
    "expired": QColor("#f8d7da"),
    "d30": QColor("#fff3cd"),
    "d60": QColor("#fdf7e3"),
}
CLOSED_COLOURS = {"renewed": QColor("#d4edda"), "lost": QColor("#e2e3e5")}


def _money(v: int | None) -> str:
    return "" if v is None else format_money(v)


def _iso(v: date | None) -> str:
    return v.isoformat() if v else ""


def _rows_page(rows: list[Any]) -> Callable[[Any, int], Page[Any]]:
    def fetch(cursor: int | None, limit: int) -> Page[Any]:
        start = cursor or 0
        nxt = start + limit
        return Page(rows[start:nxt], nxt if nxt < len(rows) else None)

    return fetch


def _primed(first: Page[Any], fetch: Callable[[Any, int], Page[Any]]):
    """A fetch whose first page was already read (off the UI thread); later pages page on."""

    def f(cursor: Any, limit: int) -> Page[Any]:
        return first if cursor is None else fetch(cursor, limit)

    return f


def _table(model: LazyTableModel) -> QTableView:
    view = QTableView()
    view.setModel(model)
    view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
    view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    view.verticalHeader().setVisible(False)
    view.horizontalHeader().setStretchLastSection(True)
    return view


def _selected(view: QTableView, model: LazyTableModel) -> Any | None:
    rows = view.selectionModel().selectedRows()
    return model.row(rows[0].row()) if rows else None


POLICY_COLUMNS = [
    Column("issued_on", N_("Issued on"), _iso),
    Column("policy_no", N_("Policy no.")),
    Column("kind", N_("Kind"), kind_label),
    Column("insurer", N_("Insurer")),
    Column("plate", N_("Plate")),
    Column("customer_name", N_("Customer")),
    Column("premium_minor", N_("Premium"), _money, align_right=True),
    Column("commission_minor", N_("Commission"), _money, align_right=True),
    Column("start_date", N_("Start date"), _iso),
    Column("end_date", N_("End date"), _iso),
    Column("coverages", N_("Coverages"), coverage_labels),
    Column("salesperson", N_("Salesperson")),
    Column("business", N_("New or renewal"), business_label),
    Column("payment", N_("Payment"), payment_label),
    Column("renewal_status", N_("Renewal state"), renewal_label),
]


class PipelineModel(LazyTableModel):
    """Pipeline rows tinted by how close the end is (renewed and lost ones greyed/green)."""

    _SHOWN = (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.TextAlignmentRole)

    def data(self, index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        # a painted cell is asked for a dozen roles: answer the ones it has, the rest at once
        if role == Qt.ItemDataRole.BackgroundRole:
            if not index.isValid():
                return None
            row: PipelineRow = self.row(index.row())
            if row.renewal_status in CLOSED_COLOURS:
                return CLOSED_COLOURS[row.renewal_status]
            return BUCKET_COLOURS.get(row.bucket or "")
        if role in self._SHOWN or role == self.ROW_ROLE:
            return super().data(index, role)
        return None


class _Page(QWidget):
    def __init__(self, ctx: AppContext, service: InsuranceService) -> None:
        super().__init__()
        self.ctx, self.service = ctx, service
        self.can_edit = ctx.actor.can(Permission.EDIT_POLICIES)
        self._insurers: list[InsurerRow] | None = None

    def insurers(self) -> list[InsurerRow]:
        if self._insurers is None:
            self._insurers = self.service.insurers()
        return self._insurers

    def load(self, model: LazyTableModel, fetch: Callable[[Any, int], Page[Any]], then=None):
        """Read the first page off the UI thread, then show it; later pages page lazily."""

        def shown(first: Page[Any]) -> None:
            model.reload(_primed(first, fetch))
            if then is not None:
                then()

        self.ctx.ops.run(lambda _p: fetch(None, model.page_size), write=False, on_success=shown)

    def forget_insurers(self) -> None:
        self._insurers = None

    def saved(self, *_a: Any) -> None:
        self.ctx.ops.sig_changes_applied.emit(frozenset({AREA}))


class PoliciesPage(_Page):
    def __init__(self, ctx: AppContext, service: InsuranceService) -> None:
        super().__init__(ctx, service)
        self.text = ""
        self.model = LazyTableModel(POLICY_COLUMNS, _rows_page([]))
        self.view = _table(self.model)
        for col, width in ((0, 90), (1, 150), (2, 70), (3, 80), (4, 90), (5, 80), (6, 90),
                           (7, 80), (8, 90), (9, 90), (10, 200)):  # fmt: skip
            self.view.setColumnWidth(col, width)
        self.view.selectionModel().selectionChanged.connect(self.on_selected)
        self.view.doubleClicked.connect(lambda _i: self.on_edit())
        self.vehicle_model = LazyTableModel(
            [
                Column("kind", N_("Kind"), kind_label),
                Column("policy_no", N_("Policy no.")),
                Column("insurer", N_("Insurer")),
                Column("start_date", N_("Start date"), _iso),
                Column("end_date", N_("End date"), _iso),
                Column("premium_minor", N_("Premium"), _money, align_right=True),
                Column("coverages", N_("Coverages"), coverage_labels),
                Column("renewal_status", N_("Renewal state"), renewal_label),
            ],
            _rows_page([]),
        )
        self.vehicle_view = _table(self.vehicle_model)
        for col, width in ((0, 70), (1, 170), (2, 90), (3, 90), (4, 90), (5, 90), (6, 260)):
            self.vehicle_view.setColumnWidth(col, width)
        self.lbl_vehicle = QLabel(_("Select a policy to see all of its vehicle's policies."))
        self.ed_search = QLineEdit()
        self.ed_search.setPlaceholderText(_("policy no., plate or customer name"))
        self.ed_search.returnPressed.connect(self.on_search)
        self.btn_new = QPushButton(_("New policy…"))
        self.btn_new.clicked.connect(self.on_new)
        self.btn_edit = QPushButton(_("Edit…"))
        self.btn_edit.clicked.connect(self.on_edit)
        for b in (self.btn_new, self.btn_edit):
            b.setVisible(self.can_edit)
        self.btn_insurers = QPushButton(_("Insurers…"))
        self.btn_insurers.clicked.connect(self.on_insurers)
        self.btn_insurers.setVisible(ctx.actor.can(Permission.EDIT_BRANCH_SETTINGS))
        bar = QHBoxLayout()
        bar.addWidget(self.ed_search, 1)
        search = QPushButton(_("Search"))
        search.clicked.connect(self.on_search)
        bar.addWidget(search)
        bar.addSpacing(20)
        bar.addWidget(self.btn_new)
        bar.addWidget(self.btn_edit)
        bar.addWidget(self.btn_insurers)
        lower = QWidget()
        lower_layout = QVBoxLayout(lower)
        lower_layout.setContentsMargins(0, 0, 0, 0)
        lower_layout.addWidget(self.lbl_vehicle)
        lower_layout.addWidget(self.vehicle_view)
        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(self.view)
        split.addWidget(lower)
        split.setSizes([500, 200])
        layout = QVBoxLayout(self)
        layout.addLayout(bar)
        layout.addWidget(split)

    def fetch(self, cursor: Any, limit: int) -> Page[PolicyRow]:
        return self.service.policy_page(cursor, limit, text=self.text)

    def refresh(self) -> None:
        self.load(self.model, self.fetch)

    def on_search(self) -> None:
        self.text = self.ed_search.text().strip()
        self.refresh()

    def on_selected(self, *_a: Any) -> None:
        row = _selected(self.view, self.model)
        if row is None:
            return
        self.lbl_vehicle.setText(
            _("All policies of {plate} ({customer}), compulsory and commercial:").format(
                plate=row.plate or row.vin, customer=row.customer_name
            )
        )
        vehicle_id = row.vehicle_id
        self.ctx.ops.run(
            lambda _p: self.service.vehicle_policies(vehicle_id),
            write=False,
            on_success=lambda rows: self.vehicle_model.reload(_rows_page(rows)),
        )

    def open_dialog(self, save, **kw) -> PolicyDialog:
        return PolicyDialog(self.service, self.insurers(), save, parent=self, **kw)

    def on_new(self) -> None:
        if not self.can_edit:
            return
        dlg = self.open_dialog(self.service.create_policy)
        if dlg.exec():
            self.saved()

    def on_insurers(self) -> None:
        dlg = InsurersDialog(self.service, self)
        dlg.exec()
        if dlg.added:
            self.ctx.ops.sig_changes_applied.emit(frozenset({AREA}))

    def on_edit(self) -> None:
        row: PolicyRow | None = _selected(self.view, self.model)
        if row is None or not self.can_edit:
            return
        vehicle = self.service.vehicle_choice(row.vehicle_id)
        dlg = self.open_dialog(
            lambda data: self.service.update_policy(row.id, data),
            initial=row.input,
            vehicle=vehicle,
            title=_("Policy {no}").format(no=row.policy_no),
        )
        if dlg.exec():
            self.saved()


class PipelinePage(_Page):
    """Opens reading: the first read (all buckets, open policies) starts before the widgets are
    built, so the database works while the page is put together."""

    def __init__(self, ctx: AppContext, service: InsuranceService) -> None:
        super().__init__(ctx, service)
        self.today: date | None = None
        self.counts: dict[str, int] = {}
        self._read(None, False, OPEN_ROWS)
        self.model = PipelineModel(
            [
                Column("end_date", N_("Ends"), _iso),
                Column("days_left", N_("Days left"), align_right=True),
                Column("renewal_status", N_("Renewal state"), renewal_label),
                Column("plate", N_("Plate")),
                Column("customer_name", N_("Customer")),
                Column("phone", N_("Phone")),
                Column("kind", N_("Kind"), kind_label),
                Column("policy_no", N_("Policy no.")),
                Column("insurer", N_("Insurer")),
                Column("premium_minor", N_("Premium"), _money, align_right=True),
                Column("quoted_minor", N_("Quoted"), _money, align_right=True),
                Column("renewal_note", N_("Note")),
                Column("lost_reason", N_("Reason lost")),
            ],
            _rows_page([]),
            page_size=PAGE_SIZE,
        )
        self.view = _table(self.model)
        for col, width in ((0, 90), (1, 70), (2, 70), (3, 90), (4, 80), (5, 110), (6, 70),
                           (7, 150), (8, 80), (9, 90), (10, 90), (11, 160)):  # fmt: skip
            self.view.setColumnWidth(col, width)
        self.view.selectionModel().selectionChanged.connect(self._update_buttons)
        self.cb_bucket = QComboBox()
        self.cb_bucket.addItem(_("All: expired up to 30 days ago to 90 days ahead"), None)
        for b in BUCKETS:
            self.cb_bucket.addItem(_(BUCKET_LABELS[b]), b)
        self.cb_bucket.currentIndexChanged.connect(lambda _i: self.refresh())
        self.chk_closed = QCheckBox(_("Show renewed and lost"))
        self.chk_closed.toggled.connect(lambda _c: self.refresh())
        self.lbl_counts = QLabel()
        self.buttons: dict[str, QPushButton] = {}
        for key, text, slot in (
            ("contacted", _("Contacted…"), lambda: self.on_step("contacted")),
            ("quoted", _("Quoted…"), lambda: self.on_step("quoted")),
            ("renewed", _("Renewed…"), self.on_renewed),
            ("lost", _("Lost…"), lambda: self.on_step("lost")),
            ("open", _("Back to open"), self.on_reopen),
        ):
            b = QPushButton(text)
            b.clicked.connect(slot)
            b.setVisible(self.can_edit)
            b.setEnabled(False)
            self.buttons[key] = b
        top = QHBoxLayout()
        top.addWidget(QLabel(_("Ending")))
        top.addWidget(self.cb_bucket)
        top.addWidget(self.chk_closed)
        top.addSpacing(16)
        top.addWidget(self.lbl_counts, 1)
        actions = QHBoxLayout()
        for b in self.buttons.values():
            actions.addWidget(b)
        actions.addStretch(1)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.view)
        layout.addLayout(actions)

    def fetch(self, cursor: Any, limit: int) -> Page[PipelineRow]:
        assert self.today is not None
        return self.service.pipeline_page(
            self.today,
            cursor,
            limit,
            bucket=self.cb_bucket.currentData(),
            include_closed=self.chk_closed.isChecked(),
        )

    def refresh(self) -> None:
        self._read(self.cb_bucket.currentData(), self.chk_closed.isChecked(), OPEN_ROWS)

    def _read(self, bucket: str | None, closed: bool, limit: int) -> None:
        """The first page off the UI thread; the bucket counts right after it (counting every
        policy still to renew takes longer than a page)."""

        def read(_p) -> tuple[date, dict[str, int] | None, Page[PipelineRow]]:
            return self.service.open_pipeline(
                bucket=bucket, include_closed=closed, limit=limit, counts=False
            )

        self.ctx.ops.run(read, write=False, on_success=self.show_pipeline)

    def show_pipeline(self, result: tuple[date, dict[str, int] | None, Page[PipelineRow]]) -> None:
        self.today, _none, first = result
        self.model.reload(_primed(first, self.fetch))
        self._update_buttons()
        today = self.today
        self.ctx.ops.run(
            lambda _p: self.service.pipeline_counts(today),
            write=False,
            on_success=self.show_counts,
        )

    def show_counts(self, counts: dict[str, int]) -> None:
        self.counts = counts
        self.lbl_counts.setText(
            "   ".join(f"{_(BUCKET_LABELS[b])}: {counts.get(b, 0)}" for b in BUCKETS)
        )

    def selected(self) -> PipelineRow | None:
        return _selected(self.view, self.model)

    def _update_buttons(self, *_a: Any) -> None:
        row = self.selected()
        open_ = row is not None and row.renewal_status not in ("renewed", "lost")
        for key in ("contacted", "quoted", "renewed", "lost"):
            self.buttons[key].setEnabled(open_)
        self.buttons["open"].setEnabled(row is not None and row.renewal_status == "lost")

    def on_step(self, status: str) -> None:
        row = self.selected()
        if row is None or not self.can_edit:
            return
        dlg = RenewalStepDialog(
            row, status, lambda v: self.service.set_renewal(row.id, **v), parent=self
        )
        if dlg.exec():
            self.saved()

    def on_reopen(self) -> None:
        row = self.selected()
        if row is None or not self.can_edit:
            return
        self.ctx.ops.run(
            lambda _p: self.service.set_renewal(row.id, "open"),
            parent=self,
            changes={AREA},
        )

    def renewal_dialog(self, row: PipelineRow) -> PolicyDialog:
        """The form of the renewal: same vehicle, kind, insurer and coverages, the next year."""
        template: PolicyInput = self.service.renewal_template(row.id)
        vehicle = self.service.vehicle_choice(row.vehicle_id)
        return PolicyDialog(
            self.service,
            self.insurers(),
            lambda data: self.service.create_policy(data, renews=row.id),
            initial=template,
            vehicle=vehicle,
            title=_("Renewal of {no}").format(no=row.policy_no),
            parent=self,
        )

    def on_renewed(self) -> None:
        row = self.selected()
        if row is None or not self.can_edit:
            return
        dlg = self.renewal_dialog(row)
        if dlg.exec():
            self.saved()


class _LogPage(_Page):
    """One of the desk's logs: its list under a button that records a new entry."""

    def __init__(
        self,
        ctx: AppContext,
        service: InsuranceService,
        logs: InsuranceLogs,
        columns: list[Column],
        widths: tuple[int, ...],
        new_text: str,
        on_new: Callable[[], None],
    ) -> None:
        super().__init__(ctx, service)
        self.logs = logs
        self.model = LazyTableModel(columns, _rows_page([]))
        self.view = _table(self.model)
        for col, width in enumerate(widths):
            self.view.setColumnWidth(col, width)
        btn = QPushButton(new_text)
        btn.clicked.connect(on_new)
        btn.setVisible(self.can_edit)
        bar = QHBoxLayout()
        bar.addWidget(btn)
        bar.addStretch(1)
        layout = QVBoxLayout(self)
        layout.addLayout(bar)
        layout.addWidget(self.view)


class AccidentsPage(_LogPage):
    def __init__(self, ctx: AppContext, service: InsuranceService, logs: InsuranceLogs) -> None:
        columns = [
            Column("intake_date", N_("Intake date"), _iso),
            Column("plate", N_("Plate")),
            Column("customer_name", N_("Customer")),
            Column("insurer", N_("Insurer")),
            Column("claim_no", N_("Claim no.")),
            Column("towed_in", N_("Towed in"), lambda v: _("yes") if v else _("no")),
            Column("surveyor", N_("Surveyor")),
            Column("estimate_minor", N_("Estimate"), _money, align_right=True),
            Column("work_order_no", N_("Work order")),
            Column("visit_date", N_("Repair visit"), _iso),
            Column("note", N_("Notes")),
        ]
        widths = (90, 90, 80, 80, 150, 60, 80, 100, 110, 90)
        super().__init__(
            ctx, service, logs, columns, widths, _("Accident vehicle received…"), self.on_new
        )
        self.view.setColumnWidth(8, max(widths[8], number_width(self.view)))  # BJ01-A-WO000123

    def refresh(self) -> None:
        self.load(self.model, self.logs.accident_page)

    def on_new(self) -> None:
        dlg = AccidentDialog(self.logs, self.insurers(), self.logs.create_accident, self)
        if dlg.exec():
            self.saved()


class OilPage(_LogPage):
    def __init__(self, ctx: AppContext, service: InsuranceService, logs: InsuranceLogs) -> None:
        columns = [
            Column("sold_on", N_("Date"), _iso),
            Column("product", N_("Product")),
            Column("quantity", N_("Quantity"), align_right=True),
            Column("amount_minor", N_("Amount"), _money, align_right=True),
            Column("who", N_("Customer")),
            Column("salesperson", N_("Salesperson")),
        ]
        super().__init__(
            ctx, service, logs, columns, (90, 220, 70, 90, 120), _("New oil sale…"), self.on_new
        )

    def refresh(self) -> None:
        self.load(self.model, self.logs.oil_page)

    def on_new(self) -> None:
        dlg = OilSaleDialog(self.service, self.logs.create_oil_sale, self)
        if dlg.exec():
            self.saved()


class FiguresPage(_Page):
    """The manager's daily figures, the renewal rate of the last twelve months, the reports."""

    def __init__(self, ctx: AppContext, service: InsuranceService) -> None:
        super().__init__(ctx, service)
        self.day: date | None = None
        self.figures: DailyFigures | None = None
        self.ed_day = date_edit(date.today())
        self.ed_day.dateChanged.connect(lambda q: self.set_day(from_qdate(q)))
        self.table = QTableWidget(0, 3)
        self.table.setHorizontalHeaderLabels([_("Figure"), _("Today"), _("This month")])
        self.rates = QTableWidget(0, 5)
        self.rates.setHorizontalHeaderLabels(
            [_("Month of expiry"), _("Ending"), _("Renewed"), _("Lost"), _("Renewal rate")]
        )
        for t in (self.table, self.rates):
            t.verticalHeader().setVisible(False)
            t.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
            t.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        bar = QHBoxLayout()
        bar.addWidget(QLabel(_("Day")))
        bar.addWidget(self.ed_day)
        for text, name, suffix in (
            (_("Daily report (Excel)…"), "insurance-daily", "xlsx"),
            (_("Daily report (PDF)…"), "insurance-daily", "pdf"),
            (_("Renewals of the month (Excel)…"), "renewals", "xlsx"),
            (_("Renewals of the month (PDF)…"), "renewals", "pdf"),
        ):
            b = QPushButton(text)
            b.clicked.connect(lambda _c=False, n=name, s=suffix: self.on_report(n, s))
            bar.addWidget(b)
        bar.addStretch(1)
        split = QHBoxLayout()
        split.addWidget(self.table, 3)
        split.addWidget(self.rates, 2)
        layout = QVBoxLayout(self)
        layout.addLayout(bar)
        layout.addLayout(split)

    def set_day(self, day: date) -> None:
        self.day = day
        self.refresh()

    def refresh(self) -> None:
        day = self.day

        def read(_p):
            d = day or self.service.today()
            first = date(d.year, d.month, 1) - timedelta(days=330)
            return self.service.daily_figures(d), self.service.renewal_rates(first, d)

        self.ctx.ops.run(read, write=False, on_success=self.show_figures)

    def show_figures(self, result) -> None:
        figures, rates = result
        self.figures = figures
        self.ed_day.blockSignals(True)
        self.ed_day.setDate(to_qdate(figures.day))
        self.ed_day.blockSignals(False)
        lines = figure_lines(figures)
        self.table.setRowCount(len(lines))
        for r, values in enumerate(lines):
            for c, text in enumerate(values):
                self.table.setItem(r, c, QTableWidgetItem(text))
        self.rates.setRowCount(len(rates))
        for r, rate in enumerate(reversed(rates)):
            pct = "-" if rate.rate is None else f"{rate.rate * 100:.1f}%"
            for c, text in enumerate(
                (rate.month, str(rate.due), str(rate.renewed), str(rate.lost), pct)
            ):
                self.rates.setItem(r, c, QTableWidgetItem(text))

    def on_report(self, name: str, suffix: str) -> None:
        from aftersales_desk.services.report_registry import parse_period, run_report

        day = self.figures.day if self.figures else date.today()
        period = (
            parse_period(day=day.isoformat())
            if name == "insurance-daily"
            else parse_period(month=f"{day.year:04d}-{day.month:02d}")
        )
        default = f"{name}-{period.label}.{suffix}"
        out, _f = QFileDialog.getSaveFileName(self, _("Save the report"), default, f"*.{suffix}")
        if not out:
            return
        path = Path(out)
        self.ctx.ops.run(
            lambda p: run_report(self.ctx.db, self.ctx.actor, name, period, path, p),
            parent=self,
            write=False,
            label=_("Writing the report…"),
        )


class InsuranceTab(QWidget):
    def __init__(self, ctx: AppContext) -> None:
        super().__init__()
        self.ctx = ctx
        self.service = InsuranceService(ctx.db, ctx.actor)
        self.pages = QTabWidget()
        self.pipeline = PipelinePage(ctx, self.service)
        self.policies = PoliciesPage(ctx, self.service)
        logs = InsuranceLogs(ctx.db, ctx.actor)
        self.accidents = AccidentsPage(ctx, self.service, logs)
        self.oil = OilPage(ctx, self.service, logs)
        self.figures = FiguresPage(ctx, self.service)
        self.pages.addTab(self.pipeline, _("Renewal pipeline"))
        self.pages.addTab(self.policies, _("Policies"))
        self.pages.addTab(self.accidents, _("Accident vehicles"))
        self.pages.addTab(self.oil, _("Engine-oil sales"))
        self.pages.addTab(self.figures, _("Daily figures"))
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addWidget(self.pages)
        # the pipeline reads as it is built; the others when first shown (again after changes)
        self._dirty: set[QWidget] = {self.policies, self.accidents, self.oil, self.figures}
        ctx.ops.sig_changes_applied.connect(self.on_changes)
        self.pages.currentChanged.connect(self.on_page_shown)

    def on_changes(self, areas: frozenset[str]) -> None:
        if AREA in areas or "archive" in areas:
            for page in (self.pipeline, self.policies, self.accidents, self.oil, self.figures):
                page.forget_insurers()
            self._dirty = {self.pipeline, self.policies, self.accidents, self.oil, self.figures}
            self.on_page_shown()

    def on_page_shown(self, *_a: Any) -> None:
        page = self.pages.currentWidget()
        if page in self._dirty:
            self._dirty.discard(page)
            page.refresh()
