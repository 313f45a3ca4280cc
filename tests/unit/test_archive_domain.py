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
