"""Per-branch settings (language, paper size, UI font, branch details) with defaults."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from aftersales_desk.data.models import Branch, Setting
from aftersales_desk.data.uow import Database
from aftersales_desk.domain.actor import Actor
from aftersales_desk.domain.roles import Permission
from aftersales_desk.errors import ValidationError
from aftersales_desk.i18n import LANGUAGES, _
from aftersales_desk.services.auth import require

PAPER_SIZES = ("A4", "A5", "241x140")

# Every setting a branch has, with its default. Modules add theirs here.
DEFAULTS: dict[str, Any] = {
    "language": "zh_CN",
    "paper_size": "A4",
    "ui_font_size": 10,
    "ui_font_family": "",
    # customer archive: the paper file's required documents (the seeds list ten for a car sale),
    # and when a vehicle counts as lost (default interval in months, then a margin in days)
    "archive_documents": [
        "保修单",
        "汽车开票通知单",
        "车辆出库单(蓝联)",
        "汽车购销合同",
        "新车开票结算单",
        "交车检验表",
        "合格证复印件",
        "机动车发票复印件",
        "身份证复印件",
        "交车服务验收清单",
    ],
    "archive_lost_months": 6,
    "archive_lost_margin_days": 30,
    "archive_service_km": 5000,  # km between services, for vehicles with a known km per day
    # daily schedule: the branch's zone for due times, China's holidays on/off, how many days
    # back undone duties stay on the agenda
    "schedule_timezone": "Asia/Shanghai",
    "schedule_public_holidays": True,
    "schedule_overdue_days": 31,
    "parts_allow_negative_stock": False,  # may a bin go below zero?
    "parts_discount_limit_percent": 10,  # counter-sale discount without the manager's approval
    "parts_consumption_months": 3,  # consumption window for replenishment suggestions
    "parts_overstock_months": 6,  # months of cover above which stock is over-stock
    "parts_slow_moving_days": 180,  # days without an issue after which stock is slow-moving
    "tool_loan_days": 7,  # a lent tool is due back after this many days
    # stock counts: tolerance per part category → [pieces, percent of the expected quantity];
    # "*" for every other category. A line whose variance exceeds both needs a recount.
    "counts_tolerance": {"*": [0, 0]},
    # work-order service clocks: count only opening hours on working days (else round the clock)
    "schedule_sla_working_hours": False,
    "schedule_work_start": "08:30",
    "schedule_work_end": "17:30",
    # the chain's limits in minutes: dispatched, customer contacted, on site / first feedback,
    # progress followed up, closed (30 min, 2 h, 24 h, 48 h, 72 h from the seeds); escalation
    # of orders open longer than this many days
    "schedule_sla_minutes": [30, 120, 1440, 2880, 4320],
    "schedule_escalate_days": 3,
    # callback queue: working days after a visit by visit type (a type left out is not called),
    # the second callback after a closed complaint, the maintenance reminder, retries, scores
    "callbacks_visit_days": {
        "maintenance": 3,
        "repair": 3,
        "warranty": 3,
        "accident": 3,
        "first_service": 3,
    },
    "callbacks_rules": ["visit", "second", "maintenance", "lost", "insurance"],  # enabled rules
    "callbacks_lookback_days": 60,  # visits and closed forms this far back are still called
    "callbacks_second_days": 2,  # working days after a form is closed
    "callbacks_maintenance_lead_days": 7,
    "callbacks_renewal_days": 30,  # call about a renewal when the policy ends within this many days  # remind this many days before maintenance is due
    "callbacks_km_per_day": 40,  # mileage rate when a vehicle's own is unknown
    "callbacks_upcoming_days": 7,  # how far ahead the queue shows upcoming calls
    "callbacks_lost_max_days": 730,  # lost customers whose last visit is older are not called
    "callbacks_max_attempts": 3,  # "no answer" this many times: unreachable
    "callbacks_low_score": 2,  # a score at or below this opens a quick-handling form
    "callbacks_form_days": 2,  # working days a quick-handling form has by default
    "callbacks_warranty_years": 3,  # a vehicle is within warranty this long after purchase
    "callbacks_departments": ["前台接待", "机修车间", "钣喷车间", "配件部", "洗车美容", "客户服务"],
    # sync with the central PostgreSQL: its address without the password (the password is in
    # the OS keyring), the TLS mode, and minutes between automatic syncs (0 = only by hand)
    "sync_url": "",
    "sync_sslmode": "prefer",
    "sync_auto_minutes": 0,
}


def _validate(key: str, value: Any) -> Any:
    if key not in DEFAULTS:
        raise ValidationError(_("Unknown setting: {key}").format(key=key), field=key)
    if key == "language" and value not in LANGUAGES:
        raise ValidationError(_("Unknown language: {value}").format(value=value), field=key)
    if key == "paper_size" and value not in PAPER_SIZES:
        raise ValidationError(_("Unknown paper size: {value}").format(value=value), field=key)
    if key == "ui_font_size" and (not isinstance(value, int) or not 7 <= value <= 24):
        raise ValidationError(_("The font size is a whole number from 7 to 24."), field=key)
    if isinstance(DEFAULTS[key], str) and not isinstance(value, str):
        raise ValidationError(_("Unknown setting: {key}").format(key=key), field=key)
    return value


@dataclass(frozen=True, slots=True)
class BranchInfo:
    code: str
    name: str
    address: str
    phone: str


class SettingsService:
    def __init__(self, db: Database, actor: Actor) -> None:
        self.db = db
        self.actor = actor

    def all(self) -> dict[str, Any]:
        with self.db.uow(self.actor) as uow:
            stored = {
                s.key: s.value
                for s in uow.session.scalars(
                    select(Setting).where(Setting.branch_id == self.actor.branch_id)
                )
            }
        return {key: stored.get(key, default) for key, default in DEFAULTS.items()}

    def get(self, key: str) -> Any:
        return self.all()[key]

    def update(self, values: dict[str, Any]) -> None:
        """Change several settings at once (all or none)."""
        require(self.actor, Permission.EDIT_BRANCH_SETTINGS)
        checked = {key: _validate(key, value) for key, value in values.items()}
        with self.db.uow(self.actor, write=True) as uow:
            rows = {
                s.key: s
                for s in uow.session.scalars(
                    select(Setting).where(Setting.branch_id == self.actor.branch_id)
                )
            }
            for key, value in checked.items():
                if key in rows:
                    rows[key].value = value
                else:
                    uow.session.add(Setting(branch_id=self.actor.branch_id, key=key, value=value))
            uow.commit()

    def branch(self) -> BranchInfo:
        with self.db.uow(self.actor) as uow:
            b = uow.session.get(Branch, self.actor.branch_id)
            assert b is not None
            return BranchInfo(b.code, b.name, b.address, b.phone)

    def update_branch(self, *, name: str, address: str, phone: str) -> None:
        require(self.actor, Permission.EDIT_BRANCH_SETTINGS)
        if not name.strip():
            raise ValidationError(_("The branch needs a name."), field="name")
        with self.db.uow(self.actor, write=True) as uow:
            b = uow.session.get(Branch, self.actor.branch_id)
            assert b is not None
            b.name, b.address, b.phone = name.strip(), address.strip(), phone.strip()
            uow.commit()
