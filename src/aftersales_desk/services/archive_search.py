"""The archive search: one FTS5 trigram index over a text per customer, plus short prefix keys.

Design. ``archive_search.body`` holds, per customer: customer no., name, full pinyin, initials, phone
digits, and every vehicle's plate (with its province character), VIN and engine number. The
migration's FTS5 ``trigram`` table indexes it, so any fragment of 3+ characters (4 digits of a
phone, a VIN fragment, a plate without its province character, ``zhangsan``) is an index lookup.
Queries of 1–2 characters (``zs``, ``张三``) cannot use trigrams; they use ``archive_search_keys``
(name and pinyin initials) by prefix range on a B-tree index. Pinyin is computed here, at write
time, with ``pypinyin``; ``reindex`` runs in the caller's transaction, so the index never lags.
"""

from __future__ import annotations

import json
import re
import sqlite3
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from aftersales_desk.data.engine import translate_error
from aftersales_desk.data.models.archive import Customer, Vehicle
from aftersales_desk.data.uow import Database
from aftersales_desk.domain.actor import Actor
from aftersales_desk.domain.archive import mask_phone, normalize_query, pinyin_keys

MAX_LIMIT = 500


@dataclass(frozen=True, slots=True)
class CustomerRow:
    """A customer in a list or a search result. Phones are always masked in lists (screens are
    seen by passers-by); the card's audited reveal shows them to roles that may see them."""

    id: uuid.UUID
    customer_no: str
    name: str
    phone: str
    region: str
    vip: bool
    club_member: bool
    plates: str


def index_texts(
    customer_no: str,
    name: str,
    phones: Iterable[str],
    vehicles: Iterable[tuple[str, str, str]],
) -> tuple[str, str, list[str]]:
    """(body, plates, keys) of one customer; ``vehicles`` are (plate, vin, engine_no)."""
    full, initials = pinyin_keys(name)
    vehicles = list(vehicles)
    parts = [customer_no.upper(), name, full, initials]
    parts += [p for p in phones if p]
    for plate, vin, engine in vehicles:
        parts += [v for v in (plate, vin, engine.upper()) if v]
    plates = " ".join(p for p, _v, _e in vehicles if p)
    keys = sorted({k for k in (name, initials, full[:2]) if k})
    return " ".join(p for p in parts if p), plates[:200], keys


Known = dict[uuid.UUID, tuple[str, str, str, str, list[tuple[str, str, str]]]]


def reindex(
    session: Session,
    customer_ids: Iterable[uuid.UUID],
    known: Known | None = None,
    *,
    new: frozenset[uuid.UUID] | set[uuid.UUID] = frozenset(),
) -> None:
    """Rewrite the search rows of these customers (call after any change to them or their
    vehicles, in the same transaction). ``known`` may give (customer no., name, phone, phone 2,
    [(plate, vin, engine no.)]) per customer when the caller holds them already (import);
    ``new`` names customers inserted in this transaction, which have no search rows to delete."""
    ids = list(dict.fromkeys(customer_ids))
    if not ids:
        return
    session.flush()
    if known is None:
        known = {}
        for cid, no, name, phone, phone2 in session.execute(
            select(
                Customer.id, Customer.customer_no, Customer.name, Customer.phone, Customer.phone2
            ).where(Customer.id.in_(ids))
        ):
            known[cid] = (no, name, phone, phone2, [])
        for cid, plate, vin, engine in session.execute(
            select(Vehicle.customer_id, Vehicle.plate, Vehicle.vin, Vehicle.engine_no)
            .where(Vehicle.customer_id.in_(ids))
            .order_by(Vehicle.created_at)
        ):
            known[cid][4].append((plate, vin, engine))
    entries, keys = [], []
    for cid in ids:
        if cid not in known:
            continue
        no, name, phone, phone2, vehicles = known[cid]
        body, plates, kk = index_texts(no, name, (phone, phone2), vehicles)
        entries.append((cid.hex, body, plates))
        keys += [(k, cid.hex) for k in kk]
    # Straight through the DBAPI cursor of the session's connection (same transaction): this
    # runs for every customer of a 50k-row import, where SQLAlchemy's per-row binding shows.
    # The rows of archive_search go in (and out) by one statement each, their values passed as
    # one JSON array: its triggers keep the FTS5 index, which flushes its pending terms at every
    # statement; row by row (executemany) that is 3-4 times slower for a large import.
    cursor = session.connection().connection.cursor()
    try:
        hexes = [cid.hex for cid in ids if cid not in new]
        if hexes:
            cursor.execute(
                "DELETE FROM archive_search WHERE customer_id IN (SELECT value FROM json_each(?))",
                (json.dumps(hexes),),
            )
            cursor.executemany(
                "DELETE FROM archive_search_keys WHERE customer_id = ?", [(h,) for h in hexes]
            )
        if entries:
            cursor.execute(
                "INSERT INTO archive_search (customer_id, body, plates) "
                "SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]'), "
                "json_extract(value, '$[2]') FROM json_each(?) ORDER BY key",
                (json.dumps(entries, ensure_ascii=False),),
            )
        cursor.executemany("INSERT INTO archive_search_keys (key, customer_id) VALUES (?, ?)", keys)
    finally:
        cursor.close()


def _fts_phrase(term: str) -> str:
    return '"' + term.replace('"', '""') + '"'


_SELECT = "SELECT c.id, c.customer_no, c.name, c.phone, c.region, c.vip, c.club_member, s.plates "


_CUSTOMER_NO = re.compile(r"^C[0-9]{7}$")  # the numbers the archive gives (next_customer_no)


def search_sql(
    query: str, limit: int, *, branch: uuid.UUID | None = None, exact: bool = True
) -> tuple[str, dict[str, Any]] | None:
    """The SQL and parameters of a search (None when the query has nothing to search for).

    A whole customer no. as the archive gives them (C0001234) is first looked up by the
    (branch, customer no.) index (``exact``): its trigrams are among the commonest of the
    index, so the full-text lookup of a unique number reads long lists for one hit. When
    that finds nobody, ``search`` asks again with ``exact=False``."""
    terms = [normalize_query(t) for t in query.split()]
    terms = [t for t in terms if t]
    if not terms:
        return None
    if exact and branch is not None and len(terms) == 1 and _CUSTOMER_NO.match(terms[0]):
        sql = (
            _SELECT + "FROM customers c LEFT JOIN archive_search s ON s.customer_id = c.id "
            "WHERE c.branch_id = :branch AND c.customer_no = :no LIMIT :limit"
        )
        return sql, {"branch": branch.hex, "no": terms[0], "limit": limit}
    long_terms = [t for t in terms if len(t) >= 3]
    short_terms = [t.lower() for t in terms if len(t) < 3]
    params: dict[str, Any] = {"limit": limit}
    where: list[str] = []
    for i, t in enumerate(short_terms):
        params[f"lo{i}"] = t
        params[f"hi{i}"] = t + "\U0010ffff"
        where.append(
            f"c.id IN (SELECT k.customer_id FROM archive_search_keys k "
            f"WHERE k.key >= :lo{i} AND k.key < :hi{i})"
        )
    if long_terms:
        params["match"] = " AND ".join(_fts_phrase(t) for t in long_terms)
        sql = (
            _SELECT + "FROM archive_fts f JOIN archive_search s ON s.rowid = f.rowid "
            "JOIN customers c ON c.id = s.customer_id WHERE archive_fts MATCH :match"
        )
        for w in where:
            sql += " AND " + w
        return sql + " LIMIT :limit", params
    # Only short terms: walk the first one's key range, check the others.
    params["lo"], params["hi"] = params.pop("lo0"), params.pop("hi0")
    sql = (
        _SELECT + "FROM (SELECT DISTINCT k.customer_id AS cid FROM archive_search_keys k "
        "WHERE k.key >= :lo AND k.key < :hi LIMIT :limit) m "
        "JOIN customers c ON c.id = m.cid JOIN archive_search s ON s.customer_id = c.id"
    )
    if len(where) > 1:
        sql += " WHERE " + " AND ".join(where[1:])
    return sql, params


def rows_from(result: Sequence[Any], actor: Actor) -> list[CustomerRow]:
    out = []
    for r in result:
        cid = r[0] if isinstance(r[0], uuid.UUID) else uuid.UUID(hex=r[0])
        phone = r[3] or ""
        out.append(
            CustomerRow(
                cid,
                r[1],
                r[2],
                mask_phone(phone),
                r[4],
                bool(r[5]),
                bool(r[6]),
                r[7] or "",
            )
        )
    return out


def search(db: Database, actor: Actor, query: str, limit: int = 50) -> list[CustomerRow]:
    """Customers matching ``query``: name, pinyin (initials or full), 4+ digits of a phone,
    plate with or without its province character, VIN or engine-number fragment, customer no.
    Several words must all match."""
    limit = max(1, min(limit, MAX_LIMIT))
    built = search_sql(query, limit, branch=actor.branch_id)
    if built is None:
        return []
    rows = _run(db, *built)
    if not rows and "no" in built[1]:  # no such customer no.: any fragment of it, anywhere
        fallback = search_sql(query, limit, exact=False)
        assert fallback is not None
        rows = _run(db, *fallback)
    return rows_from(rows, actor)


def _run(db: Database, sql: str, params: dict[str, Any]) -> list[Any]:
    # A read of one statement: straight on a pooled DBAPI connection, without a Session or a
    # Connection (their setup costs more than the index lookup itself: 1.0 → 0.5 ms per query).
    # Parameters become qmarks.
    names = _PARAM.findall(sql)
    raw = db.engine.raw_connection()
    try:
        cursor = raw.cursor()
        try:
            cursor.execute(_PARAM.sub("?", sql), tuple(params[k] for k in names))
            rows = cursor.fetchall()
        except sqlite3.Error as exc:  # what a Connection would translate for the user
            raise translate_error(exc, db.path) from exc
        finally:
            cursor.close()
    finally:
        raw.close()  # back to the pool
    return rows


_PARAM = re.compile(r":([a-z]+[0-9]*)\b")
