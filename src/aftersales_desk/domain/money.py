"""Money as integer minor units (fen/cents): parsed from text exactly, never through float."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from aftersales_desk.i18n import _

MINOR_PER_UNIT = 100


def parse_money(text: str | int | Decimal) -> int:
    """``"12.3"`` → 1230, ``"¥1,234.50"`` → 123450. Raises ``ValueError`` with a translated message."""
    if isinstance(text, int):
        return text * MINOR_PER_UNIT
    raw = "".join(str(text).split()).replace(",", "").replace("，", "")
    for sign in ("¥", "￥", "元", "RMB", "CNY"):
        raw = raw.replace(sign, "")
    try:
        value = Decimal(raw.strip())
    except InvalidOperation:
        raise ValueError(_("Not an amount of money: {text}").format(text=text)) from None
    if not value.is_finite():
        raise ValueError(_("Not an amount of money: {text}").format(text=text))
    minor = value * MINOR_PER_UNIT
    if minor != minor.to_integral_value():
        raise ValueError(_("An amount can have at most two decimals: {text}").format(text=text))
    return int(minor)


def format_money(minor: int, *, symbol: str = "") -> str:
    """1230 → ``"12.30"`` (with ``symbol`` in front when given)."""
    sign = "-" if minor < 0 else ""
    units, cents = divmod(abs(minor), MINOR_PER_UNIT)
    return f"{sign}{symbol}{units:,}.{cents:02d}"


def apply_rate(minor: int, rate_basis_points: int) -> int:
    """``minor`` × rate, rate in basis points (1/100 of a percent), rounded half up to a fen."""
    value = Decimal(minor) * Decimal(rate_basis_points) / Decimal(10000)
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))
