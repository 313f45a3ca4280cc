"""The branch's parts counter settings (negative stock, discount limit, report thresholds, tool
loan days): read with their defaults, checked and saved together."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from aftersales_desk.data.uow import Database
from aftersales_desk.domain.actor import Actor
from aftersales_desk.errors import ValidationError
from aftersales_desk.i18n import N_, _
from aftersales_desk.services.settings import SettingsService


@dataclass(frozen=True)
class SettingSpec:
    key: str
    label: str  # N_ msgid
    kind: str  # "bool" or "int"
    low: int = 0
    high: int = 0


SPECS = [
    SettingSpec("parts_allow_negative_stock", N_("Allow negative stock"), "bool"),
    SettingSpec(
        "parts_discount_limit_percent",
        N_("Counter-sale discount without approval (%)"),
        "int",
        0,
        100,
    ),
    SettingSpec("parts_consumption_months", N_("Consumption window (months)"), "int", 1, 24),
    SettingSpec("parts_overstock_months", N_("Over-stock above (months of cover)"), "int", 1, 60),
    SettingSpec(
        "parts_slow_moving_days", N_("Slow-moving after (days without issue)"), "int", 7, 3650
    ),
    SettingSpec("tool_loan_days", N_("Tool loan (days)"), "int", 1, 365),
]


def parts_settings(db: Database, actor: Actor) -> dict[str, Any]:
    values = SettingsService(db, actor).all()
    return {spec.key: values[spec.key] for spec in SPECS}


def save_parts_settings(db: Database, actor: Actor, values: dict[str, Any]) -> None:
    """Check every value against its range, then save them all at once (managers)."""
    checked: dict[str, Any] = {}
    specs = {s.key: s for s in SPECS}
    for key, value in values.items():
        spec = specs.get(key)
        if spec is None:
            raise ValidationError(_("Unknown setting: {key}").format(key=key), field=key)
        if spec.kind == "bool":
            checked[key] = bool(value)
        elif (
            not isinstance(value, int)
            or isinstance(value, bool)
            or not (spec.low <= value <= spec.high)
        ):
            raise ValidationError(
                _("{setting} is a whole number from {low} to {high}.").format(
                    setting=_(spec.label), low=spec.low, high=spec.high
                ),
                field=key,
            )
        else:
            checked[key] = value
    SettingsService(db, actor).update(checked)
