"""The stock ledger: posting movements, keeping the balance caches, reversing, and checking.

Every change of stock goes through ``post_moves`` inside the caller's unit of work: it appends
immutable ``StockMovement`` rows, updates the per-bin balance (``StockBalance``) and the per-part
totals with the moving-average cost (``PartStock``) in the same transaction, and refuses to take a
bin below zero unless the branch allows negative stock. ``check`` recomputes the caches from the
ledger.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from aftersales_desk.data.models import Setting
from aftersales_desk.data.models.parts import Bin, Part, PartStock, StockBalance, StockMovement
from aftersales_desk.data.sync_bulk import insert_captured
from aftersales_desk.domain.actor import Actor
from aftersales_desk.domain.clock import as_utc, utcnow
from aftersales_desk.errors import RefusedError
from aftersales_desk.i18n import N_, _
from aftersales_desk.services import integrity

# movement kinds and whether they count as consumption (for replenishment and slow-moving)
KINDS = (
    "receipt",
    "issue",
    "return",
    "transfer",
    "scrap",
    "adjust",
    "sale",
    "sale_return",
)
CONSUMPTION_KINDS = ("issue", "sale")
KIND_LABELS = {
    "receipt": N_("Receipt"),
    "issue": N_("Issue"),
    "return": N_("Return to stock"),
    "transfer": N_("Transfer"),
    "scrap": N_("Scrap"),
    "adjust": N_("Adjustment"),
    "sale": N_("Counter sale"),
    "sale_return": N_("Sale return"),
}


@dataclass(frozen=True, slots=True)
class Move:
    """One intended change: ``qty`` signed (+ in, - out); ``unit_cost`` only for goods that come
    in at a known cost (receipts, sale returns); otherwise the moving average is used."""

    part_id: uuid.UUID
    bin_id: uuid.UUID
    qty: int
    kind: str
    unit_cost: int | None = None
    line_id: uuid.UUID | None = None
    note: str = ""


def allow_negative(s: Session, branch_id: uuid.UUID | None) -> bool:
    value = s.scalar(
        select(Setting.value).where(
            Setting.branch_id == branch_id, Setting.key == "parts_allow_negative_stock"
        )
    )
    return bool(value)


class _Caches:
    """The cache rows a posting touches, loaded with one query each (not one per line)."""

    def __init__(self, s: Session, branch_id: uuid.UUID, keys: list[tuple[uuid.UUID, uuid.UUID]]):
        self.s, self.branch_id = s, branch_id
        part_ids = {p for p, _b in keys}
        self.parts = {
            ps.part_id: ps
            for ps in s.scalars(
                select(PartStock).where(
                    PartStock.branch_id == branch_id, PartStock.part_id.in_(part_ids)
                )
            )
        }
        self.balances = {
            (b.part_id, b.bin_id): b
            for b in s.scalars(
                select(StockBalance).where(
                    StockBalance.branch_id == branch_id, StockBalance.part_id.in_(part_ids)
                )
            )
        }

    def part(self, part_id: uuid.UUID) -> PartStock:
        ps = self.parts.get(part_id)
        if ps is None:
            ps = PartStock(branch_id=self.branch_id, part_id=part_id, qty=0, value=0, avg_cost=0)
            self.s.add(ps)
            self.parts[part_id] = ps
        return ps

    def balance(self, part_id: uuid.UUID, bin_id: uuid.UUID) -> StockBalance:
        bal = self.balances.get((part_id, bin_id))
        if bal is None:
            bal = StockBalance(branch_id=self.branch_id, part_id=part_id, bin_id=bin_id, qty=0)
            self.s.add(bal)
            self.balances[(part_id, bin_id)] = bal
        return bal


def movement_value(
    on_hand: int,
    value: int,
    avg_cost: int,
    qty: int,
    unit_cost: int | None,
    exact: int | None = None,
) -> int:
    """The value (minor units) a movement of ``qty`` pieces carries, moving-average costing.

    Pieces in at a known cost bring that cost, the rest move at the average; a reversal
    (``exact``) carries the negated value of what it reverses. The last piece out takes the
    rounding residue with it. A movement that would leave pieces on hand with a negative value —
    a receipt lifting negative stock above zero, a reversal after the average moved — leaves them
    at what came in (or the average) instead: the pieces issued short were charged already."""
    after = on_hand + qty
    if after == 0:
        return -value
    cost = unit_cost if qty > 0 and unit_cost is not None else avg_cost
    if exact is None and on_hand < 0 < after:
        return after * cost - value
    moved = qty * cost if exact is None else exact
    if after > 0 and value + moved < 0:
        return after * max(cost, 0) - value
    return moved


def _next_seq(s: Session, branch_id: uuid.UUID) -> int:
    return (
        s.scalar(select(func.max(StockMovement.seq)).where(StockMovement.branch_id == branch_id))
        or 0
    ) + 1


def _refuse_negative(s: Session, part_id: uuid.UUID, bin_id: uuid.UUID, on_hand: int) -> None:
    part = s.get(Part, part_id)
    b = s.get(Bin, bin_id)
    raise RefusedError(
        _(
            "Not enough stock of {part} in bin {bin}: {qty} on hand. Negative stock is not "
            "allowed in this branch."
        ).format(part=part.part_no if part else "?", bin=b.code if b else "?", qty=on_hand)
    )


def _apply(
    s: Session,
    actor: Actor,
    *,
    part_id: uuid.UUID,
    bin_id: uuid.UUID,
    qty: int,
    kind: str,
    value: int | None,
    unit_cost: int | None,
    seq: int,
    at: datetime,
    document_id: uuid.UUID | None,
    line_id: uuid.UUID | None,
    reverses_id: uuid.UUID | None,
    note: str,
    negative_ok: bool,
    caches: _Caches,
) -> StockMovement:
    branch_id = actor.branch_id
    assert branch_id is not None
    ps = caches.part(part_id)
    bal = caches.balance(part_id, bin_id)
    if qty < 0 and bal.qty + qty < 0 and not negative_ok:
        _refuse_negative(s, part_id, bin_id, bal.qty)
    value = movement_value(ps.qty, ps.value, ps.avg_cost, qty, unit_cost, exact=value)
    cost = unit_cost if unit_cost is not None else ps.avg_cost
    bal.qty += qty
    ps.qty += qty
    ps.value += value
    if ps.qty > 0:
        ps.avg_cost = round(ps.value / ps.qty)
    elif qty > 0 and unit_cost is not None:
        ps.avg_cost = unit_cost
    if kind == "receipt" and qty > 0:
        ps.last_receipt_at = at
    if kind in CONSUMPTION_KINDS and qty < 0:
        ps.last_issue_at = at
    mv = StockMovement(
        id=uuid.uuid4(),
        branch_id=branch_id,
        seq=seq,
        at=at,
        kind=kind,
        part_id=part_id,
        bin_id=bin_id,
        qty=qty,
        unit_cost=cost,
        value=value,
        document_id=document_id,
        line_id=line_id,
        reverses_id=reverses_id,
        username=actor.username,
        device_id=actor.device_id,
        note=note[:200],
    )
    s.add(mv)
    return mv


def post_moves(
    s: Session,
    actor: Actor,
    moves: list[Move],
    *,
    document_id: uuid.UUID | None = None,
    at: datetime | None = None,
) -> list[StockMovement]:
    """Append ``moves`` to the ledger and update the caches, all in the caller's transaction."""
    at = at or utcnow()
    negative_ok = allow_negative(s, actor.branch_id)
    seq = _next_seq(s, actor.branch_id)  # type: ignore[arg-type]
    caches = _Caches(s, actor.branch_id, [(m.part_id, m.bin_id) for m in moves])  # type: ignore[arg-type]
    out = []
    for i, m in enumerate(moves):
        if m.kind not in KINDS:
            raise ValueError(m.kind)
        out.append(
            _apply(
                s,
                actor,
                part_id=m.part_id,
                bin_id=m.bin_id,
                qty=m.qty,
                kind=m.kind,
                value=None,
                unit_cost=m.unit_cost,
                seq=seq + i,
                at=at,
                document_id=document_id,
                line_id=m.line_id,
                reverses_id=None,
                note=m.note,
                negative_ok=negative_ok,
                caches=caches,
            )
        )
    s.flush()
    return out


def sqlite_time(value: datetime) -> str:
    """A UTC time as the SQLite column stores it (naive UTC text), for driver-level writes."""
    return as_utc(value).replace(tzinfo=None).strftime("%Y-%m-%d %H:%M:%S.%f")


@dataclass(frozen=True, slots=True)
class HexMove:
    """A ``Move`` with its keys as the 32-digit hex the database stores (bulk paths that read
    the keys from the database need not parse them into UUIDs and back)."""

    part_id: str
    bin_id: str
    qty: int
    kind: str
    unit_cost: int | None = None
    line_id: str | None = None
    note: str = ""


def post_moves_bulk(
    s: Session,
    actor: Actor,
    moves: list[Move],
    *,
    document_id: uuid.UUID | None = None,
    at: datetime | None = None,
) -> int:
    """``post_moves`` for thousands of lines (a stock count's adjustments): the same rules and
    cache arithmetic, but the caches are read with one query each and the ledger rows and cache
    changes are written with executemany at the driver level (no ORM object, no per-value type
    processing). Runs in the caller's transaction; returns the number of movements written. The
    caller must not hold ORM copies of the touched cache rows (they change underneath)."""
    return post_hex_moves(
        s,
        actor,
        [
            HexMove(
                m.part_id.hex,
                m.bin_id.hex,
                m.qty,
                m.kind,
                m.unit_cost,
                m.line_id.hex if m.line_id else None,
                m.note,
            )
            for m in moves
        ],
        document_id=document_id,
        at=at,
    )


@dataclass
class HexPlan:
    """What ``post_hex_moves`` writes, worked out and not yet written: the ledger rows and the
    cache rows to insert or update."""

    rows: list[tuple] = field(default_factory=list)
    new_bals: list[tuple] = field(default_factory=list)
    old_bals: list[tuple] = field(default_factory=list)
    new_ps: list[tuple] = field(default_factory=list)
    old_ps: list[tuple] = field(default_factory=list)

    @property
    def abs_value(self) -> int:
        """The stock value the movements move, in or out (minor units)."""
        return sum(abs(r[9]) for r in self.rows)


def post_hex_moves(
    s: Session,
    actor: Actor,
    moves: list[HexMove],
    *,
    document_id: uuid.UUID | None = None,
    at: datetime | None = None,
) -> int:
    """``post_moves_bulk`` with hex keys (see ``HexMove``)."""
    return write_hex_plan(s, plan_hex_moves(s, actor, moves, document_id=document_id, at=at))


def plan_hex_moves(
    s: Session,
    actor: Actor,
    moves: list[HexMove],
    *,
    document_id: uuid.UUID | None = None,
    at: datetime | None = None,
) -> HexPlan:
    """The rows ``post_hex_moves`` writes, with the same rules (refused negative stock): the
    caches are read with one query each, the arithmetic done in memory. Nothing is written;
    ``write_hex_plan`` writes it in the same transaction (the document the movements name must
    exist by then)."""
    if not moves:
        return HexPlan()
    branch_id = actor.branch_id
    assert branch_id is not None
    s.flush()
    stamp = sqlite_time(at or utcnow())
    negative_ok = allow_negative(s, branch_id)
    seq = _next_seq(s, branch_id)
    conn = s.connection()
    raw = conn.connection.driver_connection  # the transaction's own sqlite3 connection
    branch = branch_id.hex
    part_ids = sorted({m.part_id for m in moves})
    # existing cache rows by row id: the updates below then find them without the key index
    ps_sql = (
        "SELECT rowid, part_id, qty, value, avg_cost, last_receipt_at, last_issue_at "
        "FROM part_stock WHERE branch_id = ?"
    )
    bal_sql = "SELECT rowid, part_id, bin_id, qty FROM stock_balances WHERE branch_id = ?"
    params: tuple = (branch,)
    if len(part_ids) <= 500:  # a few parts: by index; many: one pass over the branch's rows
        marks = ", ".join("?" * len(part_ids))
        ps_sql += f" AND part_id IN ({marks})"
        bal_sql += f" AND part_id IN ({marks})"
        params = (branch, *part_ids)
    # part → [row id or new id, qty, value, avg_cost, last_receipt_at, last_issue_at, existed,
    # touched]
    parts: dict[str, list] = {
        r[1]: [r[0], r[2], r[3], r[4], r[5], r[6], True, False]
        for r in raw.execute(ps_sql, params).fetchall()
    }
    bals: dict[tuple[str, str], list] = {
        (r[1], r[2]): [r[0], r[3], True, False] for r in raw.execute(bal_sql, params).fetchall()
    }
    rows = []
    user, device = actor.username, actor.device_id.hex if actor.device_id else None
    prefix = uuid.uuid4().hex[:24]  # ids in key order: a random prefix and a counter
    doc = document_id.hex if document_id else None
    # in the order of the (branch, part, at) index: its pages are then visited one after the
    # other instead of at random. The sort is stable (a part's moves keep their order, which is
    # all the arithmetic below depends on), and ids and sequence numbers are given in this
    # order, so the key, sequence and consumption indexes are appended to, not inserted into
    for i, m in enumerate(sorted(moves, key=lambda m: m.part_id)):
        if m.kind not in KINDS:
            raise ValueError(m.kind)
        p, b = m.part_id, m.bin_id
        ps = parts.get(p)
        if ps is None:
            ps = parts[p] = [uuid.uuid4().hex, 0, 0, 0, None, None, False, False]
        bal = bals.get((p, b))
        if bal is None:
            bal = bals[(p, b)] = [uuid.uuid4().hex, 0, False, False]
        qty = m.qty
        if qty < 0 and bal[1] + qty < 0 and not negative_ok:
            _refuse_negative(s, uuid.UUID(p), uuid.UUID(b), bal[1])
        value = movement_value(ps[1], ps[2], ps[3], qty, m.unit_cost)
        cost = m.unit_cost if m.unit_cost is not None else ps[3]
        bal[1] += qty
        bal[3] = True
        ps[1] += qty
        ps[2] += value
        if ps[1] > 0:
            ps[3] = round(ps[2] / ps[1])
        elif qty > 0 and m.unit_cost is not None:
            ps[3] = m.unit_cost
        if m.kind == "receipt" and qty > 0:
            ps[4] = stamp
        if m.kind in CONSUMPTION_KINDS and qty < 0:
            ps[5] = stamp
        ps[7] = True
        rows.append(
            (
                f"{prefix}{i:08x}",
                branch,
                seq + i,
                stamp,
                m.kind,
                p,
                b,
                qty,
                cost,
                value,
                doc,
                m.line_id,
                user,
                device,
                m.note[:200],
            )
        )
    new_bals = [(v[0], branch, p, n, v[1]) for (p, n), v in bals.items() if v[3] and not v[2]]
    old_bals = sorted(((v[1], v[0]) for v in bals.values() if v[3] and v[2]), key=lambda r: r[1])
    new_ps = [
        (v[0], branch, p, v[1], v[2], v[3], v[4], v[5])
        for p, v in parts.items()
        if v[7] and not v[6]
    ]
    old_ps = sorted(
        ((v[1], v[2], v[3], v[4], v[5], v[0]) for v in parts.values() if v[7] and v[6]),
        key=lambda r: r[5],
    )
    return HexPlan(rows, new_bals, old_bals, new_ps, old_ps)


def write_hex_plan(s: Session, plan: HexPlan) -> int:
    """Write what ``plan_hex_moves`` worked out: the ledger rows (their sync capture set-based,
    not a trigger per row: ``data/sync_bulk.py``) and the caches. Returns the number of
    movements."""
    if not plan.rows:
        return 0
    conn = s.connection()
    insert_captured(
        conn,
        "stock_movements",
        "INSERT INTO stock_movements (id, branch_id, seq, at, kind, part_id, bin_id, qty, "
        "unit_cost, value, document_id, line_id, reverses_id, username, device_id, note) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, ?, ?, ?)",
        plan.rows,
    )
    if plan.new_bals:
        conn.exec_driver_sql(
            "INSERT INTO stock_balances (id, branch_id, part_id, bin_id, qty) "
            "VALUES (?, ?, ?, ?, ?)",
            plan.new_bals,
        )
    if plan.old_bals:
        conn.exec_driver_sql("UPDATE stock_balances SET qty = ? WHERE rowid = ?", plan.old_bals)
    if plan.new_ps:
        conn.exec_driver_sql(
            "INSERT INTO part_stock (id, branch_id, part_id, qty, value, avg_cost, "
            "last_receipt_at, last_issue_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            plan.new_ps,
        )
    if plan.old_ps:
        conn.exec_driver_sql(
            "UPDATE part_stock SET qty = ?, value = ?, avg_cost = ?, last_receipt_at = ?, "
            "last_issue_at = ? WHERE rowid = ?",
            plan.old_ps,
        )
    return len(plan.rows)


def reverse_moves(
    s: Session, actor: Actor, movements: list[StockMovement], *, note: str = ""
) -> list[StockMovement]:
    """Cancel ``movements`` with reversing ones (same kind, opposite quantity and value)."""
    at = utcnow()
    negative_ok = allow_negative(s, actor.branch_id)
    seq = _next_seq(s, actor.branch_id)  # type: ignore[arg-type]
    caches = _Caches(s, actor.branch_id, [(m.part_id, m.bin_id) for m in movements])  # type: ignore[arg-type]
    out = []
    for i, m in enumerate(movements):
        out.append(
            _apply(
                s,
                actor,
                part_id=m.part_id,
                bin_id=m.bin_id,
                qty=-m.qty,
                kind=m.kind,
                value=-m.value,
                unit_cost=m.unit_cost,
                seq=seq + i,
                at=at,
                document_id=m.document_id,
                line_id=m.line_id,
                reverses_id=m.id,
                note=note,
                negative_ok=negative_ok,
                caches=caches,
            )
        )
    s.flush()
    return out


@integrity.register(N_("Stock balances equal the ledger"))
def check_balances(s: Session) -> list[str]:
    """The caches equal the sums of movements; no bin is negative unless the branch allows it."""
    problems: list[str] = []
    # one pass over the ledger: per (branch, part, bin) quantity and value
    sums: dict[tuple, int] = {}
    totals: dict[tuple, tuple[int, int]] = {}
    for b, p, n, q, v in s.execute(
        select(
            StockMovement.branch_id,
            StockMovement.part_id,
            StockMovement.bin_id,
            func.sum(StockMovement.qty),
            func.sum(StockMovement.value),
        ).group_by(StockMovement.branch_id, StockMovement.part_id, StockMovement.bin_id)
    ):
        sums[(b, p, n)] = q
        tq, tv = totals.get((b, p), (0, 0))
        totals[(b, p)] = (tq + q, tv + v)
    cached = {(b.branch_id, b.part_id, b.bin_id): b for b in s.scalars(select(StockBalance))}
    negative_ok: dict[uuid.UUID, bool] = {}
    for key in set(sums) | set(cached):
        want = sums.get(key, 0)
        row = cached.get(key)
        have = row.qty if row is not None else 0
        if want != have:
            problems.append(
                _("Stock of part {part} in bin {bin}: cache {have}, ledger {want}.").format(
                    part=key[1], bin=key[2], have=have, want=want
                )
            )
        if want < 0:
            if key[0] not in negative_ok:
                negative_ok[key[0]] = allow_negative(s, key[0])
            if not negative_ok[key[0]]:
                problems.append(
                    _("Stock of part {part} in bin {bin} is negative ({qty}).").format(
                        part=key[1], bin=key[2], qty=want
                    )
                )
    for ps in s.scalars(select(PartStock)):
        q, v = totals.pop((ps.branch_id, ps.part_id), (0, 0))
        if (ps.qty, ps.value) != (q, v):
            problems.append(
                _(
                    "Totals of part {part}: cache {qty} pieces worth {value}, ledger {lq} worth "
                    "{lv}."
                ).format(part=ps.part_id, qty=ps.qty, value=ps.value, lq=q, lv=v)
            )
    for (_b, p), (q, v) in totals.items():
        problems.append(
            _("Totals of part {part} are missing from the cache (ledger {qty}, {value}).").format(
                part=p, qty=q, value=v
            )
        )
    return problems[:50]
