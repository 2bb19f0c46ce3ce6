"""应助尽助 coverage (issue 4; seed 二(一)1: "建档立卡贫困生资助全覆盖", 二(一)4: "确保应助
尽助").

A student is eligible when they are 在读 and they, or one of their guardians, have a live
record in the latest version of a dataset that proves a category 1–6 (the category's
`dataset_kind` and `criteria` on the record's attributes; exchange-formats.md, "Which
department data proves categories 1–6"). An eligible student is covered by a live award in
the school year, or explained by a recorded reason; everyone else is a gap.

Everything is computed with set-based queries: correlated EXISTS on the blind indexes, one
grouped query for the per-school counts, so a school's page reads a few thousand index
entries rather than the whole department file.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.db.models import Count, Exists, OuterRef, Q, QuerySet
from django.urls import reverse
from django.utils import timezone

from zizhu.aid.models import Award, AwardStatus, CoverageReason, HardshipCategory, SchoolYear
from zizhu.aid.rules import current_school_year
from zizhu.core import audit
from zizhu.core.errors import DomainError, NotPermitted
from zizhu.core.models import OrgUnit, UnitKind, User
from zizhu.core.reach import has_permission, require_permission, scope_for
from zizhu.core.worklist import WorkItem, register
from zizhu.registry.models import Guardian, Student, StudentStatus
from zizhu.sources.models import DatasetRecord, DatasetVersion

VIEW_PERM = "aid:view"
RECORD_PERM = "coverage:record"
REASON_MAX = 300


# --- which department records prove a category ------------------------------------------------


@dataclass(frozen=True)
class CategoryRule:
    """Category n is proven by a record of `version_id` whose attrs match `criteria`."""

    number: int
    name: str
    version_id: int
    criteria: dict[str, list[str]]

    def q(self) -> Q:
        condition = Q(version_id=self.version_id)
        for attr, allowed in self.criteria.items():
            condition &= Q(**{f"attrs__{attr}__in": list(allowed)})
        return condition

    def matches(self, version_id: int, attrs: dict[str, Any]) -> bool:
        return version_id == self.version_id and all(
            attrs.get(attr) in allowed for attr, allowed in self.criteria.items()
        )


def category_rules() -> list[CategoryRule]:
    """Categories 1–6 with the latest version of their dataset; a dataset never imported
    proves nothing yet."""
    latest: dict[str, int] = {}
    for kind, pk in DatasetVersion.objects.order_by("kind", "-number").values_list("kind", "pk"):
        latest.setdefault(kind, pk)
    rules = []
    for category in HardshipCategory.objects.filter(number__lte=6).exclude(dataset_kind=""):
        version_id = latest.get(category.dataset_kind)
        if version_id is not None:
            criteria = {str(k): [str(v) for v in vs] for k, vs in category.criteria.items()}
            rules.append(CategoryRule(category.number, category.name, version_id, criteria))
    return rules


def live_records(rules: Sequence[CategoryRule]) -> QuerySet[DatasetRecord]:
    condition = Q(pk__in=[])
    for rule in rules:
        condition |= rule.q()
    return DatasetRecord.objects.filter(condition)


def eligible_students(
    students: QuerySet[Student], rules: Sequence[CategoryRule]
) -> QuerySet[Student]:
    """在读 students among `students` whom a live record names, or names a guardian of."""
    records = live_records(rules)
    own = Exists(records.filter(person_hash=OuterRef("id_number_hash")))
    guardians = Guardian.objects.filter(student=OuterRef("pk")).filter(
        Exists(records.filter(person_hash=OuterRef("id_number_hash")))
    )
    return students.filter(status=StudentStatus.ENROLLED).filter(Q(own) | Q(Exists(guardians)))


def _cover(school_year: SchoolYear) -> tuple[Q, Q]:
    """(has a live award this year, has a recorded reason this year) as conditions."""
    award = Award.objects.filter(
        student=OuterRef("pk"), school_year=school_year, status=AwardStatus.LIVE
    )
    reason = CoverageReason.objects.filter(student=OuterRef("pk"), school_year=school_year)
    return Q(Exists(award)), Q(Exists(reason))


# --- the report -------------------------------------------------------------------------------


@dataclass(frozen=True)
class SchoolCoverage:
    school_id: int | None
    code: str
    name: str
    eligible: int
    covered: int
    with_reason: int

    @property
    def gaps(self) -> int:
        return self.eligible - self.covered - self.with_reason


@dataclass
class CoverageReport:
    school_year: SchoolYear
    rows: list[SchoolCoverage] = field(default_factory=list)
    gap_students: QuerySet[Student] = field(default_factory=Student.objects.none)

    @property
    def total(self) -> SchoolCoverage:
        return SchoolCoverage(
            None,
            "",
            "合计",
            sum(r.eligible for r in self.rows),
            sum(r.covered for r in self.rows),
            sum(r.with_reason for r in self.rows),
        )


def coverage_gaps(
    *, actor: User, school_year: SchoolYear, school: OrgUnit | None = None
) -> CoverageReport:
    """Per-school counts (eligible, covered, with a reason, gaps) within the actor's reach,
    and the gap students themselves (a lazy queryset, ordered for a list)."""
    require_permission(actor, VIEW_PERM)
    students = Student.objects.visible_to(actor, VIEW_PERM)
    if school is not None:
        students = students.filter(school=school)
    rules = category_rules()
    if not rules:
        return CoverageReport(school_year)
    eligible = eligible_students(students, rules)
    has_award, has_reason = _cover(school_year)
    grouped = (
        eligible.order_by()
        .values("school_id", "school__code", "school__name")
        .annotate(
            eligible=Count("pk"),
            covered=Count("pk", filter=has_award),
            with_reason=Count("pk", filter=~has_award & has_reason),
        )
        .order_by("school__code")
    )
    rows = [
        SchoolCoverage(
            row["school_id"],
            row["school__code"],
            row["school__name"],
            row["eligible"],
            row["covered"],
            row["with_reason"],
        )
        for row in grouped
    ]
    gaps = eligible.filter(~has_award & ~has_reason).select_related("school")
    return CoverageReport(school_year, rows, gaps.order_by("school__code", "grade", "class_name"))


def matched_categories(students: Sequence[Student]) -> dict[int, list[str]]:
    """For a page of students: which categories' data name them ("第2类（监护人）")."""
    rules = category_rules()
    if not students or not rules:
        return {}
    owners: dict[str, list[tuple[int, str]]] = {}
    for student in students:
        owners.setdefault(student.id_number_hash or "", []).append((student.pk, "本人"))
    guardians = Guardian.objects.filter(student__in=students).exclude(id_number_hash=None)
    for student_id, digest, relation in guardians.values_list(
        "student_id", "id_number_hash", "relation"
    ):
        owners.setdefault(digest or "", []).append((student_id, relation))
    found: dict[int, list[str]] = {}
    records = live_records(rules).filter(person_hash__in=[h for h in owners if h])
    for digest, version_id, attrs in records.values_list("person_hash", "version_id", "attrs"):
        for rule in rules:
            if not rule.matches(version_id, attrs):
                continue
            for student_id, who in owners.get(digest, []):
                label = f"第{rule.number}类（{who}）"
                if label not in found.setdefault(student_id, []):
                    found[student_id].append(label)
    return found


# --- recording a reason -----------------------------------------------------------------------


@transaction.atomic
def record_coverage_reason(
    student: Student, *, actor: User, school_year: SchoolYear, reason: str
) -> CoverageReason:
    """Why an eligible student has no award this year (家长放弃申请, 已享受其他资助…).
    Recording again replaces the reason; both versions stay in the audit log."""
    require_permission(actor, RECORD_PERM)
    locked = Student.objects.select_for_update().get(pk=student.pk)
    if not scope_for(actor, RECORD_PERM).covers(locked.school_id):
        raise NotPermitted("该学生不在您的管辖范围内，不能登记未资助原因。")
    reason = reason.strip()
    if not reason:
        raise DomainError("请填写未资助原因。")
    if len(reason) > REASON_MAX:
        raise DomainError(f"未资助原因不能超过 {REASON_MAX} 个字。")
    existing = (
        CoverageReason.objects.select_for_update()
        .filter(student=locked, school_year=school_year)
        .first()
    )
    before = {"reason": existing.reason} if existing else None
    if existing is None:
        existing = CoverageReason(student=locked, school_year=school_year, recorded_by=actor)
    existing.reason, existing.recorded_by, existing.recorded_at = reason, actor, timezone.now()
    existing.save()
    audit.record(
        "coverage.reason_recorded",
        actor=actor,
        subject=existing,
        org_unit=locked.school,
        before=before,
        after={"school_year": school_year.code, "reason": reason},
    )
    return existing


# --- the work list ----------------------------------------------------------------------------


@register
def coverage_work(actor: User) -> list[WorkItem]:
    """ "本校有 N 名应助未助学生待处理" for the schools an officer records reasons for.

    District-wide actors are left out: the count over every school on each visit to the home
    page is what the coverage page is for.
    """
    if not has_permission(actor, RECORD_PERM) or scope_for(actor, RECORD_PERM).everything:
        return []
    try:
        year = current_school_year()
    except DomainError:
        return []
    scope = scope_for(actor, RECORD_PERM)
    schools = set(
        OrgUnit.objects.filter(pk__in=scope.unit_ids, kind=UnitKind.SCHOOL).values_list(
            "pk", flat=True
        )
    )
    return [
        WorkItem(
            title=f"{row.name}：本校有 {row.gaps} 名应助未助学生待处理",
            url=reverse("aid:coverage_school", args=[row.school_id]) + f"?year={year.code}",
        )
        for row in coverage_gaps(actor=actor, school_year=year).rows
        if row.gaps and row.school_id in schools
    ]
