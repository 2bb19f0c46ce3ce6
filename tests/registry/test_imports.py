"""The register import (issue 3): every rule rejects the whole import; re-imports update by ID
number and turn status and school changes into ledger entries."""

from __future__ import annotations

import csv
import io
import itertools
import json
from collections.abc import Sequence
from datetime import date
from typing import Any

import openpyxl
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from tests.factories import SchoolFactory, district, town
from zizhu.core.errors import DomainError, ImportRejected, NotPermitted
from zizhu.core.idnumbers import make_id_number, upgrade_15
from zizhu.core.models import AuditEntry, Job, JobStatus, OrgUnit, Stage, UnitKind, User
from zizhu.registry.imports import (
    RegisterFile,
    grade_problem,
    import_register,
    school_year_start,
    start_register_import,
)
from zizhu.registry.models import (
    ChangeKind,
    ChangeSource,
    Guardian,
    Household,
    RegisterChange,
    RegisterImport,
    Staff,
    StatusChange,
    Student,
    StudentStatus,
)

SCHOOL_HEADER = ["学校代码", "学校名称", "学段", "所属街镇", "是否寄宿制"]
STUDENT_HEADER = [
    "身份证号",
    "姓名",
    "性别",
    "学校代码",
    "年级",
    "班级",
    "是否寄宿",
    "学籍状态",
    "入学日期",
    "户籍地址",
    "家庭住址",
    "联系电话",
    "银行卡号",
    "持卡人身份证号",
]
GUARDIAN_HEADER = ["学生身份证号", "监护人姓名", "监护人身份证号", "关系", "工作单位", "联系电话"]
STAFF_HEADER = ["身份证号", "姓名", "学校代码", "岗位", "是否特殊困难教职工", "联系电话"]
HEADERS = {
    "schools": SCHOOL_HEADER,
    "students": STUDENT_HEADER,
    "guardians": GUARDIAN_HEADER,
    "staff": STAFF_HEADER,
}
SCHOOL_A = "4201170101"  # conftest's school_a
SCHOOL_B = "4201170201"  # conftest's school_b

_sequence = itertools.count(1)


def birth_for(grade: int) -> date:
    """A birth date that fits school year `grade` (1 = grade one) this school year."""
    return date(school_year_start(timezone.localdate()).year - grade - 6, 10, 1)


def person_id(born: date, *, male: bool = True) -> str:
    return make_id_number("420117", born, next(_sequence), male=male)


def student_id(grade: int = 3, *, male: bool = True) -> str:
    return person_id(birth_for(grade), male=male)


def student(number: str, **overrides: str) -> list[str]:
    values = {
        "身份证号": number,
        "姓名": "张小明",
        "性别": "男" if int(number[16]) % 2 else "女",
        "学校代码": SCHOOL_A,
        "年级": "三年级",
        "班级": "1班",
        "是否寄宿": "否",
        "学籍状态": "在读",
        "入学日期": "2023-09-01",
        "户籍地址": "新洲区邾城街李家村",
        "家庭住址": "新洲区邾城街李家村3组",
        "联系电话": "13800001234",
        "银行卡号": "6217000010001234567",
        "持卡人身份证号": "",
        **overrides,
    }
    return [values[header] for header in STUDENT_HEADER]


def guardian(student_number: str, name: str, number: str = "", **overrides: str) -> list[str]:
    values = {
        "学生身份证号": student_number,
        "监护人姓名": name,
        "监护人身份证号": number,
        "关系": "父亲",
        "工作单位": "务农",
        "联系电话": "13900005678",
        **overrides,
    }
    return [values[header] for header in GUARDIAN_HEADER]


def staff(number: str, name: str = "李老师", **overrides: str) -> list[str]:
    values = {
        "身份证号": number,
        "姓名": name,
        "学校代码": SCHOOL_A,
        "岗位": "教师",
        "是否特殊困难教职工": "否",
        "联系电话": "13700001111",
        **overrides,
    }
    return [values[header] for header in STAFF_HEADER]


def school(code: str, name: str, **overrides: str) -> list[str]:
    values = {
        "学校代码": code,
        "学校名称": name,
        "学段": "小学",
        "所属街镇": "邾城街道",
        "是否寄宿制": "否",
        **overrides,
    }
    return [values[header] for header in SCHOOL_HEADER]


def csv_bytes(rows: Sequence[Sequence[str]], encoding: str = "utf-8") -> bytes:
    buffer = io.StringIO(newline="")
    csv.writer(buffer).writerows(rows)
    return buffer.getvalue().encode(encoding)


def xlsx_bytes(rows: Sequence[Sequence[str]]) -> bytes:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    for row in rows:
        sheet.append(list(row))
    for cells in sheet.iter_rows():
        for cell in cells:
            cell.number_format = "@"
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


Files = dict[str, list[list[str]]]


def run(actor: User, files: Files, *, as_xlsx: bool = False, encoding: str = "utf-8") -> Any:
    """Import the given rows (header added) as one register import by `actor`."""
    job = Job.objects.create(
        kind="register_import", title="学籍导入", created_by=actor, org_unit=district()
    )
    register_import = RegisterImport.objects.create(job=job)
    uploads = {}
    for kind, rows in files.items():
        table = [HEADERS[kind], *rows]
        if as_xlsx:
            uploads[kind] = RegisterFile(xlsx_bytes(table), f"{kind}.xlsx")
        else:
            uploads[kind] = RegisterFile(csv_bytes(table, encoding), f"{kind}.csv")
    summary = import_register(uploads, actor=actor, register_import=register_import)
    return summary, register_import


def snapshot() -> dict[str, int]:
    return {
        "students": Student.objects.count(),
        "guardians": Guardian.objects.count(),
        "staff": Staff.objects.count(),
        "schools": OrgUnit.objects.filter(kind=UnitKind.SCHOOL).count(),
        "changes": RegisterChange.objects.count(),
        "ledger": StatusChange.objects.count(),
        "households": Household.objects.count(),
    }


def rejected(actor: User, files: Files) -> list[dict[str, object]]:
    """Run an import that must be rejected with nothing written; return its report."""
    before = snapshot()
    with pytest.raises(ImportRejected) as caught:
        run(actor, files)
    assert snapshot() == before
    attempt = RegisterImport.objects.latest("pk")
    assert attempt.summary == {}
    assert not attempt.changes.exists()
    assert caught.value.report
    return caught.value.report


def has_error(report: list[dict[str, object]], row: int, column: str, reason: str) -> bool:
    return any(
        e["row"] == row and e["column"] == column and reason in str(e["reason"]) for e in report
    )


# --- a first import ---------------------------------------------------------------------------


def test_first_import_creates_schools_students_guardians_staff_and_ledger(
    district_officer: User,
) -> None:
    first, second = student_id(3), student_id(5, male=False)
    mother = person_id(date(1986, 4, 2), male=False)
    teacher = person_id(date(1980, 1, 1))
    summary, record = run(
        district_officer,
        {
            "schools": [school("4201170199", "邾城第九小学", 所属街镇="邾城街道")],
            "students": [
                student(first, 学校代码="4201170199"),
                student(second, 姓名="张小红", 年级="五年级", 学校代码="4201170199"),
            ],
            "guardians": [
                guardian(first, "王芳", mother, 关系="母亲"),
                guardian(second, "王芳", mother, 关系="母亲"),
                guardian(second, "张大山"),
            ],
            "staff": [staff(teacher, 学校代码="4201170199")],
        },
    )
    new_school = OrgUnit.objects.get(code="4201170199")
    # Grades are ranked by the school year they stand for, for ordering lists.
    ranks = dict(Student.objects.filter(school=new_school).values_list("name", "grade_rank"))
    assert ranks["张小红"] == 5
    assert (new_school.kind, new_school.stage, new_school.parent) == (
        UnitKind.SCHOOL,
        Stage.PRIMARY,
        town("邾城街道"),
    )
    assert summary["schools"] == {"created": 1, "updated": 0, "unchanged": 0}
    assert summary["students"] == {
        "created": 2,
        "updated": 0,
        "unchanged": 0,
        "status_changes": 0,
        "transfers": 0,
    }
    assert summary["guardians"] == {"created": 3, "updated": 0, "unchanged": 0, "removed": 0}
    assert summary["staff"] == {"created": 1, "updated": 0, "unchanged": 0}
    assert record.summary == summary
    assert {f["kind"] for f in record.files} == {"schools", "students", "guardians", "staff"}

    alice = Student.objects.get(name="张小明")
    assert (alice.id_number, alice.school, alice.grade) == (first, new_school, "三年级")
    assert alice.birth_date == birth_for(3)
    assert alice.status == StudentStatus.ENROLLED
    assert alice.phone == "13800001234"
    assert alice.enrolled_on == date(2023, 9, 1)
    # Siblings share their mother's ID number: one household.
    sister = Student.objects.get(name="张小红")
    assert alice.household_id is not None
    assert alice.household_id == sister.household_id
    assert sister.guardians.count() == 2

    entry = StatusChange.objects.get(student=alice)
    assert (entry.kind, entry.source, entry.status_after, entry.register_import) == (
        ChangeKind.ENROLMENT,
        ChangeSource.IMPORT,
        StudentStatus.ENROLLED,
        record,
    )
    assert entry.effective_on == date(2023, 9, 1)
    assert RegisterChange.objects.filter(register_import=record, created=True).count() == 2
    assert Staff.objects.get().school == new_school
    audit = AuditEntry.objects.filter(action="register.imported").get()
    assert audit.after["students"]["created"] == 2


def test_school_officer_imports_own_school(officer_a: User, school_a: OrgUnit) -> None:
    number = student_id()
    summary, _ = run(officer_a, {"students": [student(number)]})
    assert summary["students"]["created"] == 1
    assert Student.objects.get().school == school_a


def test_principal_may_not_import(principal_a: User, school_a: OrgUnit) -> None:
    with pytest.raises(NotPermitted):
        run(principal_a, {"students": [student(student_id())]})
    assert Student.objects.count() == 0


# --- encodings, XLSX, legacy ID numbers -----------------------------------------------------


@pytest.mark.parametrize("encoding", ["gb18030", "utf-8-sig", "utf-8"])
def test_csv_in_each_accepted_encoding(officer_a: User, school_a: OrgUnit, encoding: str) -> None:
    number = student_id()
    run(officer_a, {"students": [student(number, 姓名="欧阳𠀾明")]}, encoding=encoding)
    assert Student.objects.get().name == "欧阳𠀾明"


def test_xlsx_files(officer_a: User, school_a: OrgUnit) -> None:
    number = student_id()
    run(
        officer_a,
        {"students": [student(number)], "guardians": [guardian(number, "张大山")]},
        as_xlsx=True,
    )
    assert Student.objects.get().id_number == number
    assert Guardian.objects.get().name == "张大山"


def test_fifteen_digit_ids_are_stored_as_eighteen(officer_a: User, school_a: OrgUnit) -> None:
    number = student_id()
    legacy = "420117780512153"  # born 1978-05-12
    run(
        officer_a,
        {
            "students": [student(number)],
            "guardians": [guardian(number, "张大山", legacy)],
            "staff": [staff("420117750101153")],
        },
    )
    assert Guardian.objects.get().id_number == upgrade_15(legacy) == "420117197805121532"
    assert Staff.objects.get().id_number == upgrade_15("420117750101153")


# --- every rule rejects the whole import ---------------------------------------------------


def test_bad_checksum_rejects_everything(officer_a: User, school_a: OrgUnit) -> None:
    good, bad = student_id(), student_id()
    bad = bad[:17] + ("0" if bad[17] != "0" else "1")
    report = rejected(officer_a, {"students": [student(good), student(bad)]})
    assert has_error(report, 3, "学生 · 身份证号", "校验位错误")


def test_unknown_school_code(officer_a: User, school_a: OrgUnit) -> None:
    report = rejected(officer_a, {"students": [student(student_id(), 学校代码="4201179999")]})
    assert has_error(report, 2, "学生 · 学校代码", "学校代码不存在")


def test_unknown_town_for_a_school(district_officer: User) -> None:
    report = rejected(
        district_officer, {"schools": [school("4201170188", "新校", 所属街镇="火星街道")]}
    )
    assert has_error(report, 2, "学校 · 所属街镇", "不是本区的街镇")


def test_school_code_of_a_town_is_refused(district_officer: User) -> None:
    report = rejected(district_officer, {"schools": [school(town("邾城街道").code, "新校")]})
    assert has_error(report, 2, "学校 · 学校代码", "街镇的代码")


def test_grade_must_belong_to_the_stage(officer_a: User, school_a: OrgUnit) -> None:
    report = rejected(officer_a, {"students": [student(student_id(), 年级="高一")]})
    assert has_error(report, 2, "学生 · 年级", "不是小学的年级")


def test_birth_date_must_fit_the_grade(officer_a: User, school_a: OrgUnit) -> None:
    too_young = student_id(1)
    report = rejected(officer_a, {"students": [student(too_young, 年级="六年级")]})
    assert has_error(report, 2, "学生 · 年级", "与年级不符")


def test_kindergarten_takes_three_to_six(district_officer: User) -> None:
    SchoolFactory(code="4201170111", stage=Stage.PRESCHOOL)
    eight = student_id(2)
    report = rejected(
        district_officer, {"students": [student(eight, 学校代码="4201170111", 年级="大班")]}
    )
    assert has_error(report, 2, "学生 · 年级", "3–6 岁")


def test_graduates_grade_is_not_held_to_their_age(officer_a: User, school_a: OrgUnit) -> None:
    older = student_id(12)
    run(officer_a, {"students": [student(older, 年级="六年级", 学籍状态="毕业")]})
    assert Student.objects.get().status == StudentStatus.GRADUATED


def test_grade_rules() -> None:
    sept1 = date(2026, 9, 1)
    assert grade_problem("小学", "一年级", date(2020, 3, 1), "在读", sept1) is None
    assert grade_problem("小学", "一年级", date(2017, 3, 1), "在读", sept1) is not None  # 9
    assert grade_problem("初中", "初一", date(2014, 3, 1), "在读", sept1) is None
    assert grade_problem("九年一贯制", "九年级", date(2011, 3, 1), "在读", sept1) is None
    assert grade_problem("高中", "高一", date(2011, 3, 1), "在读", sept1) is None
    assert grade_problem("中职", "三年级", date(2009, 3, 1), "在读", sept1) is None
    assert grade_problem("中职", "四年级", date(2009, 3, 1), "在读", sept1) is not None
    assert grade_problem("幼儿园", "小班", date(2023, 8, 31), "在读", sept1) is None  # 3
    assert grade_problem("幼儿园", "小班", date(2023, 9, 2), "在读", sept1) is not None  # 2


@pytest.mark.parametrize(
    ("column", "value", "reason"),
    [
        ("学籍状态", "在校", "应为以下之一"),
        ("性别", "M", "应为以下之一"),
        ("入学日期", "2023/09/01", "日期格式"),
        ("是否寄宿", "Y", "是”或“否"),
        ("联系电话", "12ab", "联系电话"),
    ],
)
def test_enumerations_and_dates(
    officer_a: User, school_a: OrgUnit, column: str, value: str, reason: str
) -> None:
    report = rejected(officer_a, {"students": [student(student_id(), **{column: value})]})
    assert has_error(report, 2, f"学生 · {column}", reason)


def test_gender_must_match_the_id_number(officer_a: User, school_a: OrgUnit) -> None:
    report = rejected(officer_a, {"students": [student(student_id(male=True), 性别="女")]})
    assert has_error(report, 2, "学生 · 性别", "第17位")


def test_enrolment_date_in_the_future(officer_a: User, school_a: OrgUnit) -> None:
    tomorrow = date.fromordinal(timezone.localdate().toordinal() + 1).isoformat()
    report = rejected(officer_a, {"students": [student(student_id(), 入学日期=tomorrow)]})
    assert has_error(report, 2, "学生 · 入学日期", "不能晚于今天")


def test_duplicate_students_in_the_file(officer_a: User, school_a: OrgUnit) -> None:
    number = student_id()
    report = rejected(officer_a, {"students": [student(number), student(number)]})
    assert has_error(report, 3, "学生 · 身份证号", "与第 2 行重复")


def test_duplicate_guardians_in_the_file(officer_a: User, school_a: OrgUnit) -> None:
    number, father = student_id(), person_id(date(1985, 1, 1))
    report = rejected(
        officer_a,
        {
            "students": [student(number)],
            "guardians": [
                guardian(number, "张大山", father),
                guardian(number, "张大山", father),
                guardian(number, "李四"),
                guardian(number, "李四", 关系="其他"),
            ],
        },
    )
    assert has_error(report, 3, "监护人 · 监护人身份证号", "与第 2 行重复")
    assert has_error(report, 5, "监护人 · 监护人姓名", "与第 4 行重复")
    assert not has_error(report, 3, "监护人 · 监护人姓名", "重复")


def test_duplicate_staff_in_one_school(officer_a: User, school_a: OrgUnit) -> None:
    teacher = person_id(date(1980, 1, 1))
    report = rejected(officer_a, {"staff": [staff(teacher), staff(teacher)]})
    assert has_error(report, 3, "教职工 · 身份证号", "与第 2 行重复")


def test_enumerations_of_guardians_and_staff(officer_a: User, school_a: OrgUnit) -> None:
    number = student_id()
    report = rejected(
        officer_a,
        {
            "students": [student(number)],
            "guardians": [guardian(number, "张大山", 关系="叔叔")],
            "staff": [staff(person_id(date(1980, 1, 1)), 岗位="保安")],
        },
    )
    assert has_error(report, 2, "监护人 · 关系", "应为以下之一")
    assert has_error(report, 2, "教职工 · 岗位", "应为以下之一")


def test_guardian_of_an_unknown_student(officer_a: User, school_a: OrgUnit) -> None:
    report = rejected(officer_a, {"guardians": [guardian(student_id(), "张大山")]})
    assert has_error(report, 2, "监护人 · 学生身份证号", "找不到该学生")


def test_guardian_of_a_registered_student_without_a_students_file(
    officer_a: User, school_a: OrgUnit
) -> None:
    number = student_id()
    run(officer_a, {"students": [student(number)]})
    summary, _ = run(officer_a, {"guardians": [guardian(number, "张大山")]})
    assert summary["guardians"]["created"] == 1
    assert summary["students"]["updated"] == 1
    assert Student.objects.get().guardians.get().name == "张大山"


def test_one_bad_file_rejects_the_good_ones(officer_a: User, school_a: OrgUnit) -> None:
    number = student_id()
    report = rejected(
        officer_a,
        {"students": [student(number)], "guardians": [guardian(number, "", 关系="父亲")]},
    )
    assert has_error(report, 2, "监护人 · 监护人姓名", "不能为空")


def test_missing_column_names_the_file(officer_a: User, school_a: OrgUnit) -> None:
    job = Job.objects.create(
        kind="register_import", title="t", created_by=officer_a, org_unit=school_a
    )
    content = csv_bytes([STUDENT_HEADER[:-1], student(student_id())[:-1]])
    with pytest.raises(ImportRejected) as caught:
        import_register(
            {"students": RegisterFile(content, "学生.csv")},
            actor=officer_a,
            register_import=RegisterImport.objects.create(job=job),
        )
    assert "学生文件“学生.csv”" in caught.value.message
    assert has_error(caught.value.report, 1, "学生 · 持卡人身份证号", "缺少此列")
    assert Student.objects.count() == 0


def test_reach_school_officer_cannot_import_another_schools_rows(
    officer_a: User, school_a: OrgUnit, school_b: OrgUnit
) -> None:
    report = rejected(
        officer_a,
        {
            "students": [student(student_id()), student(student_id(), 学校代码=SCHOOL_B)],
            "staff": [staff(person_id(date(1980, 1, 1)), 学校代码=SCHOOL_B)],
        },
    )
    assert has_error(report, 3, "学生 · 学校代码", "该学校不在您的管辖范围内")
    assert has_error(report, 2, "教职工 · 学校代码", "该学校不在您的管辖范围内")
    assert not has_error(report, 2, "学生 · 学校代码", "管辖")


def test_reach_school_officer_cannot_create_schools(officer_a: User, school_a: OrgUnit) -> None:
    report = rejected(officer_a, {"schools": [school("4201170177", "新校")]})
    assert has_error(report, 2, "学校 · 学校代码", "该学校不在您的管辖范围内")


def test_reach_school_officer_cannot_take_another_schools_student(
    district_officer: User, officer_a: User, school_a: OrgUnit, school_b: OrgUnit
) -> None:
    number = student_id()
    run(district_officer, {"students": [student(number, 学校代码=SCHOOL_B)]})
    report = rejected(officer_a, {"students": [student(number)]})
    assert has_error(report, 2, "学生 · 身份证号", "不在您的管辖范围内")
    report = rejected(officer_a, {"guardians": [guardian(number, "张大山")]})
    assert has_error(report, 2, "监护人 · 学生身份证号", "找不到该学生")


# --- re-imports -------------------------------------------------------------------------------


def test_identical_reimport_changes_nothing(officer_a: User, school_a: OrgUnit) -> None:
    number, father = student_id(), person_id(date(1985, 1, 1))
    files: Files = {
        "students": [student(number)],
        "guardians": [guardian(number, "张大山", father), guardian(number, "李四")],
        "staff": [staff(person_id(date(1980, 1, 1)))],
    }
    run(officer_a, files)
    before = snapshot()
    guardian_pks = sorted(Guardian.objects.values_list("pk", flat=True))
    updated_at = Student.objects.get().updated_at
    summary, record = run(officer_a, files)
    assert snapshot() == before
    assert summary["students"] == {
        "created": 0,
        "updated": 0,
        "unchanged": 1,
        "status_changes": 0,
        "transfers": 0,
    }
    assert summary["guardians"] == {"created": 0, "updated": 0, "unchanged": 2, "removed": 0}
    assert summary["staff"] == {"created": 0, "updated": 0, "unchanged": 1}
    assert summary["households"] == {"created": 0, "students_moved": 0}
    assert not RegisterChange.objects.filter(register_import=record).exists()
    assert not StatusChange.objects.filter(register_import=record).exists()
    assert sorted(Guardian.objects.values_list("pk", flat=True)) == guardian_pks
    assert Student.objects.get().updated_at == updated_at


def test_reimport_status_change_goes_through_the_ledger(officer_a: User, school_a: OrgUnit) -> None:
    number = student_id()
    run(officer_a, {"students": [student(number)]})
    summary, record = run(officer_a, {"students": [student(number, 学籍状态="休学")]})
    assert summary["students"]["status_changes"] == 1
    assert summary["students"]["updated"] == 1
    pupil = Student.objects.get()
    assert pupil.status == StudentStatus.SUSPENDED
    entry = StatusChange.objects.get(register_import=record)
    assert (entry.kind, entry.status_before, entry.status_after, entry.source) == (
        ChangeKind.SUSPENSION,
        StudentStatus.ENROLLED,
        StudentStatus.SUSPENDED,
        ChangeSource.IMPORT,
    )
    assert entry.effective_on == timezone.localdate()
    assert entry.reason == "学籍导入：状态由在读变为休学"
    assert entry.actor == officer_a
    change = RegisterChange.objects.get(register_import=record)
    assert change.fields == {"status": ["enrolled", "suspended"]}
    assert AuditEntry.objects.filter(action="student.suspension").count() == 1

    run(officer_a, {"students": [student(number, 学籍状态="在读")]})
    assert Student.objects.get().status == StudentStatus.ENROLLED
    assert list(pupil.ledger.values_list("kind", flat=True)) == [
        ChangeKind.ENROLMENT,
        ChangeKind.SUSPENSION,
        ChangeKind.RESUMPTION,
    ]


@pytest.mark.parametrize(
    ("first", "then", "reason"),
    [("死亡", "在读", "已登记为死亡"), ("毕业", "休学", "不允许在“毕业”状态下登记“休学”")],
)
def test_status_change_the_ledger_refuses_is_a_row_error(
    officer_a: User, school_a: OrgUnit, first: str, then: str, reason: str
) -> None:
    number = student_id()
    run(officer_a, {"students": [student(number, 学籍状态=first)]})
    report = rejected(officer_a, {"students": [student(number, 学籍状态=then)]})
    assert has_error(report, 2, "学生 · 学籍状态", reason)


def test_reimport_school_change_is_a_transfer_that_keeps_the_history(
    district_officer: User, school_a: OrgUnit, school_b: OrgUnit
) -> None:
    number = student_id()
    run(
        district_officer,
        {"students": [student(number)], "guardians": [guardian(number, "张大山")]},
    )
    pupil = Student.objects.get()
    summary, record = run(district_officer, {"students": [student(number, 学校代码=SCHOOL_B)]})
    assert summary["students"]["transfers"] == 1
    moved = Student.objects.get()
    assert (moved.pk, moved.school, moved.status) == (pupil.pk, school_b, StudentStatus.ENROLLED)
    entry = StatusChange.objects.get(register_import=record)
    assert (entry.kind, entry.from_school, entry.to_school) == (
        ChangeKind.TRANSFER,
        school_a,
        school_b,
    )
    assert moved.ledger.count() == 2
    assert moved.guardians.get().name == "张大山"


def test_transfer_and_status_change_together(
    district_officer: User, school_a: OrgUnit, school_b: OrgUnit
) -> None:
    number = student_id()
    run(district_officer, {"students": [student(number)]})
    summary, _ = run(
        district_officer, {"students": [student(number, 学校代码=SCHOOL_B, 学籍状态="休学")]}
    )
    assert (summary["students"]["transfers"], summary["students"]["status_changes"]) == (1, 1)
    pupil = Student.objects.get()
    assert (pupil.school, pupil.status) == (school_b, StudentStatus.SUSPENDED)
    assert list(pupil.ledger.values_list("kind", flat=True)) == [
        ChangeKind.ENROLMENT,
        ChangeKind.TRANSFER,
        ChangeKind.SUSPENSION,
    ]


def test_school_change_of_a_student_not_enrolled_is_refused(
    district_officer: User, school_a: OrgUnit, school_b: OrgUnit
) -> None:
    number = student_id()
    run(district_officer, {"students": [student(number, 学籍状态="休学")]})
    report = rejected(
        district_officer, {"students": [student(number, 学校代码=SCHOOL_B, 学籍状态="退学")]}
    )
    assert has_error(report, 2, "学生 · 学校代码", "只有在读学生可以区内转学")


def test_changes_record_masked_identifiers_only(officer_a: User, school_a: OrgUnit) -> None:
    number, holder = student_id(), person_id(date(1985, 1, 1))
    run(officer_a, {"students": [student(number)]})
    summary, record = run(
        officer_a,
        {
            "students": [
                student(
                    number,
                    联系电话="13912345678",
                    银行卡号="6228480010009876543",
                    持卡人身份证号=holder,
                    班级="2班",
                )
            ]
        },
    )
    pupil = Student.objects.get()
    assert (pupil.phone, pupil.bank_account, pupil.card_holder_id) == (
        "13912345678",
        "6228480010009876543",
        holder,
    )
    assert Student.objects.filter(phone_hash=pupil.phone_hash).count() == 1
    fields = RegisterChange.objects.get(register_import=record).fields
    assert fields["phone"] == ["138****1234", "139****5678"]
    assert fields["bank_account"] == ["***************4567", "***************6543"]
    assert fields["card_holder_id"] == [None, holder[:6] + "********" + holder[-4:]]
    assert fields["class_name"] == ["1班", "2班"]
    stored = json.dumps(list(RegisterChange.objects.values_list("fields", flat=True)))
    for clear in ("13912345678", "6228480010009876543", holder, number, "13800001234"):
        assert clear not in stored
    assert summary["students"]["updated"] == 1


def test_guardians_file_replaces_the_students_guardians(officer_a: User, school_a: OrgUnit) -> None:
    number = student_id()
    father, mother = person_id(date(1985, 1, 1)), person_id(date(1986, 1, 1), male=False)
    run(
        officer_a,
        {
            "students": [student(number)],
            "guardians": [guardian(number, "张大山", father), guardian(number, "王芳")],
        },
    )
    kept = Guardian.objects.get(name="张大山")
    summary, record = run(
        officer_a,
        {
            "guardians": [
                guardian(number, "张大山", father, 工作单位="外出务工"),
                guardian(number, "刘奶奶", 关系="外祖母"),
                guardian(number, "王芳", mother, 关系="母亲"),
            ]
        },
    )
    assert summary["guardians"] == {"created": 1, "updated": 2, "unchanged": 0, "removed": 0}
    summary, record = run(officer_a, {"guardians": [guardian(number, "张大山", father)]})
    assert summary["guardians"] == {"created": 0, "updated": 1, "unchanged": 0, "removed": 2}
    assert list(Guardian.objects.values_list("pk", "employer")) == [(kept.pk, "务农")]
    before, after = RegisterChange.objects.get(register_import=record).fields["guardians"]
    assert len(before) == 3
    assert after == [
        {
            "relation": "父亲",
            "name": "张大山",
            "id_number": father[:6] + "********" + father[-4:],
            "employer": "务农",
            "phone": "139****5678",
        }
    ]


def test_siblings_imported_apart_join_one_household(officer_a: User, school_a: OrgUnit) -> None:
    older, younger = student_id(5), student_id(2)
    mother = person_id(date(1986, 1, 1), male=False)
    run(
        officer_a,
        {"students": [student(older)], "guardians": [guardian(older, "王芳", mother)]},
    )
    summary, _ = run(
        officer_a,
        {
            "students": [student(younger, 年级="二年级")],
            "guardians": [guardian(younger, "王芳", mother)],
        },
    )
    first, second = Student.objects.order_by("birth_date")
    assert first.household_id == second.household_id
    assert summary["households"]["created"] == 0
    # A student whose guardians have no ID number is a household alone.
    alone = student_id(4)
    run(officer_a, {"students": [student(alone, 年级="四年级")]})
    household = Student.objects.get(grade="四年级").household
    assert household is not None
    assert household.pk != first.household_id
    assert household.students.count() == 1


def test_schools_file_updates_a_school(district_officer: User, school_a: OrgUnit) -> None:
    summary, _ = run(
        district_officer,
        {"schools": [school(SCHOOL_A, "邾城第一小学（新校区）", 是否寄宿制="是")]},
    )
    assert summary["schools"] == {"created": 0, "updated": 1, "unchanged": 0}
    school_a.refresh_from_db()
    assert (school_a.name, school_a.boarding) == ("邾城第一小学（新校区）", True)


# --- the job ---------------------------------------------------------------------------------


def upload(kind: str, rows: list[list[str]], name: str | None = None) -> SimpleUploadedFile:
    return SimpleUploadedFile(name or f"{kind}.csv", csv_bytes([HEADERS[kind], *rows]))


def test_job_runs_the_import(officer_a: User, school_a: OrgUnit) -> None:
    number = student_id()
    job = start_register_import(
        {
            "students": upload("students", [student(number)], "学生名单.csv"),
            "guardians": upload("guardians", [guardian(number, "张大山")]),
        },
        actor=officer_a,
    )
    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED, job.message
    assert job.org_unit == school_a
    assert "学生新增 1" in job.message
    record = RegisterImport.objects.get(job=job)
    assert record.summary["students"]["created"] == 1
    assert job.result == record.summary
    assert record.files[0]["name"] == "学生名单.csv"
    assert job.total > 0
    assert Student.objects.get().guardians.count() == 1


def test_job_rejected_keeps_an_error_report(officer_a: User, school_a: OrgUnit) -> None:
    job = start_register_import(
        {"students": upload("students", [student(student_id(), 学籍状态="在校")])},
        actor=officer_a,
    )
    job.refresh_from_db()
    assert job.status == JobStatus.REJECTED
    assert "学生文件 1 处" in job.message
    assert job.report.name
    rows = list(openpyxl.load_workbook(job.report.open("rb")).active.values)
    assert rows[1][:2] == ("2", "学生 · 学籍状态")
    assert Student.objects.count() == 0


def test_job_needs_the_permission_and_a_file(
    principal_a: User, officer_a: User, school_a: OrgUnit
) -> None:
    with pytest.raises(NotPermitted):
        start_register_import({"students": upload("students", [])}, actor=principal_a)
    with pytest.raises(DomainError, match="至少选择一个"):
        start_register_import({}, actor=officer_a)
    with pytest.raises(DomainError, match="不是 CSV 或 XLSX"):
        start_register_import({"students": upload("students", [], "学生.xls")}, actor=officer_a)
    assert not Job.objects.exists()


def test_progress_is_reported(officer_a: User, school_a: OrgUnit) -> None:
    calls: list[tuple[int, int | None, str | None]] = []

    def progress(done: int, *, total: int | None = None, stage: str | None = None) -> None:
        calls.append((done, total, stage))

    job = Job.objects.create(
        kind="register_import", title="t", created_by=officer_a, org_unit=school_a
    )
    content = csv_bytes([STUDENT_HEADER, student(student_id())])
    import_register(
        {"students": RegisterFile(content, "students.csv")},
        actor=officer_a,
        register_import=RegisterImport.objects.create(job=job),
        progress=progress,
    )
    stages = [stage for _, _, stage in calls]
    assert "读取学生文件" in stages
    assert "校验学生" in stages
    assert calls[-1] == (1, 2, "写入数据库")


def test_files_must_be_known_kinds(officer_a: User, school_a: OrgUnit) -> None:
    job = Job.objects.create(
        kind="register_import", title="t", created_by=officer_a, org_unit=school_a
    )
    with pytest.raises(DomainError, match="未知的学籍文件类型"):
        import_register(
            {"awards": RegisterFile(b"", "awards.csv")},
            actor=officer_a,
            register_import=RegisterImport.objects.create(job=job),
        )
