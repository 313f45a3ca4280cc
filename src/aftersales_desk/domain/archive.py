"""Rules of the customer archive: VIN, Chinese plates (GA 36), phone numbers, resident ID and
unified social credit code (python-stdnum), masking of personal data, pinyin search keys.

Each ``check_*`` returns a ``Checked`` (normalised value plus warnings that do not block saving)
or raises ``ValidationError`` (an error that does). Empty input is allowed and returns ``""``;
callers decide whether a field is required.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache
from operator import mul
from typing import NamedTuple

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
    if len(vin) != 17:
        raise ValueError(vin)
    total = sum(map(mul, map(_VIN_VALUES.__getitem__, vin), _VIN_WEIGHTS))
    rest = total % 11
    return "X" if rest == 10 else str(rest)


_VIN_STRIP = re.compile(r"[\s\-]")


def check_vin(raw: str) -> Checked:
    vin = _VIN_STRIP.sub("", raw or "").upper()
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


_PLATE_STRIP = re.compile(r"[\s·•・\.\-]")


def normalize_plate(raw: str) -> str:
    """Upper case, without the middle dot, spaces or dashes (how plates are stored)."""
    return _PLATE_STRIP.sub("", raw or "").upper()


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


_PHONE_STRIP = re.compile(r"[\s\-()（）]")
_SPACES = re.compile(r"\s")


def normalize_phone(raw: str) -> str:
    if not raw:
        return ""
    digits = _PHONE_STRIP.sub("", str(raw))
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
    value = _SPACES.sub("", str(raw or "")).upper()
    if not value:
        return Checked("")
    try:
        return Checked(ric.validate(value))
    except StdnumError:
        raise ValidationError(
            _("{value} is not a valid resident ID number.").format(value=value), field="id_number"
        ) from None


def check_uscc(raw: str) -> Checked:
    value = _SPACES.sub("", str(raw or "")).upper()
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
_HAN_RUN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")


@lru_cache(maxsize=65536)
def _han_pinyin(run: str) -> tuple[str, ...]:
    """Pinyin syllables of a run of Chinese characters (pypinyin segments phrases within a run,
    so a run is the unit to remember: names repeat, 张伟 and 王芳 thousands of times)."""
    return tuple(lazy_pinyin(run))


def pinyin_keys(name: str) -> tuple[str, str]:
    """(full pinyin, initials) of a name: 张三 → ("zhangsan", "zs"); other characters kept."""
    syllables: list[str] = []
    at = 0
    for m in _HAN_RUN.finditer(name):
        syllables += name[at : m.start()]
        syllables += _han_pinyin(m.group())
        at = m.end()
    syllables += name[at:]
    syllables = [x for x in syllables if x.strip()]
    full = "".join(syllables).lower().replace(" ", "")
    initials = "".join(x[0] for x in syllables).lower()
    return full, initials


def normalize_query(raw: str) -> str:
    """A search term as stored keys are written: upper-case Latin, no dots, dashes or spaces."""
    return re.sub(r"[\s·•・\-]", "", raw or "").upper()


# --- lost customers -----------------------------------------------------------------------------
class PaidVisit(NamedTuple):
    """A visit that counts as a return (free campaign visits do not). A named tuple: a million
    of them are made when the lost customers are looked for."""

    day: date
    mileage_km: int = 0
    next_due_date: date | None = None
    next_due_km: int | None = None


MIN_INTERVAL_DAYS = 30


@dataclass(slots=True)
class VisitStats:
    """What the expectation needs of a vehicle's paid visits, kept up to date one visit at a
    time (a million visits are summarised in one pass, without keeping them)."""

    first_day: date
    count: int
    last: PaidVisit
    first_reading: tuple[date, int] | None  # the purchase date at 0 km, else the first odometer
    last_reading: tuple[date, int] | None  # the latest odometer reading

    @classmethod
    def start(cls, visit: PaidVisit, since: date | None = None) -> VisitStats:
        first = (since, 0) if since is not None else None
        stats = cls(visit.day, 0, visit, first, first)
        stats.add(visit)
        return stats

    def add(self, visit: PaidVisit) -> None:
        """Take in the next paid visit (visits come oldest first)."""
        self.count += 1
        self.last = visit
        if visit.mileage_km > 0:
            reading = (visit.day, visit.mileage_km)
            if self.first_reading is None:
                self.first_reading = reading
            self.last_reading = reading

    def km_per_day(self) -> float | None:
        if self.first_reading is None or self.last_reading is None:
            return None
        (d0, k0), (d1, k1) = self.first_reading, self.last_reading
        days = (d1 - d0).days
        if days < MIN_INTERVAL_DAYS or k1 <= k0:
            return None
        return (k1 - k0) / days


def summarise(history: Sequence[PaidVisit], since: date | None = None) -> VisitStats:
    stats = VisitStats.start(history[0], since)
    for visit in history[1:]:
        stats.add(visit)
    return stats


def km_per_day(history: Sequence[PaidVisit], since: date | None = None) -> float | None:
    """How far the vehicle is driven per day, from its odometer readings (and 0 km on its
    purchase date ``since``); None without two readings at least a month apart."""
    return summarise(history, since).km_per_day() if history else None


def expected_return(
    history: Sequence[PaidVisit],
    *,
    default_days: int,
    service_km: int = 0,
    since: date | None = None,
) -> date:
    """When a vehicle is expected back after the last of ``history`` (its paid visits, oldest
    first; ``since`` its purchase date); see ``expected_after``."""
    return expected_after(
        summarise(history, since), default_days=default_days, service_km=service_km
    )


def expected_after(stats: VisitStats, *, default_days: int, service_km: int = 0) -> date:
    """When a vehicle is expected back after its last paid visit:

    1. The next maintenance the last visit set: its date, or the day its mileage is reached at
       the vehicle's own km per day, whichever comes first.
    2. Else the vehicle's own average interval between visits (at least a month).
    3. Else the branch's service interval in km at the vehicle's own km per day.
    4. Else the branch's default interval in days."""
    last = stats.last
    due: list[date] = []
    if last.next_due_date is not None:
        due.append(last.next_due_date)
    rate = stats.km_per_day()
    if rate and last.next_due_km and last.mileage_km and last.next_due_km > last.mileage_km:
        due.append(
            last.day + timedelta(days=math.ceil((last.next_due_km - last.mileage_km) / rate))
        )
    if due:
        return min(due)
    if stats.count >= 2:
        interval = (last.day - stats.first_day).days / (stats.count - 1)
        return last.day + timedelta(days=max(MIN_INTERVAL_DAYS, round(interval)))
    if rate and service_km > 0:
        return last.day + timedelta(days=max(MIN_INTERVAL_DAYS, math.ceil(service_km / rate)))
    return last.day + timedelta(days=default_days)


class Lapse(NamedTuple):
    """After visit ``day`` the vehicle was expected by ``expected`` and counts as lost from
    ``lost_from`` (expected plus the margin) unless it came back before: ``returned``."""

    day: date
    expected: date
    lost_from: date
    returned: date | None

    @property
    def lost(self) -> bool:
        return self.returned is None or self.returned > self.lost_from


def lapses(
    history: Sequence[PaidVisit],
    *,
    default_days: int,
    margin_days: int,
    service_km: int = 0,
    since: date | None = None,
) -> list[Lapse]:
    """For each paid visit, what was expected after it, knowing only the visits up to it
    (one pass: the summary grows visit by visit)."""
    out = []
    stats: VisitStats | None = None
    margin = timedelta(days=margin_days)
    for i, visit in enumerate(history):
        if stats is None:
            stats = VisitStats.start(visit, since)
        else:
            stats.add(visit)
        expected = expected_after(stats, default_days=default_days, service_km=service_km)
        returned = history[i + 1].day if i + 1 < len(history) else None
        out.append(Lapse(visit.day, expected, expected + margin, returned))
    return out


def churn_in_month(lapsed: Sequence[Lapse], start: date, end: date) -> tuple[bool, bool]:
    """(active at ``start``, lost in [start, end)) for one vehicle: active if its latest visit
    before the month had not yet run out; lost if, from then on, a visit before ``end`` ran out
    inside the month without a return in time."""
    before = [i for i, lp in enumerate(lapsed) if lp.day < start]
    if not before or lapsed[before[-1]].lost_from < start:
        return False, False
    for lp in lapsed[before[-1] :]:
        if lp.day >= end:
            break
        if start <= lp.lost_from < end and lp.lost:
            return True, True
    return True, False
