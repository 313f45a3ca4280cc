"""Daily schedule use cases: the branch's duties (default set from the manufacturer's schedule in
the seeds), its working calendar, today's agenda with check-off (note, attachment, who), overdue
warnings, the iCalendar export, the monthly duty report, ``ls duties``, demo history and checks.

``ScheduleService`` is assembled from cohesive parts:
``schedule_common`` (value types, default duties, loading), ``schedule_duties``,
``schedule_calendar`` (working calendar, settings, service clock), ``schedule_agenda``
(occurrences, agenda, check-off, month) and ``schedule_exports`` (ls, demo, check, .ics, report).
The work-order service clocks live in ``service_clocks``.
"""

from __future__ import annotations

from aftersales_desk.services.schedule_agenda import AgendaMixin
from aftersales_desk.services.schedule_calendar import CalendarMixin
from aftersales_desk.services.schedule_common import (
    DEFAULT_DUTIES,
    MAX_ATTACHMENT_BYTES,
    MAX_NOTE,
    MAX_TITLE,
    STATE_LABELS,
    Agenda,
    AgendaItem,
    AgendaState,
    CalendarDayRow,
    DutyRow,
    DutySpec,
    ScheduleSettings,
    attachments_dir,
    describe,
    weekday_label,
)
from aftersales_desk.services.schedule_duties import DutiesMixin


class ScheduleService(DutiesMixin, CalendarMixin, AgendaMixin):
    """The daily schedule of the acting user's branch."""


# Registers ``ls duties``, the demo filler, the attachment check and the duty report; it needs
# ``ScheduleService`` above, hence the import at the end.
from aftersales_desk.services.schedule_exports import build_ics, export_ics  # noqa: E402

__all__ = [
    "DEFAULT_DUTIES",
    "MAX_ATTACHMENT_BYTES",
    "MAX_NOTE",
    "MAX_TITLE",
    "STATE_LABELS",
    "Agenda",
    "AgendaItem",
    "AgendaState",
    "CalendarDayRow",
    "DutyRow",
    "DutySpec",
    "ScheduleService",
    "ScheduleSettings",
    "attachments_dir",
    "build_ics",
    "describe",
    "export_ics",
    "weekday_label",
]
