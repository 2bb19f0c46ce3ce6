"""Application services: the diagram, the guards of each review, quota, exclusion, recusal."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from decimal import Decimal

import pytest
from django.utils import timezone

from tests.aid.factories import (
    JPG_BYTES,
    advance,
    draft,
    identified_student,
    identify,
    live_identification,
    make_guardian,
    programme,
    set_quota,
    signed_form,
    tier,
    year,
)
from tests.factories import SchoolFactory, StaffFactory, StudentFactory, fake_id
from zizhu.aid.models import (
    APP_TRANSITIONS,
    Application,
    ApplicationEvent,
    AppStatus,
    Award,
    AwardSource,
    Objection,
    ObjectionStatus,
    Programme,
    SchoolYear,
    Standard,
)
from zizhu.aid.services import applications as svc
from zizhu.aid.services.applications import Decision
from zizhu.aid.services.transitions import move_application
from zizhu.core.errors import Conflict, DomainError, InvalidTransition, NotCertified, NotPermitted
from zizhu.core.models import AuditEntry, OrgUnit, Role, Stage, User
from zizhu.registry.models import Household, Student, StudentStatus


@pytest.fixture
def reviewer_a(make_user: Callable[..., User], school_a: OrgUnit) -> User:
    """A second certified officer of school A: the submitter may not review their own."""
    return make_user("reviewer_a", Role.SCHOOL_OFFICER, school_a, certified=True)


@pytest.fixture
def alice(school_a: OrgUnit, officer_a: User) -> Student:
    return identified_student(school_a, actor=officer_a, name="张小花")


@pytest.fixture
def people(
    officer_a: User, reviewer_a: User, principal_a: User, district_officer: User
) -> dict[str, User]:
    return {
        "officer": officer_a,
        "reviewer": reviewer_a,
        "principal": principal_a,
        "district": district_officer,
    }


def at(
    app: Application, status: str, people: dict[str, User], notice_ends_on: date | None = None
) -> Application:
    return advance(app, status, people, notice_ends_on=notice_ends_on)


def set_status(app: Application, status: str) -> Application:
    """Put the row in any status, for the diagram tests only (bypasses every guard)."""
    Application.objects.filter(pk=app.pk).update(status=status)
    app.refresh_from_db()
    return app


# --- the diagram ------------------------------------------------------------------------------

PAIRS = [(a, b) for a in AppStatus.values for b in AppStatus.values]


@pytest.mark.parametrize(("from_status", "to_status"), PAIRS)
def test_move_application_follows_the_diagram_exactly(
    from_status: str, to_status: str, alice: Student, officer_a: User
) -> None:
    app = set_status(draft(alice, actor=officer_a), from_status)
    if to_status in APP_TRANSITIONS[from_status]:
        move_application(app, to_status, actor=officer_a, note="测试")
        app.refresh_from_db()
        assert app.status == to_status
        event = app.events.get(to_status=to_status)
        assert (event.from_status, event.actor, event.note) == (from_status, officer_a, "测试")
        entry = AuditEntry.objects.get(action=f"application.{to_status}")
        assert entry.before == {"status": from_status}
        assert entry.after["status"] == to_status
        assert entry.org_unit == app.school
    else:
        with pytest.raises(InvalidTransition):
            move_application(app, to_status, actor=officer_a)
        app.refresh_from_db()
        assert app.status == from_status
        assert not AuditEntry.objects.filter(action=f"application.{to_status}").exists()


def test_second_move_from_a_stale_copy_is_a_conflict(alice: Student, officer_a: User) -> None:
    app = set_status(draft(alice, actor=officer_a), AppStatus.SUBMITTED)
    first = Application.objects.get(pk=app.pk)
    second = Application.objects.get(pk=app.pk)
    move_application(first, AppStatus.SCHOOL_REVIEWED, actor=officer_a)
    with pytest.raises(Conflict):
        move_application(second, AppStatus.RETURNED, actor=officer_a, note="材料不全")
    app.refresh_from_db()
    assert app.status == AppStatus.SCHOOL_REVIEWED
    assert app.events.filter(to_status=AppStatus.RETURNED).count() == 0


# --- entering an application -------------------------------------------------------------------


def test_officer_creates_a_draft_with_the_standard_amount(alice: Student, officer_a: User) -> None:
    app = draft(alice, actor=officer_a)
    assert app.status == AppStatus.DRAFT
    assert app.school == alice.school
    # 生活补助 primary standard 1250, non-boarders at 50 %.
    assert app.annual_amount == Decimal("625.00")
    assert app.signed_form.name.endswith(".pdf")
    assert "申请表" not in app.signed_form.name  # stored under a random name
    event = app.events.get()
    assert (event.from_status, event.to_status, event.actor) == ("", AppStatus.DRAFT, officer_a)
    entry = AuditEntry.objects.get(action="application.created")
    assert entry.after["programme"] == "COMPULSORY_LIVING"


def test_boarder_gets_the_full_standard(school_a: OrgUnit, officer_a: User) -> None:
    student = identified_student(school_a, actor=officer_a, boarder=True)
    assert draft(student, actor=officer_a).annual_amount == Decimal("1250.00")


@pytest.mark.parametrize(
    "who", ["officer_b", "principal_a", "district_officer", "district_head", "outsider"]
)
def test_only_a_school_officer_in_reach_creates(
    who: str, alice: Student, officer_a: User, request: pytest.FixtureRequest
) -> None:
    actor = request.getfixturevalue(who)
    with pytest.raises(NotPermitted):
        draft(alice, actor=actor)
    assert not Application.objects.exists()


@pytest.mark.parametrize("status", [s for s in StudentStatus.values if s != "enrolled"])
def test_student_not_enrolled_is_refused(status: str, alice: Student, officer_a: User) -> None:
    Student.objects.filter(pk=alice.pk).update(status=status)
    alice.refresh_from_db()
    with pytest.raises(DomainError, match="不是在读学生"):
        draft(alice, actor=officer_a)


def test_revoked_identification_is_refused(alice: Student, officer_a: User) -> None:
    identification = live_identification(alice)
    identification.revoked_at = timezone.now()
    identification.save()
    with pytest.raises(DomainError, match="已撤销"):
        svc.create_application(
            alice,
            actor=officer_a,
            programme=programme(),
            school_year=year(),
            tier=tier(),
            identification=identification,
            family_statement="",
        )


def test_someone_elses_identification_is_refused(
    alice: Student, school_a: OrgUnit, officer_a: User
) -> None:
    bob = identified_student(school_a, actor=officer_a)
    with pytest.raises(DomainError, match="不是张小花"):
        svc.create_application(
            alice,
            actor=officer_a,
            programme=programme(),
            school_year=year(),
            tier=tier(),
            identification=live_identification(bob),
            family_statement="",
        )


def test_tier_above_the_identified_tier_is_refused(school_a: OrgUnit, officer_a: User) -> None:
    student = identified_student(school_a, actor=officer_a, tier_code="general")
    with pytest.raises(DomainError, match="高于认定等级"):
        draft(student, actor=officer_a, tier_code="special")
    assert draft(student, actor=officer_a, tier_code="general").tier.code == "general"


def test_programme_of_another_stage_is_refused(alice: Student, officer_a: User) -> None:
    with pytest.raises(DomainError, match="不适用于"):
        draft(alice, actor=officer_a, programme_code="HS_STIPEND")


def test_vocational_stipend_only_in_years_one_and_two(make_user: Callable[..., User]) -> None:
    school = SchoolFactory(stage=Stage.VOCATIONAL)
    officer = make_user("officer_voc", Role.SCHOOL_OFFICER, school, certified=True)
    third_year = identified_student(school, actor=officer, grade="三年级")
    with pytest.raises(DomainError, match="不适用于"):
        draft(third_year, actor=officer, programme_code="VOC_STIPEND")
    second_year = identified_student(school, actor=officer, grade="二年级")
    assert draft(second_year, actor=officer, programme_code="VOC_STIPEND").annual_amount == 3000


def test_boarders_only_programme_refuses_day_pupils(alice: Student, officer_a: User) -> None:
    Programme.objects.filter(code="COMPULSORY_LIVING").update(boarders_only=True)
    with pytest.raises(DomainError, match="仅限寄宿生"):
        draft(alice, actor=officer_a)


def test_same_programme_twice_in_a_year_is_refused(alice: Student, officer_a: User) -> None:
    draft(alice, actor=officer_a)
    with pytest.raises(DomainError, match=r"义务教育家庭经济困难学生生活补助.*只能申请一次"):
        draft(alice, actor=officer_a)


def test_after_a_rejection_the_student_may_apply_again(
    alice: Student, people: dict[str, User]
) -> None:
    app = at(draft(alice, actor=people["officer"]), AppStatus.SUBMITTED, people)
    svc.school_review(app, actor=people["reviewer"], decision=Decision.REJECT, note="不符合")
    assert draft(alice, actor=people["officer"]).status == AppStatus.DRAFT


def _local_programme(excludes: str) -> Programme:
    local = Programme.objects.create(code="LOCAL_AID", name="区级励志助学金", stages=["小学"])
    for standard in Standard.objects.filter(programme__code="COMPULSORY_LIVING"):
        Standard.objects.create(
            programme=local,
            school_year=standard.school_year,
            tier=standard.tier,
            stage=standard.stage,
            annual_amount=standard.annual_amount,
        )
    local.excludes.add(programme(excludes))
    return local


def test_configured_exclusion_is_refused_naming_the_other_programme(
    alice: Student, officer_a: User
) -> None:
    _local_programme(excludes="COMPULSORY_LIVING")
    draft(alice, actor=officer_a)
    with pytest.raises(DomainError, match=r"已有“义务教育家庭经济困难学生生活补助”的申请.*互斥"):
        draft(alice, actor=officer_a, programme_code="LOCAL_AID")


def test_live_vocational_award_excludes_the_high_school_stipend(
    make_user: Callable[..., User],
) -> None:
    """A student who moved from a vocational to a general high school still holds the
    vocational stipend: the two national stipends are exclusive by default."""
    school = SchoolFactory(stage=Stage.SENIOR)
    officer = make_user("officer_senior", Role.SCHOOL_OFFICER, school, certified=True)
    student = identified_student(school, actor=officer, grade="高一")
    Award.objects.create(
        student=student,
        school=school,
        programme=programme("VOC_STIPEND"),
        school_year=year(),
        tier=tier(),
        annual_amount=Decimal("3000.00"),
        start_month=date(2026, 9, 1),
        source=AwardSource.MIGRATION,
    )
    with pytest.raises(DomainError, match=r"正在享受“中职国家助学金”.*互斥"):
        draft(student, actor=officer, programme_code="HS_STIPEND")


# --- the signed form and submission -----------------------------------------------------------


def test_submit_records_the_submitter(alice: Student, officer_a: User) -> None:
    app = svc.submit_application(draft(alice, actor=officer_a), actor=officer_a)
    app.refresh_from_db()
    assert (app.status, app.submitted_by) == (AppStatus.SUBMITTED, officer_a)
    assert AuditEntry.objects.filter(action="application.submitted").count() == 1


def test_submit_without_the_signed_form_is_refused(alice: Student, officer_a: User) -> None:
    app = draft(alice, actor=officer_a, signed=False)
    with pytest.raises(DomainError, match="家庭签字的申请表"):
        svc.submit_application(app, actor=officer_a)
    svc.attach_signed_form(app, actor=officer_a, upload=signed_form("scan.jpg", JPG_BYTES))
    app.refresh_from_db()
    assert svc.submit_application(app, actor=officer_a).status == AppStatus.SUBMITTED


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("scan.png", b"\x89PNG\r\n\x1a\n", "只能是 PDF 或 JPG"),
        ("scan.pdf", b"not a pdf at all", "不符"),
        ("scan.pdf", b"", "空文件"),
        ("scan.pdf", b"%PDF-" + b"0" * (10 * 1024 * 1024), "不能超过 10 MB"),
    ],
)
def test_bad_signed_forms_are_refused(
    name: str, content: bytes, message: str, alice: Student, officer_a: User
) -> None:
    app = draft(alice, actor=officer_a, signed=False)
    with pytest.raises(DomainError, match=message):
        svc.attach_signed_form(app, actor=officer_a, upload=signed_form(name, content))


def test_principal_cannot_submit(alice: Student, officer_a: User, principal_a: User) -> None:
    with pytest.raises(NotPermitted):
        svc.submit_application(draft(alice, actor=officer_a), actor=principal_a)


def test_edit_recomputes_the_amount_and_only_while_editable(
    school_a: OrgUnit, people: dict[str, User]
) -> None:
    student = identified_student(school_a, actor=people["officer"], boarder=True)
    app = draft(student, actor=people["officer"])
    svc.edit_application(app, actor=people["officer"], tier=tier("general"), family_statement="新")
    app.refresh_from_db()
    assert (app.tier.code, app.family_statement) == ("general", "新")
    assert AuditEntry.objects.get(action="application.edited").before["tier"] == "特别困难"
    at(app, AppStatus.SUBMITTED, people)
    with pytest.raises(InvalidTransition):
        svc.edit_application(app, actor=people["officer"], family_statement="再改")


# --- school review ---------------------------------------------------------------------------


def test_certified_colleague_approves_the_first_review(
    alice: Student, people: dict[str, User]
) -> None:
    app = at(draft(alice, actor=people["officer"]), AppStatus.SUBMITTED, people)
    svc.school_review(app, actor=people["reviewer"], decision=Decision.APPROVE, note="材料齐全")
    app.refresh_from_db()
    assert app.status == AppStatus.SCHOOL_REVIEWED


def test_submitter_cannot_review_their_own_submission(
    alice: Student, people: dict[str, User]
) -> None:
    app = at(draft(alice, actor=people["officer"]), AppStatus.SUBMITTED, people)
    with pytest.raises(NotPermitted, match="本人提交"):
        svc.school_review(app, actor=people["officer"], decision=Decision.APPROVE)


def test_uncertified_officer_cannot_review(
    alice: Student, people: dict[str, User], uncertified_officer_a: User
) -> None:
    app = at(draft(alice, actor=people["officer"]), AppStatus.SUBMITTED, people)
    with pytest.raises(NotCertified):
        svc.school_review(app, actor=uncertified_officer_a, decision=Decision.APPROVE)


@pytest.mark.parametrize("who", ["officer_b", "principal_a", "district_head"])
def test_others_cannot_do_the_school_review(
    who: str, alice: Student, people: dict[str, User], request: pytest.FixtureRequest
) -> None:
    app = at(draft(alice, actor=people["officer"]), AppStatus.SUBMITTED, people)
    with pytest.raises(NotPermitted):
        svc.school_review(app, actor=request.getfixturevalue(who), decision=Decision.APPROVE)


@pytest.mark.parametrize(("decision", "to"), [("return", "returned"), ("reject", "rejected")])
def test_return_and_reject_need_a_reason(
    decision: str, to: str, alice: Student, people: dict[str, User]
) -> None:
    app = at(draft(alice, actor=people["officer"]), AppStatus.SUBMITTED, people)
    with pytest.raises(DomainError, match="必须填写理由"):
        svc.school_review(app, actor=people["reviewer"], decision=decision, note="  ")
    svc.school_review(app, actor=people["reviewer"], decision=decision, note="监护人未签字")
    app.refresh_from_db()
    assert app.status == to
    assert app.events.latest("pk").note == "监护人未签字"


def test_reviewer_who_is_the_students_guardian_must_recuse(
    alice: Student, people: dict[str, User], school_a: OrgUnit
) -> None:
    reviewer_id = fake_id(date(1984, 5, 5))
    StaffFactory(school=school_a, user=people["reviewer"], id_number=reviewer_id)
    make_guardian(alice, id_number=reviewer_id, relation="母亲")
    app = at(draft(alice, actor=people["officer"]), AppStatus.SUBMITTED, people)
    with pytest.raises(NotPermitted, match="回避"):
        svc.school_review(app, actor=people["reviewer"], decision=Decision.APPROVE)


def test_officer_who_is_guardian_is_refused_even_for_a_sibling(
    alice: Student, people: dict[str, User], school_a: OrgUnit, officer_a: User
) -> None:
    """officer_a's staff ID is the guardian ID of alice's brother in the same household."""
    household = Household.objects.create(key_hash="h" * 64)
    brother = StudentFactory(school=school_a, household=household)
    Student.objects.filter(pk=alice.pk).update(household=household)
    alice.refresh_from_db()
    officer_id = fake_id(date(1982, 2, 2))
    StaffFactory(school=school_a, user=officer_a, id_number=officer_id)
    make_guardian(brother, id_number=officer_id)
    app = at(
        draft(alice, actor=people["reviewer"]),
        AppStatus.SUBMITTED,
        people | {"officer": people["reviewer"]},
    )
    with pytest.raises(NotPermitted, match=r"同一家庭学生.*回避"):
        svc.school_review(app, actor=officer_a, decision=Decision.APPROVE)


def test_unrelated_staff_record_does_not_block(
    alice: Student, people: dict[str, User], school_a: OrgUnit
) -> None:
    StaffFactory(school=school_a, user=people["reviewer"])
    make_guardian(alice, id_number=fake_id(date(1983, 3, 3)))
    app = at(draft(alice, actor=people["officer"]), AppStatus.SCHOOL_REVIEWED, people)
    assert app.status == AppStatus.SCHOOL_REVIEWED


# --- principal sign-off --------------------------------------------------------------------


def test_principal_signs(alice: Student, people: dict[str, User]) -> None:
    app = at(draft(alice, actor=people["officer"]), AppStatus.SCHOOL_REVIEWED, people)
    svc.sign_application(app, actor=people["principal"])
    app.refresh_from_db()
    assert app.status == AppStatus.PRINCIPAL_SIGNED


@pytest.mark.parametrize("who", ["officer_a", "district_officer", "officer_b"])
def test_only_the_principal_signs(
    who: str, alice: Student, people: dict[str, User], request: pytest.FixtureRequest
) -> None:
    app = at(draft(alice, actor=people["officer"]), AppStatus.SCHOOL_REVIEWED, people)
    with pytest.raises(NotPermitted):
        svc.sign_application(app, actor=request.getfixturevalue(who))


def test_principal_returns_with_a_note(alice: Student, people: dict[str, User]) -> None:
    app = at(draft(alice, actor=people["officer"]), AppStatus.SCHOOL_REVIEWED, people)
    svc.sign_application(
        app, actor=people["principal"], decision=Decision.RETURN, note="补充家访记录"
    )
    app.refresh_from_db()
    assert app.status == AppStatus.RETURNED
    # Returned goes back to the officer, who corrects and submits again.
    svc.submit_application(app, actor=people["officer"])
    app.refresh_from_db()
    assert app.status == AppStatus.SUBMITTED


def test_sign_refused_when_student_left_school(alice: Student, people: dict[str, User]) -> None:
    app = at(draft(alice, actor=people["officer"]), AppStatus.SCHOOL_REVIEWED, people)
    Student.objects.filter(pk=alice.pk).update(status=StudentStatus.TRANSFERRED_OUT)
    app = Application.objects.get(pk=app.pk)
    with pytest.raises(DomainError, match="不是在读学生"):
        svc.sign_application(app, actor=people["principal"])


# --- district review --------------------------------------------------------------------------


@pytest.fixture
def at_notice(alice: Student, people: dict[str, User]) -> Application:
    app = at(draft(alice, actor=people["officer"]), AppStatus.NOTICE_1, people)
    set_quota(app, 5)
    return app


def test_district_officer_approves_after_the_notice(
    at_notice: Application, district_officer: User
) -> None:
    svc.district_review(at_notice, actor=district_officer, decision=Decision.APPROVE)
    at_notice.refresh_from_db()
    assert at_notice.status == AppStatus.DISTRICT_REVIEWED


def test_district_review_waits_for_the_notice_to_end(
    alice: Student, people: dict[str, User]
) -> None:
    today = timezone.localdate()
    app = at(
        draft(alice, actor=people["officer"]), AppStatus.NOTICE_1, people, notice_ends_on=today
    )
    set_quota(app, 5)
    with pytest.raises(DomainError, match="公示期满后"):
        svc.district_review(app, actor=people["district"], decision=Decision.APPROVE)


def test_district_review_needs_a_round_one_notice(alice: Student, people: dict[str, User]) -> None:
    app = at(draft(alice, actor=people["officer"]), AppStatus.PRINCIPAL_SIGNED, people)
    app = move_application(app, AppStatus.NOTICE_1, actor=people["officer"])
    with pytest.raises(DomainError, match="尚未列入学校初审公示"):
        svc.district_review(app, actor=people["district"], decision=Decision.APPROVE)


@pytest.mark.parametrize("on_application", [True, False])
def test_open_objection_blocks_approval_but_not_rejection(
    on_application: bool, at_notice: Application, district_officer: User
) -> None:
    notice = at_notice.notices.get()
    objection = Objection.objects.create(
        notice=notice, application=at_notice if on_application else None, text="家有轿车"
    )
    with pytest.raises(DomainError, match="异议尚未处理"):
        svc.district_review(at_notice, actor=district_officer, decision=Decision.APPROVE)
    objection.status = ObjectionStatus.RESOLVED
    objection.save()
    svc.district_review(at_notice, actor=district_officer, decision=Decision.APPROVE)
    assert Application.objects.get(pk=at_notice.pk).status == AppStatus.DISTRICT_REVIEWED


def test_open_objection_does_not_block_a_rejection(
    at_notice: Application, district_officer: User
) -> None:
    Objection.objects.create(notice=at_notice.notices.get(), application=at_notice, text="x")
    svc.district_review(
        at_notice, actor=district_officer, decision=Decision.REJECT, note="异议属实"
    )
    assert Application.objects.get(pk=at_notice.pk).status == AppStatus.REJECTED


def test_quota_reached_is_refused(
    school_a: OrgUnit, people: dict[str, User], at_notice: Application
) -> None:
    set_quota(at_notice, 1)
    Award.objects.create(
        student=StudentFactory(school=school_a),
        school=school_a,
        programme=at_notice.programme,
        school_year=at_notice.school_year,
        tier=tier(),
        annual_amount=Decimal("625.00"),
        start_month=date(2026, 9, 1),
        source=AwardSource.MIGRATION,
    )
    with pytest.raises(DomainError, match="名额 1 个已用满"):
        svc.district_review(at_notice, actor=people["district"], decision=Decision.APPROVE)
    set_quota(at_notice, 2)
    svc.district_review(at_notice, actor=people["district"], decision=Decision.APPROVE)


def test_quota_counts_applications_holding_a_place(
    school_a: OrgUnit, people: dict[str, User], at_notice: Application
) -> None:
    other = identified_student(school_a, actor=people["officer"])
    first = at(draft(other, actor=people["officer"]), AppStatus.DISTRICT_REVIEWED, people)
    set_quota(first, 1)
    with pytest.raises(DomainError, match="已用满"):
        svc.district_review(at_notice, actor=people["district"], decision=Decision.APPROVE)


def test_missing_quota_is_refused(at_notice: Application, district_officer: User) -> None:
    at_notice.programme.quotas.all().delete()
    with pytest.raises(DomainError, match="尚未下达名额"):
        svc.district_review(at_notice, actor=district_officer, decision=Decision.APPROVE)


def test_exclusion_rechecked_at_district_review(
    at_notice: Application, district_officer: User, alice: Student
) -> None:
    local = _local_programme(excludes="COMPULSORY_LIVING")
    Award.objects.create(
        student=alice,
        school=alice.school,
        programme=local,
        school_year=year(),
        tier=tier(),
        annual_amount=Decimal("100.00"),
        start_month=date(2026, 9, 1),
        source=AwardSource.MIGRATION,
    )
    with pytest.raises(DomainError, match="区级励志助学金"):
        svc.district_review(at_notice, actor=district_officer, decision=Decision.APPROVE)


def test_student_no_longer_enrolled_is_refused_at_district_review(
    at_notice: Application, district_officer: User, alice: Student
) -> None:
    Student.objects.filter(pk=alice.pk).update(status=StudentStatus.DROPPED_OUT)
    app = Application.objects.get(pk=at_notice.pk)
    with pytest.raises(DomainError, match="不是在读学生"):
        svc.district_review(app, actor=district_officer, decision=Decision.APPROVE)


def test_uncertified_district_officer_is_refused(
    at_notice: Application, make_user: Callable[..., User]
) -> None:
    from tests.factories import district

    novice = make_user("novice", Role.DISTRICT_OFFICER, district())
    with pytest.raises(NotCertified):
        svc.district_review(at_notice, actor=novice, decision=Decision.APPROVE)


@pytest.mark.parametrize("who", ["officer_a", "principal_a", "district_head"])
def test_school_people_and_the_head_cannot_do_the_district_review(
    who: str, at_notice: Application, request: pytest.FixtureRequest
) -> None:
    with pytest.raises(NotPermitted):
        svc.district_review(at_notice, actor=request.getfixturevalue(who), decision="approve")


# --- later returns and the chain -----------------------------------------------------------------


def test_district_may_return_during_the_later_notices(
    alice: Student, people: dict[str, User]
) -> None:
    app = at(draft(alice, actor=people["officer"]), AppStatus.NOTICE_2, people)
    with pytest.raises(NotPermitted):
        svc.reject_application(app, actor=people["officer"], reason="现场公示有异议")
    with pytest.raises(InvalidTransition):
        svc.decide_application(app, actor=people["district"], decision=Decision.APPROVE)
    svc.return_application(app, actor=people["district"], reason="核实家庭收入")
    assert Application.objects.get(pk=app.pk).status == AppStatus.RETURNED


@pytest.mark.parametrize("status", [AppStatus.DRAFT, AppStatus.AWARDED, AppStatus.REJECTED])
def test_nothing_to_return_or_reject_outside_a_review(
    status: str, alice: Student, officer_a: User, district_officer: User
) -> None:
    app = set_status(draft(alice, actor=officer_a), status)
    with pytest.raises(InvalidTransition):
        svc.reject_application(app, actor=district_officer, reason="x")


def test_the_decision_chain_names_everyone(alice: Student, people: dict[str, User]) -> None:
    app = at(draft(alice, actor=people["officer"]), AppStatus.DISTRICT_REVIEWED, people)
    chain = list(
        ApplicationEvent.objects.filter(application=app).values_list("to_status", "actor__username")
    )
    assert chain == [
        ("draft", "officer_a"),
        ("submitted", "officer_a"),
        ("school_reviewed", "reviewer_a"),
        ("principal_signed", "principal_a"),
        ("notice_1", "officer_a"),
        ("district_reviewed", "district_officer"),
    ]
    actions = list(
        AuditEntry.objects.filter(action__startswith="application.")
        .order_by("pk")
        .values_list("action", flat=True)
    )
    assert actions == [
        "application.created",
        "application.submitted",
        "application.school_reviewed",
        "application.principal_signed",
        "application.notice_1",
        "application.district_reviewed",
    ]


def test_actions_for_explains_why_the_submitter_cannot_review(
    alice: Student, people: dict[str, User]
) -> None:
    app = at(draft(alice, actor=people["officer"]), AppStatus.SUBMITTED, people)
    mine = svc.actions_for(app, people["officer"])
    assert (mine.decisions, "本人提交" in mine.blocked) == ([], True)
    theirs = svc.actions_for(app, people["reviewer"])
    assert [d for d, _ in theirs.decisions] == ["approve", "return", "reject"]
    assert svc.actions_for(app, people["principal"]).decisions == []


def test_identified_last_year_is_not_enough(school_a: OrgUnit, officer_a: User) -> None:
    student = StudentFactory(school=school_a)
    last_year = identify(
        student, actor=officer_a, school_year=SchoolYear.objects.get(code="2025-2026")
    )
    with pytest.raises(DomainError, match="学年的认定"):
        svc.create_application(
            student,
            actor=officer_a,
            programme=programme(),
            school_year=year(),
            tier=tier(),
            identification=last_year,
            family_statement="",
        )
