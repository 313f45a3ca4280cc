"""Catalogue maintenance at head office (issue 9): ``central import parts`` writes through the
owner role so every desk gets the parts; a bad file writes nothing; branch logins are refused;
a desk that syncs refuses local parts and insurers with a message."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest
from openpyxl import Workbook

from aftersales_desk.errors import RefusedError
from aftersales_desk.services.sync.central_catalogue import import_parts
from tests.integration.test_cli import run
from tests.sync.helpers import central_rows, first_desk


def _workbook(path: Path, header: list[str], rows: list[list]) -> Path:
    wb = Workbook()
    ws = wb.active
    ws.append(header)
    for r in rows:
        ws.append(r)
    wb.save(path)
    return path


HEADER = ["零件号", "名称", "单位", "进价", "售价", "默认货位", "条码"]


def _parts(url: str) -> list[tuple]:
    return central_rows(url, "SELECT part_no, name, sale_price FROM parts ORDER BY part_no")


def test_imported_parts_reach_every_desk_and_updates_follow(desks, central_url, tmp_path):
    a, b = desks
    book = _workbook(
        tmp_path / "parts.xlsx",
        HEADER,
        [
            ["p0001", "机油滤清器", "个", 12.5, 25, "A-01", "6901234500011"],
            ["P0002", "空气滤清器", "个", 30, 58, "A-02", ""],
        ],
    )
    result = import_parts(central_url, book, user="总部配件员")
    assert (result.created, result.updated, result.errors, result.written) == (2, 0, [], True)
    assert _parts(central_url) == [("P0001", "机油滤清器", 2500), ("P0002", "空气滤清器", 5800)]
    assert central_rows(
        central_url, "SELECT username, action, entity FROM audit_log WHERE entity = 'parts'"
    ) == [("总部配件员", "import", "parts")]
    a.sync()
    b.sync()
    for desk in (a, b):
        assert desk.rows("SELECT part_no, sale_price FROM parts ORDER BY part_no") == [
            ("P0001", 2500),
            ("P0002", 5800),
        ]
    # a second file changes one price: only that part changes, and the desks follow
    book = _workbook(
        tmp_path / "prices.xlsx", ["Part no.", "Name", "Sale price"], [["P0002", "空气滤清器", 60]]
    )
    result = import_parts(central_url, book)
    assert (result.created, result.updated, result.unchanged) == (0, 1, 0)
    a.sync()
    assert a.one("SELECT sale_price FROM parts WHERE part_no = 'P0002'") == 6000
    assert a.one("SELECT purchase_price FROM parts WHERE part_no = 'P0002'") == 3000
    assert a.one("SELECT count(*) FROM sync_quarantine") == 0


def test_a_bad_file_writes_nothing_and_names_row_and_column(desks, central_url, tmp_path):
    before = central_rows(central_url, "SELECT count(*) FROM sync_changes")[0][0]
    book = _workbook(
        tmp_path / "bad.xlsx",
        HEADER,
        [
            ["P0001", "机油滤清器", "个", 10, 20, "A-01", "111"],
            ["P0002", "", "个", 10, 20, "A-01", ""],  # no name
            ["P0003", "刹车片", "套", "abc", 20, "A-01", ""],  # not money
            ["P0004", "雨刮片", "个", 10, 20, "A-01", "111"],  # barcode of row 2
            ["p0001", "机油滤清器", "个", 10, 20, "A-01", ""],  # part no. twice
        ],
    )
    result = import_parts(central_url, book)
    assert not result.written
    got = {(e.row, e.column) for e in result.errors}
    assert got == {(3, "名称"), (4, "进价"), (5, "条码"), (6, "零件号")}
    assert _parts(central_url) == []
    assert central_rows(central_url, "SELECT count(*) FROM sync_changes")[0][0] == before


def test_a_branch_login_cannot_import_into_the_catalogue(desks, central_url, tmp_path):
    a, _b = desks
    book = _workbook(tmp_path / "p.xlsx", HEADER, [["P0009", "火花塞", "个", 1, 2, "", ""]])
    with pytest.raises(RefusedError, match="head office"):
        import_parts(a.url, book)
    assert _parts(central_url) == []


def test_a_desk_that_syncs_refuses_local_parts_and_insurers(desks, tmp_path):
    from aftersales_desk.services.insurance import InsuranceService
    from aftersales_desk.services.parts_catalog import PartInput, PartsCatalog
    from aftersales_desk.services.parts_io import import_parts as desk_import

    a, _b = desks
    with pytest.raises(RefusedError, match="head office") as err:
        PartsCatalog(a.db, a.actor).save(PartInput(part_no="L0001", name="本地配件"))
    assert "L0001" in err.value.message
    book = _workbook(tmp_path / "local.xlsx", HEADER, [["L0002", "本地配件", "个", 1, 2, "", ""]])
    with pytest.raises(RefusedError, match="head office"):
        desk_import(a.db, a.actor, book)
    with pytest.raises(RefusedError, match="head office"):
        InsuranceService(a.db, a.actor).add_insurer("LOCAL", "本地保险")
    assert a.one("SELECT count(*) FROM parts WHERE part_no LIKE 'L%'") == 0


def test_a_desk_that_never_synced_keeps_its_own_catalogue(desk_template, tmp_path):
    from aftersales_desk.services.parts_catalog import PartInput, PartsCatalog

    desk = first_desk(desk_template, tmp_path, "postgresql://unused", "S")
    try:
        pid = PartsCatalog(desk.db, desk.actor).save(PartInput(part_no="L0001", name="本地配件"))
        assert pid is not None
    finally:
        desk.close()


def test_central_import_parts_from_the_command_line(desks, central_url, tmp_path):
    good = _workbook(tmp_path / "g.xlsx", HEADER, [["P0100", "节气门", "个", 100, 200, "", ""]])
    bad = _workbook(tmp_path / "b.xlsx", HEADER, [["P0101", "", "个", 1, 2, "", ""]])
    r = run("central", "import", "parts", str(bad), "--url", central_url, "--lang", "en")
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert "row 2, column 名称" in r.stderr and "nothing was written" in r.stderr
    r = run("central", "import", "parts", str(good), "--url", central_url, "--json")
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert (doc["created"], doc["written"], doc["rejected"]) == (1, True, [])
    r = run("central", "import", "parts", "--url", central_url, "--lang", "en")
    assert r.returncode == 2 and "central import parts" in r.stderr
    assert _parts(central_url) == [("P0100", "节气门", 20000)]


def test_head_office_keeps_the_insurer_list(desks, central_url, tmp_path):
    from aftersales_desk.services.sync.central_catalogue import import_insurers

    a, _b = desks
    from aftersales_desk.services.sync.central_catalogue import INSURER_NAMESPACE

    # central init gave central the insurers every desk's migrations seed, with their ids
    known = central_rows(central_url, "SELECT id, code, name FROM insurers ORDER BY sort_order")
    assert [(i.hex, c) for i, c, _n in known] == a.rows(
        "SELECT id, code FROM insurers ORDER BY sort_order"
    )
    assert all(i == uuid.uuid5(INSURER_NAMESPACE, c) for i, c, _n in known)
    _id, code, name = known[0]
    book = _workbook(
        tmp_path / "ins.xlsx",
        ["代码", "名称", "简称", "启用"],
        [["ztic", "紫金财产保险", "紫金", "启用"], [code, name, "改名", "停用"]],
    )
    result = import_insurers(central_url, book, user="总部")
    assert (result.created, result.updated, result.errors) == (1, 1, [])
    a.sync()
    assert a.rows("SELECT name, short_name, active FROM insurers WHERE code = 'ZTIC'") == [
        ("紫金财产保险", "紫金", 1)
    ]
    assert a.rows("SELECT short_name, active FROM insurers WHERE code = ?", (code,)) == [
        ("改名", 0)
    ]
    # a name another insurer has, and a missing code: nothing written
    bad = _workbook(
        tmp_path / "bad.xlsx", ["代码", "名称"], [["NEW1", "紫金财产保险"], ["", "某保险"]]
    )
    result = import_insurers(central_url, bad)
    assert not result.written
    assert {(e.row, e.column) for e in result.errors} == {(2, "名称"), (3, "代码")}
    assert central_rows(central_url, "SELECT count(*) FROM insurers WHERE code = 'NEW1'") == [(0,)]


def test_a_policy_from_a_desk_finds_its_seeded_insurer_at_central(desks, central_url):
    from datetime import date

    from aftersales_desk.data.models.archive import Vehicle
    from aftersales_desk.services.insurance import InsuranceService, PolicyInput

    a, _b = desks
    cid = a.add_customer("C0009", "周九", "13800000009")
    with a.db.uow(a.actor, write=True) as uow:
        v = Vehicle(branch_id=a.actor.branch_id, customer_id=cid, vin="LSVAA4187E2123456")
        uow.session.add(v)
        uow.commit()
        vid = v.id
    insurer = a.rows("SELECT id FROM insurers ORDER BY sort_order LIMIT 1")[0][0]
    InsuranceService(a.db, a.actor).create_policy(
        PolicyInput(
            policy_no="PDAA202611000001",
            insurer_id=uuid.UUID(insurer),
            vehicle_id=vid,
            kind="compulsory",
            premium_minor=95000,
            start_date=date(2026, 12, 1),
            end_date=date(2027, 11, 30),
        )
    )
    result = a.sync()
    assert result.quarantined == []
    assert central_rows(central_url, "SELECT policy_no FROM policies") == [("PDAA202611000001",)]
