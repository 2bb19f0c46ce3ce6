"""`zizhu import-register DIR`: the register import from a folder, run in this process."""

from __future__ import annotations

import io
from pathlib import Path

import openpyxl
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from tests.registry.test_imports import (
    GUARDIAN_HEADER,
    STUDENT_HEADER,
    csv_bytes,
    guardian,
    student,
    student_id,
    xlsx_bytes,
)
from zizhu.core.cli import USER_ENV
from zizhu.core.models import Job, JobStatus, OrgUnit, User
from zizhu.registry.models import Guardian, RegisterImport, Student


def command(*args: str) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("import_register", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_imports_a_folder(tmp_path: Path, officer_a: User, school_a: OrgUnit) -> None:
    number = student_id()
    (tmp_path / "学生.csv").write_bytes(csv_bytes([STUDENT_HEADER, student(number)], "gb18030"))
    (tmp_path / "guardians.xlsx").write_bytes(
        xlsx_bytes([GUARDIAN_HEADER, guardian(number, "张大山")])
    )
    (tmp_path / "说明.txt").write_text("其他文件不读取")
    out, _ = command(str(tmp_path), "--user", "officer_a")
    assert "学生：学生.csv" in out
    assert "监护人：guardians.xlsx" in out
    assert "学籍导入完成：学生新增 1" in out
    job = Job.objects.get()
    assert (job.status, job.created_by, job.org_unit) == (JobStatus.SUCCEEDED, officer_a, school_a)
    record = RegisterImport.objects.get(job=job)
    assert record.summary["guardians"]["created"] == 1
    assert Student.objects.get().guardians.count() == 1


def test_user_from_the_environment(
    tmp_path: Path, officer_a: User, school_a: OrgUnit, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(USER_ENV, "officer_a")
    (tmp_path / "students.csv").write_bytes(csv_bytes([STUDENT_HEADER, student(student_id())]))
    command(str(tmp_path))
    assert Student.objects.count() == 1


def test_user_is_required(
    tmp_path: Path, school_a: OrgUnit, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(USER_ENV, raising=False)
    (tmp_path / "students.csv").write_bytes(csv_bytes([STUDENT_HEADER, student(student_id())]))
    with pytest.raises(CommandError, match="--user"):
        command(str(tmp_path))
    with pytest.raises(CommandError, match="不存在"):
        command(str(tmp_path), "--user", "nobody")


def test_user_needs_the_permission(tmp_path: Path, principal_a: User, school_a: OrgUnit) -> None:
    (tmp_path / "students.csv").write_bytes(csv_bytes([STUDENT_HEADER, student(student_id())]))
    with pytest.raises(CommandError, match="没有此项操作权限"):
        command(str(tmp_path), "--user", "principal_a")
    assert not Job.objects.exists()


def test_folder_without_register_files(tmp_path: Path, officer_a: User) -> None:
    (tmp_path / "名单.csv").write_text("x")
    with pytest.raises(CommandError, match="没有学籍文件"):
        command(str(tmp_path), "--user", "officer_a")
    with pytest.raises(CommandError, match="找不到文件夹"):
        command(str(tmp_path / "missing"), "--user", "officer_a")


def test_two_files_of_one_kind(tmp_path: Path, officer_a: User) -> None:
    (tmp_path / "学生.csv").write_text("x")
    (tmp_path / "students.xlsx").write_text("x")
    with pytest.raises(CommandError, match="多个学生文件"):
        command(str(tmp_path), "--user", "officer_a")


def test_rejection_writes_the_report_and_exits_1(
    tmp_path: Path, officer_a: User, school_a: OrgUnit
) -> None:
    rows = [STUDENT_HEADER, student(student_id()), student(student_id(), 学籍状态="在校")]
    (tmp_path / "学生.csv").write_bytes(csv_bytes(rows))
    err = io.StringIO()
    with pytest.raises(SystemExit) as caught:
        call_command(
            "import_register",
            str(tmp_path),
            "--user",
            "officer_a",
            stderr=err,
            stdout=io.StringIO(),
        )
    assert caught.value.code == 1
    job = Job.objects.get()
    assert job.status == JobStatus.REJECTED
    report = tmp_path / f"学籍导入错误报告-{job.pk}.xlsx"
    assert report.exists()
    values = list(openpyxl.load_workbook(report).active.values)
    assert values[1][:2] == ("3", "学生 · 学籍状态")
    assert "第 3 行 学生 · 学籍状态（在校）" in err.getvalue()
    assert Student.objects.count() == 0
    assert Guardian.objects.count() == 0


def test_report_path_option(tmp_path: Path, officer_a: User, school_a: OrgUnit) -> None:
    rows = [STUDENT_HEADER, student(student_id(), 学校代码="4201179999")]
    (tmp_path / "学生.csv").write_bytes(csv_bytes(rows))
    target = tmp_path / "out" / "报告.xlsx"
    target.parent.mkdir()
    with pytest.raises(SystemExit):
        command(str(tmp_path), "--user", "officer_a", "--report", str(target))
    assert target.exists()
