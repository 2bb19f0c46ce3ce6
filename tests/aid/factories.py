"""Aid test data: identified students, applications at any step, quotas and notices.

Identification rows are created directly until the identification service exists; every
application move goes through the real services, so tests travel the real path.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, timedelta
from typing import Any

from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from tests.factories import GuardianFactory, StudentFactory
from zizhu.aid.models import (
    Application,
    AppStatus,
    DifficultyTier,
    HardshipCategory,
    Identification,
    Notice,
    NoticeRound,
    Programme,
    Quota,
    SchoolYear,
)
from zizhu.aid.rules import current_school_year
from zizhu.aid.services import applications as svc
from zizhu.aid.services.transitions import move_application
from zizhu.core.models import OrgUnit, User
from zizhu.registry.models import Guardian, Student

PDF_BYTES = b"%PDF-1.4\n% signed application form\n"
JPG_BYTES = b"\xff\xd8\xff\xe0" + b"\x00" * 32


def signed_form(name: str = "申请表.pdf", content: bytes = PDF_BYTES) -> SimpleUploadedFile:
    content_type = "application/pdf" if name.endswith(".pdf") else "image/jpeg"
    return SimpleUploadedFile(name, content, content_type=content_type)


def year() -> SchoolYear:
    return current_school_year()


def tier(code: str = "special") -> DifficultyTier:
    return DifficultyTier.objects.get(code=code)


def programme(code: str = "COMPULSORY_LIVING") -> Programme:
    return Programme.objects.get(code=code)


def identify(
    student: Student,
    *,
    actor: User,
    tier_code: str = "special",
    category: int = 7,
    school_year: SchoolYear | None = None,
) -> Identification:
    return Identification.objects.create(
        student=student,
        school_year=school_year or year(),
        category=HardshipCategory.objects.get(number=category),
        tier=tier(tier_code),
        identified_on=timezone.localdate(),
        reason="家庭主要劳动力因病丧失劳动能力",
        identified_by=actor,
    )


def identified_student(school: OrgUnit, *, actor: User, **fields: Any) -> Student:
    tier_code = fields.pop("tier_code", "special")
    student: Student = StudentFactory(school=school, **fields)
    identify(student, actor=actor, tier_code=tier_code)
    return student


def live_identification(student: Student) -> Identification:
    return Identification.objects.get(student=student, school_year=year(), revoked_at=None)


def make_guardian(student: Student, *, id_number: str, **fields: Any) -> Guardian:
    guardian: Guardian = GuardianFactory(student=student, id_number=id_number, **fields)
    return guardian


def draft(
    student: Student,
    *,
    actor: User,
    programme_code: str = "COMPULSORY_LIVING",
    tier_code: str | None = None,
    signed: bool = True,
) -> Application:
    identification = live_identification(student)
    return svc.create_application(
        student,
        actor=actor,
        programme=programme(programme_code),
        school_year=identification.school_year,
        tier=tier(tier_code) if tier_code else identification.tier,
        identification=identification,
        family_statement="父亲患病，家庭无稳定收入。",
        signed_form=signed_form() if signed else None,
    )


def set_quota(app_or_school: Application | OrgUnit, places: int, code: str = "") -> Quota:
    if isinstance(app_or_school, Application):
        school, prog = app_or_school.school, app_or_school.programme
    else:
        school, prog = app_or_school, programme(code or "COMPULSORY_LIVING")
    quota, _ = Quota.objects.update_or_create(
        school=school, programme=prog, school_year=year(), defaults={"places": places}
    )
    return quota


def round_one(apps: list[Application], *, actor: User, ends_on: date | None = None) -> Notice:
    """A round-1 notice over `apps` (ended yesterday unless told), created directly: the
    notices service belongs to another module."""
    today = timezone.localdate()
    ends_on = ends_on or today - timedelta(days=1)
    notice = Notice.objects.create(
        round=NoticeRound.SCHOOL,
        org_unit=apps[0].school,
        school_year=apps[0].school_year,
        title="资助初审公示",
        starts_on=min(ends_on, today) - timedelta(days=7),
        ends_on=ends_on,
        published_by=actor,
    )
    notice.applications.add(*apps)
    return notice


def advance(
    app: Application,
    to: str,
    people: Mapping[str, User],
    *,
    notice_ends_on: date | None = None,
) -> Application:
    """Walk `app` forward along the happy path, from where it is, until it reaches `to`.
    The notice rounds are entered with `move_application`, the notices service's primitive.
    `people` names the officer, reviewer, principal and district officer who act."""
    officer, reviewer = people["officer"], people["reviewer"]
    principal, district = people["principal"], people["district"]
    path = [
        AppStatus.SUBMITTED,
        AppStatus.SCHOOL_REVIEWED,
        AppStatus.PRINCIPAL_SIGNED,
        AppStatus.NOTICE_1,
        AppStatus.DISTRICT_REVIEWED,
        AppStatus.NOTICE_2,
        AppStatus.NOTICE_3,
        AppStatus.AWARDED,
    ]
    start = path.index(AppStatus(app.status)) + 1 if app.status in path else 0
    for step in path[start : path.index(AppStatus(to)) + 1]:
        if step == AppStatus.SUBMITTED:
            app = svc.submit_application(app, actor=officer)
        elif step == AppStatus.SCHOOL_REVIEWED:
            app = svc.school_review(app, actor=reviewer, decision=svc.Decision.APPROVE)
        elif step == AppStatus.PRINCIPAL_SIGNED:
            app = svc.sign_application(app, actor=principal)
        elif step == AppStatus.NOTICE_1:
            app = move_application(app, AppStatus.NOTICE_1, actor=officer, note="第一榜公示")
            round_one([app], actor=officer, ends_on=notice_ends_on)
        elif step == AppStatus.DISTRICT_REVIEWED:
            if not Quota.objects.filter(school=app.school, programme=app.programme).exists():
                set_quota(app, 10)
            app = svc.district_review(app, actor=district, decision=svc.Decision.APPROVE)
        else:
            app = move_application(app, step, actor=district)
    return app
