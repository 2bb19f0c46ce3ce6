"""Step (b): what makes a row acceptable, across the files and against the register."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from zizhu.core.models import OrgUnit, Stage, UnitKind
from zizhu.core.tabular import Row, find_duplicates
from zizhu.registry.grades import GRADES
from zizhu.registry.imports.common import (
    GUARDIANS,
    OUT_OF_REACH,
    SCHOOLS,
    STAFF,
    STATUS_LABEL,
    STATUS_VALUE,
    STUDENTS,
    Existing,
    Op,
    Plan,
    SchoolInfo,
    birth_of,
    chunks,
    gender_of,
)
from zizhu.registry.models import CHANGE_RULES, ChangeKind, Student, StudentStatus
from zizhu.registry.services import kind_for_status

# --- grades and ages -----------------------------------------------------------------------

# Grade one takes children who are six by 31 August, so on 1 September of the current school
# year a pupil of school year n is about n + 5. Repeated or late-started years are common, so
# two years either way pass; kindergarten takes any child of 3 to 6 in any of its classes.
AGE_OFFSET = 5
AGE_TOLERANCE = 2
PRESCHOOL_AGES = (3, 6)
# Only a live student's grade says how old they are now; a graduate's or a dropout's grade is
# the last one they had, possibly years ago.
AGE_CHECKED = frozenset({"在读", "休学"})


def age_on(birth: date, day: date) -> int:
    return day.year - birth.year - ((day.month, day.day) < (birth.month, birth.day))


def _cn_date(day: date) -> str:
    return f"{day.year}年{day.month}月{day.day}日"


def grade_problem(stage: str, grade: str, birth: date, status: str, sept1: date) -> str | None:
    """Why `grade` does not fit the school's stage or the birth date; None when it does."""
    years = GRADES[stage]
    if grade not in years:
        return f"“{grade}”不是{stage}的年级，应为：{'、'.join(years)}。"
    if status not in AGE_CHECKED:
        return None
    age = age_on(birth, sept1)
    if stage == Stage.PRESCHOOL:
        low, high = PRESCHOOL_AGES
        if low <= age <= high:
            return None
        return (
            f"出生日期 {birth} 与学段不符：幼儿园学生在{_cn_date(sept1)}应为 {low}–{high} 岁，"
            f"该生 {age} 岁。请核对身份证号或学校代码。"
        )
    expected = years[grade] + AGE_OFFSET
    if abs(age - expected) <= AGE_TOLERANCE:
        return None
    return (
        f"出生日期 {birth} 与年级不符：{grade}学生在{_cn_date(sept1)}约 {expected} 岁"
        f"（允许相差 {AGE_TOLERANCE} 岁），该生 {age} 岁。请核对身份证号或年级。"
    )


# --- (b) checks ------------------------------------------------------------------------------


def validate(plan: Plan) -> None:
    _load_schools(plan)
    _check_schools(plan)
    plan.file_students = {row["id_number"]: row for row in plan.rows(STUDENTS)}
    for row in plan.rows(GUARDIANS):
        plan.guardian_groups.setdefault(row["student_id_number"], []).append(row)
    wanted = {plan.id_hash(number) for number in (*plan.file_students, *plan.guardian_groups)}
    plan.existing = _existing_students(sorted(wanted))
    _check_students(plan)
    _check_guardians(plan)
    _check_staff(plan)


def _load_schools(plan: Plan) -> None:
    for unit in OrgUnit.objects.schools().order_by():
        plan.schools[unit.code] = SchoolInfo(
            unit.code, unit.stage, unit, plan.scope.covers(unit.pk)
        )
        plan.school_codes[unit.pk] = unit.code


def _existing_students(hashes: Sequence[str]) -> dict[str, Existing]:
    found: dict[str, Existing] = {}
    for chunk in chunks(hashes):
        rows = (
            Student.objects.filter(id_number_hash__in=chunk)
            .order_by()
            .values_list("id_number_hash", *Existing._fields)
        )
        for digest, *values in rows:
            found[digest] = Existing(*values)
    return found


def _check_schools(plan: Plan) -> None:
    rows = plan.rows(SCHOOLS)
    if not rows:
        return
    towns = {unit.name: unit for unit in OrgUnit.objects.filter(kind=UnitKind.TOWN)}
    taken = set(OrgUnit.objects.exclude(kind=UnitKind.SCHOOL).values_list("code", flat=True))
    plan.report.extend(SCHOOLS, find_duplicates(rows, "school_code", "学校代码"))
    for row in rows:
        code, town = row["school_code"], towns.get(row["town"])
        if code in taken:
            reason = "该代码已是区或街镇的代码，不能用作学校代码，请核对。"
            plan.report.add(SCHOOLS, row, "学校代码", code, reason)
        elif town is None:
            reason = f"“{row['town']}”不是本区的街镇，应为：{'、'.join(towns)}。"
            plan.report.add(SCHOOLS, row, "所属街镇", row["town"], reason)
        else:
            _check_school(plan, row, town)
    plan.tick("校验学校", len(rows))


def _check_school(plan: Plan, row: Row, town: OrgUnit) -> None:
    """A new school needs reach over its town; a registered one reach over itself, and over
    the new town too when the row moves it."""
    code = row["school_code"]
    known = plan.schools.get(code)
    unit = known.unit if known is not None else None
    if unit is None:
        in_reach = plan.scope.covers(town.pk)
    else:
        moved = unit.parent_id != town.pk
        in_reach = plan.scope.covers(unit.pk) and (not moved or plan.scope.covers(town.pk))
    if not in_reach:
        plan.report.add(SCHOOLS, row, "学校代码", code, OUT_OF_REACH)
    plan.schools[code] = SchoolInfo(code, row["stage"], unit, in_reach)
    plan.school_rows[code] = (row, town)


def _school_of(plan: Plan, kind: str, row: Row) -> SchoolInfo | None:
    """The row's school if it is known and within reach; else a row error and None."""
    code = row["school_code"]
    school = plan.schools.get(code)
    if school is None:
        reason = "学校代码不存在：请核对代码，或在学校文件中登记该学校后一并导入。"
        plan.report.add(kind, row, "学校代码", code, reason)
        return None
    if not school.in_reach:
        plan.report.add(kind, row, "学校代码", code, OUT_OF_REACH)
        return None
    return school


def _check_students(plan: Plan) -> None:
    rows = plan.rows(STUDENTS)
    plan.report.extend(STUDENTS, find_duplicates(rows, "id_number", "身份证号"))
    step = 10_000
    for index, row in enumerate(rows, start=1):
        school = _school_of(plan, STUDENTS, row)
        if school is not None:
            _check_student(plan, row, school)
        if index % step == 0:
            plan.tick("校验学生", step)
    plan.tick("校验学生", len(rows) % step)


def _check_student(plan: Plan, row: Row, school: SchoolInfo) -> None:
    number = row["id_number"]
    birth = birth_of(number)
    if row["gender"] != gender_of(number):
        reason = (
            f"性别与身份证号不符：身份证号第17位表示“{gender_of(number)}”。请核对性别或身份证号。"
        )
        plan.report.add(STUDENTS, row, "性别", row["gender"], reason)
    problem = grade_problem(school.stage, row["grade"], birth, row["status"], plan.sept1)
    if problem:
        plan.report.add(STUDENTS, row, "年级", row["grade"], problem)
    enrolled_on = row["enrolled_on"]
    if enrolled_on > plan.today:
        plan.report.add(STUDENTS, row, "入学日期", enrolled_on, "入学日期不能晚于今天。")
    elif enrolled_on < birth:
        plan.report.add(STUDENTS, row, "入学日期", enrolled_on, "入学日期早于出生日期，请核对。")
    existing = plan.existing.get(plan.id_hash(number))
    if existing is not None:
        _check_changes(plan, row, school, existing)


def _check_changes(plan: Plan, row: Row, school: SchoolInfo, existing: Existing) -> None:
    """A registered student: may the actor touch them, and does the ledger take the change?"""
    if not plan.scope.covers(existing.school_id):
        reason = "该身份证号已在其他学校登记学籍，不在您的管辖范围内。如需转入，请联系区资助中心。"
        plan.report.add(STUDENTS, row, "身份证号", row["id_number"], reason)
        return
    old, new = existing.status, STATUS_VALUE[row["status"]]
    moved = school.unit is None or school.unit.pk != existing.school_id
    if old == new and not moved:
        return
    ops = _ops_for(old, new, school.code if moved else None)
    problem = _ledger_problem(plan, existing, school, old, new, ops)
    if problem is not None:
        column, key, reason = problem
        plan.report.add(STUDENTS, row, column, row[key], reason)
    elif ops:
        plan.ops[plan.id_hash(row["id_number"])] = ops


def _ops_for(old: str, new: str, to_school: str | None) -> list[Op] | None:
    """The ledger entries for a status and school change, in the order they can happen.

    A transfer needs a student who is 在读 (CHANGE_RULES), so it comes before a change away
    from 在读 and after a change back to 在读. None: no order works.
    """
    status_ops = [Op(kind_for_status(old, new), None)] if old != new else []
    if to_school is None:
        return status_ops
    transfer = [Op(ChangeKind.TRANSFER, to_school)]
    if old == StudentStatus.ENROLLED:
        return transfer + status_ops
    if new == StudentStatus.ENROLLED:
        return status_ops + transfer
    return None


def _ledger_problem(
    plan: Plan,
    existing: Existing,
    school: SchoolInfo,
    old: str,
    new: str,
    ops: list[Op] | None,
) -> tuple[str, str, str] | None:
    """(column, row key, reason) when the ledger would refuse the change or the actor may
    not record it; None when `record_status_change` will accept every entry."""
    if old == StudentStatus.DECEASED and new != old:
        # CHANGE_RULES lets an ENROLMENT follow any status, for corrections made on screen
        # with evidence; a file alone never brings back a student registered as dead.
        reason = "该学生已登记为死亡，导入不能更改其学籍状态。如登记有误，请在学生页面登记更正。"
        return "学籍状态", "status", reason
    if ops is None:
        return (
            "学校代码",
            "school_code",
            (
                f"只有在读学生可以区内转学：该生原学籍状态为“{STATUS_LABEL[old]}”，文件中为"
                f"“{STATUS_LABEL[new]}”，学校却已改变。请核对学校代码或学籍状态。"
            ),
        )
    status = old
    for op in ops:
        allowed, after = CHANGE_RULES[op.kind]
        if status not in allowed:
            return (
                "学籍状态",
                "status",
                (
                    f"学籍状态不能由“{STATUS_LABEL[old]}”变为“{STATUS_LABEL[new]}”：学籍异动规则"
                    f"不允许在“{STATUS_LABEL[status]}”状态下登记“{ChangeKind(op.kind).label}”。"
                    "请核对学籍状态；如原登记有误，请在学生页面登记学籍异动。"
                ),
            )
        status = after or status
    target = school.unit.pk if school.unit is not None else None
    if not plan.change_scope.covers(existing.school_id) or (
        target is not None and not plan.change_scope.covers(target)
    ):
        return "学籍状态", "status", "您没有为该学生登记学籍异动的权限，请联系区资助中心办理。"
    return None


def _check_guardians(plan: Plan) -> None:
    rows = plan.rows(GUARDIANS)
    by_id = find_duplicates(rows, ("student_id_number", "id_number"), "监护人身份证号")
    flagged = {error.row for error in by_id}
    by_name = find_duplicates(rows, ("student_id_number", "name"), "监护人姓名")
    plan.report.extend(GUARDIANS, [*by_id, *(e for e in by_name if e.row not in flagged)])
    for row in rows:
        student = row["student_id_number"]
        if student not in plan.file_students:
            existing = plan.existing.get(plan.id_hash(student))
            if existing is None or not plan.scope.covers(existing.school_id):
                reason = (
                    "找不到该学生：既不在本次学生文件中，也不在您管辖范围内的学籍中。"
                    "请在学生文件中加入该学生后一并导入。"
                )
                plan.report.add(GUARDIANS, row, "学生身份证号", student, reason)
        if row["id_number"] == student:
            reason = "监护人身份证号与学生本人相同，请核对。"
            plan.report.add(GUARDIANS, row, "监护人身份证号", row["id_number"], reason)
    plan.tick("校验监护人", len(rows))


def _check_staff(plan: Plan) -> None:
    rows = plan.rows(STAFF)
    plan.report.extend(STAFF, find_duplicates(rows, ("id_number", "school_code"), "身份证号"))
    for row in rows:
        _school_of(plan, STAFF, row)
    plan.tick("校验教职工", len(rows))
