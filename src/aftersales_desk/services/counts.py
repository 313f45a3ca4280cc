"""Stock counts 盘点: start (freeze), count (scanner, keyboard, sheets), variance, recount,
approval, posting — while the counter keeps issuing parts.

- **Freeze.** ``start`` takes a number from the ``count`` series and copies the balance cache of
  every part and bin in scope into count lines with one ``INSERT … SELECT`` (plus the active parts
  whose default bin has no balance yet, at zero). ``frozen_seq`` is the ledger's last movement seq
  at that moment (the writer holds the write lock, so nothing slips in between).
- **Counting.** Every count is an append-only entry (counter, pass, quantity, source). A line's
  ``counted_qty`` is the sum of its current pass's entries: two counters' entries add up. Each
  entry stamps the line with the ledger seq of the moment (``counted_seq``).
- **Variance** = counted − (frozen + net movements of that part and bin with
  ``frozen_seq < seq ≤ counted_seq``), worked out for all lines with one grouped query over the
  movements posted since the freeze.
- **Tolerance** per category (setting ``counts_tolerance``): at submit, lines over it that were not
  recounted yet start a new pass (recount); approval needs every recount done and
  ``Permission.APPROVE``.
- **Posting** writes one "adjust" document (gapless TZ number) with one line and one movement per
  variance line through the ledger's bulk path, in one transaction; a posted count is read-only.
"""

from __future__ import annotations

import math
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import and_, bindparam, func, select, text, update
from sqlalchemy.orm import Session

from aftersales_desk.data import audit
from aftersales_desk.data.models.core import AuditEntry
from aftersales_desk.data.models.counts import CountEntry, CountLine, CountSession
from aftersales_desk.data.models.parts import (
    Bin,
    Part,
    PartStock,
    StockBalance,
    StockDocument,
    StockMovement,
)
from aftersales_desk.data.uow import Database
from aftersales_desk.domain.actor import Actor
from aftersales_desk.domain.clock import utcnow
from aftersales_desk.domain.roles import Permission
from aftersales_desk.errors import RefusedError, UsageError, ValidationError
from aftersales_desk.i18n import N_, _
from aftersales_desk.services.auth import require
from aftersales_desk.services.numbering import next_number
from aftersales_desk.services.pages import Page, keyset, page
from aftersales_desk.services.progress import NO_PROGRESS, Progress
from aftersales_desk.services.settings import SettingsService
from aftersales_desk.services.stock import HexMove, plan_hex_moves, sqlite_time, write_hex_plan

STATUS_LABELS = {
    "open": N_("Counting"),
    "submitted": N_("Submitted"),
    "approved": N_("Approved"),
    "posted": N_("Posted"),
    "cancelled": N_("Cancelled"),
}
REASON_LABELS = {
    "surplus": N_("Surplus"),
    "shortage": N_("Shortage"),
    "damaged": N_("Damaged / spoiled"),
}
SOURCE_LABELS = {
    "scanner": N_("Scanner"),
    "keyboard": N_("Keyboard"),
    "sheet": N_("Count sheet"),
}
ABC_CLASSES = ("A", "B", "C")
ABC_SHARES = (0.80, 0.95)  # cumulative share of consumption value that ends class A, then B
ABC_MONTHS = 12
MAX_ENTRY = 1_000_000
POST_CACHE_KIB = 131_072  # page cache of the posting transaction
DEFAULT_CACHE_KIB = 2_000  # SQLite's default


@dataclass(frozen=True, slots=True)
class CountScope:
    """What a count covers; empty means everything. Filters combine (all must hold)."""

    bins: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    moved_since: date | None = None  # parts with any movement in that bin since this day
    abc: str = ""  # "A", "B" or "C": cycle count of one class by 12 months' consumption value

    def as_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.bins:
            out["bins"] = list(self.bins)
        if self.categories:
            out["categories"] = list(self.categories)
        if self.moved_since:
            out["moved_since"] = self.moved_since.isoformat()
        if self.abc:
            out["abc"] = self.abc
        return out


def scope_text(scope: dict[str, Any]) -> str:
    """A one-line description of a stored scope, in the current language."""
    parts = []
    if scope.get("bins"):
        parts.append(_("bins {bins}").format(bins=", ".join(scope["bins"])))
    if scope.get("categories"):
        parts.append(_("categories {cats}").format(cats=", ".join(scope["categories"])))
    if scope.get("moved_since"):
        parts.append(_("moved since {day}").format(day=scope["moved_since"]))
    if scope.get("abc"):
        parts.append(_("class {abc}").format(abc=scope["abc"]))
    return "; ".join(parts) if parts else _("Full stock")


@dataclass(frozen=True, slots=True)
class CountRow:
    id: uuid.UUID
    number: str
    status: str
    status_label: str
    scope: str
    blind: bool
    note: str
    frozen_at: datetime
    started_by: str
    lines: int
    counted: int
    variance_lines: int
    recounts: int
    approved_by: str
    approved_at: datetime | None
    posted_at: datetime | None
    posted_by: str
    document: str


@dataclass(slots=True)  # not frozen: built 20,000 at a time for a report
class LineRow:
    id: uuid.UUID
    line_no: int
    bin: str
    part_no: str
    name: str
    unit: str
    category: str
    barcode: str
    expected: int | None  # None on a blind count for those who may not see it
    counted_qty: int
    counted: bool
    pass_no: int
    variance: int | None
    reason: str
    reason_label: str
    recount_needed: bool
    over_tolerance: bool
    value: int | None  # variance × average cost, minor units


@dataclass(frozen=True, slots=True)
class ScanResult:
    line_id: uuid.UUID
    part_no: str
    name: str
    bin: str
    counted_qty: int
    added: bool  # the line was made for a part found in a bin it was not expected in


@dataclass(frozen=True, slots=True)
class SubmitResult:
    submitted: bool
    recounts: int  # lines that need a recount first
    variance_lines: int


@dataclass
class VarianceReport:
    number: str
    status: str
    rows: list[LineRow] = field(default_factory=list)
    surplus_qty: int = 0
    shortage_qty: int = 0
    damaged_qty: int = 0
    surplus_value: int = 0
    shortage_value: int = 0
    damaged_value: int = 0


@dataclass
class ScanIndex:
    """What a scanner needs in memory: code → part, (part, bin) → line, bin code → bin."""

    session_id: uuid.UUID
    by_code: dict[str, uuid.UUID] = field(default_factory=dict)
    lines: dict[tuple[uuid.UUID, uuid.UUID], uuid.UUID] = field(default_factory=dict)
    part_lines: dict[uuid.UUID, list[uuid.UUID]] = field(default_factory=dict)
    bins: dict[str, uuid.UUID] = field(default_factory=dict)
    info: dict[uuid.UUID, tuple[str, str, str]] = field(default_factory=dict)  # part_no, name, bin

    def find_part(self, code: str) -> uuid.UUID | None:
        code = code.strip()
        return self.by_code.get(code) or self.by_code.get(code.upper())


# what a line list reads: columns, not ORM entities (a 20,000-line report stays fast)
_LINE_COLUMNS = (
    CountLine.id,
    CountLine.line_no,
    CountLine.frozen_qty,
    CountLine.counted_qty,
    CountLine.counted,
    CountLine.pass_no,
    CountLine.variance,
    CountLine.reason,
    CountLine.recount_needed,
    Part.part_no,
    Part.name,
    Part.unit,
    Part.category,
    Part.barcode,
    Part.purchase_price,
    Bin.code.label("bin_code"),
    PartStock.avg_cost,
)


# --- helpers in a session ----------------------------------------------------------------------
def _session(s: Session, actor: Actor, number_or_id: str | uuid.UUID) -> CountSession:
    if isinstance(number_or_id, uuid.UUID):
        cs = s.get(CountSession, number_or_id)
    else:
        cs = s.scalars(
            select(CountSession).where(
                CountSession.branch_id == actor.branch_id,
                CountSession.number == number_or_id.strip().upper(),
            )
        ).first()
    if cs is None or cs.branch_id != actor.branch_id:
        raise UsageError(_("No stock count {number}.").format(number=number_or_id))
    return cs


def _session_light(s: Session, actor: Actor, session_id: uuid.UUID | str) -> Any:
    """The few fields a count entry needs (id, number, status, branch), without an ORM object."""
    if not isinstance(session_id, uuid.UUID):
        return _session(s, actor, session_id)
    row = (
        s.connection()
        .exec_driver_sql(
            "SELECT number, status, branch_id FROM stock_count_sessions WHERE id = ?",
            (session_id.hex,),
        )
        .first()
    )
    if row is None or uuid.UUID(row[2]) != actor.branch_id:
        raise UsageError(_("No stock count {number}.").format(number=session_id))
    return _Light(session_id, row[0], row[1], uuid.UUID(row[2]))


@dataclass(frozen=True, slots=True)
class _Light:
    id: uuid.UUID
    number: str
    status: str
    branch_id: uuid.UUID


def _need_status(cs: Any, *statuses: str) -> None:
    if cs.status not in statuses:
        raise RefusedError(
            _("Stock count {number} is {status}; this cannot be done now.").format(
                number=cs.number, status=_(STATUS_LABELS[cs.status])
            )
        )


def _last_seq(s: Session, branch_id: uuid.UUID) -> int:
    return s.scalar(
        select(func.coalesce(func.max(StockMovement.seq), 0)).where(
            StockMovement.branch_id == branch_id
        )
    )


def _tolerance(setting: Any) -> dict[str, tuple[int, int]]:
    out: dict[str, tuple[int, int]] = {"*": (0, 0)}
    if isinstance(setting, dict):
        for k, v in setting.items():
            if isinstance(v, list | tuple) and len(v) == 2:
                out[str(k)] = (int(v[0]), int(v[1]))
    return out


def over_tolerance(variance: int, expected: int, tol: tuple[int, int]) -> bool:
    pieces, percent = tol
    allowed = max(pieces, math.floor(abs(expected) * percent / 100))
    return abs(variance) > allowed


def validate_tolerance(values: dict[str, Any]) -> dict[str, list[int]]:
    """Checked tolerance setting: category → [pieces ≥ 0, percent 0–100]; "*" always present."""
    out: dict[str, list[int]] = {}
    for key, v in values.items():
        key = str(key).strip() or "*"
        if not (isinstance(v, list | tuple) and len(v) == 2):
            raise ValidationError(
                _("Tolerance of {cat}: give pieces and a percentage.").format(cat=key),
                field="counts_tolerance",
            )
        pieces, percent = v
        if (
            not isinstance(pieces, int)
            or not isinstance(percent, int)
            or pieces < 0
            or not 0 <= percent <= 100
        ):
            raise ValidationError(
                _(
                    "Tolerance of {cat}: pieces are a whole number from 0, the percentage "
                    "from 0 to 100."
                ).format(cat=key),
                field="counts_tolerance",
            )
        out[key] = [pieces, percent]
    out.setdefault("*", [0, 0])
    return out


def refresh_variance(s: Session, cs: CountSession) -> None:
    """Work out every line's variance: counted − frozen − net movements of its part and bin
    posted after the freeze and up to the line's last count (one grouped query, then bulk)."""
    sid = cs.id.hex
    s.execute(
        text(
            "UPDATE stock_count_lines SET variance = CASE WHEN counted THEN "
            "counted_qty - frozen_qty ELSE 0 END WHERE session_id = :sid"
        ),
        {"sid": sid},
    )
    s.execute(
        text(
            "UPDATE stock_count_lines SET variance = variance - net.q FROM ("
            " SELECT l.id AS lid, SUM(m.qty) AS q FROM stock_movements AS m"
            " CROSS JOIN stock_count_lines AS l ON l.session_id = :sid AND l.part_id = m.part_id"
            "  AND l.bin_id = m.bin_id"
            " WHERE m.branch_id = :branch AND m.seq > :fs AND m.seq <= l.counted_seq"
            "  AND l.counted GROUP BY l.id) AS net"
            " WHERE stock_count_lines.id = net.lid"
        ),
        {"sid": sid, "branch": cs.branch_id.hex, "fs": cs.frozen_seq},
    )


def _net_since_freeze(s: Session, cs: CountSession, part_id: uuid.UUID, bin_id: uuid.UUID) -> int:
    return s.scalar(
        select(func.coalesce(func.sum(StockMovement.qty), 0)).where(
            StockMovement.branch_id == cs.branch_id,
            StockMovement.part_id == part_id,
            StockMovement.bin_id == bin_id,
            StockMovement.seq > cs.frozen_seq,
        )
    )


def _abc_parts_sql(abc: str) -> str:
    """SQL selecting the part ids of one ABC class (by consumption value over 12 months)."""
    ranked = (
        "SELECT part_id, v, SUM(v) OVER (ORDER BY v DESC, part_id ROWS UNBOUNDED PRECEDING) - v"
        " AS before, SUM(v) OVER () AS total FROM (SELECT part_id, -SUM(value) AS v"
        " FROM stock_movements WHERE branch_id = :branch AND kind IN ('issue', 'sale')"
        " AND at >= :abc_since GROUP BY part_id HAVING -SUM(value) > 0)"
    )
    a, b = ABC_SHARES
    if abc == "A":
        return f"SELECT part_id FROM ({ranked}) WHERE before < {a} * total"
    if abc == "B":
        return (
            f"SELECT part_id FROM ({ranked}) WHERE before >= {a} * total AND before < {b} * total"
        )
    return f"SELECT part_id FROM ({ranked}) WHERE before < {b} * total"  # C: NOT IN this


class StockCounts:
    """The use cases of stock counts for one acting user."""

    def __init__(self, db: Database, actor: Actor) -> None:
        self.db = db
        self.actor = actor

    # --- starting -------------------------------------------------------------------------------
    def start(self, scope: CountScope = CountScope(), *, blind: bool = True, note: str = "") -> str:
        """Open a count and freeze the expected quantities of its scope; returns its number."""
        require(self.actor, Permission.POST_STOCK)
        if scope.abc and scope.abc not in ABC_CLASSES:
            raise ValidationError(_("The ABC class is A, B or C."), field="abc")
        with self.db.uow(self.actor, write=True) as uow:
            s = uow.session
            number = next_number(s, self.actor, "count")
            cs = CountSession(
                id=uuid.uuid4(),
                branch_id=self.actor.branch_id,
                series_id=number.series_id,
                seq=number.seq,
                number=number.text,
                status="open",
                scope=scope.as_json(),
                blind=blind,
                note=note.strip()[:400],
                frozen_at=utcnow(),
                frozen_seq=_last_seq(s, self.actor.branch_id),  # type: ignore[arg-type]
                started_by=self.actor.username,
            )
            s.add(cs)
            s.flush()
            n = self._freeze(s, cs, scope)
            if n == 0:
                raise ValidationError(_("Nothing in stock matches this scope."), field="scope")
            cs.line_count = n
            uow.commit()
            return cs.number

    def _freeze(self, s: Session, cs: CountSession, scope: CountScope) -> int:
        params: dict[str, Any] = {
            "sid": cs.id.hex,
            "branch": cs.branch_id.hex,
            "prefix": uuid.uuid4().hex[:24],
        }
        where = []
        if scope.bins:
            names = []
            for i, code in enumerate(scope.bins):
                params[f"bin{i}"] = code.strip().upper()
                names.append(f":bin{i}")
            where.append(f"b.code IN ({', '.join(names)})")
        if scope.categories:
            names = []
            for i, cat in enumerate(scope.categories):
                params[f"cat{i}"] = cat.strip()
                names.append(f":cat{i}")
            where.append(f"p.category IN ({', '.join(names)})")
        if scope.moved_since:
            params["since"] = datetime.combine(scope.moved_since, time()).strftime(
                "%Y-%m-%d %H:%M:%S.%f"
            )
            where.append(
                "EXISTS (SELECT 1 FROM stock_movements AS m WHERE m.branch_id = :branch"
                " AND m.part_id = p.id AND m.at >= :since AND m.bin_id = b.id)"
            )
        if scope.abc:
            params["abc_since"] = (utcnow() - timedelta(days=30 * ABC_MONTHS)).strftime(
                "%Y-%m-%d %H:%M:%S.%f"
            )
            op = "NOT IN" if scope.abc == "C" else "IN"
            where.append(f"p.id {op} ({_abc_parts_sql(scope.abc)})")
        cond = "".join(f" AND {w}" for w in where)
        sql = (
            "INSERT INTO stock_count_lines (id, session_id, line_no, part_id, bin_id, frozen_qty,"
            " pass_no, counted_qty, counted, counted_seq, variance, reason, recount_needed, added)"
            # ids: a random prefix per count and the line number, so the 20,000 rows go in
            # in key order (random keys would scatter the primary-key B-tree writes)
            " SELECT :prefix || printf('%08x', n), :sid, n, part_id, bin_id, qty,"
            " 1, 0, 0, 0, 0, '', 0, 0 FROM (SELECT ROW_NUMBER() OVER"
            " (ORDER BY k.code, k.part_no) AS n, k.part_id, k.bin_id, k.qty FROM ("
            "  SELECT sb.part_id AS part_id, sb.bin_id AS bin_id, sb.qty AS qty, b.code AS code,"
            "  p.part_no AS part_no FROM stock_balances AS sb"
            "  JOIN stock_bins AS b ON b.id = sb.bin_id JOIN parts AS p ON p.id = sb.part_id"
            f"  WHERE sb.branch_id = :branch AND (sb.qty != 0 OR p.active){cond}"
            "  UNION ALL"
            "  SELECT p.id, b.id, 0, b.code, p.part_no FROM parts AS p"
            "  JOIN stock_bins AS b ON b.branch_id = :branch AND b.code = p.default_bin"
            "  AND b.active WHERE p.active AND NOT EXISTS (SELECT 1 FROM stock_balances AS x"
            f"  WHERE x.branch_id = :branch AND x.part_id = p.id AND x.bin_id = b.id){cond}"
            " ) AS k)"
        )
        return s.execute(text(sql), params).rowcount

    # --- reading --------------------------------------------------------------------------------
    def _row(self, s: Session, cs: CountSession) -> CountRow:
        counted, variance_lines, recounts = s.execute(
            select(
                func.count().filter(CountLine.counted.is_(True)),
                func.count().filter(CountLine.variance != 0),
                func.count().filter(CountLine.recount_needed.is_(True)),
            ).where(CountLine.session_id == cs.id)
        ).one()
        doc = s.get(StockDocument, cs.document_id) if cs.document_id else None
        return CountRow(
            cs.id,
            cs.number,
            cs.status,
            _(STATUS_LABELS[cs.status]),
            scope_text(cs.scope or {}),
            cs.blind,
            cs.note,
            cs.frozen_at,
            cs.started_by,
            cs.line_count,
            int(counted),
            int(variance_lines) if cs.status != "open" else 0,
            int(recounts),
            cs.approved_by,
            cs.approved_at,
            cs.posted_at,
            cs.posted_by,
            doc.number if doc else "",
        )

    def view(self, number: str | uuid.UUID) -> CountRow:
        with self.db.uow(self.actor) as uow:
            return self._row(uow.session, _session(uow.session, self.actor, number))

    def page(
        self, cursor: Any | None = None, limit: int = 100, *, status: str = ""
    ) -> Page[CountRow]:
        """Counts, newest first (keyset on frozen time and id)."""
        q = select(CountSession).where(CountSession.branch_id == self.actor.branch_id)
        if status:
            q = q.where(CountSession.status == status)
        keys = [CountSession.frozen_at, CountSession.id]
        q = keyset(q, keys, cursor, limit, newest_first=True)
        with self.db.uow(self.actor) as uow:
            found = list(uow.session.scalars(q))
            return page(
                found, limit, lambda r: (r.frozen_at, r.id), lambda cs: self._row(uow.session, cs)
            )

    def may_see_expected(self, cs_blind: bool, status: str) -> bool:
        """Blind counts hide expected quantities and variances from counters while counting;
        whoever approves sees them."""
        return not cs_blind or status != "open" or self.actor.can(Permission.APPROVE)

    def lines(
        self,
        number: str | uuid.UUID,
        cursor: int | None = None,
        limit: int = 200,
        *,
        only: str = "",
        text_filter: str = "",
    ) -> Page[LineRow]:
        """Lines in sheet order (bin, part no.), a page at a time (keyset on line_no).
        ``only``: "uncounted", "variance", "recount" or "" for all."""
        with self.db.uow(self.actor) as uow:
            s = uow.session
            cs = _session(s, self.actor, number)
            show = self.may_see_expected(cs.blind, cs.status)
            tol = _tolerance(SettingsService(self.db, self.actor).get("counts_tolerance"))
            q = (
                select(*_LINE_COLUMNS)
                .join(Part, Part.id == CountLine.part_id)
                .join(Bin, Bin.id == CountLine.bin_id)
                .outerjoin(
                    PartStock,
                    and_(
                        PartStock.part_id == CountLine.part_id, PartStock.branch_id == cs.branch_id
                    ),
                )
                .where(CountLine.session_id == cs.id)
                .order_by(CountLine.line_no)
            )
            live = cs.status == "open"
            if only == "uncounted":
                q = q.where(CountLine.counted.is_(False))
            elif only == "variance" and show:
                q = q.where(CountLine.counted.is_(True))
                if not live:
                    q = q.where(CountLine.variance != 0)
            elif only == "recount":
                q = q.where(CountLine.recount_needed.is_(True))
            if text_filter.strip():
                t = text_filter.strip()
                q = q.where(
                    Part.part_no.startswith(t.upper(), autoescape=True)
                    | (Part.barcode == t)
                    | Bin.code.startswith(t.upper(), autoescape=True)
                    | Part.name.contains(t, autoescape=True)
                )
            rows: list[LineRow] = []
            more = True
            while more and len(rows) < limit:
                # an open count's variances are worked out as of now, so "variance only"
                # filters after the fact: read on until a page is full or the lines end
                qq = q if cursor is None else q.where(CountLine.line_no > cursor)
                found = list(s.connection().execute(qq.limit(limit - len(rows) + 1)))
                more = len(found) > limit - len(rows)
                found = found[: limit - len(rows)]
                if not found:
                    break
                cursor = found[-1].line_no
                rows += self._rows_of(s, cs, found, tol, show, live)
                if only == "variance" and show:
                    rows = [r for r in rows if r.variance]
        return Page(rows, cursor if more else None)

    def line_row(self, number: str | uuid.UUID, line_id: uuid.UUID) -> LineRow:
        """One line as the list shows it (after a scan, to refresh just that row)."""
        with self.db.uow(self.actor) as uow:
            s = uow.session
            cs = _session(s, self.actor, number)
            show = self.may_see_expected(cs.blind, cs.status)
            tol = _tolerance(SettingsService(self.db, self.actor).get("counts_tolerance"))
            found = list(
                s.execute(
                    select(*_LINE_COLUMNS)
                    .join(Part, Part.id == CountLine.part_id)
                    .join(Bin, Bin.id == CountLine.bin_id)
                    .outerjoin(
                        PartStock,
                        and_(
                            PartStock.part_id == CountLine.part_id,
                            PartStock.branch_id == cs.branch_id,
                        ),
                    )
                    .where(CountLine.session_id == cs.id, CountLine.id == line_id)
                )
            )
            if not found:
                raise UsageError(_("No such line in this count."))
            return self._rows_of(s, cs, found, tol, show, cs.status == "open")[0]

    def _rows_of(
        self,
        s: Session,
        cs: CountSession,
        found: list[Any],
        tol: dict[str, tuple[int, int]],
        show: bool,
        live: bool,
    ) -> list[LineRow]:
        nets: dict[uuid.UUID, tuple[int, int]] = {}
        if live and show:
            # an open count: the lines' variance as of their count, expectation as of now
            nets = self._nets(s, cs, found[0].line_no, found[-1].line_no)
        rows = []
        reasons = {k: _(v) for k, v in REASON_LABELS.items()}
        for (
            lid,
            line_no,
            frozen,
            counted_qty,
            counted,
            pass_no,
            stored_variance,
            reason,
            recount,
            part_no,
            name,
            unit,
            category,
            barcode,
            price,
            bin_code,
            avg,
        ) in found:
            if live:
                at_count, now = nets.get(lid, (0, 0))
                variance = counted_qty - frozen - at_count if counted else 0
                expected = frozen + (at_count if counted else now)
            elif counted:
                variance = stored_variance
                expected = counted_qty - variance
            else:
                variance, expected = 0, frozen
            over = counted and over_tolerance(variance, expected, tol.get(category, tol["*"]))
            seen = show and counted
            rows.append(
                LineRow(
                    lid,
                    line_no,
                    bin_code,
                    part_no,
                    name,
                    unit,
                    category,
                    barcode,
                    expected if show else None,
                    counted_qty,
                    counted,
                    pass_no,
                    variance if seen else None,
                    reason,
                    reasons.get(reason, ""),
                    recount,
                    bool(over) if show else False,
                    variance * (avg or price) if seen else None,
                )
            )
        return rows

    def _nets(
        self, s: Session, cs: CountSession, first: int, last: int
    ) -> dict[uuid.UUID, tuple[int, int]]:
        """Per line of ``first..last`` (line numbers): net movements since the freeze up to the
        line's last count, and up to now (one grouped query over the movements since then)."""
        sql = (
            "SELECT l.id, SUM(CASE WHEN m.seq <= l.counted_seq THEN m.qty ELSE 0 END),"
            " SUM(m.qty) FROM stock_movements AS m"
            " CROSS JOIN stock_count_lines AS l ON l.session_id = :sid AND l.part_id = m.part_id"
            " AND l.bin_id = m.bin_id AND l.line_no BETWEEN :first AND :last"
            " WHERE m.branch_id = :branch AND m.seq > :fs GROUP BY l.id"
        )
        params = {
            "sid": cs.id.hex,
            "branch": cs.branch_id.hex,
            "fs": cs.frozen_seq,
            "first": first,
            "last": last,
        }
        return {uuid.UUID(lid): (a, b) for lid, a, b in s.execute(text(sql), params)}

    # --- counting -------------------------------------------------------------------------------
    def scan_index(self, number: str | uuid.UUID) -> ScanIndex:
        """Load what scanning needs (a few tens of milliseconds for 20,000 lines)."""
        with self.db.uow(self.actor) as uow:
            s = uow.session
            cs = _session(s, self.actor, number)
            idx = ScanIndex(cs.id)
            for code, bid in s.execute(
                select(Bin.code, Bin.id).where(Bin.branch_id == self.actor.branch_id)
            ):
                idx.bins[code] = bid
            for lid, pid, bid, part_no, barcode, name, bin_code in s.execute(
                select(
                    CountLine.id,
                    CountLine.part_id,
                    CountLine.bin_id,
                    Part.part_no,
                    Part.barcode,
                    Part.name,
                    Bin.code,
                )
                .join(Part, Part.id == CountLine.part_id)
                .join(Bin, Bin.id == CountLine.bin_id)
                .where(CountLine.session_id == cs.id)
            ):
                idx.lines[(pid, bid)] = lid
                idx.part_lines.setdefault(pid, []).append(lid)
                idx.by_code[part_no] = pid
                if barcode:
                    idx.by_code[barcode] = pid
                idx.info[lid] = (part_no, name, bin_code)
            return idx

    def scan(
        self,
        index: ScanIndex,
        code: str,
        *,
        bin_code: str = "",
        qty: int = 1,
        source: str = "scanner",
        counter: str = "",
    ) -> ScanResult:
        """A scanned or typed code: find its line (in ``bin_code`` when given) and add ``qty``.
        A part found in a bin where the count did not expect it gets a line of its own."""
        part_id = index.find_part(code)
        bin_id = index.bins.get(bin_code.strip().upper()) if bin_code.strip() else None
        if bin_code.strip() and bin_id is None:
            raise ValidationError(_("No bin {bin}.").format(bin=bin_code), field="bin")
        if part_id is None:
            part_id = self._catalogue_part(code)
            if part_id is None:
                raise ValidationError(
                    _("No part with the code {code}.").format(code=code.strip()), field="code"
                )
            index.by_code[code.strip()] = part_id
        line_id = None
        if bin_id is not None:
            line_id = index.lines.get((part_id, bin_id))
        else:
            candidates = index.part_lines.get(part_id, [])
            if len(candidates) == 1:
                line_id = candidates[0]
            elif len(candidates) > 1:
                raise ValidationError(
                    _("Part {code} is in several bins: choose the bin first.").format(
                        code=code.strip()
                    ),
                    field="bin",
                )
            else:
                raise ValidationError(
                    _("Part {code} is not in this count: choose the bin it was found in.").format(
                        code=code.strip()
                    ),
                    field="bin",
                )
        added = False
        if line_id is None:
            assert bin_id is not None
            line_id = self.add_line(index.session_id, part_id, bin_id)
            index.lines[(part_id, bin_id)] = line_id
            index.part_lines.setdefault(part_id, []).append(line_id)
            added = True
        total = self.add_entry(index.session_id, line_id, qty, source=source, counter=counter)
        if line_id not in index.info:
            index.info[line_id] = self._line_info(line_id)
        part_no, name, b = index.info[line_id]
        return ScanResult(line_id, part_no, name, b, total, added)

    def _catalogue_part(self, code: str) -> uuid.UUID | None:
        code = code.strip()
        if not code:
            return None
        with self.db.uow(self.actor) as uow:
            for cond in (Part.barcode == code, Part.part_no == code.upper()):
                pid = uow.session.scalar(select(Part.id).where(cond).limit(1))
                if pid is not None:
                    return pid
        return None

    def _line_info(self, line_id: uuid.UUID) -> tuple[str, str, str]:
        with self.db.uow(self.actor) as uow:
            return tuple(  # type: ignore[return-value]
                uow.session.execute(
                    select(Part.part_no, Part.name, Bin.code)
                    .join(CountLine, CountLine.part_id == Part.id)
                    .join(Bin, Bin.id == CountLine.bin_id)
                    .where(CountLine.id == line_id)
                ).one()
            )

    def add_line(self, session_id: uuid.UUID, part_id: uuid.UUID, bin_id: uuid.UUID) -> uuid.UUID:
        """A line for a part found in a bin the freeze did not list. Its frozen quantity is the
        balance now less the movements since the freeze: what the balance was at the freeze."""
        require(self.actor, Permission.POST_STOCK)
        with self.db.uow(self.actor, write=True) as uow:
            s = uow.session
            cs = _session(s, self.actor, session_id)
            _need_status(cs, "open")
            b = s.get(Bin, bin_id)
            if b is None or b.branch_id != cs.branch_id or s.get(Part, part_id) is None:
                raise ValidationError(_("No such part or bin."), field="part")
            line_id = self._add_line(s, cs, part_id, bin_id)
            uow.commit()
            return line_id

    def _add_line(
        self, s: Session, cs: CountSession, part_id: uuid.UUID, bin_id: uuid.UUID
    ) -> uuid.UUID:
        existing = s.scalar(
            select(CountLine.id).where(
                CountLine.session_id == cs.id,
                CountLine.part_id == part_id,
                CountLine.bin_id == bin_id,
            )
        )
        if existing is not None:
            return existing
        balance = (
            s.scalar(
                select(StockBalance.qty).where(
                    StockBalance.branch_id == cs.branch_id,
                    StockBalance.part_id == part_id,
                    StockBalance.bin_id == bin_id,
                )
            )
            or 0
        )
        last = s.scalar(select(func.max(CountLine.line_no)).where(CountLine.session_id == cs.id))
        line = CountLine(
            id=uuid.uuid4(),
            session_id=cs.id,
            line_no=(last or 0) + 1,
            part_id=part_id,
            bin_id=bin_id,
            frozen_qty=balance - _net_since_freeze(s, cs, part_id, bin_id),
            added=True,
        )
        s.add(line)
        cs.line_count += 1
        s.flush()
        return line.id

    def add_entry(
        self,
        session_id: uuid.UUID | str,
        line_id: uuid.UUID,
        qty: int,
        *,
        source: str = "keyboard",
        counter: str = "",
    ) -> int:
        """Add a counted quantity to a line (negative corrects a mistake); returns the line's
        counted total of this pass."""
        require(self.actor, Permission.POST_STOCK)
        if source not in SOURCE_LABELS:
            raise ValueError(source)
        if not isinstance(qty, int) or qty == 0 or abs(qty) > MAX_ENTRY:
            raise ValidationError(
                _("A counted quantity is a whole number other than zero."), field="qty"
            )
        with self.db.uow(self.actor, write=True) as uow:
            s = uow.session
            cs = _session_light(s, self.actor, session_id)
            total = self._enter(s, cs, {line_id: qty}, source, counter)[line_id]
            uow.commit()
            return total

    def _enter(
        self,
        s: Session,
        cs: Any,
        qtys: dict[uuid.UUID, int],
        source: str,
        counter: str,
        *,
        replace: bool = False,
    ) -> dict[uuid.UUID, int]:
        """Append entries and update their lines, in the caller's transaction (driver-level
        statements: a scan is a handful of them and a commit). ``replace``: the quantity is the
        line's total for this pass (a sheet), the entry is the difference."""
        _need_status(cs, "open")
        conn = s.connection()
        stamp = sqlite_time(utcnow())
        sid = cs.id.hex
        seq = conn.exec_driver_sql(
            "SELECT COALESCE(MAX(seq), 0) FROM stock_movements WHERE branch_id = ?",
            (cs.branch_id.hex,),
        ).scalar()
        sql = "SELECT id, pass_no, counted_qty, counted FROM stock_count_lines WHERE session_id = ?"
        params: tuple = (sid,)
        if len(qtys) <= 500:
            sql += f" AND id IN ({', '.join('?' * len(qtys))})"
            params = (sid, *(lid.hex for lid in qtys))
        lines = {r[0]: r for r in conn.exec_driver_sql(sql, params)}
        who = (counter.strip() or self.actor.username)[:64]
        device = self.actor.device_id.hex if self.actor.device_id else None
        entries, changes, totals = [], [], {}
        for lid, qty in qtys.items():
            line = lines.get(lid.hex)
            if line is None:
                raise ValidationError(_("No such line in this count."), field="line")
            _id, pass_no, counted_qty, counted = line
            before = counted_qty if counted else 0
            delta, total = (qty - before, qty) if replace else (qty, before + qty)
            if total < 0:
                raise ValidationError(
                    _("The counted quantity of a line cannot go below zero."), field="qty"
                )
            totals[lid] = total
            if delta != 0:
                entries.append(
                    (
                        uuid.uuid4().hex,
                        sid,
                        lid.hex,
                        pass_no,
                        who,
                        delta,
                        stamp,
                        seq,
                        source,
                        device,
                    )
                )
            changes.append((total, seq, stamp, lid.hex))
        if entries:
            conn.exec_driver_sql(
                "INSERT INTO stock_count_entries (id, session_id, line_id, pass_no, counter, qty,"
                " at, ledger_seq, source, device_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                entries,
            )
        conn.exec_driver_sql(
            "UPDATE stock_count_lines SET counted_qty = ?, counted = 1, counted_seq = ?,"
            " counted_at = ?, recount_needed = 0 WHERE id = ?",
            changes,
        )
        return totals

    def mark_counted(self, number: str | uuid.UUID, line_ids: list[uuid.UUID] | None = None) -> int:
        """Mark lines counted as they are (nothing found: zero). ``None``: every line not
        counted yet. Returns how many lines were marked."""
        require(self.actor, Permission.POST_STOCK)
        with self.db.uow(self.actor, write=True) as uow:
            s = uow.session
            cs = _session(s, self.actor, number)
            _need_status(cs, "open")
            q = (
                update(CountLine)
                .where(CountLine.session_id == cs.id, CountLine.counted.is_(False))
                .values(
                    counted=True,
                    counted_qty=0,
                    counted_seq=_last_seq(s, cs.branch_id),
                    counted_at=utcnow(),
                    recount_needed=False,
                )
            )
            if line_ids is not None:
                q = q.where(CountLine.id.in_(line_ids))
            n = s.execute(q, execution_options={"synchronize_session": False}).rowcount
            uow.commit()
            return n

    def set_reason(self, number: str | uuid.UUID, line_id: uuid.UUID, reason: str) -> None:
        """The reason of a variance line: surplus for more, shortage or damaged for less."""
        require(self.actor, Permission.POST_STOCK)
        if reason not in REASON_LABELS:
            raise ValidationError(_("Unknown reason: {value}").format(value=reason), field="reason")
        with self.db.uow(self.actor, write=True) as uow:
            s = uow.session
            cs = _session(s, self.actor, number)
            _need_status(cs, "open", "submitted")
            line = s.get(CountLine, line_id)
            if line is None or line.session_id != cs.id:
                raise ValidationError(_("No such line in this count."), field="line")
            refresh_variance(s, cs)
            s.refresh(line)
            if line.variance == 0:
                raise ValidationError(_("This line has no variance."), field="reason")
            if (reason == "surplus") != (line.variance > 0):
                raise ValidationError(
                    _("Surplus is for more than expected; shortage and damage for less."),
                    field="reason",
                )
            before = line.reason
            line.reason = reason
            s.add(
                AuditEntry(
                    at=utcnow(),
                    branch_id=self.actor.branch_id,
                    device_id=self.actor.device_id,
                    user_id=self.actor.user_id,
                    username=self.actor.username,
                    action="update",
                    entity=CountLine.__tablename__,
                    entity_id=str(line.id),
                    before={"reason": before},
                    after={"reason": reason},
                    note=cs.number,
                )
            )
            uow.commit()

    # --- submit, recount, approve -------------------------------------------------------------
    def submit(self, number: str | uuid.UUID) -> SubmitResult:
        """Counting is done: work out the variances; lines over tolerance that were not recounted
        yet start a recount (the count stays open); otherwise the count goes to approval."""
        require(self.actor, Permission.POST_STOCK)
        with self.db.uow(self.actor, write=True) as uow:
            s = uow.session
            cs = _session(s, self.actor, number)
            _need_status(cs, "open")
            uncounted = s.scalar(
                select(func.count()).where(
                    CountLine.session_id == cs.id, CountLine.counted.is_(False)
                )
            )
            if uncounted:
                raise RefusedError(
                    _(
                        "{n} lines are not counted yet: count them or mark them counted "
                        "(nothing found) first."
                    ).format(n=uncounted)
                )
            refresh_variance(s, cs)
            recount = self._flag_recounts(s, cs)
            self._default_reasons(s, cs)
            variance_lines = s.scalar(
                select(func.count()).where(CountLine.session_id == cs.id, CountLine.variance != 0)
            )
            if not recount:
                cs.status = "submitted"
                cs.submitted_at = utcnow()
                cs.submitted_by = self.actor.username
            uow.commit()
            return SubmitResult(not recount, recount, variance_lines)

    def _flag_recounts(self, s: Session, cs: CountSession) -> int:
        """Lines of the first pass over tolerance start a second pass (the first pass's entries
        stay in the ledger of entries). Returns how many."""
        tol = _tolerance(SettingsService(self.db, self.actor).get("counts_tolerance"))
        flagged = []
        for lid, var, counted_qty, pass_no, category in s.execute(
            select(
                CountLine.id,
                CountLine.variance,
                CountLine.counted_qty,
                CountLine.pass_no,
                Part.category,
            )
            .join(Part, Part.id == CountLine.part_id)
            .where(CountLine.session_id == cs.id, CountLine.variance != 0)
        ):
            if pass_no == 1 and over_tolerance(var, counted_qty - var, tol.get(category, tol["*"])):
                flagged.append({"l_id": lid})
        if flagged:
            t = CountLine.__table__
            s.connection().execute(
                t.update()
                .where(t.c.id == bindparam("l_id"))
                .values(
                    pass_no=t.c.pass_no + 1,
                    counted=False,
                    counted_qty=0,
                    recount_needed=True,
                    variance=0,
                    reason="",
                ),
                flagged,
            )
        return len(flagged)

    def _default_reasons(self, s: Session, cs: CountSession) -> None:
        s.execute(
            text(
                "UPDATE stock_count_lines SET reason = CASE"
                " WHEN variance > 0 THEN 'surplus'"
                " WHEN variance < 0 AND reason IN ('shortage', 'damaged') THEN reason"
                " WHEN variance < 0 THEN 'shortage' ELSE '' END"
                " WHERE session_id = :sid"
            ),
            {"sid": cs.id.hex},
        )

    def request_recount(self, number: str | uuid.UUID, line_ids: list[uuid.UUID]) -> int:
        """Send lines back for another pass (the manager doubts them); the count reopens."""
        require(self.actor, Permission.APPROVE)
        if not line_ids:
            raise ValidationError(_("Choose the lines to recount."), field="lines")
        with self.db.uow(self.actor, write=True) as uow:
            s = uow.session
            cs = _session(s, self.actor, number)
            _need_status(cs, "open", "submitted")
            n = s.execute(
                update(CountLine)
                .where(CountLine.session_id == cs.id, CountLine.id.in_(line_ids))
                .values(
                    pass_no=CountLine.pass_no + 1,
                    counted=False,
                    counted_qty=0,
                    recount_needed=True,
                    variance=0,
                    reason="",
                ),
                execution_options={"synchronize_session": False},
            ).rowcount
            cs.status = "open"
            cs.submitted_at, cs.submitted_by = None, ""
            uow.commit()
            return n

    def approve(self, number: str | uuid.UUID) -> None:
        """The manager accepts the variances (role-enforced)."""
        require(self.actor, Permission.APPROVE)
        with self.db.uow(self.actor, write=True) as uow:
            s = uow.session
            cs = _session(s, self.actor, number)
            _need_status(cs, "submitted")
            pending = s.scalar(
                select(func.count()).where(
                    CountLine.session_id == cs.id,
                    (CountLine.recount_needed.is_(True)) | (CountLine.counted.is_(False)),
                )
            )
            if pending:
                raise RefusedError(_("{n} lines still need a recount.").format(n=pending))
            cs.status = "approved"
            cs.approved_at = utcnow()
            cs.approved_by = self.actor.username
            uow.commit()

    def cancel(self, number: str | uuid.UUID, reason: str) -> None:
        """Drop a count that was not posted (with a reason); its entries stay."""
        require(self.actor, Permission.POST_STOCK)
        if not reason.strip():
            raise ValidationError(_("Give a reason."), field="reason")
        with self.db.uow(self.actor, write=True) as uow:
            s = uow.session
            cs = _session(s, self.actor, number)
            _need_status(cs, "open", "submitted", "approved")
            if cs.status == "approved":
                require(self.actor, Permission.APPROVE)
            cs.status = "cancelled"
            cs.cancelled_at = utcnow()
            cs.cancelled_by = self.actor.username
            cs.cancel_reason = reason.strip()[:400]
            uow.commit()

    # --- posting --------------------------------------------------------------------------------
    def post(self, number: str | uuid.UUID, progress: Progress = NO_PROGRESS) -> str:
        """Post the approved count: one adjustment document with one line and one movement per
        variance line, all in one transaction. Returns the document number ("" when nothing
        differed)."""
        require(self.actor, Permission.POST_STOCK)
        with self.db.uow(self.actor, write=True) as uow:
            s = uow.session
            cs = _session(s, self.actor, number)
            _need_status(cs, "approved")
            progress.step(0, 3)
            # the variances were worked out at submit: entries stop there (a recount reopens the
            # count and the next submit works them out again), and movements after a line's
            # count do not change its variance
            conn = s.connection()
            # thousands of index pages change: hold them in memory until the commit instead of
            # spilling them to the log again and again (back to the default when done)
            conn.exec_driver_sql(f"PRAGMA cache_size = -{POST_CACHE_KIB}")
            try:
                doc_number = self._post_lines(s, cs, conn, progress)
            finally:
                conn.exec_driver_sql(f"PRAGMA cache_size = -{DEFAULT_CACHE_KIB}")
            progress.step(2, 3)
            cs.status = "posted"
            cs.posted_at = utcnow()
            cs.posted_by = self.actor.username
            uow.commit()
            progress.step(3, 3)
            return doc_number

    def _post_lines(self, s: Session, cs: CountSession, conn: Any, progress: Progress) -> str:
        """The adjustment document and its movements, and the one audit entry for them.

        The bulk path of the posting, written with set-based SQL instead of the ORM, and on
        purpose without a row per line anywhere but the ledger: the document has no lines of its
        own (its slip lists its movements, ``documents.slip_data``) and no per-line audit entry.
        Its audit entry says who posted which count when, how many lines and the totals per
        variance kind; the movements ledger (append-only; each movement names the document,
        which the count names) is the per-line record, with the line's reason as its note. The
        sync capture of the movements is written set-based too (``data/sync_bulk.py``: the same
        outbox rows the trigger writes)."""
        rows = conn.connection.driver_connection.execute(
            "SELECT l.part_id, l.bin_id, l.variance, l.reason, p.purchase_price, ps.avg_cost"
            " FROM stock_count_lines AS l JOIN parts AS p ON p.id = l.part_id"
            " LEFT JOIN part_stock AS ps ON ps.part_id = l.part_id AND ps.branch_id = ?"
            " WHERE l.session_id = ? AND l.variance != 0 ORDER BY l.line_no",
            (cs.branch_id.hex, cs.id.hex),
        ).fetchall()
        if not rows:
            return ""
        now = utcnow()
        doc_id = uuid.uuid4()
        moves, kind_of = [], {}
        reasons = {k: _(v) for k, v in REASON_LABELS.items()}
        for pid, bid, var, reason, price, avg in rows:
            # (part, bin) is unique in a count
            kind_of[(pid, bid)] = (
                "surplus" if var > 0 else "damaged" if reason == "damaged" else "shortage"
            )
            # a surplus comes in at the part's average cost (its purchase price when it has
            # none); a shortage goes out at the average cost, as any issue does
            cost = (avg or price) if var > 0 else None
            moves.append(HexMove(pid, bid, var, "adjust", cost, None, reasons.get(reason, "")))
        plan = plan_hex_moves(s, self.actor, moves, document_id=doc_id, at=now)
        # lines, pieces and value per variance kind, as the ledger has them
        kinds = {k: {"lines": 0, "qty": 0, "value": 0} for k in REASON_LABELS}
        for r in plan.rows:
            kind = kinds[kind_of[(r[5], r[6])]]
            kind["lines"] += 1
            kind["qty"] += r[7]
            kind["value"] += r[9]
        num = next_number(s, self.actor, "adjust")
        doc = StockDocument(
            id=doc_id,
            branch_id=cs.branch_id,
            kind="adjust",
            series_id=num.series_id,
            seq=num.seq,
            number=num.text,
            status="posted",
            posted_at=now,
            posted_by=self.actor.username,
            total=plan.abs_value,
            note=_("Stock count {number}").format(number=cs.number),
        )
        s.add(doc)
        audit.record(
            s,
            "post",
            "stock_documents",
            str(doc_id),
            note=cs.number,
            after={
                "count": cs.number,
                "document": doc.number,
                "lines": len(rows),
                "total": plan.abs_value,
                **kinds,
            },
        )
        s.flush()
        progress.step(1, 3)
        write_hex_plan(s, plan)
        cs.document_id = doc_id
        return doc.number

    # --- the report -----------------------------------------------------------------------------
    def variance_report(
        self, number: str | uuid.UUID, *, all_lines: bool = False
    ) -> VarianceReport:
        """Variance lines (or every line) with totals per reason; for an open count, as of now."""
        with self.db.uow(self.actor) as uow:
            cs = _session(uow.session, self.actor, number)
            if not self.may_see_expected(cs.blind, cs.status):
                require(self.actor, Permission.APPROVE)
            status = cs.status
            cs_number = cs.number
        rep = VarianceReport(cs_number, status)
        cursor = None
        while True:
            page = self.lines(number, cursor, 5000, only="" if all_lines else "variance")
            for r in page.rows:
                if not all_lines and not r.variance:
                    continue
                rep.rows.append(r)
                v, val = r.variance or 0, r.value or 0
                if v > 0:
                    rep.surplus_qty += v
                    rep.surplus_value += val
                elif v < 0 and r.reason == "damaged":
                    rep.damaged_qty += v
                    rep.damaged_value += val
                elif v < 0:
                    rep.shortage_qty += v
                    rep.shortage_value += val
            if page.next_cursor is None:
                break
            cursor = page.next_cursor
        return rep

    def entries(self, line_id: uuid.UUID) -> list[tuple[int, str, int, datetime, str]]:
        """A line's entries: (pass, counter, quantity, when, source label)."""
        with self.db.uow(self.actor) as uow:
            line = uow.session.get(CountLine, line_id)
            if line is None:
                raise UsageError(_("No such line in this count."))
            _session(uow.session, self.actor, line.session_id)
            return [
                (e.pass_no, e.counter, e.qty, e.at, _(SOURCE_LABELS[e.source]))
                for e in uow.session.scalars(
                    select(CountEntry)
                    .where(CountEntry.line_id == line_id)
                    .order_by(CountEntry.at, CountEntry.id)
                )
            ]

    def tolerance(self) -> dict[str, list[int]]:
        value = SettingsService(self.db, self.actor).get("counts_tolerance")
        return {k: list(v) for k, v in _tolerance(value).items()}

    def save_tolerance(self, values: dict[str, Any]) -> None:
        SettingsService(self.db, self.actor).update(
            {"counts_tolerance": validate_tolerance(values)}
        )
