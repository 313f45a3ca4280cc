"""Insurance renewals feed the callback queue: a vehicle whose policies end within
``callbacks_renewal_days`` gets one renewal call (both policies of the vehicle ending the same day
share it), due the day it is generated: the first day the vehicle is in the window (a policy
recorded when it is already inside the window is due at once, never in the past)."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from aftersales_desk.data.models.insurance import Policy
from aftersales_desk.i18n import N_, _
from aftersales_desk.services.callback_rules import (
    CUSTOMER_SERVICE,
    Candidate,
    branch_settings,
    register_rule,
)
from aftersales_desk.services.insurance import renewals_due


def renewal_calls(s: Session, branch_id: uuid.UUID, today: date) -> Iterable[Candidate]:
    # every policy found ends by today + days, so its window opened by today: the call is due today
    days = int(branch_settings(s, branch_id)["callbacks_renewal_days"])
    due = renewals_due(s, branch_id, today, days)
    if not due:
        return []
    info = {
        pid: (number, seller)
        for pid, number, seller in s.execute(
            select(Policy.id, Policy.policy_no, Policy.salesperson).where(
                Policy.id.in_([policy_id for _c, _v, policy_id, _e in due])
            )
        )
    }
    # one call per vehicle and end date: its compulsory and commercial policies together
    groups: dict[tuple[uuid.UUID, date], list[tuple[uuid.UUID, uuid.UUID]]] = {}
    for customer_id, vehicle_id, policy_id, end in due:
        groups.setdefault((vehicle_id, end), []).append((customer_id, policy_id))
    return [
        Candidate(
            key=f"renewal:{vehicle_id}:{end.isoformat()}",
            customer_id=policies[0][0],
            vehicle_id=vehicle_id,
            due_on=today,
            advisor=info[policies[0][1]][1] or "",
            department=CUSTOMER_SERVICE,
            note=_("Policies ending {date}: {numbers}").format(
                date=end.isoformat(), numbers=", ".join(info[p][0] for _c, p in policies)
            ),
        )
        for (vehicle_id, end), policies in groups.items()
    ]


register_rule("insurance", N_("Insurance renewal"), renewal_calls)
