"""The audit chain: append-only through the ORM, and tampering in the database is found."""

from __future__ import annotations

import itertools
from datetime import date
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection, transaction

from zizhu.core import audit, services
from zizhu.core.models import AuditEntry, AuditHead, AuditImmutable, CalendarYear, OrgUnit, User

pytestmark = pytest.mark.django_db


@pytest.fixture
def busy_chain(sysadmin: User, officer_a: User, officer_b: User, school_a: OrgUnit) -> list[int]:
    """Several services have written; returns the ids of the rows in order."""
    services.save_calendar_year(
        2027, actor=sysadmin, holidays=[(date(2027, 1, 1), "元旦")], workdays=[], source="测试"
    )
    services.complete_calendar_year(CalendarYear.objects.get(year=2027), actor=sysadmin)
    services.reveal_sensitive(
        officer_a, "phone", actor=officer_a, unit=school_a, reason="核对联系方式"
    )
    ids = list(AuditEntry.objects.order_by("pk").values_list("pk", flat=True))
    assert len(ids) >= 10
    return ids


def _raw(sql: str, params: list[object]) -> None:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def _verify() -> tuple[int, str]:
    """Run `zizhu audit verify`; returns its exit status and what it printed."""
    out, err = StringIO(), StringIO()
    try:
        call_command("audit", "verify", stdout=out, stderr=err)
    except SystemExit as exit_:
        return int(exit_.code or 0), out.getvalue() + err.getvalue()
    return 0, out.getvalue() + err.getvalue()


def test_chain_verifies_after_services_write(busy_chain: list[int]) -> None:
    report = audit.verify_chain()
    assert report.ok
    assert report.checked == len(busy_chain)
    assert busy_chain == list(range(1, len(busy_chain) + 1))


def test_each_row_chains_onto_the_previous_one(busy_chain: list[int]) -> None:
    rows = list(AuditEntry.objects.order_by("pk"))
    assert rows[0].prev_hash == audit.GENESIS
    for previous, current in itertools.pairwise(rows):
        assert current.prev_hash == previous.hash
    head = AuditHead.objects.get()
    assert (head.last_id, head.last_hash) == (rows[-1].pk, rows[-1].hash)


def test_a_row_edited_in_the_database_is_found(busy_chain: list[int]) -> None:
    target = busy_chain[4]
    _raw("UPDATE core_auditentry SET action = %s WHERE id = %s", ["user.nothing", target])
    report = audit.verify_chain()
    assert report.broken_at == target
    assert "被修改" in report.reason
    assert report.checked == 4


def test_a_row_edited_with_a_recomputed_hash_breaks_the_next_link(busy_chain: list[int]) -> None:
    """A forger who also recomputes the row's own hash is caught by the next row."""
    target = busy_chain[3]
    _raw("UPDATE core_auditentry SET actor_label = %s WHERE id = %s", ["冒名者", target])
    forged = audit._content_hash(AuditEntry.objects.get(pk=target))
    _raw("UPDATE core_auditentry SET hash = %s WHERE id = %s", [forged, target])
    report = audit.verify_chain()
    assert report.broken_at == busy_chain[4]
    assert "前一条记录的哈希不符" in report.reason


def test_a_row_deleted_in_the_middle_is_found(busy_chain: list[int]) -> None:
    target = busy_chain[5]
    _raw("DELETE FROM core_auditentry WHERE id = %s", [target])
    report = audit.verify_chain()
    assert report.broken_at == target
    assert "缺失" in report.reason


def test_the_last_row_deleted_is_found_through_the_head(busy_chain: list[int]) -> None:
    last = busy_chain[-1]
    _raw("DELETE FROM core_auditentry WHERE id = %s", [last])
    report = audit.verify_chain()
    assert report.broken_at == last
    assert "末尾记录被删除" in report.reason


def test_saving_an_existing_row_is_refused(busy_chain: list[int]) -> None:
    entry = AuditEntry.objects.get(pk=busy_chain[0])
    entry.action = "user.nothing"
    with pytest.raises(AuditImmutable, match="只能追加"):
        entry.save()


def test_deleting_a_row_is_refused(busy_chain: list[int]) -> None:
    with pytest.raises(AuditImmutable, match="不能删除"):
        AuditEntry.objects.get(pk=busy_chain[0]).delete()


def test_queryset_update_and_delete_are_refused(busy_chain: list[int]) -> None:
    with pytest.raises(AuditImmutable):
        AuditEntry.objects.filter(pk=busy_chain[0]).update(action="user.nothing")
    with pytest.raises(AuditImmutable):
        AuditEntry.objects.all().delete()
    with pytest.raises(AuditImmutable):
        AuditEntry.objects.bulk_update(list(AuditEntry.objects.all()[:1]), ["action"])
    assert audit.verify_chain().ok


def test_record_writes_who_where_and_what(officer_a: User, school_a: OrgUnit) -> None:
    with transaction.atomic():
        entry = audit.record(
            "student.updated",
            actor=officer_a,
            subject=school_a,
            org_unit=school_a,
            before={"grade": "五年级"},
            after={"grade": "六年级", "on": date(2026, 9, 1)},
        )
    entry = AuditEntry.objects.get(pk=entry.pk)
    assert entry.actor == officer_a
    assert entry.role == "学校资助专干@4201170101"
    assert entry.subject_type == "core.orgunit"
    assert entry.subject_id == str(school_a.pk)
    assert entry.after == {"grade": "六年级", "on": "2026-09-01"}
    assert audit.verify_chain().ok


def test_verify_command_reports_an_intact_chain(busy_chain: list[int]) -> None:
    status, output = _verify()
    assert status == 0
    assert f"审计链完整：{len(busy_chain)} 条记录" in output


def test_verify_command_exits_1_naming_the_broken_row(busy_chain: list[int]) -> None:
    target = busy_chain[2]
    _raw("UPDATE core_auditentry SET after = NULL WHERE id = %s", [target])
    status, output = _verify()
    assert status == 1
    assert f"第 {target} 条记录" in output
    assert "被修改" in output
