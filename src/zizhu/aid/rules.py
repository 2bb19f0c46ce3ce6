"""Pure-ish rules of the aid year: current school year, months, standards, stage by grade.

Kept apart from the services so every step (applications, reviews, payments) computes
amounts and effective months the same way.
"""

from __future__ import annotations

from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from zizhu.aid.models import DifficultyTier, Programme, SchoolYear, Standard
from zizhu.core.errors import DomainError
from zizhu.core.models import Stage
from zizhu.registry.models import Student

CENT = Decimal("0.01")
_JUNIOR_GRADES = frozenset({"七年级", "八年级", "九年级"})


def current_school_year() -> SchoolYear:
    year = SchoolYear.objects.filter(current=True).first()
    if year is None:
        raise DomainError("尚未设置当前学年，请区资助中心在“资助配置”中设置。")
    return year


def first_of_month(day: date) -> date:
    return day.replace(day=1)


def next_month(day: date) -> date:
    """The first day of the month after `day`: when a decision takes effect (seed 二(二)3,
    "从次月起执行")."""
    return date(day.year + day.month // 12, day.month % 12 + 1, 1)


def student_stage(student: Student) -> str:
    """The stage a student's standard follows: a 九年一贯制 school is primary for grades 1–6
    and junior for 7–9."""
    stage = student.school.stage
    if stage == Stage.NINE_YEAR:
        return Stage.JUNIOR if student.grade in _JUNIOR_GRADES else Stage.PRIMARY
    return stage


def eligible_stage(programme: Programme, student: Student) -> bool:
    stages = set(programme.stages)
    if student.school.stage in stages or student_stage(student) in stages:
        return not programme.grades or student.grade in programme.grades
    return False


def annual_amount(
    programme: Programme, school_year: SchoolYear, tier: DifficultyTier, student: Student
) -> Decimal:
    """The student's yearly amount: the standard for the tier (and stage where the standard
    depends on it), times the non-boarder share where it applies (生活补助: 50 %)."""
    standards = Standard.objects.filter(programme=programme, school_year=school_year, tier=tier)
    standard = (
        standards.filter(stage=student_stage(student)).first() or standards.filter(stage="").first()
    )
    if standard is None:
        raise DomainError(
            f"{school_year.code}学年“{programme.name}”尚未设置“{tier.name}”的资助标准，"
            "请区资助中心先在资助配置中设置。"
        )
    amount = standard.annual_amount
    if not student.boarder:
        amount = amount * programme.non_boarder_ratio
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)
