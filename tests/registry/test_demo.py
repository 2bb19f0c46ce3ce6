"""The demo district generator (issue 2, "Demo district")."""

from __future__ import annotations

import contextlib
import hashlib
from collections import Counter
from datetime import date
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import transaction
from django.utils import timezone

from zizhu.core import services
from zizhu.core.audit import verify_chain
from zizhu.core.errors import DomainError, NotCertified
from zizhu.core.idnumbers import parse_id_number
from zizhu.core.models import AuditEntry, OrgUnit, Role, Stage, UnitKind, User
from zizhu.registry.demo import DEMO_ACCOUNTS, DEMO_PASSWORD, DemoSummary, seed_demo
from zizhu.registry.models import Guardian, Post, Staff, Student

pytestmark = pytest.mark.django_db

STUDENTS = 400

# Age on 31 August of the school year's first calendar year (grade one: six).
AGE_BY_GRADE = {
    "小班": 3,
    "中班": 4,
    "大班": 5,
    **{f"{g}年级": 5 + n for n, g in enumerate("一二三四五六七八九", start=1)},
    "高一": 15,
    "高二": 16,
    "高三": 17,
}
VOCATIONAL_AGE = {"一年级": 15, "二年级": 16, "三年级": 17}
GRADES_BY_STAGE = {
    Stage.PRESCHOOL: {"小班", "中班", "大班"},
    Stage.PRIMARY: {f"{g}年级" for g in "一二三四五六"},
    Stage.JUNIOR: {"七年级", "八年级", "九年级"},
    Stage.NINE_YEAR: {f"{g}年级" for g in "一二三四五六七八九"},
    Stage.SENIOR: {"高一", "高二", "高三"},
    Stage.VOCATIONAL: {"一年级", "二年级", "三年级"},
}


class _Rollback(Exception):
    pass


def _digest() -> str:
    """Plain values and blind indexes (ciphertexts carry random nonces, so not those)."""
    parts: list[object] = list(
        OrgUnit.objects.schools()
        .order_by("code")
        .values_list("code", "name", "parent__name", "stage", "boarding")
    )
    students = Student.objects.order_by("id_number_hash")
    parts += [
        (s.name, s.id_number, s.birth_date, s.school.code, s.grade, s.class_name, s.boarder)
        for s in students.select_related("school")
    ]
    parts += list(
        students.values_list("id_number_hash", "phone_hash", "bank_account_hash", "home_address")
    )
    parts += list(
        Guardian.objects.order_by("student__id_number_hash", "relation").values_list(
            "name", "relation", "id_number_hash", "phone_hash", "employer"
        )
    )
    parts += list(
        Staff.objects.order_by("school__code", "name", "post").values_list("name", "post")
    )
    parts += list(User.objects.order_by("username").values_list("username", "full_name"))
    return hashlib.sha256(repr(parts).encode()).hexdigest()


def _seeded_digest(seed: int) -> str:
    """Seed inside a savepoint, digest, roll back: each call starts from the same empty state."""
    digest = ""
    with contextlib.suppress(_Rollback), transaction.atomic():
        seed_demo(students=120, seed=seed)
        digest = _digest()
        raise _Rollback
    assert not OrgUnit.objects.schools().exists()
    return digest


@pytest.fixture
def summary() -> DemoSummary:
    return seed_demo(students=STUDENTS, seed=1)


def test_same_seed_gives_the_same_district() -> None:
    first = _seeded_digest(7)
    assert _seeded_digest(7) == first
    assert _seeded_digest(8) != first


def test_seeds_about_80_schools_of_every_stage_in_every_town(summary: DemoSummary) -> None:
    schools = OrgUnit.objects.schools()
    assert 75 <= summary.schools == schools.count() <= 85
    assert set(schools.values_list("stage", flat=True)) == set(Stage.values)
    towns = OrgUnit.objects.filter(kind=UnitKind.TOWN)
    assert set(schools.values_list("parent", flat=True)) == set(towns.values_list("pk", flat=True))
    codes = list(schools.values_list("code", flat=True))
    assert all(len(c) == 10 and c.startswith("420117") and c.isdigit() for c in codes)
    assert schools.filter(boarding=True).exists()
    assert not schools.filter(stage=Stage.PRESCHOOL, boarding=True).exists()


def test_student_ids_are_valid_unique_and_match_the_derived_fields(summary: DemoSummary) -> None:
    students = list(Student.objects.all())
    assert len(students) == summary.students == STUDENTS
    numbers = [s.id_number or "" for s in students]
    assert len(set(numbers)) == len(numbers)
    for student in students:
        parsed = parse_id_number(student.id_number or "")
        assert parsed.area_code == student.area_code == "420117"
        assert parsed.birth_date == student.birth_date
        assert parsed.gender == student.gender


def test_guardian_and_staff_ids_are_valid_and_all_distinct(summary: DemoSummary) -> None:
    adult_ids = [g.id_number for g in Guardian.objects.all() if g.id_number]
    adult_ids += [s.id_number for s in Staff.objects.all() if s.id_number]
    student_ids = {s.id_number for s in Student.objects.all()}
    for number in adult_ids:
        parsed = parse_id_number(number)
        assert parsed.area_code == "420117"
    assert len(set(adult_ids)) == len(adult_ids)
    assert not student_ids & set(adult_ids)


def _school_year(today: date) -> int:
    return today.year if today.month >= 9 else today.year - 1


def test_birth_dates_and_grades_fit_the_stage(summary: DemoSummary) -> None:
    year = _school_year(timezone.localdate())
    for student in Student.objects.select_related("school"):
        stage = student.school.stage
        assert student.grade in GRADES_BY_STAGE[Stage(stage)]
        ages = VOCATIONAL_AGE if stage == Stage.VOCATIONAL else AGE_BY_GRADE
        cutoff = date(year, 8, 31)
        born = student.birth_date
        age = cutoff.year - born.year - ((cutoff.month, cutoff.day) < (born.month, born.day))
        assert age == ages[student.grade], (student.grade, born)
        assert student.class_name.endswith("班")


def test_boarders_only_in_boarding_schools(summary: DemoSummary) -> None:
    assert not Student.objects.filter(boarder=True, school__boarding=False).exists()
    assert Student.objects.filter(boarder=True).exists()


def test_every_student_has_one_or_two_guardians_and_a_card_holder(summary: DemoSummary) -> None:
    counts = Counter(Guardian.objects.values_list("student_id", flat=True))
    assert set(counts.values()) <= {1, 2}
    assert len(counts) == STUDENTS
    guardians = list(Guardian.objects.all())
    missing = sum(1 for g in guardians if not g.id_number)
    assert 0.01 < missing / len(guardians) < 0.12
    family: dict[int, set[str | None]] = {g.student_id: set() for g in guardians}
    for g in guardians:
        family[g.student_id].add(g.id_number)
    for student in Student.objects.all():
        assert student.card_holder_id in family[student.pk] | {student.id_number}
        assert (student.phone or "").startswith("13")
        assert len(student.bank_account or "") == 19


def test_each_school_has_a_head_an_aid_officer_and_teachers(summary: DemoSummary) -> None:
    for school in OrgUnit.objects.schools():
        posts = Counter(Staff.objects.filter(school=school).values_list("post", flat=True))
        head = Post.KINDERGARTEN_HEAD if school.stage == Stage.PRESCHOOL else Post.PRINCIPAL
        assert posts[head] == 1
        assert posts[Post.AID_OFFICER] == 1
        assert posts[Post.TEACHER] >= 4
    assert Staff.objects.filter(hardship_staff=True).exists()


def test_every_role_has_a_demo_login_with_the_demo_password(summary: DemoSummary) -> None:
    assert {account.role for account in DEMO_ACCOUNTS} == set(Role.values)
    for account in DEMO_ACCOUNTS:
        user = User.objects.get(username=account.username)
        assert user.check_password(DEMO_PASSWORD)
        assert list(user.assignments.values_list("role", flat=True)) == [account.role]


def test_town_supervisor_and_school_accounts_sit_in_zhucheng(summary: DemoSummary) -> None:
    town = User.objects.get(username="demo_town").assignments.get()
    assert town.org_unit.name == "邾城街道"
    for username in ("demo_officer", "demo_principal", "demo_inspector"):
        unit = User.objects.get(username=username).assignments.get().org_unit
        assert unit.stage == Stage.PRIMARY
        assert unit.parent == town.org_unit
    for username in ("demo_officer", "demo_principal"):
        staff = Staff.objects.select_related("user").get(user__username=username)
        assert staff.user is not None
        assert staff.name == staff.user.full_name


def test_only_the_certified_officers_pass_require_certified(summary: DemoSummary) -> None:
    services.require_certified(User.objects.get(username="demo_officer"))
    services.require_certified(User.objects.get(username="demo_district"))
    with pytest.raises(NotCertified, match="尚未取得"):
        services.require_certified(User.objects.get(username="demo_uncertified"))
    with pytest.raises(NotCertified, match="过期"):
        services.require_certified(User.objects.get(username="demo_expired"))


def test_seeding_writes_a_demo_audit_row_and_keeps_the_chain(summary: DemoSummary) -> None:
    row = AuditEntry.objects.get(action="demo.seeded")
    assert row.actor is None
    assert row.actor_label == "演示数据"
    assert row.after is not None
    assert row.after["students"] == STUDENTS
    assert row.after["schools"] == summary.schools
    assert verify_chain().ok


def test_seeding_twice_is_refused(summary: DemoSummary) -> None:
    with pytest.raises(DomainError, match="演示账号已存在"):
        seed_demo(students=10, seed=1)


def test_command_seeds_and_skips_when_schools_exist() -> None:
    out = StringIO()
    call_command("seed_demo", "--students", "30", "--seed", "3", "--if-empty", stdout=out)
    assert "30 名学生" in out.getvalue()
    assert "份申请" in out.getvalue()  # the aid year is seeded on top (issue 4)
    seeded = Student.objects.count()
    out = StringIO()
    call_command("seed_demo", "--students", "30", "--seed", "3", "--if-empty", stdout=out)
    assert "跳过" in out.getvalue()
    assert Student.objects.count() == seeded


def test_demo_logins_prints_every_account_and_the_login_url(summary: DemoSummary) -> None:
    out = StringIO()
    call_command("demo_logins", stdout=out)
    text = out.getvalue()
    assert "http://127.0.0.1:8000/login/" in text
    assert DEMO_PASSWORD in text
    for account in DEMO_ACCOUNTS:
        assert account.username in text
    assert "已过期" in text
    assert "未取证" in text


def test_demo_logins_without_a_demo_says_how_to_seed() -> None:
    out = StringIO()
    call_command("demo_logins", stdout=out)
    assert "seed-demo" in out.getvalue()
