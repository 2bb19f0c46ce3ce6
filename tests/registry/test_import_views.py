"""Register import pages: upload, the job it starts, what the import did, and who may see it."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from datetime import date

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from python_calamine import CalamineWorkbook

from zizhu.core.idnumbers import make_id_number
from zizhu.core.models import AuditEntry, Job, JobStatus, OrgUnit, User
from zizhu.registry import formats
from zizhu.registry.imports import school_year_start
from zizhu.registry.models import RegisterImport, StatusChange, Student, StudentStatus
from zizhu.registry.views import imports as import_views

LIST = reverse("registry:import_list")
CREATE = reverse("registry:import_create")
STUDENT_HEADERS = [column.header for column in formats.STUDENTS]


def detail_url(record: RegisterImport) -> str:
    return reverse("registry:import_detail", args=[record.pk])


def sixth_grader_birth() -> date:
    """A birth date that fits 六年级 this school year (about 11 on 1 September)."""
    return date(school_year_start(timezone.localdate()).year - 11, 3, 1)


def student_id(serial: int, *, male: bool = True) -> str:
    return make_id_number("420117", sixth_grader_birth(), serial, male=male)


def student_row(
    number: str, name: str, school: OrgUnit, *, status: str = "在读", class_name: str = "1班"
) -> list[str]:
    male = int(number[16]) % 2 == 1
    enrolled = date(school_year_start(timezone.localdate()).year - 5, 9, 1)
    return [
        number,
        name,
        "男" if male else "女",
        school.code,
        "六年级",
        class_name,
        "否",
        status,
        enrolled.isoformat(),
        "新洲区邾城街李家村",
        "",
        "13912345678",
        "6217001234567890123",
        "",
    ]


def csv_file(rows: Sequence[Sequence[str]], name: str = "students.csv") -> SimpleUploadedFile:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(STUDENT_HEADERS)
    writer.writerows(rows)
    return SimpleUploadedFile(name, buffer.getvalue().encode("utf-8"), content_type="text/csv")


def with_bad_checksum(number: str) -> str:
    return number[:17] + ("0" if number[17] != "0" else "1")


def signed_in(client: Client, user: User) -> Client:
    client.force_login(user)
    return client


def upload(client: Client, **files: SimpleUploadedFile) -> Job:
    response = client.post(CREATE, files)
    assert response.status_code == 302, response.content.decode()
    job = Job.objects.latest("pk")
    assert response["Location"] == reverse("core:job_detail", args=[job.pk])
    return job


# --- the upload form -------------------------------------------------------------------------


def test_form_lists_the_required_headers_from_the_formats(
    client: Client, district_officer: User
) -> None:
    page = signed_in(client, district_officer).get(CREATE).content.decode()

    for columns in (formats.SCHOOLS, formats.STUDENTS, formats.GUARDIANS, formats.STAFF):
        for column in columns:
            assert f"{column.header}（{column.key}）" in page
    assert page.count('accept=".csv,.xlsx"') == 4
    for label in ("学校文件", "学生文件", "监护人文件", "教职工文件"):
        assert label in page


def test_form_needs_at_least_one_file(client: Client, district_officer: User) -> None:
    response = signed_in(client, district_officer).post(CREATE, {})

    assert response.status_code == 200
    assert "请至少选择一个文件" in response.content.decode()
    assert not Job.objects.exists()


def test_form_refuses_other_file_types(client: Client, district_officer: User) -> None:
    response = signed_in(client, district_officer).post(
        CREATE, {"students": SimpleUploadedFile("students.txt", b"x")}
    )

    assert "只能上传 CSV 或 XLSX" in response.content.decode()
    assert not Job.objects.exists()


def test_form_refuses_files_over_the_limit(
    client: Client, district_officer: User, school_a: OrgUnit, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(import_views, "MAX_UPLOAD_MB", 0)

    response = signed_in(client, district_officer).post(
        CREATE, {"students": csv_file([student_row(student_id(1), "王小明", school_a)])}
    )

    assert "文件超过 0 MB" in response.content.decode()
    assert not Job.objects.exists()


@pytest.mark.parametrize("persona", ["outsider", "principal_a", "district_head"])
def test_people_without_register_import_are_refused(
    client: Client, persona: str, request: pytest.FixtureRequest
) -> None:
    user: User = request.getfixturevalue(persona)
    signed_in(client, user)

    assert client.get(LIST).status_code == 403
    assert client.get(CREATE).status_code == 403


# --- a good file and a bad one -----------------------------------------------------------------


def test_valid_students_file_imports_and_the_detail_shows_counts(
    client: Client, district_officer: User, school_a: OrgUnit
) -> None:
    signed_in(client, district_officer)
    rows = [
        student_row(student_id(1), "王小明", school_a),
        student_row(student_id(2, male=False), "李小红", school_a),
    ]

    job = upload(client, students=csv_file(rows))

    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED, job.message
    record = RegisterImport.objects.get(job=job)
    job_page = client.get(reverse("core:job_detail", args=[job.pk])).content.decode()
    assert detail_url(record) in job_page
    assert "新增 2，更新 0" in job_page
    page = client.get(detail_url(record)).content.decode()
    assert "students.csv" in page
    assert record.files[0]["sha256"] in page
    assert "王小明" in page and "李小红" in page
    student = Student.objects.get(name="王小明")
    assert reverse("registry:student_detail", args=[student.pk]) in page
    assert "139****5678" in page
    assert "13912345678" not in page
    assert student.id_number not in page
    assert "新增" in page
    assert Student.objects.count() == 2
    assert detail_url(record) in client.get(LIST).content.decode()


def test_bad_row_rejects_the_file_with_a_downloadable_report(
    client: Client, district_officer: User, school_a: OrgUnit
) -> None:
    signed_in(client, district_officer)
    bad = with_bad_checksum(student_id(2))
    rows = [student_row(student_id(1), "王小明", school_a), student_row(bad, "李小刚", school_a)]

    job = upload(client, students=csv_file(rows))

    job.refresh_from_db()
    assert job.status == JobStatus.REJECTED
    assert not Student.objects.exists()
    job_page = client.get(reverse("core:job_detail", args=[job.pk])).content.decode()
    assert "未通过校验" in job_page
    assert "下载错误报告" in job_page
    response = client.get(reverse("core:job_report", args=[job.pk]))
    assert response.status_code == 200
    content = b"".join(response.streaming_content)  # type: ignore[arg-type]
    sheet = CalamineWorkbook.from_filelike(io.BytesIO(content)).get_sheet_by_index(0).to_python()
    bad_rows = [[str(cell) for cell in row] for row in sheet if bad in [str(c) for c in row]]
    assert len(bad_rows) == 1
    assert "3" in {cell.removesuffix(".0") for cell in bad_rows[0]}
    assert any("校验位" in cell for cell in bad_rows[0])
    assert AuditEntry.objects.filter(action="job.report_downloaded", actor=district_officer)
    record = RegisterImport.objects.get(job=job)
    detail = client.get(detail_url(record)).content.decode()
    assert "未通过校验" in detail
    assert reverse("core:job_report", args=[job.pk]) in detail


def test_reimport_shows_what_changed_and_records_the_status_change(
    client: Client, district_officer: User, school_a: OrgUnit
) -> None:
    signed_in(client, district_officer)
    number = student_id(1)
    upload(client, students=csv_file([student_row(number, "王小明", school_a)]))

    job = upload(
        client,
        students=csv_file(
            [student_row(number, "王小明", school_a, status="休学", class_name="2班")]
        ),
    )

    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED, job.message
    page = client.get(detail_url(RegisterImport.objects.get(job=job))).content.decode()
    assert "班级：1班 → 2班" in page
    assert "学籍状态：在读 → 休学" in page
    assert "更新" in page
    student = Student.objects.get()
    assert student.status == StudentStatus.SUSPENDED
    assert StatusChange.objects.filter(student=student, kind="suspension").exists()


# --- reach ------------------------------------------------------------------------------------


def test_school_officer_imports_own_school_and_others_cannot_see_it(
    client: Client, officer_a: User, officer_b: User, district_officer: User, school_a: OrgUnit
) -> None:
    signed_in(client, officer_a)
    job = upload(client, students=csv_file([student_row(student_id(1), "王小明", school_a)]))
    record = RegisterImport.objects.get(job=job)
    assert client.get(detail_url(record)).status_code == 200

    signed_in(client, officer_b)
    assert client.get(detail_url(record)).status_code == 404
    assert detail_url(record) not in client.get(LIST).content.decode()

    signed_in(client, district_officer)
    assert client.get(detail_url(record)).status_code == 200
    assert detail_url(record) in client.get(LIST).content.decode()


def test_school_officer_cannot_import_another_school(
    client: Client, officer_b: User, school_a: OrgUnit
) -> None:
    signed_in(client, officer_b)

    job = upload(client, students=csv_file([student_row(student_id(1), "王小明", school_a)]))

    job.refresh_from_db()
    assert job.status == JobStatus.REJECTED
    assert not Student.objects.exists()


def test_list_query_count_does_not_grow_with_imports(
    client: Client, district_officer: User, school_a: OrgUnit
) -> None:
    signed_in(client, district_officer)
    upload(client, students=csv_file([student_row(student_id(1), "王小明", school_a)]))
    client.get(LIST)
    with CaptureQueriesContext(connection) as one:
        client.get(LIST)
    for serial in range(2, 6):
        upload(client, students=csv_file([student_row(student_id(serial), "王小明", school_a)]))
    with CaptureQueriesContext(connection) as five:
        response = client.get(LIST)

    assert response.content.decode().count("/imports/") >= 5
    assert len(five) == len(one)


def test_detail_query_count_does_not_grow_with_changes(
    client: Client, district_officer: User, school_a: OrgUnit
) -> None:
    signed_in(client, district_officer)
    small = upload(client, students=csv_file([student_row(student_id(1), "王小明", school_a)]))
    rows = [student_row(student_id(serial), f"学生{serial}", school_a) for serial in range(2, 12)]
    large = upload(client, students=csv_file(rows))
    urls = [detail_url(RegisterImport.objects.get(job=job)) for job in (small, large)]
    client.get(urls[0])
    with CaptureQueriesContext(connection) as one:
        client.get(urls[0])
    with CaptureQueriesContext(connection) as ten:
        response = client.get(urls[1])

    assert "学生11" in response.content.decode()
    assert len(ten) == len(one)
