"""Validators of the archive with known-good and known-bad values."""

import pytest

from aftersales_desk.domain.archive import (
    check_id_number,
    check_phone,
    check_plate,
    check_resident_id,
    check_uscc,
    check_vin,
    mask_id,
    mask_phone,
    normalize_query,
    pinyin_keys,
    vin_check_digit,
)
from aftersales_desk.errors import ValidationError


@pytest.mark.parametrize("vin", ["1M8GDM9AXKP042788", "LSGPC54U7BF000016 ", "lsgpc54u7bf000016"])
def test_vin_good(vin):
    checked = check_vin(vin)
    assert checked.value == vin.strip().upper()
    assert checked.warnings == ()


def test_vin_wrong_check_digit_only_warns():
    checked = check_vin("1M8GDM9A1KP042788")
    assert checked.value == "1M8GDM9A1KP042788"
    assert checked.warnings and "X" in checked.warnings[0]
    assert vin_check_digit("1M8GDM9AXKP042788") == "X"


@pytest.mark.parametrize(
    "vin",
    [
        "1M8GDM9AXKP04278",
        "1M8GDM9AXKP0427888",
        "IM8GDM9AXKP042788",
        "1M8GDM9AXKP04278O",
        "1M8GDM9AXKP04278Q",
    ],
)
def test_vin_bad(vin):
    with pytest.raises(ValidationError) as err:
        check_vin(vin)
    assert err.value.field == "vin"


@pytest.mark.parametrize(
    ("raw", "stored"),
    [
        ("京A12345", "京A12345"),
        ("京A·12345", "京A12345"),
        ("粤B 8888挂", "粤B8888挂"),
        ("京AD12345", "京AD12345"),  # small new-energy vehicle
        ("沪A12345F", "沪A12345F"),  # large new-energy vehicle
        ("苏e·f1234", "苏EF1234"),
    ],
)
def test_plate_good(raw, stored):
    assert check_plate(raw).value == stored


@pytest.mark.parametrize(
    "raw", ["A12345", "京I12345", "京A1234", "京A123456", "京AX12345", "XA12345", "京A12345FF"]
)
def test_plate_bad(raw):
    with pytest.raises(ValidationError):
        check_plate(raw)


@pytest.mark.parametrize(
    ("raw", "stored"),
    [
        ("13812345678", "13812345678"),
        ("+86 138-1234-5678", "13812345678"),
        ("0086 13812345678", "13812345678"),
        ("8613812345678", "13812345678"),
        ("010-65881234", "01065881234"),
        ("(0316) 2345678", "03162345678"),
    ],
)
def test_phone_good(raw, stored):
    assert check_phone(raw).value == stored


def test_phone_without_area_code_warns():
    assert check_phone("65881234").warnings


@pytest.mark.parametrize("raw", ["1381234567", "23812345678", "138-1234-567a", "12345"])
def test_phone_bad(raw):
    with pytest.raises(ValidationError):
        check_phone(raw)


def test_resident_id():
    assert check_resident_id("11010519491231002x").value == "11010519491231002X"
    for bad in ("110105194912310021", "11010519491331002X", "1101051949123100"):
        with pytest.raises(ValidationError):
            check_resident_id(bad)


def test_uscc():
    assert check_uscc("9111000010169286X1").value == "9111000010169286X1"
    with pytest.raises(ValidationError):
        check_uscc("91110000101692861X")
    assert check_id_number("9111000010169286X1", "company").value
    with pytest.raises(ValidationError):
        check_id_number("9111000010169286X1", "person")


def test_masks():
    assert mask_phone("13812341234") == "138****1234"
    assert mask_phone("") == ""
    assert mask_id("11010519491231002X") == "110105********002X"


def test_pinyin_and_query():
    assert pinyin_keys("张三") == ("zhangsan", "zs")
    assert pinyin_keys("王小明")[1] == "wxm"
    assert normalize_query("京a·12 345") == "京A12345"


# --- lost customers: expected return and churn ---------------------------------------------------
def _v(day, km=0, due=None, due_km=None):
    from aftersales_desk.domain.archive import PaidVisit

    return PaidVisit(day, km, due, due_km)


def test_expected_return_rules_in_order():
    from datetime import date

    from aftersales_desk.domain.archive import expected_return, km_per_day

    d = date(2024, 1, 1)
    # 1. the next maintenance the last visit set: the earlier of its date and its mileage
    history = [_v(date(2023, 1, 1), 10000), _v(d, 22000, date(2024, 7, 1), 27000)]
    assert km_per_day(history) == 12000 / 365
    # 5000 km at ~32.9 km/day = 153 days → 2024-06-02, before 2024-07-01
    assert expected_return(history, default_days=180) == date(2024, 6, 2)
    history[-1] = _v(d, 22000, date(2024, 3, 1), 27000)
    assert expected_return(history, default_days=180) == date(2024, 3, 1)
    # 2. without a next maintenance: the vehicle's own average interval
    history = [_v(date(2023, 1, 1)), _v(date(2023, 3, 2)), _v(date(2023, 5, 1))]
    assert expected_return(history, default_days=180) == date(2023, 6, 30)  # every 60 days
    # an interval under a month counts as a month
    assert expected_return([_v(date(2023, 1, 1)), _v(date(2023, 1, 5))], default_days=180) == date(
        2023, 2, 4
    )
    # 3. one visit, km per day known from the purchase date: the branch's service interval
    one = [_v(date(2023, 7, 1), 6000)]
    # 6000 km in 181 days = 33.1 km/day; 5000 km take 151 days
    assert expected_return(one, default_days=180, service_km=5000, since=date(2023, 1, 1)) == date(
        2023, 11, 29
    )
    assert expected_return(one, default_days=180, service_km=5000) == date(2023, 12, 28)
    # 4. nothing to go by: the branch default
    assert expected_return([_v(d)], default_days=180) == date(2024, 6, 29)
    # no usable rate: readings less than a month apart, or the odometer going back
    assert km_per_day([_v(d, 100), _v(date(2024, 1, 20), 900)]) is None
    assert km_per_day([_v(date(2023, 1, 1), 900), _v(d, 100)]) is None


def test_churn_in_month():
    from datetime import date

    from aftersales_desk.domain.archive import churn_in_month, lapses

    def month(history, y, m):
        lapsed = lapses(history, default_days=180, margin_days=30)
        start = date(y, m, 1)
        end = date(y + (m == 12), m % 12 + 1, 1)
        return churn_in_month(lapsed, start, end)

    # one visit on 2023-01-01: expected 2023-06-30, lost from 2023-07-30
    once = [_v(date(2023, 1, 1))]
    assert month(once, 2022, 12) == (False, False)  # not a customer yet
    assert month(once, 2023, 6) == (True, False)
    assert month(once, 2023, 7) == (True, True)
    assert month(once, 2023, 8) == (False, False)  # lost already: not active any more
    # back in time (before 2023-07-30): not lost in July
    back = [*once, _v(date(2023, 7, 20))]
    assert month(back, 2023, 7) == (True, False)
    # back too late (a win-back in August): still lost in July
    late = [*once, _v(date(2023, 8, 15))]
    assert month(late, 2023, 7) == (True, True)
    assert month(late, 2023, 8) == (False, False)
    assert month(late, 2023, 9) == (True, False)  # active again after the win-back
