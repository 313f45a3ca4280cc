"""Insurance renewals feed the callback queue (one call per vehicle and end date)."""

from __future__ import annotations

from datetime import date

import aftersales_desk.services.modules  # noqa: F401  (every module's rules, as the program loads them)
from aftersales_desk.services.callbacks import Bucket, CallbackService, Filters
from aftersales_desk.services.insurance import InsuranceService
from tests.insurance_helpers import add_vehicle, policy_input


def test_policies_ending_within_the_window_queue_one_renewal_call(db, admin):
    insurance = InsuranceService(db, admin)
    cid, vid = add_vehicle(db, admin, "京A12345")
    _other_c, other_v = add_vehicle(db, admin, "京B54321", name="李娜")
    start = date(2025, 7, 1)  # ends 2026-06-30
    insurance.create_policy(policy_input(db, admin, "PDZA1", vid, start, kind="compulsory"))
    insurance.create_policy(policy_input(db, admin, "PDAA1", vid, start, kind="commercial"))
    insurance.create_policy(policy_input(db, admin, "PDZA2", other_v, date(2025, 9, 1)))

    callbacks = CallbackService(db, admin)
    assert callbacks.generate(date(2026, 5, 30)).added.get("insurance", 0) == 0  # 31 days ahead
    made = callbacks.generate(date(2026, 6, 1))
    assert made.added["insurance"] == 1  # both policies of the vehicle, one call
    assert callbacks.generate(date(2026, 6, 2)).added.get("insurance", 0) == 0  # never twice

    page = callbacks.page(Bucket.TODAY, today=date(2026, 6, 1), filters=Filters(rule="insurance"))
    [row] = page.rows
    assert row.customer_id == cid and row.due_on == date(2026, 6, 1)
    assert "PDZA1" in row.note and "PDAA1" in row.note and "2026-06-30" in row.note


def test_a_policy_found_inside_the_window_is_due_the_day_it_is_found(db, admin):
    # the queue was not generated while the policy entered its 30-day window: the call is due the
    # day it is generated, never on a day already past
    insurance = InsuranceService(db, admin)
    _cid, vid = add_vehicle(db, admin, "京A12345")
    insurance.create_policy(policy_input(db, admin, "PDZA1", vid, date(2025, 7, 1)))  # ends 06-30
    callbacks = CallbackService(db, admin)
    assert callbacks.generate(date(2026, 6, 20)).added["insurance"] == 1  # 10 days ahead
    page = callbacks.page(Bucket.TODAY, today=date(2026, 6, 20), filters=Filters(rule="insurance"))
    [row] = page.rows
    assert row.due_on == date(2026, 6, 20)
    assert (
        callbacks.page(
            Bucket.OVERDUE, today=date(2026, 6, 20), filters=Filters(rule="insurance")
        ).rows
        == []
    )
