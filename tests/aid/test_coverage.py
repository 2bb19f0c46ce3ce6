"""应助尽助: eligible students from department data, covered by an award or a reason, the
gaps per school, the pages and the work list."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Sequence
from datetime import date
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from tests.aid.test_migration import grant
from tests.factories import GuardianFactory, StudentFactory, fake_id
from zizhu.aid.models import CoverageReason, SchoolYear
from zizhu.aid.rules import current_school_year
from zizhu.aid.services.coverage import coverage_gaps, coverage_work, record_coverage_reason
from zizhu.core.errors import DomainError, NotPermitted
from zizhu.core.models import AuditEntry, OrgUnit, User
from zizhu.registry.models import Guardian, Student, StudentStatus
from zizhu.sources.services import import_dataset

CIVIL_HEADER = ("身份证号", "姓名", "救助类别", "状态", "开始日期", "结束日期", "户主身份证号")
DISABILITY_HEADER = ("身份证号", "姓名", "残疾类别", "残疾等级", "持证状态")


def dataset(kind: str, header: Sequence[str], rows: Sequence[Sequence[str]], actor: User) -> None:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    writer.writerows(rows)
    import_dataset(
        kind, buffer.getvalue().encode(), f"{kind}.csv", actor=actor, as_of=timezone.localdate()
    )


def civil(person: str, *, category: str = "低保", status: str = "在册") -> list[str]:
    return [person, "王大力", category, status, "2024-01-01", "", ""]


def year() -> SchoolYear:
    return current_school_year()


@pytest.fixture
def alice(school_a: OrgUnit) -> Student:
    return StudentFactory(school=school_a, name="张小花")


@pytest.fixture
def father(alice: Student) -> Guardian:
    guardian: Guardian = GuardianFactory(
        student=alice, id_number=fake_id(date(1985, 6, 1)), relation="父亲"
    )
    return guardian


@pytest.fixture
def dibao_father(father: Guardian, district_officer: User) -> Guardian:
    """Alice's father is on the 低保 roll (category 2)."""
    dataset("civil_affairs", CIVIL_HEADER, [civil(str(father.id_number))], district_officer)
    return father


def gap_names(actor: User, **kwargs: Any) -> list[str]:
    return [s.name for s in coverage_gaps(actor=actor, school_year=year(), **kwargs).gap_students]


# --- who is a gap ---------------------------------------------------------------------------


def test_a_student_whose_guardian_is_on_dibao_without_an_award_is_a_gap(
    dibao_father: Guardian, alice: Student, officer_a: User
) -> None:
    report = coverage_gaps(actor=officer_a, school_year=year())

    assert [s.name for s in report.gap_students] == ["张小花"]
    [row] = report.rows
    assert (row.eligible, row.covered, row.with_reason, row.gaps) == (1, 0, 0, 1)
    assert report.total.gaps == 1


def test_a_live_award_this_year_covers_the_student(
    dibao_father: Guardian, alice: Student, officer_a: User, district_officer: User
) -> None:
    grant(alice, district_officer)

    report = coverage_gaps(actor=officer_a, school_year=year())

    assert list(report.gap_students) == []
    assert report.rows[0].covered == 1


def test_an_award_of_another_year_or_a_stopped_one_does_not_cover(
    dibao_father: Guardian, alice: Student, officer_a: User, district_officer: User
) -> None:
    grant(alice, district_officer, year="2025-2026", start="2025-09")
    grant(alice, district_officer, programme="HS_TUITION_WAIVER", status="已停止")

    assert gap_names(officer_a) == ["张小花"]


def test_a_recorded_reason_explains_the_student(
    dibao_father: Guardian, alice: Student, officer_a: User
) -> None:
    record_coverage_reason(alice, actor=officer_a, school_year=year(), reason="家长书面放弃申请")

    report = coverage_gaps(actor=officer_a, school_year=year())

    assert list(report.gap_students) == []
    assert report.rows[0].with_reason == 1
    assert AuditEntry.objects.filter(action="coverage.reason_recorded").count() == 1


def test_an_exited_record_does_not_make_a_student_eligible(
    father: Guardian, officer_a: User, district_officer: User
) -> None:
    row = civil(str(father.id_number), status="已退出")
    dataset("civil_affairs", CIVIL_HEADER, [row], district_officer)

    report = coverage_gaps(actor=officer_a, school_year=year())

    assert report.rows == []
    assert list(report.gap_students) == []


def test_a_category_outside_1_to_6_does_not_count(
    father: Guardian, officer_a: User, district_officer: User
) -> None:
    row = civil(str(father.id_number), category="低保边缘")
    dataset("civil_affairs", CIVIL_HEADER, [row], district_officer)

    assert gap_names(officer_a) == []


def test_the_students_own_disability_record_counts(
    alice: Student, officer_a: User, district_officer: User
) -> None:
    row = [str(alice.id_number), alice.name, "肢体", "二级", "有效"]
    dataset("disability", DISABILITY_HEADER, [row], district_officer)

    assert gap_names(officer_a) == ["张小花"]


def test_only_the_latest_version_of_a_dataset_counts(
    dibao_father: Guardian, officer_a: User, district_officer: User
) -> None:
    someone_else = civil(fake_id(date(1980, 1, 1)))
    dataset("civil_affairs", CIVIL_HEADER, [someone_else], district_officer)

    assert gap_names(officer_a) == []


def test_a_student_not_in_school_is_not_eligible(
    dibao_father: Guardian, alice: Student, officer_a: User
) -> None:
    Student.objects.filter(pk=alice.pk).update(status=StudentStatus.SUSPENDED)

    assert gap_names(officer_a) == []


def test_students_out_of_reach_are_not_listed(
    dibao_father: Guardian, school_b: OrgUnit, officer_b: User, district_officer: User
) -> None:
    bob = StudentFactory(school=school_b, name="李小明")
    guardian = GuardianFactory(student=bob, id_number=fake_id(date(1983, 2, 2)))
    rows = [civil(str(dibao_father.id_number)), civil(str(guardian.id_number))]
    dataset("civil_affairs", CIVIL_HEADER, rows, district_officer)

    assert gap_names(officer_b) == ["李小明"]
    assert sorted(gap_names(district_officer)) == sorted(["李小明", "张小花"])
    report = coverage_gaps(actor=district_officer, school_year=year())
    assert report.total.eligible == 2
    assert len(report.rows) == 2


# --- recording a reason ---------------------------------------------------------------------


def test_recording_again_replaces_the_reason(
    dibao_father: Guardian, alice: Student, officer_a: User
) -> None:
    record_coverage_reason(alice, actor=officer_a, school_year=year(), reason="家长放弃")
    record_coverage_reason(alice, actor=officer_a, school_year=year(), reason="已享受其他资助")

    assert CoverageReason.objects.get(student=alice).reason == "已享受其他资助"
    latest = AuditEntry.objects.filter(action="coverage.reason_recorded").order_by("-pk")[0]
    assert latest.before == {"reason": "家长放弃"}


def test_officer_b_cannot_record_for_school_as_student(
    alice: Student, officer_b: User, principal_a: User
) -> None:
    with pytest.raises(NotPermitted):
        record_coverage_reason(alice, actor=officer_b, school_year=year(), reason="x")
    with pytest.raises(NotPermitted):
        record_coverage_reason(alice, actor=principal_a, school_year=year(), reason="x")
    assert not CoverageReason.objects.exists()


def test_a_blank_reason_is_refused(alice: Student, officer_a: User) -> None:
    with pytest.raises(DomainError, match="请填写"):
        record_coverage_reason(alice, actor=officer_a, school_year=year(), reason=" ")


# --- the work list and the pages ------------------------------------------------------------


def test_work_list_counts_the_schools_gaps(
    dibao_father: Guardian, officer_a: User, officer_b: User, district_officer: User
) -> None:
    [item] = coverage_work(officer_a)
    assert "本校有 1 名应助未助学生待处理" in item.title
    assert coverage_work(officer_b) == []
    assert coverage_work(district_officer) == []


@pytest.fixture
def login(client: Client) -> Callable[[User], Client]:
    def sign_in(user: User) -> Client:
        client.force_login(user)
        return client

    return sign_in


def test_home_shows_district_totals_and_exports_with_an_audit_row(
    login: Callable[[User], Client], dibao_father: Guardian, district_officer: User
) -> None:
    client = login(district_officer)

    content = client.get(reverse("aid:coverage_home")).content.decode()
    assert "邾城第一小学" in content
    assert "合计" in content

    response = client.get(reverse("aid:coverage_export"))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    assert AuditEntry.objects.filter(action="coverage.exported", actor=district_officer).exists()


def test_school_page_lists_gaps_with_the_matching_category_and_records_a_reason(
    login: Callable[[User], Client],
    dibao_father: Guardian,
    alice: Student,
    officer_a: User,
    school_a: OrgUnit,
) -> None:
    client = login(officer_a)
    url = reverse("aid:coverage_school", args=[school_a.pk])

    content = client.get(url).content.decode()
    assert "张小花" in content
    assert "第2类（父亲）" in content

    response = client.post(
        reverse("aid:coverage_reason", args=[alice.pk]),
        {"reason": "家长书面放弃申请", "year": year().code},
    )
    assert response.status_code == 302
    assert CoverageReason.objects.filter(student=alice).exists()
    assert "张小花" not in client.get(url).content.decode().split("应助未助学生")[-1]


def test_officer_b_gets_404_for_school_as_pages(
    login: Callable[[User], Client],
    dibao_father: Guardian,
    alice: Student,
    officer_b: User,
    school_a: OrgUnit,
) -> None:
    client = login(officer_b)
    assert client.get(reverse("aid:coverage_school", args=[school_a.pk])).status_code == 404
    response = client.post(reverse("aid:coverage_reason", args=[alice.pk]), {"reason": "x"})
    assert response.status_code == 404
    assert not CoverageReason.objects.exists()


def test_school_page_query_count_does_not_grow_with_gaps(
    login: Callable[[User], Client],
    officer_a: User,
    district_officer: User,
    school_a: OrgUnit,
    django_assert_max_num_queries: Any,
) -> None:
    def eligible_student() -> list[str]:
        student = StudentFactory(school=school_a)
        guardian = GuardianFactory(student=student, id_number=fake_id(date(1984, 4, 4)))
        return civil(str(guardian.id_number))

    dataset("civil_affairs", CIVIL_HEADER, [eligible_student()], district_officer)
    client = login(officer_a)
    url = reverse("aid:coverage_school", args=[school_a.pk])
    with CaptureQueriesContext(connection) as one:
        assert client.get(url).status_code == 200

    rows = [eligible_student() for _ in range(9)]
    dataset("civil_affairs", CIVIL_HEADER, rows, district_officer)
    with django_assert_max_num_queries(len(one.captured_queries)):
        response = client.get(url)
    assert len(response.context["rows"]) == 9
