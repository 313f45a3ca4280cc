"""Gapless document numbers per branch, device and kind (e.g. ``BJ01-A-000123``).

Stock documents, counts, old-part batches, work orders (``BJ01-A-WO000001``) and quick-handling
forms (``BJ01-A-KS000001``) all take their numbers here, so two desks of one branch working
offline never issue the same number.

A number is taken with ``next_number`` inside the unit of work that posts the document: the
increment of the series and the document row commit together or not at all, so a crash can neither
skip nor repeat a number. Writers hold SQLite's write lock (``BEGIN IMMEDIATE``) for the whole
transaction, so two devices never take the same number either.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import Integer, cast, func, select, update
from sqlalchemy.orm import Session

from aftersales_desk.data.models import Branch, Device
from aftersales_desk.data.models.archive import WorkOrder
from aftersales_desk.data.models.callbacks import QuickForm
from aftersales_desk.data.models.counts import CountSession
from aftersales_desk.data.models.parts import NumberSeries, OldPartBatch, StockDocument
from aftersales_desk.domain.actor import Actor
from aftersales_desk.errors import RefusedError
from aftersales_desk.i18n import N_, _
from aftersales_desk.services import integrity

# kind → prefix in front of the running number (issue slips have none: BJ01-A-000123)
PREFIXES: dict[str, str] = {
    "issue": "",
    "receipt": "RK",
    "return": "TK",
    "transfer": "YK",
    "scrap": "BF",
    "adjust": "TZ",
    "sale": "LS",
    "sale_return": "TH",
    "old_batch": "FC",
    "count": "PD",  # stock count 盘点单
    "work_order": "WO",  # work order 工单
    "quick_form": "KS",  # quick-handling form 快速处理单
}
DIGITS = 6
# series whose numbered rows are not stock documents (each has ``series_id`` and ``seq``)
SEQ_MODELS: dict[str, type[StockDocument] | type[CountSession]] = {"count": CountSession}
# series whose rows keep only the number text: the running number is read back from behind the
# series prefix (rows numbered before the kind had a series, e.g. ``WO0000001`` or
# ``KS20261123-001``, do not carry a series prefix and are left out of the check)
PREFIX_MODELS: dict[str, type[OldPartBatch] | type[WorkOrder] | type[QuickForm]] = {
    "old_batch": OldPartBatch,
    "work_order": WorkOrder,
    "quick_form": QuickForm,
}


@dataclass(frozen=True, slots=True)
class Number:
    series_id: uuid.UUID
    seq: int
    text: str


def _local_device(s: Session, actor: Actor) -> Device:
    device = s.get(Device, actor.device_id) if actor.device_id else None
    if device is None:
        device = s.scalars(
            select(Device).where(Device.branch_id == actor.branch_id, Device.is_local.is_(True))
        ).first()
    if device is None:
        raise RefusedError(_("This installation has no device code, so it cannot number slips."))
    return device


def next_number(s: Session, actor: Actor, kind: str) -> Number:
    """Take the next number of ``kind`` for the actor's branch and device (same transaction)."""
    device = _local_device(s, actor)
    series = s.scalars(
        select(NumberSeries).where(
            NumberSeries.branch_id == actor.branch_id,
            NumberSeries.device_id == device.id,
            NumberSeries.kind == kind,
        )
    ).first()
    if series is None:
        branch = s.get(Branch, actor.branch_id)
        assert branch is not None
        series = NumberSeries(
            branch_id=actor.branch_id,
            device_id=device.id,
            kind=kind,
            prefix=f"{branch.code}-{device.code}-{PREFIXES[kind]}",
            last_seq=0,
        )
        s.add(series)
        s.flush()
    seq = s.execute(
        update(NumberSeries)
        .where(NumberSeries.id == series.id)
        .values(last_seq=NumberSeries.last_seq + 1)
        .returning(NumberSeries.last_seq)
    ).scalar_one()
    s.expire(series, ["last_seq"])
    return Number(series.id, seq, f"{series.prefix}{seq:0{DIGITS}d}")


@integrity.register(N_("Document numbers are gapless"))
def check_gapless(s: Session) -> list[str]:
    """Every series has exactly the numbers 1..last_seq, each once."""
    problems: list[str] = []
    for series in s.scalars(select(NumberSeries)):
        if series.kind in PREFIX_MODELS:
            numbered = PREFIX_MODELS[series.kind]
            tail = func.substr(numbered.number, len(series.prefix) + 1)
            seq = cast(tail, Integer)
            count, distinct, low, high = s.execute(
                select(
                    func.count(),
                    func.count(func.distinct(seq)),
                    func.coalesce(func.min(seq), 0),
                    func.coalesce(func.max(seq), 0),
                ).where(
                    numbered.branch_id == series.branch_id,
                    # the numbers behind the prefix: a range of the unique (branch, number) index
                    numbered.number >= series.prefix,
                    numbered.number < series.prefix + "\U0010ffff",
                    tail != "",
                    func.ltrim(tail, "0123456789") == "",  # digits only
                )
            ).one()
        else:
            model = SEQ_MODELS.get(series.kind, StockDocument)
            count, distinct, low, high = s.execute(
                select(
                    func.count(),
                    func.count(func.distinct(model.seq)),
                    func.coalesce(func.min(model.seq), 0),
                    func.coalesce(func.max(model.seq), 0),
                ).where(model.series_id == series.id)
            ).one()
        if series.last_seq == 0 and count == 0:
            continue
        if not (count == distinct == series.last_seq and low == 1 and high == series.last_seq):
            problems.append(
                _(
                    "The numbers of series {prefix} are not gapless: {count} documents, "
                    "last number {last}."
                ).format(prefix=series.prefix, count=count, last=series.last_seq)
            )
    return problems
