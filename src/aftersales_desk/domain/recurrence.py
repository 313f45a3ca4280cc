"""Duties' recurrence: an RFC 5545 RRULE (daily, weekly on given days, monthly on a day,
quarterly, …) or deadlines N days after events such as the end of a campaign; each occurrence has
a due time of day and moves off days off by the duty's rule (see ``workcal``).

An occurrence is keyed by its *nominal* date (what the rule says), so a check-off stays attached
to it even when the branch later adds a holiday and the due date moves.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from dateutil import rrule as _rr

from aftersales_desk.domain.workcal import Shift, WorkCalendar
from aftersales_desk.i18n import _

# How far a deadline may move off a run of days off; occurrences are searched this much wider.
MOVE_MARGIN = timedelta(days=60)
_ALLOWED_FREQ = {_rr.DAILY, _rr.WEEKLY, _rr.MONTHLY, _rr.YEARLY}
_PROBE = timedelta(days=365 * 9)
_FORBIDDEN_PARTS = ("DTSTART", "COUNT", "BYHOUR", "BYMINUTE", "BYSECOND")


def parse_rrule(body: str, dtstart: date, *, probe: bool = False) -> _rr.rrule:
    """An RRULE body (``FREQ=WEEKLY;BYDAY=TU``) checked and bound to ``dtstart``.

    Raises ``ValueError`` with a translated message for anything a duty cannot use; with
    ``probe`` (when a rule is entered) also for a rule that gives no date for years.
    """
    text = body.strip().removeprefix("RRULE:").strip().upper()
    if not text:
        raise ValueError(_("The recurrence rule is empty."))
    parts = {p.split("=", 1)[0] for p in text.split(";") if p}
    for bad in _FORBIDDEN_PARTS:
        if bad in parts:
            raise ValueError(
                _("The recurrence rule may not contain {part}: {rule}").format(part=bad, rule=body)
            )
    try:
        rule = _rr.rrulestr(text, dtstart=datetime.combine(dtstart, time()))
    except (ValueError, TypeError) as exc:
        raise ValueError(
            _("Not a recurrence rule: {rule} ({reason})").format(rule=body, reason=exc)
        ) from None
    if not isinstance(rule, _rr.rrule) or rule._freq not in _ALLOWED_FREQ:
        raise ValueError(
            _("A duty recurs daily, weekly, monthly or yearly: {rule}").format(rule=body)
        )
    if probe:
        _probe(rule, body, datetime.combine(dtstart, time()))
    return rule


def _probe(rule: _rr.rrule, body: str, first: datetime) -> None:
    # A rule with no date for years (29 February every fourth year from an odd one, 30 February)
    # would make every expansion search up to year 9999 (about a second): refuse it once, here.
    probe = rule.replace(until=min(first + _PROBE, rule._until or datetime.max))
    if next(iter(probe), None) is None:
        raise ValueError(
            _("The rule gives no date in the {n} years from its start: {rule}").format(
                n=_PROBE.days // 365, rule=body
            )
        )


def normalize_rrule(body: str) -> str:
    return body.strip().removeprefix("RRULE:").strip().upper()


@dataclass(frozen=True)
class DutyRule:
    """When a duty is due. ``rrule`` empty means "``offset_days`` after each of ``events``"."""

    rrule: str
    dtstart: date
    due_time: time
    shift: Shift = Shift.KEEP
    offset_days: int = 0
    events: tuple[date, ...] = ()
    _parsed: _rr.rrule | None = field(default=None, compare=False, repr=False)

    def __post_init__(self) -> None:
        if self.rrule:
            object.__setattr__(self, "_parsed", parse_rrule(self.rrule, self.dtstart))

    def nominal_dates(self, start: date, end: date) -> list[date]:
        """The rule's own dates in ``[start, end)``, before any move."""
        if self._parsed is None:
            offset = timedelta(days=self.offset_days)
            return sorted({e + offset for e in self.events if start <= e + offset < end})
        lo = datetime.combine(max(start, self.dtstart), time())
        hi = datetime.combine(end, time()) - timedelta(microseconds=1)
        if hi < lo:
            return []
        rule = self._parsed
        rebased = _rebased_start(rule, self.dtstart, lo.date())
        if rebased != self.dtstart:
            rule = rule.replace(dtstart=datetime.combine(rebased, time()))
        return [d.date() for d in rule.between(lo, hi, inc=True)]


def _add_months(d: date, months: int) -> date | None:
    y, m = divmod(d.year * 12 + d.month - 1 + months, 12)
    try:
        return d.replace(year=y, month=m + 1)
    except ValueError:  # the 31st in a short month, 29 February
        return None


def _rebased_start(rule: _rr.rrule, dtstart: date, lo: date) -> date:
    """``dtstart`` moved forward by whole periods of the rule (so its phase — weekday, day of
    month, every-N counting — is unchanged) to the last period start not after ``lo``. dateutil
    iterates from DTSTART, so a daily duty started years ago would otherwise walk every day since.
    """
    if lo <= dtstart:
        return dtstart
    interval = rule._interval
    if rule._freq in (_rr.DAILY, _rr.WEEKLY):
        step = interval * (7 if rule._freq == _rr.WEEKLY else 1)
        return dtstart + timedelta(days=(lo - dtstart).days // step * step)
    per = interval * (12 if rule._freq == _rr.YEARLY else 1)
    months = (lo.year - dtstart.year) * 12 + lo.month - dtstart.month
    k = months // per
    while k > 0:
        moved = _add_months(dtstart, k * per)
        if moved is not None and moved <= lo:
            return moved
        k -= 1
    return dtstart


@dataclass(frozen=True, slots=True)
class Occurrence:
    nominal: date  # the rule's date: the key of a check-off
    due_on: date  # after moving off a day off
    due_at: datetime  # aware, in the branch's zone

    @property
    def moved(self) -> bool:
        return self.nominal != self.due_on


def occurrences(
    rule: DutyRule, cal: WorkCalendar, start: date, end: date, tz: ZoneInfo
) -> list[Occurrence]:
    """Occurrences due in ``[start, end)`` after moving off days off; one per due date."""
    out: list[Occurrence] = []
    seen: set[date] = set()
    for nominal in rule.nominal_dates(start - MOVE_MARGIN, end + MOVE_MARGIN):
        due_on = cal.shift(nominal, rule.shift)
        if due_on is None or due_on in seen:
            continue  # skipped, or merged with an earlier occurrence moved onto the same day
        seen.add(due_on)
        if start <= due_on < end:
            out.append(Occurrence(nominal, due_on, datetime.combine(due_on, rule.due_time, tz)))
    out.sort(key=lambda o: o.due_on)
    return out


@dataclass(frozen=True)
class IcsPlan:
    """How to write a duty as one iCalendar event so that expanding it gives exactly the program's
    occurrences: the RRULE (bounded by ``until``), its first date, the rule's dates that do not
    happen where the rule says (EXDATE) and the dates they moved to (RDATE)."""

    rrule: str  # without UNTIL; "" for a duty due after events (dates are all in ``rdates``)
    first: date | None
    until: date  # last day included
    exdates: list[date]
    rdates: list[date]


def ics_plan(rule: DutyRule, cal: WorkCalendar, start: date, end: date, tz: ZoneInfo) -> IcsPlan:
    occ = occurrences(rule, cal, start, end, tz)
    due = [o.due_on for o in occ]
    if rule._parsed is None:
        return IcsPlan("", due[0] if due else None, end - timedelta(days=1), [], due[1:])
    until = end - timedelta(days=1)
    own_until = rule._parsed._until
    if own_until is not None:
        until = min(until, own_until.date())
    nominal = rule.nominal_dates(start, until + timedelta(days=1))
    if not nominal:  # the rule has no date of its own in range; moved-in dates only
        return IcsPlan("", due[0] if due else None, until, [], due[1:])
    body = ";".join(p for p in normalize_rrule(rule.rrule).split(";") if not p.startswith("UNTIL="))
    due_set, nominal_set = set(due), set(nominal)
    return IcsPlan(
        body,
        nominal[0],
        until,
        [d for d in nominal if d not in due_set],
        sorted(due_set - nominal_set),
    )
