"""Identification of families in economic difficulty (seed 二(一)3; issue 4, "Identification").

Categories 1–6 are identified directly from other departments' data: the latest version of
each category's dataset is matched, by blind index, against every 在读 student and their
guardians, and each hit becomes a proposal that keeps the dataset version and the row it
came from. An officer confirms or dismisses it. Category 7 rests on a home or neighbour
visit record and the evaluation group's opinion.

Per student per school year the result is the national system's triple (认定级别, 认定时间,
认定原因) in an `Identification`; nobody records a category 1–6 without a confirmed
proposal, or a recorded exception with its reason.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterable, Sequence
from datetime import date
from typing import Any

from django.core.exceptions import ValidationError
from django.core.files.base import File
from django.db import IntegrityError, transaction
from django.db.models import OuterRef, Q, QuerySet, Subquery
from django.urls import reverse
from django.utils import timezone

from zizhu.aid.models import (
    CategoryProposal,
    DifficultyTier,
    Evaluation,
    HardshipCategory,
    HomeVisit,
    Identification,
    ProposalStatus,
    SchoolYear,
)
from zizhu.core import audit, worklist
from zizhu.core.errors import Conflict, DomainError, NotPermitted, OutOfReach
from zizhu.core.jobs import Progress, handles, start_job
from zizhu.core.models import Job, OrgUnit, User
from zizhu.core.reach import get_for, has_permission, home_unit, require_permission, scope_for
from zizhu.core.services import require_certified
from zizhu.registry.models import Guardian, Student, StudentStatus
from zizhu.sources.models import DatasetRecord, DatasetVersion

MANAGE = "identification:manage"
VIEW = "aid:view"
JOB_KIND = "category_proposals"
SELF = "学生本人"
VISIT_KINDS = ("家访", "邻里走访")
NOTE_MAX = 300  # CategoryProposal.note
_BATCH = 1000


# --- reads: the reach doors for models without a visible_to manager -----------------------


def proposals_visible_to(actor: User, perm: str = VIEW) -> QuerySet[CategoryProposal]:
    return scope_for(actor, perm).filter(CategoryProposal.objects.all(), "student__school")


def get_proposal_for(actor: User, pk: int, *, perm: str = VIEW) -> CategoryProposal:
    queryset = CategoryProposal.objects.select_related(
        "student__school", "category", "dataset_version", "record", "school_year"
    )
    return get_for(actor, queryset, "student__school", perm=perm, pk=pk)


def visits_visible_to(actor: User, perm: str = VIEW) -> QuerySet[HomeVisit]:
    return scope_for(actor, perm).filter(HomeVisit.objects.all(), "student__school")


def get_visit_for(actor: User, pk: int, *, perm: str = VIEW) -> HomeVisit:
    queryset = HomeVisit.objects.select_related("student__school")
    return get_for(actor, queryset, "student__school", perm=perm, pk=pk)


def evaluations_visible_to(actor: User, perm: str = VIEW) -> QuerySet[Evaluation]:
    return scope_for(actor, perm).filter(Evaluation.objects.all(), "student__school")


def _require_student_in_reach(actor: User, student: Student) -> None:
    require_permission(actor, MANAGE)
    if not scope_for(actor, MANAGE).covers(student.school_id):
        raise OutOfReach()


def _clean(obj: HomeVisit | Evaluation | Identification) -> None:
    """Field limits as friendly messages (style.md, "Data"); references are checked above."""
    try:
        obj.full_clean(validate_unique=False, validate_constraints=False)
    except ValidationError as error:
        raise DomainError("；".join(error.messages)) from None


# --- matching department data -------------------------------------------------------------


def criteria_q(criteria: dict[str, list[str]]) -> Q:
    """A record is live for a category when every listed attribute has an allowed value;
    empty criteria accept every record (烈士子女: being listed is the proof)."""
    condition = Q()
    for key, values in criteria.items():
        condition &= Q(**{f"attrs__{key}__in": list(values)})
    return condition


def latest_versions(kinds: Collection[str]) -> dict[str, DatasetVersion]:
    """The newest version of each dataset kind, in one query."""
    newest = DatasetVersion.objects.filter(kind=OuterRef("kind")).order_by("-number")
    versions = DatasetVersion.objects.filter(
        kind__in=list(kinds), number=Subquery(newest.values("number")[:1])
    )
    return {version.kind: version for version in versions}


def _matches(
    records: QuerySet[DatasetRecord], students: QuerySet[Student]
) -> tuple[list[tuple[int, str, str]], dict[str, int]]:
    """Who matched and on which record, in three set-based queries whatever the number of
    students: (student pk, person hash, matched via) for every student or guardian with a
    live record, and each matched person's first live record (by row)."""
    guardians = Guardian.objects.filter(student__in=students)
    own = students.filter(id_number_hash__in=records.values("person_hash")).values_list(
        "pk", "id_number_hash"
    )
    kin = (
        guardians.filter(id_number_hash__in=records.values("person_hash"))
        .order_by("student_id", "pk")
        .values_list("student_id", "id_number_hash", "relation")
    )
    found = [(pk, str(digest), SELF) for pk, digest in own]
    found += [(pk, str(digest), f"监护人：{relation}") for pk, digest, relation in kin]
    rows = (
        records.filter(
            Q(person_hash__in=students.values("id_number_hash"))
            | Q(person_hash__in=guardians.values("id_number_hash"))
        )
        .order_by("row_number")
        .values_list("person_hash", "pk")
    )
    first: dict[str, int] = {}
    for digest, pk in rows:
        first.setdefault(digest, pk)
    return found, first


def _propose_category(
    category: HardshipCategory,
    version: DatasetVersion,
    students: QuerySet[Student],
    school_year: SchoolYear,
) -> tuple[int, int]:
    """Create the proposals this category's latest data supports; (created, already known).

    A match is new unless the student already has a proposal of this category this year
    about the same person, whatever its status or version: a dismissed proposal is not
    raised again, and a newer version of the same record does not ask twice.
    """
    records = DatasetRecord.objects.filter(version=version).filter(criteria_q(category.criteria))
    matches, first_record = _matches(records, students)
    known = set(
        CategoryProposal.objects.filter(
            school_year=school_year, category=category, student__in=students
        ).values_list("student_id", "record__person_hash")
    )
    fresh: dict[tuple[int, str], str] = {}
    for student_id, digest, via in matches:
        if (student_id, digest) not in known:
            fresh.setdefault((student_id, digest), via)
    new = [
        CategoryProposal(
            student_id=student_id,
            school_year=school_year,
            category=category,
            dataset_version=version,
            record_id=first_record[digest],
            matched_via=via,
        )
        for (student_id, digest), via in fresh.items()
        if digest in first_record
    ]
    # ignore_conflicts: a concurrent run may have inserted the same row (proposal_unique).
    CategoryProposal.objects.bulk_create(new, batch_size=_BATCH, ignore_conflicts=True)
    return len(new), len({(s, d) for s, d, _ in matches}) - len(new)


def _students_for(actor: User, school: OrgUnit | None) -> QuerySet[Student]:
    scope = scope_for(actor, MANAGE)
    students = scope.filter(Student.objects.filter(status=StudentStatus.ENROLLED), "school")
    if school is not None:
        if not scope.covers(school.pk):
            raise OutOfReach()
        students = students.filter(school=school)
    return students


@transaction.atomic
def propose_categories(
    *,
    actor: User,
    school_year: SchoolYear,
    school: OrgUnit | None = None,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Match the latest data of every category 1–6 against the 在读 students within reach
    (district-wide for district roles) and their guardians; returns the counts."""
    require_permission(actor, MANAGE)
    students = _students_for(actor, school)
    categories = list(
        HardshipCategory.objects.filter(number__lte=6).exclude(dataset_kind="").order_by("number")
    )
    versions = latest_versions({c.dataset_kind for c in categories})
    counts: dict[str, Any] = {"created": 0, "already": 0, "by_category": {}, "no_data": []}
    for index, category in enumerate(categories):
        if progress is not None:
            progress(index, total=len(categories), stage=f"比对第{category.number}类")
        version = versions.get(category.dataset_kind)
        if version is None:
            counts["no_data"].append(category.number)
            continue
        created, already = _propose_category(category, version, students, school_year)
        counts["created"] += created
        counts["already"] += already
        counts["by_category"][str(category.number)] = created
    if progress is not None:
        progress(len(categories), total=len(categories), stage="完成")
    audit.record(
        "identification.proposed",
        actor=actor,
        org_unit=school or home_unit(actor, MANAGE),
        after={"school_year": school_year.code, "school": school.code if school else "", **counts},
    )
    return counts


def start_category_proposals(*, actor: User, school_year: SchoolYear) -> Job:
    """Queue the match as a background job; the job page follows it from there."""
    require_permission(actor, MANAGE)
    unit = home_unit(actor, MANAGE)
    if unit is None:  # unreachable after the permission check; keeps the type exact
        raise NotPermitted("您没有困难认定的岗位。")
    return start_job(
        JOB_KIND,
        actor=actor,
        org_unit=unit,
        title=f"{school_year.code}学年 第1–6类困难类别比对",
        params={"school_year": school_year.pk},
    )


@handles(JOB_KIND)
def run_category_proposals(job: Job, progress: Progress) -> tuple[dict[str, Any], str]:
    school_year = SchoolYear.objects.get(pk=job.params["school_year"])
    counts = propose_categories(actor=job.created_by, school_year=school_year, progress=progress)
    message = f"比对完成：新增 {counts['created']} 条类别比对建议，已有 {counts['already']} 条。"
    if counts["no_data"]:
        missing = "、".join(f"第{n}类" for n in counts["no_data"])
        message += f"{missing}尚未导入部门数据，未比对。"
    return {**counts, "url": reverse("aid:identification_proposals")}, message


def stale_proposal_ids(proposals: Iterable[CategoryProposal]) -> set[int]:
    """Proposals whose person has no live record any more in the latest version of their
    dataset. They are kept (they were the evidence at the time) but shown as stale.

    One query per category among the proposals (at most six), whatever their number.
    """
    groups: dict[tuple[int, str], list[CategoryProposal]] = defaultdict(list)
    for proposal in proposals:
        groups[(proposal.category_id, proposal.dataset_version.kind)].append(proposal)
    latest = latest_versions({kind for _, kind in groups})
    stale: set[int] = set()
    for (_, kind), group in groups.items():
        version = latest.get(kind)
        if version is None:
            continue
        hashes = sorted({p.record.person_hash for p in group})
        live = set(
            DatasetRecord.objects.filter(version=version, person_hash__in=hashes)
            .filter(criteria_q(group[0].category.criteria))
            .values_list("person_hash", flat=True)
        )
        stale.update(p.pk for p in group if p.record.person_hash not in live)
    return stale


# --- deciding proposals -------------------------------------------------------------------


def _decide(proposal: CategoryProposal, *, actor: User, status: str, note: str) -> CategoryProposal:
    _require_student_in_reach(actor, proposal.student)
    require_certified(actor)
    if len(note) > NOTE_MAX:
        raise DomainError(f"说明不能超过 {NOTE_MAX} 个字。")
    if status == ProposalStatus.CONFIRMED and stale_proposal_ids([proposal]):
        raise DomainError(
            "该建议依据的部门数据已更新，最新版本中已无此有效记录，不能确认。"
            "请重新运行类别比对，或按例外情形认定并说明原因。"
        )
    updated = CategoryProposal.objects.filter(
        pk=proposal.pk, status=ProposalStatus.PROPOSED
    ).update(status=status, decided_by=actor, decided_at=timezone.now(), note=note)
    if updated != 1:
        raise Conflict("该建议已被处理（可能是其他人刚刚处理），请刷新页面查看。")
    proposal.refresh_from_db()
    audit.record(
        f"identification.proposal_{status}",
        actor=actor,
        subject=proposal,
        org_unit=proposal.student.school,
        before={"status": ProposalStatus.PROPOSED},
        after={
            "status": status,
            "category": proposal.category.number,
            "dataset_version": proposal.dataset_version_id,
            "record": proposal.record_id,
            "matched_via": proposal.matched_via,
            "note": note,
        },
    )
    return proposal


@transaction.atomic
def confirm_proposal(
    proposal: CategoryProposal, *, actor: User, note: str = ""
) -> CategoryProposal:
    return _decide(proposal, actor=actor, status=ProposalStatus.CONFIRMED, note=note.strip())


@transaction.atomic
def dismiss_proposal(proposal: CategoryProposal, *, actor: User, note: str) -> CategoryProposal:
    if not note.strip():
        raise DomainError("不予认定须填写说明，例如“经核实，该监护人已不与学生共同生活”。")
    return _decide(proposal, actor=actor, status=ProposalStatus.DISMISSED, note=note.strip())


# --- category 7 evidence ------------------------------------------------------------------


def _check_day(day: date, school_year: SchoolYear, what: str) -> None:
    if day > timezone.localdate():
        raise DomainError(f"{what}不能晚于今天。")
    if day > school_year.ends_on:
        raise DomainError(f"{what}不能晚于{school_year.code}学年结束日期。")


@transaction.atomic
def record_home_visit(
    student: Student,
    *,
    actor: User,
    school_year: SchoolYear,
    kind: str,
    visited_on: date,
    visitors: str,
    met_with: str,
    findings: str,
    attachment: File[bytes] | None = None,
) -> HomeVisit:
    """走访座谈记录 (seed 二(一)3): who visited whom, when, and what they found."""
    _require_student_in_reach(actor, student)
    if kind not in VISIT_KINDS:
        raise DomainError("走访方式应为“家访”或“邻里走访”。")
    _check_day(visited_on, school_year, "走访日期")
    visitors, met_with, findings = visitors.strip(), met_with.strip(), findings.strip()
    if not (visitors and met_with and findings):
        raise DomainError("请填写走访人员、走访对象和走访情况。")
    visit = HomeVisit(
        student=student,
        school_year=school_year,
        kind=kind,
        visited_on=visited_on,
        visitors=visitors,
        met_with=met_with,
        findings=findings,
        recorded_by=actor,
    )
    _clean(visit)
    if attachment is not None:
        visit.attachment.save(attachment.name or "attachment", attachment, save=False)
    visit.save()
    audit.record(
        "identification.visit_recorded",
        actor=actor,
        subject=visit,
        org_unit=student.school,
        after={
            "student": student.pk,
            "school_year": school_year.code,
            "kind": kind,
            "visited_on": visited_on,
            "visitors": visitors,
            "met_with": met_with,
            "attachment": bool(visit.attachment),
        },
    )
    return visit


@transaction.atomic
def record_evaluation(
    student: Student,
    *,
    actor: User,
    school_year: SchoolYear,
    members: str,
    agreed: bool,
    opinion: str,
    held_on: date,
) -> Evaluation:
    """The school evaluation group's opinion (评议小组意见) on a category-7 case."""
    _require_student_in_reach(actor, student)
    _check_day(held_on, school_year, "评议日期")
    members, opinion = members.strip(), opinion.strip()
    if not (members and opinion):
        raise DomainError("请填写评议小组成员和评议意见。")
    evaluation = Evaluation(
        student=student,
        school_year=school_year,
        members=members,
        agreed=agreed,
        opinion=opinion,
        held_on=held_on,
        recorded_by=actor,
    )
    _clean(evaluation)
    evaluation.save()
    audit.record(
        "identification.evaluation_recorded",
        actor=actor,
        subject=evaluation,
        org_unit=student.school,
        after={
            "student": student.pk,
            "school_year": school_year.code,
            "members": members,
            "agreed": agreed,
            "held_on": held_on,
        },
    )
    return evaluation


# --- identification -----------------------------------------------------------------------


def _owned(
    obj: HomeVisit | Evaluation | CategoryProposal, student: Student, year: SchoolYear
) -> bool:
    return obj.student_id == student.pk and obj.school_year_id == year.pk


def _department_evidence(
    student: Student,
    school_year: SchoolYear,
    category: HardshipCategory,
    proposal: CategoryProposal | None,
    exception_reason: str,
) -> CategoryProposal | None:
    """Categories 1–6: a confirmed proposal of that category, or a recorded exception."""
    if proposal is not None:
        if not _owned(proposal, student, school_year) or proposal.category_id != category.pk:
            raise DomainError("所选比对建议不属于该学生本学年的这一类别，请重新选择。")
        if proposal.status != ProposalStatus.CONFIRMED:
            raise DomainError("所选比对建议尚未确认，请先确认后再认定。")
        return proposal
    found = (
        CategoryProposal.objects.filter(
            student=student,
            school_year=school_year,
            category=category,
            status=ProposalStatus.CONFIRMED,
        )
        .order_by("-decided_at", "-pk")
        .first()
    )
    if found is None and not exception_reason:
        raise DomainError(
            f"认定为{category}须有已确认的部门比对依据（{category.department or '相关部门'}数据）。"
            "如确属例外情形（如数据尚未更新），请填写例外说明后再认定。"
        )
    return found


def _visit_evidence(
    student: Student,
    school_year: SchoolYear,
    home_visit: HomeVisit | None,
    evaluation: Evaluation | None,
) -> tuple[HomeVisit, Evaluation]:
    """Category 7: a visit record and an agreeing evaluation, both of that school year."""
    visits = HomeVisit.objects.filter(student=student, school_year=school_year)
    evaluations = Evaluation.objects.filter(student=student, school_year=school_year)
    if home_visit is not None and not _owned(home_visit, student, school_year):
        raise DomainError("所选走访记录不属于该学生本学年，请重新选择。")
    if evaluation is not None and not _owned(evaluation, student, school_year):
        raise DomainError("所选评议意见不属于该学生本学年，请重新选择。")
    visit = home_visit or visits.order_by("-visited_on", "-pk").first()
    opinion = evaluation or evaluations.filter(agreed=True).order_by("-held_on", "-pk").first()
    if visit is None:
        raise DomainError(
            "认定为第7类须先录入本学年的家访或邻里走访记录（走访座谈记录），再由评议小组评议。"
        )
    if opinion is None or not opinion.agreed:
        raise DomainError("认定为第7类须有评议小组本学年“同意认定”的评议意见，请先录入评议意见。")
    return visit, opinion


def _triple(identification: Identification) -> dict[str, Any]:
    return {
        "school_year": identification.school_year.code,
        "category": identification.category.number,
        "tier": identification.tier.name,
        "identified_on": identification.identified_on,
        "reason": identification.reason,
    }


def _revoke_live(student: Student, school_year: SchoolYear, *, actor: User) -> None:
    live = (
        Identification.objects.select_for_update()
        .select_related("category", "tier", "school_year")
        .filter(student=student, school_year=school_year, revoked_at__isnull=True)
        .first()
    )
    if live is None:
        return
    Identification.objects.filter(pk=live.pk).update(revoked_at=timezone.now())
    audit.record(
        "identification.revoked",
        actor=actor,
        subject=live,
        org_unit=student.school,
        before=_triple(live),
        after={"revoked": True, "reason": "重新认定"},
    )


@transaction.atomic
def identify_student(
    student: Student,
    *,
    actor: User,
    school_year: SchoolYear,
    category: HardshipCategory,
    tier: DifficultyTier,
    reason: str,
    proposal: CategoryProposal | None = None,
    home_visit: HomeVisit | None = None,
    evaluation: Evaluation | None = None,
    exception_reason: str = "",
) -> Identification:
    """Record the student's 认定级别, 认定时间 (today) and 认定原因 for the school year.

    Re-identifying revokes the live identification of that year first (kept, dated).
    """
    # Reach and status are read on the locked row: a transfer may have just moved them.
    locked = Student.objects.select_for_update().select_related("school").get(pk=student.pk)
    _require_student_in_reach(actor, locked)
    require_certified(actor)
    if locked.status != StudentStatus.ENROLLED:
        raise DomainError(
            f"{locked.name}当前学籍状态为“{locked.get_status_display()}”，只能认定在读学生。"
        )
    reason, exception_reason = reason.strip(), exception_reason.strip()
    if not reason:
        raise DomainError("请填写认定原因。")
    if category.needs_visit:
        home_visit, evaluation = _visit_evidence(locked, school_year, home_visit, evaluation)
        proposal, exception_reason = None, ""
    else:
        proposal = _department_evidence(locked, school_year, category, proposal, exception_reason)
        if proposal is not None:
            exception_reason = ""
        # A visit may back a category 1–6 too; it must still be this student's, this year.
        for extra in (home_visit, evaluation):
            if extra is not None and not _owned(extra, locked, school_year):
                raise DomainError("所选走访记录或评议意见不属于该学生本学年，请重新选择。")
    identification = Identification(
        student=locked,
        school_year=school_year,
        category=category,
        tier=tier,
        identified_on=timezone.localdate(),
        reason=reason,
        proposal=proposal,
        home_visit=home_visit,
        evaluation=evaluation,
        exception_reason=exception_reason,
        identified_by=actor,
    )
    _clean(identification)
    _revoke_live(locked, school_year, actor=actor)
    try:
        with transaction.atomic():
            identification.save()
    except IntegrityError:
        raise Conflict("该学生本学年刚刚被他人认定，请刷新页面后查看。") from None
    audit.record(
        "identification.identified",
        actor=actor,
        subject=identification,
        org_unit=locked.school,
        after={
            **_triple(identification),
            "proposal": proposal.pk if proposal else None,
            "home_visit": home_visit.pk if home_visit else None,
            "evaluation": evaluation.pk if evaluation else None,
            "exception_reason": exception_reason,
        },
    )
    return identification


# --- the home page's work list ------------------------------------------------------------


@worklist.register
def pending_proposals(actor: User) -> list[worklist.WorkItem]:
    """ "N 条类别比对建议待确认" for officers who decide them, within their reach."""
    if not has_permission(actor, MANAGE):
        return []
    year = SchoolYear.objects.filter(current=True).first()
    if year is None:
        return []
    count = (
        proposals_visible_to(actor, MANAGE)
        .filter(school_year=year, status=ProposalStatus.PROPOSED)
        .count()
    )
    if not count:
        return []
    return [
        worklist.WorkItem(
            title=f"{count} 条类别比对建议待确认",
            url=reverse("aid:identification_proposals") + f"?year={year.pk}&status=proposed",
        )
    ]


def proposals_of(student: Student, school_year: SchoolYear) -> Sequence[CategoryProposal]:
    """A student's proposals of a year with what the page shows of their evidence."""
    return list(
        CategoryProposal.objects.filter(student=student, school_year=school_year)
        .select_related("category", "dataset_version", "record", "decided_by")
        .order_by("category__number", "pk")
    )
