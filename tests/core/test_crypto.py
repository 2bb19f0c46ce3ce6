"""Sensitive identifiers: encrypted at rest, found by a keyed hash, shown masked."""

from __future__ import annotations

from datetime import date

import pytest
from cryptography.exceptions import InvalidTag
from django.core.exceptions import ImproperlyConfigured
from django.db import connection
from django.test import override_settings

from tests.factories import StudentFactory, fake_id
from zizhu.core import crypto
from zizhu.core.crypto import Sensitive
from zizhu.core.models import OrgUnit
from zizhu.registry.models import Student

OTHER_KEY = "dGhpcmQtdGVzdC1vbmx5LWtleS0zMi1ieXRlcy1sbmc="  # 32 bytes, base64


def raw_column(model: type[Student], column: str, pk: int) -> str:
    """The stored text, read past the ORM so nothing is decrypted on the way."""
    table = connection.ops.quote_name(model._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {connection.ops.quote_name(column)} FROM {table} WHERE id = %s",  # noqa: S608
            [pk],
        )
        value: str = cursor.fetchone()[0]
    return value


def test_sensitive_values_round_trip_through_the_database(school_a: OrgUnit) -> None:
    number = fake_id(date(2013, 5, 6))
    student = StudentFactory(
        school=school_a, id_number=number, phone="13912345678", bank_account="6217001234567890"
    )

    loaded = Student.objects.get(pk=student.pk)

    assert loaded.id_number == number
    assert loaded.phone == "13912345678"
    assert loaded.bank_account == "6217001234567890"
    assert loaded.card_holder_id is None


def test_raw_column_holds_neither_the_clear_value_nor_its_digits(school_a: OrgUnit) -> None:
    number = fake_id(date(2013, 5, 6))
    student = StudentFactory(school=school_a, id_number=number, phone="13912345678")

    stored_id = raw_column(Student, "id_number", student.pk)
    stored_phone = raw_column(Student, "phone", student.pk)

    assert stored_id.startswith("t1$")
    assert number not in stored_id
    assert number[:17] not in stored_id
    assert number[6:14] not in stored_id  # the birth date
    assert "13912345678" not in stored_phone
    assert "12345678" not in stored_phone


def test_two_saves_of_the_same_value_give_different_ciphertexts(school_a: OrgUnit) -> None:
    student = StudentFactory(school=school_a, phone="13912345678")
    first = raw_column(Student, "phone", student.pk)

    student.save()
    second = raw_column(Student, "phone", student.pk)

    assert first != second
    assert Student.objects.get(pk=student.pk).phone == "13912345678"


def test_blind_index_is_filled_on_save_and_finds_the_student(school_a: OrgUnit) -> None:
    number = fake_id(date(2013, 5, 6))
    student = StudentFactory(school=school_a, id_number=number)

    digest = crypto.blind_index(number, Sensitive.ID_NUMBER)

    assert Student.objects.get(id_number_hash=digest) == student


def test_blind_index_is_stable_and_normalises_case_and_spaces() -> None:
    kind = Sensitive.ID_NUMBER

    assert crypto.blind_index("42011720120901000X", kind) == crypto.blind_index(
        "42011720120901000X", kind
    )
    assert crypto.blind_index("42011720120901000x", kind) == crypto.blind_index(
        " 420117 20120901 000X ", kind
    )
    assert len(crypto.blind_index("42011720120901000X", kind)) == 64


def test_blind_index_differs_by_kind() -> None:
    value = "13912345678"

    assert crypto.blind_index(value, Sensitive.PHONE) != crypto.blind_index(
        value, Sensitive.BANK_ACCOUNT
    )


def test_blind_index_survives_a_change_of_encryption_key() -> None:
    before = crypto.blind_index("13912345678", Sensitive.PHONE)
    with override_settings(ZIZHU_ENCRYPTION_KEYS=f"t9:{OTHER_KEY}", ZIZHU_ENCRYPTION_KEY_ID="t9"):
        assert crypto.blind_index("13912345678", Sensitive.PHONE) == before


@pytest.mark.parametrize(
    ("value", "kind", "masked"),
    [
        ("42011720120901123X", Sensitive.ID_NUMBER, "420117********123X"),
        ("13812345678", Sensitive.PHONE, "138****5678"),
        ("6217000010001234567", Sensitive.BANK_ACCOUNT, "***************4567"),
        ("", Sensitive.PHONE, ""),
        (None, Sensitive.ID_NUMBER, ""),
    ],
)
def test_mask_formats(value: str | None, kind: str, masked: str) -> None:
    assert crypto.mask(value, kind) == masked


def test_decrypting_with_a_missing_key_id_is_a_configuration_error() -> None:
    token = crypto.encrypt("13912345678", kind=Sensitive.PHONE)

    with (
        override_settings(ZIZHU_ENCRYPTION_KEYS=f"t9:{OTHER_KEY}", ZIZHU_ENCRYPTION_KEY_ID="t9"),
        pytest.raises(ImproperlyConfigured, match="t1"),
    ):
        crypto.decrypt(token, kind=Sensitive.PHONE)


def test_loading_a_row_whose_key_was_removed_is_a_configuration_error(
    school_a: OrgUnit,
) -> None:
    student = StudentFactory(school=school_a)

    with (
        override_settings(ZIZHU_ENCRYPTION_KEYS=f"t9:{OTHER_KEY}", ZIZHU_ENCRYPTION_KEY_ID="t9"),
        pytest.raises(ImproperlyConfigured),
    ):
        Student.objects.get(pk=student.pk)


def test_ciphertext_of_another_kind_does_not_decrypt() -> None:
    """The kind is bound in as associated data: a phone token cannot pass as an ID number."""
    token = crypto.encrypt("13912345678", kind=Sensitive.PHONE)

    with pytest.raises(InvalidTag):
        crypto.decrypt(token, kind=Sensitive.ID_NUMBER)


def test_tampered_ciphertext_does_not_decrypt() -> None:
    token = crypto.encrypt("13912345678", kind=Sensitive.PHONE)
    key_id, _, body = token.partition("$")
    flipped = body[:-6] + ("A" if body[-6] != "A" else "B") + body[-5:]

    with pytest.raises(InvalidTag):
        crypto.decrypt(f"{key_id}${flipped}", kind=Sensitive.PHONE)


def test_a_bad_key_list_is_a_configuration_error() -> None:
    with (
        override_settings(ZIZHU_ENCRYPTION_KEYS="short:c2hvcnQ=", ZIZHU_ENCRYPTION_KEY_ID="short"),
        pytest.raises(ImproperlyConfigured, match="32 bytes"),
    ):
        crypto.encrypt("x", kind=Sensitive.PHONE)
