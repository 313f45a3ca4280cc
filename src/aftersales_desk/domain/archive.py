"""Rules of the customer archive: VIN, Chinese plates (GA 36), phone numbers, resident ID and
unified social credit code (python-stdnum), masking of personal data, pinyin search keys.

Each ``check_*`` returns a ``Checked`` (normalised value plus warnings that do not block saving)
or raises ``ValidationError`` (an error that does). Empty input is allowed and returns ``""``;
callers decide whether a field is required.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from pypinyin import lazy_pinyin
from stdnum.cn import ric, uscc
from stdnum.exceptions import ValidationError as StdnumError

from aftersales_desk.errors import ValidationError
from aftersales_desk.i18n import _


@dataclass(frozen=True, slots=True)
class Checked:
    value: str
    warnings: tuple[str, ...] = ()


# --- VIN ----------------------------------------------------------------------------------------
_VIN_CHARS = re.compile(r"^[A-HJ-NPR-Z0-9]{17}$")
_VIN_VALUES = {
    **{str(d): d for d in range(10)},
    **dict(zip("ABCDEFGH", range(1, 9), strict=True)),
    **dict(zip("JKLMN", range(1, 6), strict=True)),
    "P": 7,
    "R": 9,
    **dict(zip("STUVWXYZ", range(2, 10), strict=True)),
}
_VIN_WEIGHTS = (8, 7, 6, 5, 4, 3, 2, 10, 0, 9, 8, 7, 6, 5, 4, 3, 2)


def vin_check_digit(vin: str) -> str:
    """The ISO 3779 / GB 16735 check digit (position 9) of a 17-character VIN."""
    total = sum(_VIN_VALUES[c] * w for c, w in zip(vin, _VIN_WEIGHTS, strict=True))
    rest = total % 11
    return "X" if rest == 10 else str(rest)


def check_vin(raw: str) -> Checked:
    vin = re.sub(r"[\s\-]", "", raw or "").upper()
    if not vin:
        return Checked("")
    if len(vin) != 17:
        raise ValidationError(
            _("A VIN has 17 characters; {vin} has {n}.").format(vin=vin, n=len(vin)), field="vin"
        )
    if not _VIN_CHARS.match(vin):
        raise ValidationError(
            _("A VIN uses digits and capital letters except I, O and Q: {vin}").format(vin=vin),
            field="vin",
        )
    if vin[8] != vin_check_digit(vin):
        return Checked(
            vin,
            (
                _(
                    "The check digit of VIN {vin} (9th character) should be {digit}; "
                    "imported vehicles may not carry one."
                ).format(vin=vin, digit=vin_check_digit(vin)),
            ),
        )
    return Checked(vin)


# --- plates (GA 36-2018) ------------------------------------------------------------------------
PROVINCES = "京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼"
_L = "A-HJ-NP-Z"  # letters used on plates: no I, no O
_PLATE_RE = re.compile(
    rf"^[{PROVINCES}][{_L}]"
    rf"(?:[{_L}0-9]{{4}}[{_L}0-9挂学警港澳领试超]"  # ordinary 7-character plate
    rf"|[DF][{_L}0-9][0-9]{{4}}"  # small new-energy vehicle (8 characters)
    rf"|[0-9]{{5}}[DF])$"  # large new-energy vehicle (8 characters)
)


def normalize_plate(raw: str) -> str:
    """Upper case, without the middle dot, spaces or dashes (how plates are stored)."""
    return re.sub(r"[\s·•・\.\-]", "", raw or "").upper()


def check_plate(raw: str) -> Checked:
    plate = normalize_plate(raw)
    if not plate:
        return Checked("")
    if not _PLATE_RE.match(plate):
        raise ValidationError(
            _(
                "{plate} is not a Chinese plate number (province character, a letter, then 5 "
                "letters or digits; 6 for new-energy vehicles)."
            ).format(plate=plate),
            field="plate",
        )
    return Checked(plate)


# --- phones -------------------------------------------------------------------------------------
_MOBILE = re.compile(r"^1[3-9][0-9]{9}$")
_LANDLINE = re.compile(r"^0[1-9][0-9]{1,2}[2-9][0-9]{6,7}$")


def normalize_phone(raw: str) -> str:
    digits = re.sub(r"[\s\-()（）]", "", str(raw or ""))
    for prefix in ("+86", "0086"):
        if digits.startswith(prefix):
            digits = digits[len(prefix) :]
    if digits.startswith("86") and len(digits) == 13 and _MOBILE.match(digits[2:]):
        digits = digits[2:]
    return digits


def check_phone(raw: str, *, field: str = "phone") -> Checked:
    phone = normalize_phone(raw)
    if not phone:
        return Checked("")
    if not phone.isdigit():
        raise ValidationError(
            _("A phone number has only digits: {phone}").format(phone=raw), field=field
        )
    if _MOBILE.match(phone) or _LANDLINE.match(phone):
        return Checked(phone)
    if 7 <= len(phone) <= 8 and phone[0] != "0":
        return Checked(phone, (_("{phone} has no area code.").format(phone=phone),))
    raise ValidationError(
        _("{phone} is neither a mobile number (11 digits) nor a landline with area code.").format(
            phone=phone
        ),
        field=field,
    )


# --- resident ID / unified social credit code ---------------------------------------------------
def check_resident_id(raw: str) -> Checked:
    value = re.sub(r"\s", "", str(raw or "")).upper()
    if not value:
        return Checked("")
    try:
        return Checked(ric.validate(value))
    except StdnumError:
        raise ValidationError(
            _("{value} is not a valid resident ID number.").format(value=value), field="id_number"
        ) from None


def check_uscc(raw: str) -> Checked:
    value = re.sub(r"\s", "", str(raw or "")).upper()
    if not value:
        return Checked("")
    try:
        return Checked(uscc.validate(value))
    except StdnumError:
        raise ValidationError(
            _("{value} is not a valid unified social credit code.").format(value=value),
            field="id_number",
        ) from None


def check_id_number(raw: str, kind: str) -> Checked:
    """Resident ID for a person, unified social credit code for a company."""
    return check_uscc(raw) if kind == "company" else check_resident_id(raw)


# --- masking ------------------------------------------------------------------------------------
def mask_phone(phone: str) -> str:
    """138****1234 for a mobile; the middle of a landline hidden the same way."""
    if not phone:
        return ""
    if len(phone) <= 6:
        return "*" * len(phone)
    return phone[:3] + "*" * (len(phone) - 7) + phone[-4:]


def mask_id(value: str) -> str:
    """First six and last four characters shown: 110105********002X."""
    if not value:
        return ""
    if len(value) <= 10:
        return "*" * len(value)
    return value[:6] + "*" * (len(value) - 10) + value[-4:]


# --- search keys --------------------------------------------------------------------------------
def pinyin_keys(name: str) -> tuple[str, str]:
    """(full pinyin, initials) of a name: 张三 → ("zhangsan", "zs"); other characters kept."""
    syllables = [x for x in lazy_pinyin(name, errors=lambda chars: list(chars)) if x.strip()]
    full = "".join(syllables).lower().replace(" ", "")
    initials = "".join(x[0] for x in syllables).lower()
    return full, initials


def normalize_query(raw: str) -> str:
    """A search term as stored keys are written: upper-case Latin, no dots, dashes or spaces."""
    return re.sub(r"[\s·•・\-]", "", raw or "").upper()
