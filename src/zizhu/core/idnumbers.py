"""Resident ID numbers (GB 11643-1999), validated with python-stdnum plus our own checks.

stdnum's `cn.ric` accepts birth dates in the future (stack-notes.md), so the date is checked
here; 15-digit legacy numbers are converted to 18 digits (exchange-formats.md).
"""

from dataclasses import dataclass
from datetime import date

from django.utils import timezone
from stdnum.cn import ric
from stdnum.exceptions import ValidationError

from zizhu.core.errors import InvalidIdNumber

_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK = "10X98765432"


@dataclass(frozen=True)
class IdNumber:
    value: str
    birth_date: date
    gender: str  # "男" / "女"
    area_code: str


def check_character(first17: str) -> str:
    total = sum(int(digit) * weight for digit, weight in zip(first17, _WEIGHTS, strict=True))
    return _CHECK[total % 11]


def upgrade_15(number: str) -> str:
    """A 15-digit legacy number: insert the century "19" and append the check character."""
    first17 = number[:6] + "19" + number[6:]
    return first17 + check_character(first17)


def parse_id_number(raw: str, *, today: date | None = None) -> IdNumber:
    """Validate and normalise; raise InvalidIdNumber with a message saying what is wrong."""
    number = (raw or "").strip().replace(" ", "").upper()
    if not number:
        raise InvalidIdNumber("身份证号不能为空。")
    if len(number) == 15 and number.isdigit():
        number = upgrade_15(number)
    if len(number) != 18 or not number[:17].isdigit() or number[17] not in "0123456789X":
        raise InvalidIdNumber("身份证号应为18位（最后一位可为X）或15位数字。")
    try:
        birth = ric.get_birth_date(number)
    except ValidationError:
        raise InvalidIdNumber("身份证号中的出生日期不是真实日期。") from None
    if birth > (today or timezone.localdate()):
        raise InvalidIdNumber("身份证号中的出生日期在未来。")
    if birth.year < 1900:
        raise InvalidIdNumber("身份证号中的出生日期早于1900年。")
    # stdnum's ric.validate() is not called: it also checks the area code against its table
    # *by birth year*, and lists 420117 (新洲区) only from 1998, so it rejects real Xinzhou
    # numbers of anyone born earlier. Area codes follow the place of issue, not of birth.
    if check_character(number[:17]) != number[17]:
        raise InvalidIdNumber("身份证号校验位错误，请核对是否录入有误。")
    gender = "男" if int(number[16]) % 2 == 1 else "女"
    return IdNumber(value=number, birth_date=birth, gender=gender, area_code=number[:6])


def make_id_number(area_code: str, birth_date: date, sequence: int, *, male: bool) -> str:
    """A valid fictitious number for demo and test data. `sequence` picks digits 15-16."""
    seq = sequence % 100
    gender_digit = (sequence // 100) % 5 * 2 + (1 if male else 0)
    first17 = f"{area_code}{birth_date:%Y%m%d}{seq:02d}{gender_digit}"
    return first17 + check_character(first17)
