"""Work-order service clocks, the rules part: the branch's limits and escalation (settings), the
replay of a work order's stored facts into ``domain.sla.ServiceClock``, and the brief the overdue
count keeps per order. ``service_clocks`` reads and records; ``service_clocks_exports`` fills the
demo and lists ``ls clocks``.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from aftersales_desk.domain.clock import as_utc
from aftersales_desk.domain.sla import (
    CHAIN,
    ServiceClock,
    Stage,
    WorkingHours,
)
from aftersales_desk.errors import ValidationError
from aftersales_desk.i18n import N_, _
from aftersales_desk.services.schedule_common import _calendar, _settings, _zone

log = logging.getLogger(__name__)


MAX_CLOCK_NOTE = 500
# The steps marked on the clocks page (dispatching is the archive's 派工, closing its 结单).
MARKED_STAGES: dict[Stage, str] = {
    Stage.CONTACT: "contacted",
    Stage.ON_SITE: "on_site",
    Stage.FOLLOW_UP: "follow_up",
}
STAGE_OF_KIND = {kind: stage for stage, kind in MARKED_STAGES.items()}
EVENT_LABELS = {
    "contacted": N_("Customer contacted"),
    "on_site": N_("On site / first feedback"),
    "follow_up": N_("Progress followed up"),
    "pause": N_("Paused"),
    "resume": N_("Resumed"),
    "escalation": N_("Escalated"),
}


def event_label(kind: str) -> str:
    return _(EVENT_LABELS.get(kind, kind))


@dataclass(frozen=True, slots=True)
class ClockRules:
    """A branch's clock rules, read once per use case."""

    chain: tuple[tuple[Stage, timedelta], ...]
    hours: WorkingHours | None
    escalate_after: timedelta
    tz: ZoneInfo


def check_limits(minutes: Any, days: Any) -> None:
    """The branch's chain: five growing positive numbers of minutes; escalation after 1–365 days."""
    if (
        not isinstance(minutes, list)
        or len(minutes) != len(CHAIN)
        or not all(isinstance(m, int) and m > 0 for m in minutes)
        or sorted(minutes) != minutes
    ):
        raise ValidationError(
            _(
                "The service clock limits must be five growing numbers of minutes "
                "(dispatch, contact, on site, follow-up, close)."
            ),
            field="schedule_sla_minutes",
        )
    if not isinstance(days, int) or not 1 <= days <= 365:
        raise ValidationError(
            _("Orders are escalated after 1 to 365 days."), field="schedule_escalate_days"
        )


def clock_rules(s: Session, branch_id: uuid.UUID | None) -> ClockRules:
    conf = _settings(s, branch_id)
    tz = _zone(str(conf["schedule_timezone"]))
    minutes, days = conf["schedule_sla_minutes"], conf["schedule_escalate_days"]
    check_limits(minutes, days)
    chain = tuple(
        (stage, timedelta(minutes=m)) for (stage, _d), m in zip(CHAIN, minutes, strict=True)
    )
    hours = None
    if conf["schedule_sla_working_hours"]:
        cal = _calendar(s, branch_id, bool(conf["schedule_public_holidays"]))
        try:
            start = time.fromisoformat(str(conf["schedule_work_start"]))
            end = time.fromisoformat(str(conf["schedule_work_end"]))
            hours = WorkingHours(start, end, cal, tz)
        except ValueError as exc:
            raise ValidationError(
                _("The branch's working hours are not valid: {error}").format(error=exc),
                field="schedule_work_start",
            ) from None
    return ClockRules(chain, hours, timedelta(days=days), tz)


@dataclass(frozen=True, slots=True)
class _Facts:
    """A work order's columns the clock needs, read inside the unit of work."""

    opened_at: datetime
    dispatched_at: datetime | None
    closed_at: datetime | None
    status: str


def replay(facts: _Facts, events: Iterable[Any], rules: ClockRules) -> ServiceClock:
    """The order's clock from its stored facts, in the order they happened."""
    clock = ServiceClock(opened_at=facts.opened_at, hours=rules.hours, chain=rules.chain)
    if facts.dispatched_at is not None:
        clock.reach(Stage.DISPATCH, max(as_utc(facts.dispatched_at), clock.opened_at))
    for e in events:
        try:
            if e.kind in STAGE_OF_KIND:
                clock.reach(STAGE_OF_KIND[e.kind], e.at)
            elif e.kind == "pause":
                clock.pause(e.at, e.reason)
            elif e.kind == "resume":
                clock.resume(e.at)
            elif e.kind == "escalation":
                clock.escalate(e.at, e.note)
        except ValueError:  # checked when recorded; a row synced from elsewhere may not fit
            log.warning("work order clock event %s/%s does not fit; skipped", e.id, e.seq)
    if facts.closed_at is not None and facts.status == "closed":
        # Closing is the archive's; it may close an order whose steps were never marked here.
        at = max(as_utc(facts.closed_at), *clock.reached.values(), clock.opened_at)
        if clock.paused:
            clock.pauses[-1].end = at
        clock.reached[Stage.CLOSE] = at
    return clock


@dataclass(frozen=True, slots=True)
class _Brief:
    """What the overdue count needs of one order, valid while ``key`` holds."""

    key: tuple[Any, ...]  # (status, dispatched_at, last event's seq)
    due: datetime | None  # running: when the step due next turns overdue
    paused_late: bool  # stopped after its step was already due
    since: datetime  # for the order of the list: when it turned (or stopped) overdue
    reason_given: bool

    def overdue(self, now: datetime) -> bool:
        return self.paused_late or (self.due is not None and self.due < now)


def _brief(key: tuple[Any, ...], clock: ServiceClock, rules: ClockRules) -> _Brief:
    reason = bool(clock.escalations)
    nxt = (
        None
        if clock.closed
        else next((lim for st, lim in rules.chain if st not in clock.reached), None)
    )
    if nxt is None:
        return _Brief(key, None, False, clock.opened_at, reason)
    if clock.paused:
        start = clock.pauses[-1].start
        counted, _d = clock.measure([start], [])
        return _Brief(key, None, counted[0] > nxt, start, reason)
    _c, (due,) = clock.measure([], [nxt])
    return _Brief(key, due, False, due or clock.opened_at, reason)
