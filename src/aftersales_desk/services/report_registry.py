"""The ``report NAME`` command's registry: each module registers its reports here with the formats
it writes; the period comes from ``--date``, ``--week YYYY-Www`` or ``--month YYYY-MM``."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

from aftersales_desk.data.uow import Database
from aftersales_desk.domain.actor import Actor
from aftersales_desk.errors import UsageError
from aftersales_desk.i18n import _
from aftersales_desk.services.progress import Progress


@dataclass(frozen=True, slots=True)
class Period:
    kind: str  # "date", "week" or "month"
    start: date  # first day
    end: date  # day after the last day (exclusive)
    label: str  # as given: 2026-11-23, 2026-W48, 2026-11

    def days(self) -> int:
        return (self.end - self.start).days


def parse_period(
    *, day: str | None = None, week: str | None = None, month: str | None = None
) -> Period:
    given = [v for v in (day, week, month) if v]
    if len(given) != 1:
        raise UsageError(_("Give exactly one of --date, --week or --month."))
    if day:
        try:
            d = date.fromisoformat(day)
        except ValueError:
            raise UsageError(_("A date is YYYY-MM-DD: {value}").format(value=day)) from None
        return Period("date", d, d + timedelta(days=1), d.isoformat())
    if week:
        m = re.fullmatch(r"(\d{4})-?W(\d{1,2})", week.strip(), flags=re.IGNORECASE)
        try:
            if not m:
                raise ValueError
            start = date.fromisocalendar(int(m[1]), int(m[2]), 1)
        except ValueError:
            raise UsageError(
                _("A week is YYYY-Www, e.g. 2026-W48: {value}").format(value=week)
            ) from None
        return Period("week", start, start + timedelta(days=7), f"{m[1]}-W{int(m[2]):02d}")
    assert month is not None
    m = re.fullmatch(r"(\d{4})-(\d{1,2})", month.strip())
    if not m or not 1 <= int(m[2]) <= 12:
        raise UsageError(_("A month is YYYY-MM, e.g. 2026-11: {value}").format(value=month))
    start = date(int(m[1]), int(m[2]), 1)
    end = date(start.year + (start.month == 12), start.month % 12 + 1, 1)
    return Period("month", start, end, f"{m[1]}-{int(m[2]):02d}")


ReportWriter = Callable[[Database, Actor, Period, Path, Progress], None]


@dataclass(frozen=True)
class ReportSpec:
    name: str
    title: str  # English msgid (N_), translated when shown
    formats: tuple[str, ...]  # file suffixes it writes: "xlsx", "pdf"
    periods: tuple[str, ...]  # period kinds it accepts
    write: ReportWriter


REPORTS: dict[str, ReportSpec] = {}


def register(spec: ReportSpec) -> ReportSpec:
    REPORTS[spec.name] = spec
    return spec


def run_report(
    db: Database, actor: Actor, name: str, period: Period, out: Path, progress: Progress
) -> None:
    spec = REPORTS.get(name)
    if spec is None:
        raise UsageError(
            _("Unknown report {name}; reports: {names}").format(
                name=name, names=", ".join(sorted(REPORTS)) or "-"
            )
        )
    fmt = out.suffix.lower().lstrip(".")
    if fmt not in spec.formats:
        raise UsageError(
            _("The report {name} is written as {formats}, not {fmt}.").format(
                name=name, formats=", ".join(spec.formats), fmt=fmt or "?"
            )
        )
    if period.kind not in spec.periods:
        raise UsageError(
            _("The report {name} takes {kinds}.").format(
                name=name, kinds=", ".join(f"--{k}" for k in spec.periods)
            )
        )
    out.parent.mkdir(parents=True, exist_ok=True)
    spec.write(db, actor, period, out, progress)
