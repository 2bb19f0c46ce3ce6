"""Migrating current recipients (受助学生): rule-breaking history accepted, malformed rows
refused all or nothing, the job, the upload page and the `import-awards` command."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Sequence
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import xlsxwriter
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client
from django.urls import reverse
from python_calamine import CalamineWorkbook

from tests.factories import SchoolFactory, StudentFactory, fake_id
from zizhu.aid.models import Award, AwardSource, AwardStatus
from zizhu.aid.services.migration import import_awards, start_award_import
from zizhu.core.errors import DomainError, ImportRejected, NotPermitted
from zizhu.core.models import AuditEntry, JobStatus, OrgUnit, Stage, User
from zizhu.registry.models import Student

HEADER = (
    "身份证号",
    "姓名",
    "学校代码",
    "资助项目",
    "学年",
    "困难类别",
    "困难等级",
    "年度金额",
    "开始月份",
    "结束月份",
    "状态",
)


def award_row(
    student: Student,
    *,
    school: OrgUnit | None = None,
    programme: str = "COMPULSORY_LIVING",
    year: str = "2026-2027",
    category: str = "2",
    tier: str = "特别困难",
    amount: str = "1250.00",
    start: str = "2026-09",
    end: str = "",
    status: str = "有效",
    id_number: str | None = None,
) -> list[str]:
    return [
        id_number or str(student.id_number),
        student.name,
        (school or student.school).code,
        programme,
        year,
        category,
        tier,
        amount,
        start,
        end,
        status,
    ]


def awards_file(rows: Sequence[Sequence[str]], *, encoding: str = "utf-8") -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(HEADER)
    writer.writerows(rows)
    return buffer.getvalue().encode(encoding)


def grant(student: Student, actor: User, **fields: Any) -> Award:
    """A live award for `student`, created through the migration import (the real path)."""
    import_awards(awards_file([award_row(student, **fields)]), "awards.csv", actor=actor)
    return Award.objects.filter(student=student).latest("pk")


@pytest.fixture
def alice(school_a: OrgUnit) -> Student:
    return StudentFactory(school=school_a, name="张小花")


@pytest.fixture
def bob(school_a: OrgUnit) -> Student:
    return StudentFactory(school=school_a, name="李小明")


# --- history accepted ------------------------------------------------------------------------


def test_duplicates_and_mutually_exclusive_programmes_are_imported_as_history(
    district_officer: User, alice: Student, bob: Student
) -> None:
    rows = [
        award_row(alice),
        award_row(alice),  # the same programme twice in one year
        award_row(bob, programme="HS_STIPEND", amount="2000"),
        award_row(bob, programme="中职国家助学金", amount="2000"),  # excluded by HS_STIPEND
    ]

    summary = import_awards(awards_file(rows), "awards.csv", actor=district_officer)

    assert summary["rows"] == 4
    assert summary["flags"]["duplicates"] == 1
    assert summary["flags"]["exclusive"] == 1
    awards = Award.objects.order_by("pk")
    assert awards.count() == 4
    assert {a.source for a in awards} == {AwardSource.MIGRATION}
    assert {a.status for a in awards} == {AwardStatus.LIVE}
    assert [a.programme.code for a in awards.filter(student=bob)] == ["HS_STIPEND", "VOC_STIPEND"]
    first = awards.first()
    assert first is not None
    assert first.start_month == date(2026, 9, 1)
    assert first.annual_amount == Decimal("1250.00")
    assert first.category is not None and first.category.number == 2
    assert first.tier.name == "特别困难"
    audit = AuditEntry.objects.filter(action="award.imported")
    assert audit.count() == 1
    assert audit.get().after["rows"] == 4


def test_a_school_other_than_the_registers_is_kept_as_the_file_says(
    district_officer: User, alice: Student, school_b: OrgUnit
) -> None:
    summary = import_awards(
        awards_file([award_row(alice, school=school_b)]), "awards.csv", actor=district_officer
    )

    assert Award.objects.get(student=alice).school == school_b
    assert summary["flags"]["school_mismatch"] == 1


def test_a_stopped_row_without_end_month_stops_in_its_start_month(
    district_officer: User, alice: Student, bob: Student
) -> None:
    rows = [
        award_row(alice, status="已停止", start="2026-09"),
        award_row(bob, status="已停止", start="2026-09", end="2026-10"),
    ]

    import_awards(awards_file(rows), "awards.csv", actor=district_officer)

    stopped_alice = Award.objects.get(student=alice)
    assert stopped_alice.status == AwardStatus.STOPPED
    assert stopped_alice.end_month == date(2026, 9, 1)
    assert Award.objects.get(student=bob).end_month == date(2026, 10, 1)


def test_gb18030_csv_is_read(district_officer: User, alice: Student) -> None:
    content = awards_file(
        [award_row(alice, programme="义务教育家庭经济困难学生生活补助")], encoding="gb18030"
    )

    import_awards(content, "受助学生.csv", actor=district_officer)

    assert Award.objects.get(student=alice).programme.code == "COMPULSORY_LIVING"


def test_xlsx_is_read(district_officer: User, alice: Student) -> None:
    buffer = io.BytesIO()
    workbook = xlsxwriter.Workbook(buffer, {"in_memory": True})
    sheet = workbook.add_worksheet()
    sheet.write_row(0, 0, HEADER)
    sheet.write_row(1, 0, award_row(alice))
    workbook.close()

    import_awards(buffer.getvalue(), "受助学生.xlsx", actor=district_officer)

    assert Award.objects.filter(student=alice).count() == 1


# --- malformed rows refused ---------------------------------------------------------------------


def _unregistered() -> dict[str, str]:
    return {"id_number": fake_id(date(2013, 5, 1))}


MALFORMED = [
    pytest.param({"id_number": "420117201403010000"}, "身份证号", "", id="bad-id"),
    pytest.param({"__unregistered__": ""}, "身份证号", "学籍库", id="not-in-register"),
    pytest.param({"school_code": "9999999999"}, "学校代码", "不存在", id="unknown-school"),
    pytest.param({"programme": "PRESCHOOL"}, "资助项目", "未知", id="unknown-programme"),
    pytest.param({"amount": "12.345"}, "年度金额", "两位小数", id="bad-amount"),
    pytest.param({"amount": "一千"}, "年度金额", "数字", id="amount-not-a-number"),
    pytest.param({"start": "2026/09"}, "开始月份", "YYYY-MM", id="bad-month"),
    pytest.param({"end": "2026-13"}, "结束月份", "YYYY-MM", id="bad-end-month"),
    pytest.param({"start": "2026-10", "end": "2026-09"}, "结束月份", "早于", id="end-before-start"),
    pytest.param({"year": "2030-2031"}, "学年", "尚未", id="unknown-school-year"),
    pytest.param({"year": "2026-2028"}, "学年", "相邻", id="malformed-school-year"),
    pytest.param({"category": "8"}, "困难类别", "1–7", id="bad-category"),
    pytest.param({"tier": "很困难"}, "困难等级", "特别困难", id="unknown-tier"),
    pytest.param({"status": "暂停"}, "状态", "有效", id="bad-status"),
]


@pytest.mark.parametrize(("change", "column", "reason"), MALFORMED)
def test_a_malformed_row_rejects_the_whole_file(
    district_officer: User,
    alice: Student,
    bob: Student,
    change: dict[str, str],
    column: str,
    reason: str,
) -> None:
    fields: dict[str, Any] = dict(change)
    if "__unregistered__" in fields:
        fields = _unregistered()
    school_code = fields.pop("school_code", None)
    bad = award_row(bob, **fields)
    if school_code is not None:
        bad[2] = school_code
    content = awards_file([award_row(alice), bad])

    with pytest.raises(ImportRejected) as rejected:
        import_awards(content, "awards.csv", actor=district_officer)

    assert not Award.objects.exists()
    assert not AuditEntry.objects.filter(action="award.imported").exists()
    [error] = rejected.value.report
    assert error["row"] == 3
    assert error["column"] == column
    assert reason in str(error["reason"])


def test_every_bad_row_is_reported_at_once(
    district_officer: User, alice: Student, bob: Student
) -> None:
    content = awards_file(
        [award_row(alice, amount="abc"), award_row(bob, programme="X", start="2026")]
    )

    with pytest.raises(ImportRejected) as rejected:
        import_awards(content, "awards.csv", actor=district_officer)

    found = sorted((str(e["row"]), str(e["column"])) for e in rejected.value.report)
    assert found == [("2", "年度金额"), ("3", "开始月份"), ("3", "资助项目")]


def test_a_missing_column_is_refused(district_officer: User) -> None:
    with pytest.raises(ImportRejected, match="缺少必需的列"):
        import_awards("身份证号,姓名\n".encode(), "awards.csv", actor=district_officer)


def test_school_officer_cannot_import(officer_a: User, alice: Student) -> None:
    with pytest.raises(NotPermitted):
        import_awards(awards_file([award_row(alice)]), "awards.csv", actor=officer_a)
    assert not Award.objects.exists()


def test_the_same_file_twice_is_refused(district_officer: User, alice: Student) -> None:
    content = awards_file([award_row(alice)])
    import_awards(content, "awards.csv", actor=district_officer)

    with pytest.raises(DomainError, match="已于"):
        import_awards(content, "awards-again.csv", actor=district_officer)
    assert Award.objects.count() == 1


# --- the job and the upload page ----------------------------------------------------------------


def test_the_job_imports_and_reports_counts(district_officer: User, alice: Student) -> None:
    upload = SimpleUploadedFile("受助学生.csv", awards_file([award_row(alice)]))

    job = start_award_import(upload, actor=district_officer)

    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED
    assert job.result["导入条数"] == 1
    assert "受助学生导入完成" in job.message
    assert Award.objects.filter(student=alice).exists()


def test_a_rejected_job_keeps_an_error_report(district_officer: User, alice: Student) -> None:
    upload = SimpleUploadedFile("受助学生.csv", awards_file([award_row(alice, amount="x")]))

    job = start_award_import(upload, actor=district_officer)

    job.refresh_from_db()
    assert job.status == JobStatus.REJECTED
    assert job.report
    assert not Award.objects.exists()


@pytest.fixture
def client_for(client: Client) -> Callable[[User], Client]:
    def sign_in(user: User) -> Client:
        client.force_login(user)
        return client

    return sign_in


def test_upload_page_starts_the_job_and_shows_it(
    client_for: Callable[[User], Client], district_officer: User, alice: Student
) -> None:
    client = client_for(district_officer)
    upload = SimpleUploadedFile("受助学生.csv", awards_file([award_row(alice)]))

    response = client.post(reverse("aid:migration_upload"), {"file": upload})

    assert response.status_code == 302
    job_pk = int(response["Location"].rstrip("/").split("/")[-1])
    assert response["Location"] == reverse("core:job_detail", args=[job_pk])
    assert Award.objects.filter(student=alice).exists()


def test_upload_page_refuses_other_file_types(
    client_for: Callable[[User], Client], district_officer: User
) -> None:
    client = client_for(district_officer)
    upload = SimpleUploadedFile("受助学生.txt", b"x")

    response = client.post(reverse("aid:migration_upload"), {"file": upload})

    assert response.status_code == 200
    assert "只能上传 CSV 或 XLSX" in response.content.decode()


def test_upload_page_is_refused_to_a_school_officer(
    client_for: Callable[[User], Client], officer_a: User
) -> None:
    response = client_for(officer_a).get(reverse("aid:migration_upload"))

    assert response.status_code == 403
    assert AuditEntry.objects.filter(action="access.denied", actor=officer_a).exists()


# --- the command --------------------------------------------------------------------------------


def test_command_imports_and_exits_zero(
    tmp_path: Path, district_officer: User, alice: Student, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "受助学生.csv"
    path.write_bytes(awards_file([award_row(alice)]))

    call_command("import_awards", str(path), user="district_officer")

    assert Award.objects.filter(student=alice).count() == 1
    assert "受助学生导入完成" in capsys.readouterr().out


def test_command_reads_the_user_from_the_environment(
    tmp_path: Path, district_officer: User, alice: Student, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "awards.csv"
    path.write_bytes(awards_file([award_row(alice)]))
    monkeypatch.setenv("ZIZHU_CLI_USER", "district_officer")

    call_command("import_awards", str(path))

    assert Award.objects.filter(student=alice).exists()


def test_command_exits_one_with_a_report_on_rejection(
    tmp_path: Path, district_officer: User, alice: Student
) -> None:
    path = tmp_path / "awards.csv"
    path.write_bytes(awards_file([award_row(alice, amount="abc")]))

    with pytest.raises(SystemExit) as exited:
        call_command("import_awards", str(path), user="district_officer")

    assert exited.value.code == 1
    report = tmp_path / "awards-错误报告.xlsx"
    rows = CalamineWorkbook.from_path(str(report)).get_sheet_by_index(0).to_python()
    assert rows[0] == ["行号", "列", "值", "原因"]
    assert rows[1][:3] == ["2", "年度金额", "abc"]
    assert not Award.objects.exists()


def test_command_without_a_user_fails(
    tmp_path: Path, alice: Student, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "awards.csv"
    path.write_bytes(awards_file([award_row(alice)]))
    monkeypatch.delenv("ZIZHU_CLI_USER", raising=False)

    with pytest.raises(CommandError, match="--user") as failed:
        call_command("import_awards", str(path))
    assert failed.value.returncode == 1


def test_command_refuses_an_unpermitted_user(
    tmp_path: Path, officer_a: User, alice: Student
) -> None:
    path = tmp_path / "awards.csv"
    path.write_bytes(awards_file([award_row(alice)]))

    with pytest.raises(CommandError, match="权限"):
        call_command("import_awards", str(path), user="officer_a")
    assert not Award.objects.exists()


def test_a_high_school_award_keeps_its_tier_amount(district_officer: User) -> None:
    school = SchoolFactory(stage=Stage.SENIOR)
    student = StudentFactory(school=school, grade="高一")

    award = grant(student, district_officer, programme="HS_STIPEND", tier="比较困难", amount="2000")

    assert award.annual_amount == Decimal("2000.00")
    assert award.tier.name == "比较困难"


def test_a_file_with_only_the_header_is_refused(district_officer: User) -> None:
    with pytest.raises(DomainError, match="只有表头"):
        import_awards(awards_file([]), "awards.csv", actor=district_officer)
    assert not AuditEntry.objects.filter(action="award.imported").exists()
