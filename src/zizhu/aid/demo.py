"""The aid half of the demo district: quotas, identifications, applications in every state,
live notices of all three rounds and awards (issue 4, "The demo district contains
applications in every state and live notices").

It builds on `registry.demo.seed_demo` and acts only through the aid services, as the demo
accounts: demo_officer enters and submits, the second officer demo_officer2 reviews (a
school review must be done by a certified officer other than the submitter), demo_principal
signs, demo_officer publishes rounds 1–2, demo_district reviews, publishes round 3 and
confirms the awards, demo_district sets the quotas.

Two things here are not how the live system works, and only the demo does them:

* The demo school is topped up to `COHORT` enrolled students (a small `--students` leaves
  it with a handful or none), so that every state can be shown at the school the demo
  logins work at. They are drawn like the rest of the register, with ID numbers checked
  against every person already on file.
* Time travel. A notice can only be published from today, and an application moves past a
  round only once that round has ended. To show applications beyond a round, the ended
  notices' dates are moved into the past with a queryset update (`_time_travel`), bypassing
  the services and the audit log. The notices the demo keeps live are never moved.

Everything is drawn from `random.Random(seed)`; dates follow today.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.utils import timezone

from zizhu.aid.models import (
    Application,
    AppStatus,
    DifficultyTier,
    HardshipCategory,
    Identification,
    Notice,
    Programme,
    ProposalStatus,
    SchoolYear,
)
from zizhu.aid.rules import current_school_year
from zizhu.aid.services import applications as apps_svc
from zizhu.aid.services import config as config_svc
from zizhu.aid.services import identification as ident_svc
from zizhu.aid.services import notices as notice_svc
from zizhu.core import audit, services
from zizhu.core.crypto import Sensitive, blind_index
from zizhu.core.errors import DomainError
from zizhu.core.idnumbers import make_id_number
from zizhu.core.models import CalendarYear, OrgUnit, Role, UnitKind, User
from zizhu.registry.demo import (
    AREA_CODE,
    DEMO_ACCOUNTS,
    DEMO_PASSWORD,
    HOME_TOWN,
    IdAllocator,
    SchoolContext,
    demo_school,
    insert_students,
    plan_student,
    school_year_start,
)
from zizhu.registry.models import Guardian, Post, Staff, Student, StudentStatus

SECOND_OFFICER = "demo_officer2"
# For the demo-logins table: the account seed_aid_demo adds to DEMO_ACCOUNTS' ten.
AID_DEMO_ACCOUNTS = (
    (
        SECOND_OFFICER,
        Role.SCHOOL_OFFICER,
        "邾城街中心小学",
        "学校初审（审核 demo_officer 提交的申请）",
    ),
)
# Enrolled students the demo school is topped up to.
COHORT = 30
PROGRAMME = "COMPULSORY_LIVING"
PDF = b"%PDF-1.4\n% demo: family-signed application form (scan)\n%%EOF\n"

# How many applications end in each state. Rejected ones are refused at district review,
# returned ones at the school review; both come after a round-1 notice or a review.
PLAN: tuple[tuple[str, int], ...] = (
    (AppStatus.AWARDED, 3),
    (AppStatus.NOTICE_3, 2),
    (AppStatus.NOTICE_2, 2),
    (AppStatus.DISTRICT_REVIEWED, 1),
    (AppStatus.REJECTED, 1),
    (AppStatus.NOTICE_1, 2),
    (AppStatus.PRINCIPAL_SIGNED, 1),
    (AppStatus.SCHOOL_REVIEWED, 1),
    (AppStatus.SUBMITTED, 2),
    (AppStatus.RETURNED, 1),
    (AppStatus.DRAFT, 2),
)
# Statuses whose round-1 notice must have ended (they went on to the district review).
_PAST_ROUND1 = frozenset(
    {
        AppStatus.AWARDED,
        AppStatus.NOTICE_3,
        AppStatus.NOTICE_2,
        AppStatus.DISTRICT_REVIEWED,
        AppStatus.REJECTED,
    }
)
_PAST_ROUND2 = frozenset({AppStatus.AWARDED, AppStatus.NOTICE_3})
# Identified students without an application this year (for the coverage work list).
IDENTIFIED_ONLY = 3

VISITORS = ("班主任、资助专干", "班主任、村委会干部", "资助专干、年级组长")
MET_WITH = ("学生母亲及邻居", "学生祖父母", "学生父亲、村民小组长")
FINDINGS = (
    "父亲因病长期卧床，母亲在家照料，家庭无稳定收入，靠亲戚接济。",
    "父母离异，学生随祖父母生活，祖父母年老体弱，以务农为生。",
    "家庭主要劳动力务工受伤，医疗支出大，尚有两名子女在读。",
)
REASONS_7 = (
    "家庭主要劳动力因病丧失劳动能力",
    "单亲家庭，随年迈祖父母生活",
    "家庭成员重大伤病，医疗支出较大",
)
# Categories 1–6 without department data on file: recorded exceptions, as the rule asks.
EXCEPTIONS: tuple[tuple[int, str, str], ...] = (
    (2, "最低生活保障家庭", "民政部门低保数据尚未导入，已查验低保证原件并留存复印件"),
    (4, "事实无人抚养儿童", "民政部门数据尚未更新，已取得村委会证明和民政所确认函"),
    (6, "父亲持二级残疾证", "残联数据尚未导入，已查验残疾证原件并留存复印件"),
)


@dataclass(frozen=True)
class Cast:
    school: OrgUnit
    district: OrgUnit
    officer: User
    officer2: User
    principal: User
    district_officer: User
    head: User


# --- accounts and students ----------------------------------------------------------------


def _user(username: str) -> User:
    user = User.objects.filter(username=username).first()
    if user is None:
        raise DomainError("请先生成演示数据（zizhu seed-demo），再生成资助演示数据。")
    return user


def the_demo_school() -> OrgUnit:
    schools = list(OrgUnit.objects.schools().filter(parent__name=HOME_TOWN))
    if not schools:
        raise DomainError("请先生成演示数据（zizhu seed-demo），再生成资助演示数据。")
    return demo_school(schools, HOME_TOWN)


@transaction.atomic
def add_second_officer() -> User:
    """demo_officer2: a second certified aid officer at the demo school, so that a school
    review can be done by someone other than the submitter. A teacher of the school holds
    the account; demo_head issues the certificate, as for the other demo officers. An
    existing demo_officer2 is kept as it is."""
    existing = User.objects.filter(username=SECOND_OFFICER).first()
    if existing is not None:  # e.g. once DEMO_ACCOUNTS itself lists it
        return existing
    school = the_demo_school()
    head = _user("demo_head")
    staff = (
        Staff.objects.filter(school=school, post=Post.TEACHER, user__isnull=True)
        .order_by("pk")
        .first()
    )
    full_name = staff.name if staff is not None else "资助专干（二）"
    user = services.create_user(
        SECOND_OFFICER, actor=None, full_name=full_name, password=DEMO_PASSWORD
    )
    services.assign_role(user, actor=None, role=Role.SCHOOL_OFFICER, org_unit=school)
    today = timezone.localdate()
    services.issue_certification(
        user,
        actor=head,
        number=f"XZZZ-{today:%Y}-{len(DEMO_ACCOUNTS) + 1:04d}",
        issued_on=today - timedelta(days=200),
        expires_on=today + timedelta(days=3 * 365 - 200),
    )
    if staff is not None:
        Staff.objects.filter(pk=staff.pk).update(user=user)
    return user


class _FreshIds(IdAllocator):
    """ID numbers for students added later: high sequence numbers, and never one that a
    student, guardian or staff member already holds."""

    def __init__(self) -> None:
        super().__init__()
        self._sequence: dict[tuple[date, bool], int] = {}

    def take(self, birth: date, *, male: bool) -> str:
        sequence = self._sequence.get((birth, male), 499)
        while sequence >= 0:
            number = make_id_number(AREA_CODE, birth, sequence, male=male)
            sequence -= 1
            digest = blind_index(number, Sensitive.ID_NUMBER)
            if not _held(digest):
                self._sequence[(birth, male)] = sequence
                return number
        raise DomainError(f"演示数据中 {birth} 出生的人数过多。")


def _held(digest: str) -> bool:
    return (
        Student.objects.filter(id_number_hash=digest).exists()
        or Guardian.objects.filter(id_number_hash=digest).exists()
        or Staff.objects.filter(id_number_hash=digest).exists()
    )


@transaction.atomic
def enrol_demo_students(minimum: int, *, seed: int) -> int:
    """Top the demo school up to `minimum` enrolled students; returns how many were added."""
    school = the_demo_school()
    have = Student.objects.filter(school=school, status=StudentStatus.ENROLLED).count()
    if have >= minimum:
        return 0
    rng = random.Random(f"aid-demo-students-{seed}")  # noqa: S311 - fictitious data
    ctx = SchoolContext(school, HOME_TOWN, 2, school_year_start(timezone.localdate()))
    ids = _FreshIds()
    added, _ = insert_students(plan_student(rng, ids, ctx) for _ in range(minimum - have))
    return added


# --- configuration ------------------------------------------------------------------------


def set_demo_quotas(rng: random.Random, *, actor: User, year: SchoolYear, school: OrgUnit) -> int:
    """Places for every school each programme serves; the demo school gets room for all
    its applications."""
    changed = 0
    for programme in Programme.objects.filter(active=True).order_by("code"):
        schools = config_svc.quota_schools(programme)
        places: dict[int, int | None] = {s.pk: rng.randint(5, 30) for s in schools}
        if school.pk in places:
            places[school.pk] = 12
        result = config_svc.set_quotas(programme, actor=actor, school_year=year, places=places)
        changed += result["changed"]
    return changed


# --- identification -----------------------------------------------------------------------


def _past_day(rng: random.Random, year: SchoolYear, today: date, low: int, high: int) -> date:
    day = today - timedelta(days=rng.randint(low, high))
    return min(today, max(day, year.starts_on))


def identify_category_7(
    student: Student, *, rng: random.Random, cast: Cast, year: SchoolYear, tier: DifficultyTier
) -> Identification:
    """A home visit, the evaluation group's agreeing opinion, then the identification."""
    today = timezone.localdate()
    pick = rng.randrange(len(FINDINGS))
    visited = _past_day(rng, year, today, 20, 40)
    ident_svc.record_home_visit(
        student,
        actor=cast.officer,
        school_year=year,
        kind=rng.choice(ident_svc.VISIT_KINDS),
        visited_on=visited,
        visitors=VISITORS[pick],
        met_with=MET_WITH[pick],
        findings=FINDINGS[pick],
    )
    ident_svc.record_evaluation(
        student,
        actor=cast.officer,
        school_year=year,
        members="校长、资助专干、班主任、家长代表、教师代表",
        agreed=True,
        opinion="经走访核实，家庭经济困难情况属实，同意认定。",
        held_on=min(today, visited + timedelta(days=3)),
    )
    return ident_svc.identify_student(
        student,
        actor=cast.officer,
        school_year=year,
        category=HardshipCategory.objects.get(number=7),
        tier=tier,
        reason=REASONS_7[pick],
    )


def identify_by_exception(
    student: Student, *, index: int, cast: Cast, year: SchoolYear, tier: DifficultyTier
) -> Identification:
    number, reason, exception = EXCEPTIONS[index % len(EXCEPTIONS)]
    return ident_svc.identify_student(
        student,
        actor=cast.officer,
        school_year=year,
        category=HardshipCategory.objects.get(number=number),
        tier=tier,
        reason=reason,
        exception_reason=exception,
    )


def identify_from_proposals(*, cast: Cast, year: SchoolYear, taken: set[int]) -> int:
    """When department data has been imported: match it, confirm up to three proposals at
    the demo school and identify those students from them."""
    ident_svc.propose_categories(actor=cast.officer, school_year=year, school=cast.school)
    proposals = (
        ident_svc.proposals_visible_to(cast.officer)
        .filter(school_year=year, student__school=cast.school, status=ProposalStatus.PROPOSED)
        .exclude(student_id__in=taken)
        .select_related("student", "category")
        .order_by("student_id", "category__number", "pk")
    )
    done = 0
    tier = DifficultyTier.objects.order_by("rank").first()
    for proposal in proposals:
        if done >= 3 or proposal.student_id in taken or tier is None:
            continue
        ident_svc.confirm_proposal(proposal, actor=cast.officer, note="已核对部门数据")
        ident_svc.identify_student(
            proposal.student,
            actor=cast.officer,
            school_year=year,
            category=proposal.category,
            tier=tier,
            reason=proposal.category.name,
            proposal=proposal,
        )
        taken.add(proposal.student_id)
        done += 1
    return done


# --- applications and notices -------------------------------------------------------------


def _signed_form() -> SimpleUploadedFile:
    return SimpleUploadedFile("申请表.pdf", PDF, content_type="application/pdf")


def _time_travel(notice: Notice, *, ended_by: date) -> None:
    """DEMO-ONLY time travel: move a notice's whole period into the past so that it ended
    before `ended_by`, keeping its length in working days. A queryset update, deliberately
    outside the services and the audit log; the live system never does this."""
    start = ended_by - timedelta(days=notice.working_days)
    while notice_svc.notice_end(start, notice.working_days) >= ended_by:
        start -= timedelta(days=1)
    ends = notice_svc.notice_end(start, notice.working_days)
    Notice.objects.filter(pk=notice.pk).update(starts_on=start, ends_on=ends)


def _publish(round_: int, apps: list[Application], *, actor: User, unit: OrgUnit) -> Notice:
    return notice_svc.publish_notice(
        round_,
        actor=actor,
        school_year=apps[0].school_year,
        applications=apps,
        starts_on=timezone.localdate(),
        working_days=notice_svc.min_working_days(),
        org_unit=unit,
    )


def _refresh(apps: list[Application]) -> list[Application]:
    return [Application.objects.get(pk=app.pk) for app in apps]


def walk_applications(
    students: list[tuple[Student, Identification, str]], *, cast: Cast, year: SchoolYear
) -> dict[str, Any]:
    """Take each (student, identification, target status) along the diagram to its target,
    the notices published and moved in time as the rounds require."""
    programme = Programme.objects.get(code=PROGRAMME)
    approve = apps_svc.Decision.APPROVE
    by_target: dict[str, list[Application]] = {status: [] for status, _ in PLAN}
    for student, identification, target in students:
        app = apps_svc.create_application(
            student,
            actor=cast.officer,
            programme=programme,
            school_year=year,
            tier=identification.tier,
            identification=identification,
            family_statement="家庭经济困难，申请义务教育家庭经济困难学生生活补助。",
            signed_form=_signed_form(),
        )
        if target != AppStatus.DRAFT:
            app = apps_svc.submit_application(app, actor=cast.officer)
        by_target[target].append(app)

    def at_least(*statuses: str) -> list[Application]:
        return [app for status in statuses for app in by_target[status]]

    for app in by_target[AppStatus.RETURNED]:
        apps_svc.school_review(
            app,
            actor=cast.officer2,
            decision=apps_svc.Decision.RETURN,
            note="家庭签字申请表缺监护人签字，请补签后重新上传。",
        )
    reviewed = at_least(
        *_PAST_ROUND1, AppStatus.NOTICE_1, AppStatus.PRINCIPAL_SIGNED, AppStatus.SCHOOL_REVIEWED
    )
    for app in reviewed:
        apps_svc.school_review(app, actor=cast.officer2, decision=approve)
    for app in at_least(*_PAST_ROUND1, AppStatus.NOTICE_1, AppStatus.PRINCIPAL_SIGNED):
        apps_svc.sign_application(app, actor=cast.principal)

    today = timezone.localdate()
    notices: dict[str, Notice] = {}
    # Round 1 for those going on: published today, then moved back to have ended.
    going_on = _refresh(at_least(*_PAST_ROUND1))
    notices["round1_ended"] = _publish(1, going_on, actor=cast.officer, unit=cast.school)
    _time_travel(notices["round1_ended"], ended_by=today - timedelta(days=21))
    for app in _refresh(at_least(*_PAST_ROUND1)):
        if app in by_target[AppStatus.REJECTED]:
            apps_svc.district_review(
                app,
                actor=cast.district_officer,
                decision=apps_svc.Decision.REJECT,
                note="经核实，该生家庭已于本学年获得同类资助，不符合申请条件。",
            )
        else:
            apps_svc.district_review(app, actor=cast.district_officer, decision=approve)
    # Round 1 that stays live.
    notices["round1_live"] = _publish(
        1, _refresh(by_target[AppStatus.NOTICE_1]), actor=cast.officer, unit=cast.school
    )
    # Round 2: ended for those going on to round 3, live for the rest.
    notices["round2_ended"] = _publish(
        2, _refresh(at_least(*_PAST_ROUND2)), actor=cast.officer, unit=cast.school
    )
    _time_travel(notices["round2_ended"], ended_by=today - timedelta(days=10))
    notices["round2_live"] = _publish(
        2, _refresh(by_target[AppStatus.NOTICE_2]), actor=cast.officer, unit=cast.school
    )
    # Round 3: ended and confirmed for the awarded, live (on the portal) for the rest.
    notices["round3_ended"] = _publish(
        3, _refresh(by_target[AppStatus.AWARDED]), actor=cast.district_officer, unit=cast.district
    )
    _time_travel(notices["round3_ended"], ended_by=today)
    notices["round3_live"] = _publish(
        3, _refresh(by_target[AppStatus.NOTICE_3]), actor=cast.district_officer, unit=cast.district
    )
    awards = notice_svc.finalise_awards(
        Notice.objects.get(pk=notices["round3_ended"].pk), actor=cast.district_officer
    )
    # Someone objects (anonymously) to the live school notice: the officer's work list.
    notice_svc.raise_objection(
        notices["round1_live"],
        text="名单中有学生家里新建了楼房，家庭条件较好，请学校核实。",
    )
    return {"notices": len(notices), "awards": len(awards)}


# --- the entry point -----------------------------------------------------------------------


def _cast(officer2: User) -> Cast:
    district = OrgUnit.objects.get(kind=UnitKind.DISTRICT, code=AREA_CODE)
    return Cast(
        school=the_demo_school(),
        district=district,
        officer=_user("demo_officer"),
        officer2=officer2,
        principal=_user("demo_principal"),
        district_officer=_user("demo_district"),
        head=_user("demo_head"),
    )


DEMO_CALENDAR_SOURCE = "演示数据：未录入国务院安排，仅按周末推算"


def ensure_demo_calendar() -> None:
    """Notices run for working days from today, and late in a year they reach into the next,
    whose State Council schedule may not be entered yet. The demo district (never a real
    one) stands in weekends-only years, labelled as such on the calendar page."""
    today = timezone.localdate()
    for year in (today.year, today.year + 1):
        CalendarYear.objects.get_or_create(
            year=year, defaults={"complete": True, "source": DEMO_CALENDAR_SOURCE}
        )


@transaction.atomic
def seed_aid_demo(*, seed: int) -> dict[str, Any]:
    """Quotas, identifications, applications in every state, live notices of each round and
    awards at the demo school, on a database seeded by `seed_demo`. Once only."""
    rng = random.Random(seed)  # noqa: S311 - reproducible fictitious data, not secrets
    ensure_demo_calendar()
    if Application.objects.filter(school=the_demo_school()).exists():
        raise DomainError("演示学校已有资助申请：资助演示数据只能生成一次。")
    officer2 = add_second_officer()
    cast = _cast(officer2)
    year = current_school_year()
    added = enrol_demo_students(COHORT, seed=seed)
    quotas = set_demo_quotas(rng, actor=cast.district_officer, year=year, school=cast.school)
    pool = list(
        Student.objects.filter(school=cast.school, status=StudentStatus.ENROLLED).order_by(
            "grade", "class_name", "name", "pk"
        )
    )
    targets = [status for status, count in PLAN for _ in range(count)]
    chosen = rng.sample(pool, len(targets) + IDENTIFIED_ONLY)
    tiers = list(DifficultyTier.objects.order_by("rank"))
    walked: list[tuple[Student, Identification, str]] = []
    for index, student in enumerate(chosen):
        tier = tiers[rng.randrange(len(tiers))]
        if index % 4 == 3:
            identification = identify_by_exception(
                student, index=index // 4, cast=cast, year=year, tier=tier
            )
        else:
            identification = identify_category_7(student, rng=rng, cast=cast, year=year, tier=tier)
        if index < len(targets):
            walked.append((student, identification, targets[index]))
    from_data = 0
    if ident_svc.latest_versions(
        set(
            HardshipCategory.objects.exclude(dataset_kind="").values_list("dataset_kind", flat=True)
        )
    ):
        from_data = identify_from_proposals(cast=cast, year=year, taken={s.pk for s in chosen})
    result = walk_applications(walked, cast=cast, year=year)
    summary = {
        "students_added": added,
        "quotas": quotas,
        "identifications": len(chosen) + from_data,
        "applications": len(walked),
        **result,
    }
    audit.record(
        "demo.aid_seeded", actor=None, actor_label="演示数据", after={"seed": seed, **summary}
    )
    return summary
