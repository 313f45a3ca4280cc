"""The archive's services against a real SQLite file: customers, search, masking and reveal,
work orders, documents, lost customers, import of messy files, export round trip, card PDF."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
from openpyxl import Workbook, load_workbook
from sqlalchemy import func, select

from aftersales_desk.cli import main
from aftersales_desk.data.models import AuditEntry
from aftersales_desk.data.models.archive import Customer, Vehicle, Visit
from aftersales_desk.domain.roles import Role
from aftersales_desk.errors import PermissionDenied, RefusedError, ValidationError
from aftersales_desk.services.archive import (
    ArchiveService,
    CustomerInput,
    VehicleInput,
    VisitInput,
)
from aftersales_desk.services.archive_files import (
    export_customers,
    import_customers,
    print_card,
)
from aftersales_desk.services.archive_lost import LostCustomers
from aftersales_desk.services.archive_search import search
from aftersales_desk.services.archive_work_orders import CloseInput, WorkOrderService

VIN = "LSGPC54U7BF000016"


@pytest.fixture
def svc(db, admin):
    return ArchiveService(db, admin)


@pytest.fixture
def lost_customers(db, admin):
    return LostCustomers(db, admin)


@pytest.fixture
def zhang(svc):
    return svc.create_customer(
        CustomerInput(name="张三", phone="+86 138-1234-5678", id_number="11010519491231002X"),
        VehicleInput(vin=VIN, plate="京A·D12345", brand="别克", model="英朗"),
    ).id


def _count(db, model) -> int:
    with db.uow() as uow:
        return uow.session.scalar(select(func.count()).select_from(model))


@pytest.mark.parametrize(
    "query",
    [
        "zs",
        "zhangsan",
        "张三",
        "张",
        "5678",
        "1234",
        "AD123",
        "京AD12345",
        "京A·D12345",
        "BF0000",
        "pc54u",
        "C0000001",
        "zs 5678",
    ],
)
def test_search_every_kind(db, admin, zhang, svc, query):
    svc.create_customer(CustomerInput(name="李四", phone="13999998888"))
    hits = search(db, admin, query)
    assert [h.id for h in hits] == [zhang]
    assert hits[0].phone == "138****5678"  # lists are masked
    assert hits[0].plates == "京AD12345"


def test_search_follows_changes(db, admin, zhang, svc):
    svc.add_vehicle(zhang, VehicleInput(plate="冀B66666"))
    assert [h.id for h in search(db, admin, "B66666")] == [zhang]
    svc.update_customer(zhang, CustomerInput(name="王五", phone="13812345678"))
    assert search(db, admin, "zs") == []
    assert [h.id for h in search(db, admin, "wangwu")] == [zhang]
    assert search(db, admin, "") == []
    assert search(db, admin, '"') == []


def test_card_masks_and_reveal_is_audited(db, admin, make_actor, zhang, svc):
    card = svc.card(zhang)
    assert card.phone == "138****5678" and card.id_number == "110105********002X"
    before = _count(db, AuditEntry)
    shown = svc.card(zhang, reveal=True)
    assert shown.phone == "13812345678" and shown.id_number == "11010519491231002X"
    with db.uow() as uow:
        last = uow.session.scalars(
            select(AuditEntry.action).order_by(AuditEntry.at.desc()).limit(1)
        ).one()
    assert last == "reveal" and _count(db, AuditEntry) == before + 1
    keeper = ArchiveService(db, make_actor(Role.WAREHOUSE))
    with pytest.raises(PermissionDenied):
        keeper.card(zhang, reveal=True)
    with pytest.raises(PermissionDenied):
        keeper.create_customer(CustomerInput(name="x"))


def test_validation_errors_and_duplicate_warnings(db, svc, zhang):
    with pytest.raises(ValidationError):
        svc.create_customer(CustomerInput(name=""))
    with pytest.raises(ValidationError):
        svc.create_customer(CustomerInput(name="x", phone="12345"))
    with pytest.raises(ValidationError):
        svc.add_vehicle(zhang, VehicleInput(plate="A12345"))
    warnings = svc.check_customer(CustomerInput(name="张三丰", phone="13812345678"))
    assert any("C0000001" in w for w in warnings)
    warnings = svc.check_vehicle(VehicleInput(vin=VIN, plate="京AD12345"))
    assert len(warnings) == 2
    assert _count(db, Customer) == 1


def test_work_order_closes_into_a_visit(db, admin, svc, zhang):
    vehicle = svc.card(zhang).vehicles[0]
    orders = WorkOrderService(db, admin)
    wo = orders.open(zhang, vehicle_id=vehicle.id, fault="刹车异响", mileage_km=15000)
    assert wo.number == "BJ01-A-WO000001" and wo.status == "opened"
    with pytest.raises(RefusedError):
        orders.set_waiting_for_parts(wo.id, True)  # not dispatched yet
    orders.dispatch(wo.id, "顺义特约服务站", provider=True)
    assert orders.set_waiting_for_parts(wo.id, True).status == "waiting_parts"
    with pytest.raises(RefusedError):
        orders.close(wo.id, CloseInput())
    orders.set_waiting_for_parts(wo.id, False)
    visit_id = orders.close(
        wo.id, CloseInput(labour_minor=12000, parts_minor=30000, declined_advice="建议更换轮胎")
    )
    card = svc.card(zhang)
    assert card.visits[0].id == visit_id and card.visits[0].amount_minor == 42000
    assert card.visits[0].work_order_id == wo.id
    assert card.vehicles[0].mileage_km == 15000
    assert card.pending_advice() == [("京AD12345", "建议更换轮胎")]
    assert orders.get(wo.id).status == "closed"
    with pytest.raises(RefusedError):
        orders.cancel(wo.id, "x")
    other = orders.open(zhang, fault="保养")
    assert orders.cancel(other.id, "客户取消").status == "cancelled"
    rows = orders.page().rows
    assert [r.number for r in rows] == ["BJ01-A-WO000002", "BJ01-A-WO000001"]


def test_documents_ticked_with_scan(db, svc, zhang, tmp_path):
    card = svc.card(zhang)
    assert len(card.missing_documents) == 10
    scan = tmp_path / "保修单.pdf"
    scan.write_bytes(b"%PDF-1.4 scan")
    svc.set_document(zhang, card.documents[0].name, True, date(2024, 1, 2), scan=scan)
    scan.rename(tmp_path / "renamed.pdf")  # the stored copy does not depend on the original
    card = svc.card(zhang)
    doc = card.documents[0]
    assert doc.received and doc.received_on == date(2024, 1, 2) and doc.attachment_name
    stored, name = svc.attachment_path(doc.attachment_id)
    assert stored.read_bytes() == b"%PDF-1.4 scan" and name == "保修单.pdf"
    assert len(card.missing_documents) == 9
    missing = svc.missing_documents_page().rows
    assert missing[0][0].id == zhang and len(missing[0][1]) == 9


def test_lost_customers_and_reason(db, svc, zhang, lost_customers):
    vehicle = svc.card(zhang).vehicles[0]
    old = date.today() - timedelta(days=400)
    svc.add_visit(zhang, VisitInput(visit_date=old, kind="maintenance", vehicle_id=vehicle.id))
    # a free campaign visit is not a return
    svc.add_visit(
        zhang,
        VisitInput(
            visit_date=date.today() - timedelta(days=10),
            kind="campaign",
            vehicle_id=vehicle.id,
            free_campaign=True,
        ),
    )
    lost = lost_customers.lost()
    assert [r.id for r in lost] == [vehicle.id]
    lost_customers.record_lost_reason(vehicle.id, "moved", "搬去上海")
    assert lost_customers.lost()[0].reason == "moved"
    svc.add_visit(zhang, VisitInput(visit_date=date.today(), kind="repair", vehicle_id=vehicle.id))
    assert lost_customers.lost() == []
    month = date.today().replace(day=1) - timedelta(days=1)
    active, lost_n, rate = lost_customers.churn_rate(month.year, month.month)
    assert active >= 0 and 0.0 <= rate <= 1.0 and lost_n <= active


def _messy(path: Path) -> None:
    wb = Workbook()
    ws = wb.active
    ws.append(["2024年客户档案（导出）"])  # a title row
    ws.merge_cells("A1:F1")
    ws.append(["车牌号", "客户名称", "手机", "购车日期", "车架号", "俱乐部会员", "客户编号"])
    ws.append(["京A12345", "王小明", 13800001111, datetime(2023, 5, 6), VIN, "是", ""])  # 3
    ws.append(["京B22222", "赵六", "139-0000-2222", "2023年5月6日", "", "否", "K001"])  # 4
    ws.append([None, None, None, None, None, None, None])  # 5: empty
    ws.append(["京C33333", "孙七", "13700003333", "2023-13-45", "", "", ""])  # 6: bad date
    ws.append(["京A12345", "王小明", 13800001111, datetime(2023, 5, 6), VIN, "是", ""])  # 7: dup
    ws.append(["京D4444", "周八", "12345", "2023/5/6", "", "", ""])  # 8: bad plate + phone
    ws.append(["京E55555", "", "13700005555", "", "", "", ""])  # 9: no name
    ws.append(["京F66666", "赵六", "13900002222", 45000, "", "否", "K001"])  # 10: 2nd vehicle
    wb.save(path)


def test_import_messy_file(db, admin, svc, tmp_path):
    path = tmp_path / "messy.xlsx"
    _messy(path)
    dry = import_customers(db, admin, path, dry_run=True)
    assert dry.rows == 7 and _count(db, Customer) == 0  # a dry run changes nothing
    result = import_customers(db, admin, path)
    assert result.customers_added == 2 and result.vehicles_added == 3
    where = {(e.row, e.column) for e in result.errors}
    assert (6, "购车日期") in where
    assert (7, "") in where  # duplicate of row 3
    assert (8, "车牌号") in where or (8, "手机") in where
    assert (9, "客户名称") in where
    assert result.rejected_rows == 4
    assert {e.row for e in result.errors} == {6, 7, 8, 9}
    k001 = svc.card(svc.find_by_no("K001"), reveal=True)
    assert k001.phone == "13900002222"  # updated by row 10
    assert sorted(v.plate for v in k001.vehicles) == ["京B22222", "京F66666"]
    assert k001.vehicles[1].purchase_date == date(2023, 3, 15)  # Excel serial 45000
    wang = search(db, admin, "wxm")[0]
    card = svc.card(wang.id, reveal=True)
    assert card.phone == "13800001111" and card.club_member
    assert card.vehicles[0].vin == VIN and card.vehicles[0].purchase_date == date(2023, 5, 6)
    with db.uow() as uow:  # bulk-inserted rows are audited like any other insert
        entries = uow.session.scalars(
            select(AuditEntry.entity).where(AuditEntry.action == "insert")
        ).all()
    assert entries.count("customers") == 2 and entries.count("vehicles") == 3
    # importing again updates by customer no., adds nothing
    again = import_customers(db, admin, path)
    assert again.customers_added == 1  # the row without a customer no. is a new customer
    assert _count(db, Customer) == 3


def test_rejected_file_leaves_database_unchanged(db, admin, tmp_path):
    path = tmp_path / "bad.xlsx"
    wb = Workbook()
    wb.active.append(["Name", "Mobile phone"])
    wb.active.append(["A", "123"])
    wb.save(path)
    before = _count(db, AuditEntry)
    result = import_customers(db, admin, path)
    assert result.rejected_rows == 1 and _count(db, Customer) == 0
    assert _count(db, AuditEntry) == before + 1  # the attempt itself is logged
    (tmp_path / "notexcel.xlsx").write_text("hello")
    from aftersales_desk.errors import UsageError

    with pytest.raises(UsageError):
        import_customers(db, admin, tmp_path / "notexcel.xlsx")


def test_export_reads_back_unchanged(db, admin, svc, zhang, tmp_path):
    svc.create_customer(
        CustomerInput(
            name="某某物流有限公司", kind="company", vip=True, id_number="9111000010169286X1"
        )
    )
    out = tmp_path / "out.xlsx"
    assert export_customers(db, admin, out) == 2
    ws = load_workbook(out).active
    assert ws.cell(2, 4).value == "13812345678"  # phone as text, unmasked
    result = import_customers(db, admin, out, dry_run=True)
    assert result.errors == [] and result.customers_updated == 2 and result.customers_added == 0
    with db.uow() as uow:
        assert uow.session.scalars(
            select(AuditEntry.action).where(AuditEntry.action == "export")
        ).all() == ["export"]


def test_export_needs_permission(db, make_actor, tmp_path):
    with pytest.raises(PermissionDenied):
        export_customers(db, make_actor(Role.CLERK), tmp_path / "x.xlsx")


def test_print_card(db, admin, svc, zhang, tmp_path):
    vehicle = svc.card(zhang).vehicles[0]
    for i in range(30):
        svc.add_visit(
            zhang,
            VisitInput(
                visit_date=date(2020, 1, 1) + timedelta(days=30 * i),
                kind="maintenance",
                vehicle_id=vehicle.id,
                items="更换机油、机滤",
                labour_minor=10000,
            ),
        )
    out = print_card(db, admin, "C0000001", tmp_path / "card.pdf")
    data = out.read_bytes()
    assert data.startswith(b"%PDF") and b"FontFile2" in data  # TrueType CJK font embedded
    with pytest.raises(RefusedError):
        print_card(db, admin, "NOPE", tmp_path / "x.pdf")


def test_cli_search_import_export_print(db_path, tmp_path, capsys):
    from aftersales_desk.services.bootstrap import local_actor, open_database

    db = open_database(db_path)
    ArchiveService(db, local_actor(db, "admin")).create_customer(
        CustomerInput(name="张三", phone="13812345678"), VehicleInput(plate="京A12345")
    )
    db.dispose()
    assert main(["search", "zs", "--db", str(db_path), "--json"]) == 0
    found = json.loads(capsys.readouterr().out)
    assert found[0]["name"] == "张三" and found[0]["plates"] == ["京A12345"]
    messy = tmp_path / "messy.xlsx"
    _messy(messy)
    report = tmp_path / "report.xlsx"
    code = main(["import", "customers", str(messy), "--db", str(db_path), "--report", str(report)])
    err = capsys.readouterr().err
    assert code == 3 and "row 6" in err and "购车日期" in err
    book = load_workbook(report)
    rejected = [tuple(c.value for c in r) for r in book.worksheets[0].iter_rows(min_row=2)]
    assert (6, "购车日期") in {(r[0], r[1]) for r in rejected} and len(rejected) >= 5
    summary = {r[0].value: r[1].value for r in book["Summary"].iter_rows()}
    assert summary["Customers added"] == 2 and summary["Rows rejected"] == 4
    assert main(["ls", "customers", "--db", str(db_path), "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert len(rows) == 3
    assert main(["ls", "vehicles", "--db", str(db_path), "--json"]) == 0
    assert len(json.loads(capsys.readouterr().out)) == 4
    for kind in ("visits", "work-orders"):
        assert main(["ls", kind, "--db", str(db_path), "--json"]) == 0
        capsys.readouterr()
    out = tmp_path / "e.xlsx"
    assert main(["export", "customers", "--db", str(db_path), "--out", str(out)]) == 0
    assert (
        main(["print", "card", "C0000001", "--db", str(db_path), "--out", str(tmp_path / "c.pdf")])
        == 0
    )
    assert main(["import", "nothing", str(out), "--db", str(db_path)]) == 2
    assert (
        main(["print", "card", "NOPE", "--db", str(db_path), "--out", str(tmp_path / "n.pdf")]) == 4
    )
    assert main(["check", "--db", str(db_path)]) == 0


def test_demo_fills_deterministically(tmp_path):
    import aftersales_desk.services.modules  # noqa: F401
    from aftersales_desk.services.demo import fill_demo

    dbs = [fill_demo(tmp_path / f"d{i}.sqlite", customers=30, seed=7) for i in range(2)]
    names = []
    for db in dbs:
        with db.uow() as uow:
            names.append(
                uow.session.scalars(select(Customer.name).order_by(Customer.customer_no)).all()
            )
            assert uow.session.scalar(select(func.count()).select_from(Vehicle)) >= 30
            assert uow.session.scalar(select(func.count()).select_from(Visit)) >= 30
        db.dispose()
    assert names[0] == names[1] and len(names[0]) == 30


def test_migration_matches_models(tmp_path):
    from alembic import command

    from aftersales_desk.data.migrate import alembic_config

    cfg = alembic_config(url=f"sqlite:///{tmp_path / 'm.sqlite'}")
    command.upgrade(cfg, "head")
    command.check(cfg)
    command.downgrade(cfg, "0001_core")


def test_checklist_is_configurable(db, svc, zhang, make_actor):
    svc.set_required_documents(["保修单", " 身份证复印件 ", "保修单", ""])
    assert [d.name for d in svc.card(zhang).documents] == ["保修单", "身份证复印件"]
    with pytest.raises(ValidationError):
        svc.set_required_documents(["", " "])
    with pytest.raises(PermissionDenied):
        ArchiveService(db, make_actor(Role.CLERK)).set_required_documents(["x"])


def test_lost_by_mileage_rate_and_rules(db, svc, zhang, make_actor, lost_customers):
    from aftersales_desk.services.archive_lost import LostRules

    vehicle = svc.card(zhang).vehicles[0]
    today = date(2025, 6, 1)
    # the last visit (2025-01-01, 10 000 km) set the next service at 2025-07-01 or 15 000 km
    svc.add_visit(
        zhang,
        VisitInput(
            visit_date=date(2024, 6, 15), kind="maintenance", vehicle_id=vehicle.id, mileage_km=0
        ),
    )
    svc.add_visit(
        zhang,
        VisitInput(
            visit_date=date(2025, 1, 1),
            kind="maintenance",
            vehicle_id=vehicle.id,
            mileage_km=10000,
            next_due_date=date(2025, 7, 1),
            next_due_km=15000,
        ),
    )
    # one odometer reading (0 km = not read): no km per day, so the date counts: not overdue
    assert lost_customers.find_lost(today) == ([], 0)
    # bought on 2024-06-15: 10 000 km in 200 days = 50 km/day; 5000 km more take 100 days →
    # due 2025-04-11, before 2025-07-01, and 51 days overdue on 2025-06-01 (margin 30)
    svc.update_vehicle(
        vehicle.id,
        VehicleInput(vin=VIN, plate="京AD12345", purchase_date=date(2024, 6, 15), mileage_km=10000),
    )
    rows, total = lost_customers.find_lost(today)
    assert total == 1 and rows[0].expected == date(2025, 4, 11)
    assert rows[0].overdue_days == 51 and rows[0].phone == "138****5678"
    # a wider margin: not lost yet
    lost_customers.set_lost_rules(LostRules(6, 60, 5000))
    assert lost_customers.lost(today) == []
    assert lost_customers.lost_rules() == LostRules(6, 60, 5000)
    with pytest.raises(ValidationError):
        lost_customers.set_lost_rules(LostRules(0, 60, 5000))
    with pytest.raises(PermissionDenied):
        LostCustomers(db, make_actor(Role.CLERK)).set_lost_rules(LostRules(6, 30, 5000))


def test_churn_rate_counts(db, svc, lost_customers):
    # three vehicles, each seen once on 2024-01-10 (expected back 2024-07-08, lost from
    # 2024-08-07 with the default 6 months and 30 days' margin); one returns in time, one
    # after a free campaign visit only (not a return), one in September (too late)
    ids = []
    for i, plate in enumerate(("京A11111", "京A22222", "京A33333")):
        c = svc.create_customer(
            CustomerInput(name=f"客户{i}", phone=f"1380000000{i}"), VehicleInput(plate=plate)
        ).id
        v = svc.card(c).vehicles[0].id
        svc.add_visit(c, VisitInput(visit_date=date(2024, 1, 10), kind="maintenance", vehicle_id=v))
        ids.append((c, v))
    (c0, v0), (c1, v1), (c2, v2) = ids
    svc.add_visit(c0, VisitInput(visit_date=date(2024, 7, 20), kind="repair", vehicle_id=v0))
    svc.add_visit(
        c1,
        VisitInput(
            visit_date=date(2024, 7, 20), kind="campaign", vehicle_id=v1, free_campaign=True
        ),
    )
    svc.add_visit(c2, VisitInput(visit_date=date(2024, 9, 2), kind="repair", vehicle_id=v2))
    july, august, september = lost_customers.churn([(2024, 7), (2024, 8), (2024, 9)])
    assert (july.active, july.lost) == (3, 0)
    assert (august.active, august.lost, august.rate) == (3, 2, 2 / 3)
    assert (september.active, september.lost) == (1, 0)  # v0; v2 came back on the 2nd
    assert lost_customers.churn_rate(2024, 8) == (3, 2, 2 / 3)
    lost = lost_customers.lost(date(2024, 8, 20))
    assert sorted(r.plate for r in lost) == ["京A22222", "京A33333"]


def test_churn_report_cli(db_path, tmp_path, capsys):
    from aftersales_desk.services.bootstrap import local_actor, open_database

    db = open_database(db_path)
    svc = ArchiveService(db, local_actor(db, "admin"))
    c = svc.create_customer(CustomerInput(name="张三"), VehicleInput(plate="京A12345")).id
    v = svc.card(c).vehicles[0].id
    svc.add_visit(c, VisitInput(visit_date=date(2024, 1, 10), kind="maintenance", vehicle_id=v))
    db.dispose()
    out = tmp_path / "churn.xlsx"
    args = ["report", "churn-monthly", "--db", str(db_path), "--month", "2024-08"]
    assert main([*args, "--out", str(out), "--lang", "en"]) == 0
    rows = [  # the twelve months' section of the churn report
        tuple(r[:4])
        for ws in load_workbook(out).worksheets
        for r in ws.iter_rows(values_only=True)
        if r[0] in ("2024-07", "2024-08")
    ]
    assert rows == [("2024-07", 1, 0, 0.0), ("2024-08", 1, 1, 1.0)]
    pdf = tmp_path / "churn.pdf"
    assert main([*args, "--out", str(pdf)]) == 0 and pdf.read_bytes().startswith(b"%PDF")
    assert main([*args, "--out", str(tmp_path / "x.csv")]) == 2


def test_ls_customers_unmasked_only_for_allowed_roles_and_audited(db, admin, make_actor, zhang):
    import aftersales_desk.services.modules  # noqa: F401
    from aftersales_desk.services.listing import LISTINGS

    warehouse = make_actor(Role.WAREHOUSE)
    before = _count(db, AuditEntry)
    keeper = list(LISTINGS["customers"](db, warehouse, {}))
    assert keeper[0]["phone"] == "138****5678" and keeper[0]["id_number"] == "110105********002X"
    assert _count(db, AuditEntry) == before  # nothing revealed, nothing to record
    full = list(LISTINGS["customers"](db, admin, {"region": "海淀"}))
    assert full == []  # a filter that matches nobody still records the unmasked listing
    full = list(LISTINGS["customers"](db, admin, {}))
    assert full[0]["phone"] == "13812345678"
    with db.uow() as uow:
        notes = uow.session.scalars(
            select(AuditEntry.note).where(AuditEntry.action == "export")
        ).all()
    assert len(notes) == 2 and all("unmasked" in n for n in notes)


def test_import_vertical_merges_numbers_as_text_and_english_headers(db, admin, svc, tmp_path):
    """A customer's cells merged down over their vehicles' rows, mileage and phone typed as
    text, English headers in another order."""
    path = tmp_path / "merged.xlsx"
    wb = Workbook()
    ws = wb.active
    ws.append(["Plate", "Name", "Mobile phone", "Mileage", "Purchase date", "VIN"])
    ws.append(["京A11111", "李雷", "13800002222", "12,000", "2021/3/4", ""])  # row 2
    ws.append(["京A22222", None, None, "8000 km", "2022年1月2日", ""])  # row 3 (merged)
    ws.append(["京A33333", "韩梅梅", "010-6588 1234", "1.5", "", ""])  # row 4: bad mileage
    ws.append(["", "", "", "", "", ""])  # row 5: empty
    ws.append(["京A44444", "韩梅梅", "010-6588 1234", "100", "", "LSGPC54U7BF00001"])  # 6
    ws.merge_cells("B2:B3")
    ws.merge_cells("C2:C3")
    wb.save(path)
    result = import_customers(db, admin, path)
    assert {(e.row, e.column) for e in result.errors} == {(4, "Mileage"), (6, "VIN")}
    assert result.customers_added == 1 and result.vehicles_added == 2
    li = svc.card(search(db, admin, "lilei")[0].id, reveal=True)
    assert li.phone == "13800002222"
    assert [(v.plate, v.mileage_km, v.purchase_date) for v in li.vehicles] == [
        ("京A11111", 12000, date(2021, 3, 4)),
        ("京A22222", 8000, date(2022, 1, 2)),
    ]
    assert search(db, admin, "hmm") == []  # both of 韩梅梅's rows were rejected


@pytest.mark.parametrize("lang", ["zh_CN", "en"])
def test_template_imports_cleanly(db, admin, tmp_path, lang):
    from aftersales_desk.i18n import current_language, set_language
    from aftersales_desk.services.archive_files import write_template

    before = current_language()
    set_language(lang)
    try:
        out = tmp_path / "template.xlsx"
        write_template(out)
    finally:
        set_language(before)
    book = load_workbook(out)
    assert book.active["B1"].value == ("客户名称" if lang == "zh_CN" else "Name")
    assert len(book.worksheets) == 2  # the sheet and its notes
    result = import_customers(db, admin, out, dry_run=True)
    assert (result.rows, result.errors, result.customers_added) == (1, [], 1)
    assert result.vehicles_added == 1


def test_lost_overview_is_find_lost_and_churn_in_one_pass(db, svc, zhang, lost_customers):
    from aftersales_desk.services.progress import Cancelled, Progress

    vehicle = svc.card(zhang).vehicles[0]
    svc.add_visit(
        zhang, VisitInput(visit_date=date(2024, 1, 10), kind="repair", vehicle_id=vehicle.id)
    )
    today = date(2024, 12, 1)
    months = [(2024, 7), (2024, 8)]
    overview = lost_customers.lost_overview(months, today)
    assert (overview.rows, overview.total) == lost_customers.find_lost(today)
    assert overview.total == 1 and overview.churn == lost_customers.churn(months)
    assert [(c.active, c.lost) for c in overview.churn] == [(1, 0), (1, 1)]

    stop = Progress()
    stop.cancel()  # the window's Cancel button, pressed while the visits are read
    with pytest.raises(Cancelled):
        lost_customers.lost_overview(months, today, progress=stop)


def test_search_by_customer_no_uses_the_index_then_falls_back(db, admin, svc, zhang):
    from aftersales_desk.services.archive_search import search_sql

    sql, params = search_sql("c0000001", 50, branch=admin.branch_id)
    assert "customer_no = :no" in sql and "MATCH" not in sql and params["no"] == "C0000001"
    assert [h.id for h in search(db, admin, "c0000001")] == [zhang]
    # no customer has that number, but it is a fragment of someone's VIN: found by the index
    other = svc.create_customer(
        CustomerInput(name="王五"), VehicleInput(vin="LSGPC5C0000001234")
    ).id
    assert [h.id for h in search(db, admin, "C0000001")] == [zhang]  # the number wins
    assert [h.id for h in search(db, admin, "C0000001234")] == [other]
    assert search(db, admin, "C0000009") == []


def test_import_update_reindexes_and_audits_inserts_in_full(db, admin, svc, zhang, tmp_path):
    path = tmp_path / "update.xlsx"
    wb = Workbook()
    ws = wb.active
    ws.append(["客户编号", "客户名称", "手机", "车牌号", "车架号", "购车日期", "俱乐部会员"])
    ws.append(["C0000001", "张三丰", "13812345678", "京A·D12345", VIN, "", "是"])  # update
    ws.append(["", "李四", "13900001234", "京B12345", "", "2023/5/6", "否"])  # new
    wb.save(path)
    result = import_customers(db, admin, path)
    assert result.errors == [] and result.customers_updated == 1 and result.customers_added == 1
    assert [r.name for r in search(db, admin, "张三丰")] == ["张三丰"]
    assert search(db, admin, "zhangsan") and [r.name for r in search(db, admin, "ls")] == ["李四"]
    li = search(db, admin, "京B12345")[0].id
    with db.uow() as uow:
        s = uow.session
        conn = s.connection()
        assert conn.exec_driver_sql("SELECT count(*) FROM archive_search").scalar() == 2
        conn.exec_driver_sql("INSERT INTO archive_fts(archive_fts) VALUES ('integrity-check')")
        entries = {
            e.entity: e
            for e in s.scalars(
                select(AuditEntry).where(
                    AuditEntry.action == "insert", AuditEntry.entity_id != str(zhang)
                )
            )
            if e.entity in ("customers", "vehicles") and e.after.get("name") != "张三"
        }
        customer, vehicle = entries["customers"], entries["vehicles"]
        assert customer.entity_id == str(li) and customer.id.version == 4
        assert customer.username == "admin" and customer.before is None
        after = customer.after
        assert after["id"] == str(li) and after["name"] == "李四" and after["kind"] == "person"
        assert after["club_member"] is False and after["consent_call"] is True
        assert after["branch_id"] == str(admin.branch_id)
        assert datetime.fromisoformat(after["created_at"]).tzinfo is not None
        assert vehicle.after["customer_id"] == str(li) and vehicle.after["plate"] == "京B12345"
        assert vehicle.after["purchase_date"] == "2023-05-06" and vehicle.after["sale_date"] is None
        assert vehicle.after["mileage_km"] == 0
