"""The first download of a new desk (``client.join``): built in a scratch file and moved into
place only when whole, so a crash or failure at any statement of the download leaves no desk
(and at most a scratch file the next join removes); a rerun ends identical to the branch's
other desks. Rows that meet the desk's seeded rows are upserted, a row colliding with one the
desk has is set aside."""

from __future__ import annotations

import contextlib
import os
import uuid
from pathlib import Path
from typing import Any

import psycopg
import pytest

from aftersales_desk.services.sync import central, client
from tests.sync.conftest import Cluster, branch_login
from tests.sync.helpers import first_desk, join_desk, synced_state
from tests.sync.test_faults import Crash, _Counting, _LocalCursor


def _scratch(path: Path) -> list[Path]:
    return sorted(path.parent.glob(path.name + ".joining*"))


def test_a_crash_at_any_statement_of_a_join_leaves_no_desk_and_a_rerun_is_whole(
    pg_cluster: Cluster,
    central_url: str,
    desk_template: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
):
    login = branch_login(pg_cluster, central_url, "BJ01")
    a = first_desk(desk_template, tmp_path, login.url, "A")
    for i in range(30):
        a.add_customer(f"J{i:04d}", f"顾客{i}", f"1380000{i:04d}")
    a.sync()
    path = tmp_path / "B.sqlite"

    real_raw = client._raw
    real_execute = psycopg.Cursor.execute
    counter = _Counting(0)
    real_loader_cursor = client._loader_cursor
    monkeypatch.setattr(client, "_raw", lambda uow: _LocalCursor(real_raw(uow), counter))
    monkeypatch.setattr(
        client, "_loader_cursor", lambda c: _LocalCursor(real_loader_cursor(c), counter)
    )

    def central_execute(self: Any, *args: Any, **kwargs: Any) -> Any:
        counter.tick()
        return real_execute(self, *args, **kwargs)

    def fault(point: str) -> None:
        counter.tick()

    monkeypatch.setattr(psycopg.Cursor, "execute", central_execute)
    monkeypatch.setattr(client, "FAULT", fault)
    # how many statements (both sides) and fault points a join has
    db, _ = client.join(tmp_path / "count.sqlite", login.url, device_code="B")
    db.dispose()
    total = counter.n
    assert total > 50
    real_discard = client._discard
    # every statement would take minutes (each try migrates a new database): the first and last
    # ten (connection, version check, snapshot start; cursor, commit, device row, move) and
    # every ninth in between (per table: drop indexes, store chunks, build indexes, ...)
    points = sorted({*range(1, 11), *range(11, total - 10, 9), *range(total - 10, total + 1)})
    for k, at in enumerate(points):
        killed = k % 2 == 1  # as if the process died: no clean-up ran
        monkeypatch.setattr(client, "_discard", (lambda p: None) if killed else real_discard)
        counter.at, counter.n = at, 0
        with pytest.raises(Crash):
            client.join(path, login.url, device_code="B")
        counter.at = 0
        assert not path.exists(), at
        if not killed:
            assert not _scratch(path), at
    # a kill in the middle of storing rows leaves the scratch file: the next join removes it
    monkeypatch.setattr(client, "_discard", lambda p: None)
    counter.at, counter.n = total // 2, 0
    with pytest.raises(Crash):
        client.join(path, login.url, device_code="B")
    counter.at = 0
    monkeypatch.setattr(client, "_discard", real_discard)
    assert _scratch(path) and not path.exists()
    b = join_desk(tmp_path, login.url, "B")
    assert not _scratch(path)
    assert b.one("SELECT count(*) FROM customers") == 30
    assert b.one("PRAGMA journal_mode") == "wal"  # the desk is opened as every desk is
    b.sync()
    a.sync()
    assert synced_state(a) == synced_state(b)
    a.close()
    b.close()


def test_a_failed_join_removes_its_scratch_file_and_refuses_a_taken_device_code(
    pg_cluster: Cluster, central_url: str, desk_template: Path, tmp_path: Path
):
    from aftersales_desk.errors import RefusedError

    login = branch_login(pg_cluster, central_url, "BJ01")
    a = first_desk(desk_template, tmp_path, login.url, "A")
    a.sync()
    path = tmp_path / "B.sqlite"
    with pytest.raises(RefusedError):
        client.join(path, login.url, device_code="A")
    assert not path.exists() and not _scratch(path)
    a.close()


def test_join_upserts_seeded_rows_and_sets_aside_a_row_colliding_with_the_desks_own(
    pg_cluster: Cluster, central_url: str, desk_template: Path, tmp_path: Path
):
    """Central changed a seeded insurer (the desk's seed has the same id: upserted, the change
    arrives) and gave its old code to a new insurer read before it (it meets the desk's seed
    row, which still has that code: set aside on the desk, as a pull would)."""
    login = branch_login(pg_cluster, central_url, "BJ01")
    a = first_desk(desk_template, tmp_path, login.url, "A")
    a.sync()
    seeded_id, code = a.rows("SELECT id, code FROM insurers ORDER BY sort_order, code LIMIT 1")[0]
    newcomer = uuid.uuid4()
    with psycopg.connect(central_url) as conn:
        conn.execute(
            "UPDATE insurers SET code = 'TMP-X', short_name = '改名' WHERE id = %s",
            (uuid.UUID(seeded_id),),
        )
        conn.execute(
            "INSERT INTO insurers (id, code, name, short_name, active, sort_order, created_at, "
            "updated_at) VALUES (%s, %s, '新保险公司', '新', true, 99, now(), now())",
            (newcomer, code),
        )
        conn.execute(
            "UPDATE insurers SET code = %s WHERE id = %s", (code + "-OLD", uuid.UUID(seeded_id))
        )
    b = join_desk(tmp_path, login.url, "B")
    assert b.rows("SELECT code, short_name FROM insurers WHERE id = ?", (seeded_id,)) == [
        (code + "-OLD", "改名")
    ]
    assert b.one("SELECT count(*) FROM insurers WHERE id = ?", (newcomer.hex,)) == 0
    reasons = b.rows("SELECT tbl, pk, reason FROM sync_quarantine")
    assert [(r[0], r[1]) for r in reasons] == [("insurers", newcomer.hex)]
    assert reasons[0][2].startswith("Not applied on this desk")
    a.close()
    b.close()


def test_snapshot_sends_the_wire_form(pg_cluster: Cluster, central_url: str):
    """The snapshot's cheaper uuid expression gives exactly ``_pg_wire``'s 32 digits."""
    with psycopg.connect(central_url) as conn:
        ids = [uuid.uuid4() for _ in range(50)] + [uuid.UUID(int=0), uuid.UUID(int=2**128 - 1)]
        rows = conn.execute(
            f"SELECT {central._pg_snapshot_text('u', 'uuid')}, {central._pg_wire('u', 'uuid')} "
            "FROM unnest(%s::uuid[]) u",
            (ids,),
        ).fetchall()
    assert [r[0] for r in rows] == [r[1] for r in rows] == [u.hex for u in ids]


def _open_fds(path: Path) -> list[str]:
    """This process's open file descriptors on ``path`` or its journal (Linux)."""
    target = str(path.resolve())
    found = []
    for fd in os.listdir("/proc/self/fd"):
        with contextlib.suppress(OSError):
            link = os.readlink(f"/proc/self/fd/{fd}")
            if link.startswith(target):
                found.append(link)
    return found


def test_apsw_opens_the_scratch_file_only_while_no_sqlite3_connection_has_it(
    pg_cluster: Cluster,
    central_url: str,
    desk_template: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
):
    """Two SQLite libraries must never have one file open at once (POSIX locks): when the
    loader opens the scratch file with apsw, no descriptor of this process has it open; while
    apsw has it, the program's engine cannot connect to it; a desk in use is refused."""
    import apsw

    from aftersales_desk.data.uow import Database

    login = branch_login(pg_cluster, central_url, "BJ01")
    a = first_desk(desk_template, tmp_path, login.url, "A")
    a.sync()
    real_connection = apsw.Connection
    opened: list[tuple[str, list[str]]] = []

    def checked(filename: str, *args: Any, **kwargs: Any) -> Any:
        opened.append((filename, _open_fds(Path(filename))))
        return real_connection(filename, *args, **kwargs)

    monkeypatch.setattr(apsw, "Connection", checked)
    db, _ = client.join(tmp_path / "B.sqlite", login.url, device_code="B")
    db.dispose()
    assert [name for name, _ in opened] == [str(tmp_path / "B.sqlite.joining")]
    assert opened[0][1] == []

    monkeypatch.setattr(apsw, "Connection", real_connection)
    other = Database(tmp_path / "B.sqlite")
    with other.uow() as uow:  # a connection in use: apsw is refused
        uow.session.connection()
        with pytest.raises(RuntimeError), client._bulk_connection(other):
            pass
    with client._bulk_connection(other) as connection:
        assert _open_fds(other.path) != []  # apsw's own
        with pytest.raises(RuntimeError), other.uow() as uow:  # the engine may not connect
            uow.session.connection()
        assert connection.execute("SELECT count(*) FROM devices").fetchall()[0][0] == 2
    with other.uow() as uow:  # apsw closed: the program's engine works again
        assert client._device(client._raw(uow))
    other.dispose()
    a.close()


def test_snapshot_times_completed_by_the_desk_are_the_wire_form(
    pg_cluster: Cluster, central_url: str
):
    """A time leaves central as PostgreSQL's ISO text (trailing zeros of the fraction dropped);
    the desk's INSERT completes it: exactly ``_pg_wire``'s 26 characters, NULL stays NULL, in
    SQLite (both libraries) and in Python (a row set aside)."""
    import sqlite3

    import apsw

    times = [
        "2026-11-23 08:00:00+00",
        "2026-11-23 08:00:00.5+00",
        "2026-11-23 08:00:00.000001+00",
        "2026-11-23 08:00:00.100000+00",
        "2026-11-23 08:00:00.123456+08",
        "1999-12-31 23:59:59.99999+00",
        "0999-01-01 00:00:00.01+00",
        None,
    ]
    with psycopg.connect(central_url) as conn:
        conn.execute("SET TimeZone = 'Asia/Shanghai'")  # the session's zone must not matter
        conn.execute("SET LOCAL DateStyle = 'ISO, YMD'")
        rows = conn.execute(
            f"SELECT {central._pg_snapshot_text('t', 'datetime')}, "
            f"{central._pg_wire('t', 'datetime')} FROM unnest(%s::timestamptz[]) t",
            (times,),
        ).fetchall()
    assert rows[0][0] == "2026-11-23 08:00:00" and rows[-1] == (None, None)
    sql = "SELECT " + client.WIRE_DATETIME_SQL.format(p="?1")
    apsw_conn = apsw.Connection(":memory:")
    for sent, wire in rows:
        assert sqlite3.connect(":memory:").execute(sql, (sent,)).fetchone()[0] == wire
        assert apsw_conn.execute(sql, (sent,)).fetchall()[0][0] == wire
        assert client.wire_datetime(sent) == wire
        assert wire is None or len(wire) == 26
