"""`zizhu rotate_keys`: every value moves to the active key; the blind index stays put."""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import date

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.test import override_settings

from tests.factories import GuardianFactory, StaffFactory, StudentFactory, fake_id
from zizhu.core.audit import verify_chain
from zizhu.core.management.commands.rotate_keys import sensitive_models
from zizhu.core.models import AuditEntry, OrgUnit
from zizhu.registry.models import Guardian, Staff, Student

T1 = "t1:dGVzdC1vbmx5LWtleS1ub3Qtc2VjcmV0LTMyLWJ5dGU="
T2 = "t2:cm90YXRlZC10ZXN0LWtleS0zMi1ieXRlcy1sb25nISE="
ROTATED = {"ZIZHU_ENCRYPTION_KEYS": f"{T2},{T1}", "ZIZHU_ENCRYPTION_KEY_ID": "t2"}
SENSITIVE_COLUMNS = {
    Student: ("id_number", "phone", "bank_account", "card_holder_id"),
    Guardian: ("id_number", "phone"),
    Staff: ("id_number", "phone"),
}


def raw_tokens() -> dict[str, str]:
    """Every stored sensitive value, read past the ORM: {"table.column#pk": ciphertext}."""
    tokens: dict[str, str] = {}
    with connection.cursor() as cursor:
        for model, columns in SENSITIVE_COLUMNS.items():
            table = connection.ops.quote_name(model._meta.db_table)
            for column in columns:
                name = connection.ops.quote_name(column)
                cursor.execute(f"SELECT id, {name} FROM {table} WHERE {name} IS NOT NULL")  # noqa: S608
                for pk, token in cursor.fetchall():
                    tokens[f"{model._meta.db_table}.{column}#{pk}"] = token
    return tokens


def hashes() -> list[tuple[object, ...]]:
    return list(Student.objects.order_by("pk").values_list("id_number_hash", "phone_hash"))


@pytest.fixture
def register(school_a: OrgUnit) -> Iterator[list[Student]]:
    students = [
        StudentFactory(school=school_a, card_holder_id=fake_id(date(1984, 2, 3))) for _ in range(5)
    ]
    for student in students[:3]:
        GuardianFactory(student=student)
    StaffFactory(school=school_a, phone="13700001111")
    yield students


def rotate(*args: str) -> str:
    out = io.StringIO()
    call_command("rotate_keys", *args, stdout=out)
    return out.getvalue()


def test_every_model_with_sensitive_columns_is_found() -> None:
    found = {model: {f.name for f in fields} for model, fields in sensitive_models()}

    for model, columns in SENSITIVE_COLUMNS.items():
        assert found[model] == set(columns)


def test_rotation_reencrypts_every_value_under_the_active_key(register: list[Student]) -> None:
    before = raw_tokens()
    expected = {s.pk: (s.id_number, s.phone, s.card_holder_id) for s in register}
    hashes_before = hashes()
    assert all(token.startswith("t1$") for token in before.values())

    with override_settings(**ROTATED):
        output = rotate("--batch", "2")
        after = raw_tokens()

        assert after.keys() == before.keys()
        assert all(token.startswith("t2$") for token in after.values())
        for student in Student.objects.all():
            assert (student.id_number, student.phone, student.card_holder_id) == expected[
                student.pk
            ]
    assert "registry.student.id_number: 5" in output
    assert "registry.guardian.id_number: 3" in output
    assert hashes() == hashes_before


def test_old_key_can_be_dropped_after_rotation(register: list[Student]) -> None:
    with override_settings(**ROTATED):
        rotate()

    with override_settings(ZIZHU_ENCRYPTION_KEYS=T2, ZIZHU_ENCRYPTION_KEY_ID="t2"):
        assert sorted(s.id_number for s in Student.objects.all()) == sorted(
            s.id_number for s in register
        )
        assert Guardian.objects.filter(phone__isnull=False).count() == 3


def test_rotation_writes_one_audit_row_with_counts(register: list[Student]) -> None:
    with override_settings(**ROTATED):
        rotate()

    entry = AuditEntry.objects.get(action="crypto.keys_rotated")
    assert entry.actor is None
    assert entry.actor_label == "系统命令"
    assert entry.after is not None
    assert entry.after["key_id"] == "t2"
    assert entry.after["counts"]["registry.student.bank_account"] == 5
    assert entry.after["counts"]["registry.staff.phone"] == 1
    assert verify_chain().ok


def test_second_run_changes_nothing(register: list[Student]) -> None:
    with override_settings(**ROTATED):
        rotate()
        once = raw_tokens()
        output = rotate()

        assert raw_tokens() == once
    assert "registry.student.id_number: 0" in output


def test_dry_run_writes_nothing(register: list[Student]) -> None:
    before = raw_tokens()

    with override_settings(**ROTATED):
        output = rotate("--dry-run")

    assert raw_tokens() == before
    assert not AuditEntry.objects.filter(action="crypto.keys_rotated").exists()
    assert "registry.student.id_number: 5" in output


def test_rotation_with_a_missing_old_key_stops_with_a_clear_error(
    register: list[Student],
) -> None:
    with (
        override_settings(ZIZHU_ENCRYPTION_KEYS=T2, ZIZHU_ENCRYPTION_KEY_ID="t2"),
        pytest.raises(CommandError, match="t1"),
    ):
        rotate()
