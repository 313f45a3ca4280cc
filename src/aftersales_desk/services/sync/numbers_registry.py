"""``ls number-gaps`` on a desk: per number series, the numbers issued, those whose document
has not reached central yet, numbers missing locally and numbers central set aside
(docs/sync.md, "Document numbers")."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from aftersales_desk.data.uow import Database
from aftersales_desk.domain.actor import Actor
from aftersales_desk.services import listing
from aftersales_desk.services.sync.central_documents import desk_series


@listing.register("number-gaps")
def _number_gaps(db: Database, actor: Actor, filters: dict[str, str]) -> Iterator[dict[str, Any]]:
    with db.uow(actor) as uow:
        cur = uow.session.connection().connection.dbapi_connection.cursor()
        rows = [s.as_dict() for s in desk_series(cur)]
    everyone = filters.get("all", "").lower() in ("1", "true", "yes")
    return iter([r for r in rows if everyone or r["local_device"]])
