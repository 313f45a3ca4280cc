from decimal import Decimal

import pytest

from aftersales_desk.domain.money import apply_rate, format_money, parse_money


@pytest.mark.parametrize(
    ("text", "minor"),
    [
        ("12.3", 1230),
        ("¥1,234.50", 123450),
        ("0.01", 1),
        ("-5", -500),
        (7, 700),
        (Decimal("2.5"), 250),
        ("1 000元", 100000),
    ],
)
def test_parse_money_exact(text, minor):
    assert parse_money(text) == minor


@pytest.mark.parametrize("text", ["abc", "1.234", "", "NaN", "inf"])
def test_parse_money_rejects(text):
    with pytest.raises(ValueError):
        parse_money(text)


def test_format_and_rate():
    assert format_money(123450) == "1,234.50"
    assert format_money(-5) == "-0.05"
    assert format_money(100, symbol="¥") == "¥1.00"
    assert apply_rate(10000, 1250) == 1250  # 12.5 % of 100.00
    assert apply_rate(333, 5000) == 167  # half up
