"""Old parts against issue lines and their return-to-factory lists; the tool register."""

from __future__ import annotations

from datetime import timedelta

import pytest
from openpyxl import load_workbook

from aftersales_desk.domain.clock import utcnow
from aftersales_desk.errors import RefusedError, ValidationError
from aftersales_desk.services.documents import DocumentService, LineInput
from aftersales_desk.services.integrity import run_checks
from aftersales_desk.services.old_parts import OldParts
from aftersales_desk.services.tools import ToolRegister
from tests.parts_helpers import make_shop


def test_old_parts_against_slip_tested_batched_and_acknowledged(db, admin, tmp_path):
    shop = make_shop(db, admin)
    p, a = shop.parts["P0001"], shop.bins["A-01"]
    docs = DocumentService(db, admin)
    docs.receive([LineInput(p, a, 5, 100)])
    slip = docs.issue([LineInput(p, a, 2)], technician="李师傅")
    olds = OldParts(db, admin)
    first = olds.receive(p, 2, returned_by="李师傅", slip_number=slip)
    with pytest.raises(ValidationError, match="Only 2 were issued"):
        olds.receive(p, 1, returned_by="李师傅", slip_number=slip)
    with pytest.raises(ValidationError):
        olds.receive(shop.parts["P0002"], 1, returned_by="x", slip_number=slip)
    loose = olds.receive(shop.parts["P0002"], 1, returned_by="服务商")
    with pytest.raises(RefusedError, match="Test"):
        olds.make_batch([first, loose], factory="一汽-大众")
    olds.record_test(first, "faulty")
    olds.record_test(loose, "no_fault")
    number = olds.make_batch([first, loose], factory="一汽-大众")
    assert number == "BJ01-A-FC000001"
    with pytest.raises(RefusedError):
        olds.record_test(first, "damaged")
    with pytest.raises(RefusedError):
        olds.set_batch_status(number, "acknowledged")
    olds.set_batch_status(number, "sent")
    olds.set_batch_status(number, "acknowledged")
    (batch,) = olds.batches()
    assert (batch.status, batch.items) == ("acknowledged", 2)
    rows = olds.page().rows
    assert {r.slip for r in rows} == {slip, ""} and {r.batch for r in rows} == {number}
    olds.write_batch(number, tmp_path / "fc.xlsx")
    olds.write_batch(number, tmp_path / "fc.pdf")
    ws = load_workbook(tmp_path / "fc.xlsx").active
    assert "FC000001" in ws["A1"].value and ws["B5"].value == "P0001"
    assert run_checks(db).ok, run_checks(db).problems


def test_tool_register_lend_return_overdue(db, admin):
    tools = ToolRegister(db, admin)
    tools.add("GJ-001", "扭力扳手", "良好")
    tools.add("GJ-002", "诊断仪")
    with pytest.raises(ValidationError):
        tools.add("gj-001", "dup")
    tools.lend("GJ-001", "王建军", days=2, lent_at=utcnow() - timedelta(days=3))
    with pytest.raises(RefusedError, match="lent to 王建军"):
        tools.lend("GJ-001", "赵磊")
    tools.lend("GJ-002", "赵磊")
    overdue = tools.list(overdue_only=True)
    assert [t.code for t in overdue] == ["GJ-001"]
    tools.take_back("GJ-001", condition="手柄磨损")
    with pytest.raises(RefusedError):
        tools.take_back("GJ-001")
    rows = {t.code: t for t in tools.list()}
    assert rows["GJ-001"].borrower == "" and rows["GJ-001"].condition == "手柄磨损"
    assert rows["GJ-002"].borrower == "赵磊" and not rows["GJ-002"].overdue
