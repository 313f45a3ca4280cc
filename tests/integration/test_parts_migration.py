"""The parts migration: models and migration agree (alembic check), the ledger triggers exist,
and the demo filler is deterministic and leaves a whole database."""

from __future__ import annotations

import sqlite3

from alembic import command

from aftersales_desk.data.migrate import alembic_config


def test_models_match_migrations_and_triggers_exist(tmp_path):
    path = tmp_path / "m.sqlite"
    cfg = alembic_config(url=f"sqlite:///{path}")
    command.upgrade(cfg, "head")
    command.check(cfg)  # raises when the models drifted from the migrations
    conn = sqlite3.connect(path)
    names = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='trigger'")}
    conn.close()
    assert {"trg_stock_movements_no_update", "trg_stock_movements_no_delete"} <= names
    command.downgrade(cfg, "0001_core")
    conn = sqlite3.connect(path)
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    conn.close()
    assert "stock_movements" not in tables and "branches" in tables


def test_demo_fills_parts_deterministically(tmp_path):
    import aftersales_desk.services.modules  # noqa: F401
    from aftersales_desk.services.bootstrap import local_actor
    from aftersales_desk.services.demo import fill_demo
    from aftersales_desk.services.integrity import run_checks
    from aftersales_desk.services.listing import LISTINGS

    results = []
    for name in ("a", "b"):
        db = fill_demo(tmp_path / f"{name}.sqlite", customers=0, seed=7)
        try:
            assert run_checks(db).ok, run_checks(db).problems
            actor = local_actor(db, "admin")
            parts = [(p["part_no"], p["on_hand"]) for p in LISTINGS["parts"](db, actor, {})]
            slips = [
                (s["number"], s["status"], s["total"]) for s in LISTINGS["slips"](db, actor, {})
            ]
            tools = [t["overdue"] for t in LISTINGS["tools"](db, actor, {})]
            olds = list(LISTINGS["old-parts"](db, actor, {}))
        finally:
            db.dispose()
        results.append((parts, slips))
    assert results[0] == results[1]
    parts, slips = results[0]
    kinds = {n.split("-")[2][:2] for n, _s, _t in slips}
    assert {"RK", "LS", "TH", "00"} <= kinds  # receipts, sales, a sale return, issue slips
    assert any(status == "void" for _n, status, _t in slips)
    assert len(parts) > 50 and any(tools) and len(olds) == 6
