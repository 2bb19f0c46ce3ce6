"""Resident ID numbers: checksum, real and past birth date, 15-digit legacy conversion."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from django.utils import timezone
from hypothesis import given, settings
from hypothesis import strategies as st

from zizhu.core.errors import InvalidIdNumber
from zizhu.core.idnumbers import check_character, make_id_number, parse_id_number

CHINESE = re.compile(r"[\u4e00-\u9fff]")
TODAY = date(2026, 6, 1)

# Any area code is accepted: codes follow the place of issue (stdnum's by-birth-year area
# table would reject 420117 before 1998, see test_xinzhou_number_born_before_1998_is_accepted).
areas = st.sampled_from(["420117", "420100", "110101", "420000"])
birth_dates = st.dates(min_value=date(1950, 1, 1), max_value=date(2025, 12, 31))
sequences = st.integers(min_value=0, max_value=499)

# The first parse loads stdnum's area-code database from disk, which can overrun hypothesis's
# per-example deadline on a busy machine; the deadline would only make the tests flaky.
no_deadline = settings(deadline=None)


@no_deadline
@given(area=areas, birth=birth_dates, sequence=sequences, male=st.booleans())
def test_every_generated_number_parses_and_keeps_birth_date_and_gender(
    area: str, birth: date, sequence: int, male: bool
) -> None:
    number = make_id_number(area, birth, sequence, male=male)

    parsed = parse_id_number(number, today=TODAY)

    assert parsed.value == number
    assert parsed.birth_date == birth
    assert parsed.gender == ("男" if male else "女")
    assert parsed.area_code == area


@no_deadline
@given(
    birth=st.dates(min_value=date(1950, 1, 1), max_value=date(2025, 12, 31)),
    sequence=sequences,
    male=st.booleans(),
)
def test_every_xinzhou_number_parses(birth: date, sequence: int, male: bool) -> None:
    number = make_id_number("420117", birth, sequence, male=male)

    assert parse_id_number(number, today=TODAY).birth_date == birth


@no_deadline
@given(
    area=areas,
    birth=birth_dates,
    sequence=sequences,
    position=st.integers(min_value=0, max_value=16),
    shift=st.integers(min_value=1, max_value=9),
)
def test_any_single_digit_change_in_the_first_17_is_rejected(
    area: str, birth: date, sequence: int, position: int, shift: int
) -> None:
    number = make_id_number(area, birth, sequence, male=True)
    changed = str((int(number[position]) + shift) % 10)
    mistyped = number[:position] + changed + number[position + 1 :]

    with pytest.raises(InvalidIdNumber) as error:
        parse_id_number(mistyped, today=TODAY)
    assert CHINESE.search(error.value.message)


def test_a_wrong_check_character_is_rejected_with_a_chinese_message() -> None:
    number = make_id_number("420117", date(2012, 9, 1), 7, male=True)
    wrong = number[:17] + ("0" if number[17] != "0" else "1")

    with pytest.raises(InvalidIdNumber, match="校验位"):
        parse_id_number(wrong, today=TODAY)


def test_lower_case_x_is_accepted_and_upper_cased() -> None:
    # 42011720120901000 weighs to a remainder of 2, whose check character is X.
    parsed = parse_id_number("42011720120901000x", today=TODAY)

    assert parsed.value == "42011720120901000X"
    assert parsed.gender == "女"


def test_spaces_around_and_inside_are_ignored() -> None:
    assert parse_id_number(" 420117 20120901000X ", today=TODAY).value == "42011720120901000X"


def test_a_15_digit_legacy_number_is_converted_to_18_digits() -> None:
    # 110101 850601 123 → insert "19": 11010119850601123. Weighted sum with
    # 7 9 10 5 8 4 2 1 6 3 7 9 10 5 8 4 2 is 180; 180 mod 11 = 4 → check character "8".
    parsed = parse_id_number("110101850601123", today=TODAY)

    assert parsed.value == "110101198506011238"
    assert parsed.birth_date == date(1985, 6, 1)
    assert parsed.gender == "男"  # 17th digit 3 is odd


def test_a_future_birth_date_is_rejected() -> None:
    number = make_id_number("420117", TODAY + timedelta(days=1), 1, male=True)

    with pytest.raises(InvalidIdNumber, match="未来"):
        parse_id_number(number, today=TODAY)


def test_a_future_birth_date_is_rejected_against_the_real_clock() -> None:
    number = make_id_number("420117", timezone.localdate() + timedelta(days=1), 1, male=True)

    with pytest.raises(InvalidIdNumber, match="未来"):
        parse_id_number(number)


def test_todays_birth_date_is_accepted() -> None:
    number = make_id_number("420117", TODAY, 1, male=True)

    assert parse_id_number(number, today=TODAY).birth_date == TODAY


def test_an_impossible_date_is_rejected() -> None:
    first17 = "420117" + "20140230" + "001"
    number = first17 + check_character(first17)

    with pytest.raises(InvalidIdNumber, match="不是真实日期"):
        parse_id_number(number, today=TODAY)


@pytest.mark.parametrize(
    "raw",
    ["4201172014030100", "4201172014030100123", "42011720140301001", "", "   "],
)
def test_wrong_length_is_rejected_with_a_chinese_message(raw: str) -> None:
    with pytest.raises(InvalidIdNumber) as error:
        parse_id_number(raw, today=TODAY)
    assert CHINESE.search(error.value.message)


@pytest.mark.parametrize("raw", ["42011720140301001A", "4201172014O301001X", "X20117201403010011"])
def test_letters_other_than_a_final_x_are_rejected(raw: str) -> None:
    with pytest.raises(InvalidIdNumber, match="18位"):
        parse_id_number(raw, today=TODAY)


def test_xinzhou_number_born_before_1998_is_accepted() -> None:
    number = make_id_number("420117", date(1985, 6, 1), 12, male=False)

    assert parse_id_number(number, today=TODAY).birth_date == date(1985, 6, 1)
