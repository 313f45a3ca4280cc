"""Stock count rules without a database: tolerance (pieces or percent, whichever allows more) and
the checked tolerance setting."""

import pytest

from aftersales_desk.errors import ValidationError
from aftersales_desk.services.counts import (
    CountScope,
    over_tolerance,
    scope_text,
    validate_tolerance,
)


def test_over_tolerance_takes_the_larger_allowance():
    assert not over_tolerance(0, 10, (0, 0))
    assert over_tolerance(-1, 10, (0, 0))
    assert not over_tolerance(2, 10, (2, 0))
    assert over_tolerance(3, 10, (2, 0))
    assert not over_tolerance(-5, 100, (1, 5))  # 5 % of 100
    assert over_tolerance(-6, 100, (1, 5))
    assert not over_tolerance(1, 3, (1, 5))  # 5 % of 3 rounds down to 0: the piece allows it


def test_validate_tolerance():
    assert validate_tolerance({"滤清器": [1, 5]}) == {"滤清器": [1, 5], "*": [0, 0]}
    assert validate_tolerance({"": [2, 0]}) == {"*": [2, 0]}
    for bad in ({"x": [1]}, {"x": [-1, 0]}, {"x": [0, 101]}, {"x": ["1", 0]}):
        with pytest.raises(ValidationError):
            validate_tolerance(bad)


def test_scope_text():
    assert scope_text({}) == "Full stock"
    text = scope_text(CountScope(bins=("A-01",), abc="A").as_json())
    assert "A-01" in text and "class A" in text
