"""Classified handling of clues (seed 二(二)): assignment with a 3-working-day clock, the
school's verification (confirm or dispute), the district's 2-working-day review with priority
re-check, send-back, decisions effective from next month, reply, closing and appeal."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from tests.aid.test_migration import grant
from tests.aid.test_notices import ensure_calendar_ahead
from tests.factories import SchoolFactory, StudentFactory
from zizhu.aid.models import (
    Award,
    AwardChange,
    AwardChangeKind,
    AwardStatus,
    DifficultyTier,
    Notice,
    NoticeRound,
    ObjectionStatus,
)
from zizhu.aid.rules import current_school_year, next_month
from zizhu.aid.services.notices import raise_objection
from zizhu.cases.models import (
    Channel,
    Clue,
    ClueEvent,
    ClueStatus,
    Decision,
    FamilyAnswer,
    InvestigationKind,
    Opinion,
    ReplyMethod,
    Verification,
)
from zizhu.cases.services import handling as svc
from zizhu.cases.services import workflow
from zizhu.cases.services.intake import objection_clue, register_clue
from zizhu.core.calendar import add_working_days
from zizhu.core.errors import Conflict, DomainError, NotCertified, NotPermitted
from zizhu.core.models import AuditEntry, Notification, OrgUnit, Stage, User
from zizhu.core.worklist import work_items_for
from zizhu.registry.models import Student

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def calendar_ahead(db: None) -> None:
    ensure_calendar_ahead()


@pytest.fixture
def alice(school_a: OrgUnit) -> Student:
    return StudentFactory(school=school_a, name="张小花")


@pytest.fixture
def award(alice: Student, district_officer: User) -> Award:
    return grant(alice, district_officer)


def new_clue(
    actor: User, students: list[Student], *, contact: str = "13900001111", name: str = ""
) -> Clue:
    return register_clue(
        actor=actor,
        channel=Channel.HOTLINE,
        allegation="反映该生家庭已购置商品房和小汽车，不再困难。",
        students=students,
        reporter_name=name,
        reporter_contact=contact,
        anonymous=not name,
    )


@pytest.fixture
def clue(district_officer: User, alice: Student) -> Clue:
    return new_clue(district_officer, [alice])


@pytest.fixture
def assigned(clue: Clue, district_officer: User, school_a: OrgUnit) -> Clue:
    return svc.assign_clue(clue, actor=district_officer, school=school_a, note="请核查")


def verify(clue: Clue, actor: User, **overrides: Any) -> Verification:
    fields: dict[str, Any] = {
        "contacted_on": timezone.localdate(),
        "contacted_person": "张某（父亲）",
        "contact_method": "当面",
        "answer": FamilyAnswer.CONFIRMED,
        "conclusion": "家长确认已于今年购房，家庭收入稳定。",
        "opinion": Opinion.CONTINUE,
    }
    fields.update(overrides)
    return svc.submit_verification(clue, actor=actor, **fields)


def investigate(clue: Clue, actor: User, **overrides: Any) -> Any:
    fields: dict[str, Any] = {
        "kind": InvestigationKind.HOME_VISIT,
        "done_on": timezone.localdate(),
        "findings": "入户查看，家中新购车辆一台。",
    }
    fields.update(overrides)
    return svc.record_investigation(clue, actor=actor, **fields)


@pytest.fixture
def submitted(assigned: Clue, officer_a: User) -> Clue:
    verify(assigned, officer_a)
    assigned.refresh_from_db()
    return assigned


def decide(clue: Clue, actor: User, **overrides: Any) -> Decision:
    fields: dict[str, Any] = {"opinion": Opinion.CONTINUE, "reasoning": "经审核，维持资助。"}
    fields.update(overrides)
    return svc.decide_clue(clue, actor=actor, **fields)


def on_day(monkeypatch: pytest.MonkeyPatch, day: date) -> None:
    """Moves the clue clock only (move_clue's "today"); certificates keep the real date."""
    fake = SimpleNamespace(localdate=lambda *args: day, now=timezone.now)
    monkeypatch.setattr(workflow, "timezone", fake)


def audit_actions(clue: Clue) -> list[str]:
    return list(
        AuditEntry.objects.filter(subject_type="cases.clue", subject_id=str(clue.pk))
        .order_by("pk")
        .values_list("action", flat=True)
    )


# --- deadlines --------------------------------------------------------------------------------


def test_assignment_before_national_day_is_due_on_the_make_up_saturday(
    monkeypatch: pytest.MonkeyPatch, clue: Clue, district_officer: User, school_a: OrgUnit
) -> None:
    on_day(monkeypatch, date(2026, 9, 30))

    moved = svc.assign_clue(clue, actor=district_officer, school=school_a, note="")

    assert moved.due_on == date(2026, 10, 10) == add_working_days(date(2026, 9, 30), 3)
    assert moved.status == ClueStatus.ASSIGNED


def test_submission_on_the_friday_is_due_after_the_make_up_weekend(
    monkeypatch: pytest.MonkeyPatch, assigned: Clue, officer_a: User
) -> None:
    on_day(monkeypatch, date(2026, 10, 9))

    verify(assigned, officer_a)

    assigned.refresh_from_db()
    assert assigned.due_on == date(2026, 10, 12) == add_working_days(date(2026, 10, 9), 2)
    assert assigned.status == ClueStatus.SUBMITTED


# --- assignment --------------------------------------------------------------------------------


def test_assignment_moves_the_clue_notifies_the_school_and_leaves_event_and_audit(
    clue: Clue, district_officer: User, school_a: OrgUnit, officer_a: User, officer_b: User
) -> None:
    moved = svc.assign_clue(clue, actor=district_officer, school=school_a, note="请核查")

    assert moved.school == school_a
    assert moved.due_on == add_working_days(timezone.localdate(), 3)
    event = ClueEvent.objects.filter(clue=clue).latest("pk")
    assert (event.from_status, event.to_status, event.actor) == (
        ClueStatus.RECEIVED,
        ClueStatus.ASSIGNED,
        district_officer,
    )
    assert "clue.assigned" in audit_actions(clue)
    assert Notification.objects.filter(recipient=officer_a, title__contains=clue.number).exists()
    assert not Notification.objects.filter(recipient=officer_b).exists()


def test_only_the_district_assigns(clue: Clue, officer_a: User, school_a: OrgUnit) -> None:
    with pytest.raises(NotPermitted):
        svc.assign_clue(clue, actor=officer_a, school=school_a, note="")


def test_a_clue_is_assigned_to_a_school_only(
    clue: Clue, district_officer: User, school_a: OrgUnit
) -> None:
    assert school_a.parent is not None
    with pytest.raises(DomainError, match="只能分派给学校"):
        svc.assign_clue(clue, actor=district_officer, school=school_a.parent, note="")


def test_an_assigned_clue_cannot_be_assigned_again(
    assigned: Clue, district_officer: User, school_b: OrgUnit
) -> None:
    with pytest.raises(Conflict):
        svc.assign_clue(assigned, actor=district_officer, school=school_b, note="")


def test_district_handles_a_clue_itself_and_verifies_it(
    clue: Clue, district_officer: User, officer_a: User
) -> None:
    kept = svc.assign_clue(clue, actor=district_officer, school=None, note="涉及多校")

    assert kept.status == ClueStatus.RECEIVED
    assert kept.school is None
    assert kept.due_on == add_working_days(timezone.localdate(), 3)
    assert svc.is_self_handled(kept)
    assert "clue.self_handled" in audit_actions(kept)
    assert not Clue.objects.visible_to(officer_a).filter(pk=kept.pk).exists()
    with pytest.raises(NotPermitted):
        verify(kept, officer_a)

    verify(kept, district_officer)

    kept.refresh_from_db()
    assert kept.status == ClueStatus.SUBMITTED
    assert kept.due_on == add_working_days(timezone.localdate(), 2)


def test_a_school_cannot_verify_a_clue_not_yet_assigned(clue: Clue, officer_a: User) -> None:
    assert clue.school is not None  # registered under the student's school
    with pytest.raises(NotPermitted, match="尚未分派"):
        verify(clue, officer_a)


# --- verification --------------------------------------------------------------------------------


def test_uncertified_officer_cannot_verify_clue(
    assigned: Clue, uncertified_officer_a: User
) -> None:
    with pytest.raises(NotCertified, match="持证上岗"):
        verify(assigned, uncertified_officer_a)
    assigned.refresh_from_db()
    assert assigned.status == ClueStatus.ASSIGNED


def test_uncertified_officer_cannot_record_an_investigation(
    assigned: Clue, uncertified_officer_a: User
) -> None:
    with pytest.raises(NotCertified, match="持证上岗"):
        investigate(assigned, uncertified_officer_a)


def test_another_schools_officer_cannot_verify(assigned: Clue, officer_b: User) -> None:
    with pytest.raises(NotPermitted):
        verify(assigned, officer_b)
    with pytest.raises(NotPermitted):
        investigate(assigned, officer_b)


def test_confirmed_answer_needs_no_investigation_and_no_priority_recheck(
    assigned: Clue, officer_a: User
) -> None:
    verification = verify(assigned, officer_a)

    assigned.refresh_from_db()
    assert assigned.status == ClueStatus.SUBMITTED
    assert not assigned.priority_recheck
    assert verification.submitted_by == officer_a
    assert audit_actions(assigned)[-2:] == ["clue.submitted", "clue.verification_recorded"]


def test_disputed_answer_needs_an_investigation_first(assigned: Clue, officer_a: User) -> None:
    with pytest.raises(DomainError, match="入户调查、邻里走访、信函索证、信息再次核对"):
        verify(assigned, officer_a, answer=FamilyAnswer.DISPUTED)

    investigation = investigate(
        assigned, officer_a, attachment=SimpleUploadedFile("走访.pdf", b"%PDF-1.4 visit")
    )
    verify(assigned, officer_a, answer=FamilyAnswer.DISPUTED)

    assigned.refresh_from_db()
    assert assigned.status == ClueStatus.SUBMITTED
    assert assigned.priority_recheck
    assert investigation.attachment.name
    assert "clue.investigation_recorded" in audit_actions(assigned)


def test_unreachable_family_flags_priority_recheck(assigned: Clue, officer_a: User) -> None:
    verify(assigned, officer_a, answer=FamilyAnswer.UNREACHABLE)
    assigned.refresh_from_db()
    assert assigned.priority_recheck


@pytest.mark.parametrize(
    ("answer", "opinion", "investigations", "expected"),
    [
        (FamilyAnswer.CONFIRMED, Opinion.STOP, 0, False),
        (FamilyAnswer.CONFIRMED, Opinion.CONTINUE, 0, False),
        (FamilyAnswer.DISPUTED, Opinion.CONTINUE, 1, True),
        (FamilyAnswer.UNREACHABLE, Opinion.STOP, 0, True),
        (FamilyAnswer.UNREACHABLE, Opinion.NOT_APPLICABLE, 2, True),
    ],
)
def test_priority_recheck_rule(
    answer: str, opinion: str, investigations: int, expected: bool
) -> None:
    assert svc.needs_priority_recheck(answer, opinion, investigations) is expected


def test_an_opinion_touching_aid_needs_the_students_live_award(
    assigned: Clue, officer_a: User, award: Award, school_a: OrgUnit, district_officer: User
) -> None:
    with pytest.raises(DomainError, match="须选择所涉学生的在享资助"):
        verify(assigned, officer_a, opinion=Opinion.STOP)
    other = grant(StudentFactory(school=school_a), district_officer)
    with pytest.raises(DomainError, match="不属于本线索所涉学生"):
        verify(assigned, officer_a, opinion=Opinion.STOP, award=other)

    verification = verify(assigned, officer_a, opinion=Opinion.STOP, award=award)

    assert verification.award == award


# --- district review ------------------------------------------------------------------------------


def test_send_back_returns_the_clue_with_a_new_three_day_clock(
    monkeypatch: pytest.MonkeyPatch, submitted: Clue, district_officer: User, officer_a: User
) -> None:
    on_day(monkeypatch, date(2026, 9, 30))

    moved = svc.send_back(submitted, actor=district_officer, reason="请补充走访记录")

    assert moved.status == ClueStatus.ASSIGNED
    assert moved.due_on == date(2026, 10, 10)
    assert ClueEvent.objects.filter(clue=submitted, to_status=ClueStatus.ASSIGNED).count() == 2
    assert Notification.objects.filter(recipient=officer_a, title__contains="退回").exists()


def test_a_school_cannot_send_back_or_decide(submitted: Clue, officer_a: User) -> None:
    with pytest.raises(NotPermitted):
        svc.send_back(submitted, actor=officer_a, reason="x")
    with pytest.raises(NotPermitted):
        decide(submitted, officer_a)


def test_an_uncertified_district_officer_cannot_decide(
    submitted: Clue, make_user: Callable[..., User]
) -> None:
    from tests.factories import district
    from zizhu.core.models import Role

    uncertified = make_user("district_new", Role.DISTRICT_OFFICER, district())
    with pytest.raises(NotCertified, match="持证上岗"):
        decide(submitted, uncertified)


def test_decision_to_stop_ends_the_award_from_next_month(
    assigned: Clue, officer_a: User, district_officer: User, award: Award
) -> None:
    verify(assigned, officer_a, opinion=Opinion.STOP, award=award)

    decision = decide(
        assigned, district_officer, opinion=Opinion.STOP, award=award, reasoning="家庭已购房购车"
    )

    today = timezone.localdate()
    award.refresh_from_db()
    assert award.status == AwardStatus.STOPPED
    assert award.end_month == today.replace(day=1)
    change = AwardChange.objects.get(award=award)
    assert change.kind == AwardChangeKind.STOP
    assert change.effective_month == next_month(today)
    assert change.reason == f"线索{assigned.number}：家庭已购房购车"
    assert svc.effective_month(decision) == next_month(today)
    assigned.refresh_from_db()
    assert assigned.status == ClueStatus.DECIDED
    assert assigned.due_on is None
    assert audit_actions(assigned)[-2:] == ["clue.decided", "clue.decision_recorded"]


def test_decision_to_change_tier_recomputes_the_amount(
    district_officer: User, school_a: OrgUnit
) -> None:
    high_school = SchoolFactory(stage=Stage.SENIOR, parent=school_a.parent, name="邾城高级中学")
    student = StudentFactory(school=high_school, grade="高一")
    award = grant(student, district_officer, programme="HS_STIPEND", amount="3000")
    clue = new_clue(district_officer, [student])
    svc.assign_clue(clue, actor=district_officer, school=None, note="")
    verify(clue, district_officer)
    general = DifficultyTier.objects.get(code="general")

    decide(
        clue,
        district_officer,
        opinion=Opinion.CHANGE_TIER,
        award=award,
        new_tier=general,
        reasoning="调整为一般困难",
    )

    award.refresh_from_db()
    assert award.tier == general
    assert award.annual_amount == Decimal("1000.00")
    assert AwardChange.objects.get(award=award).effective_month == next_month(timezone.localdate())


def test_change_tier_needs_a_different_tier(
    submitted: Clue, district_officer: User, award: Award
) -> None:
    with pytest.raises(DomainError, match="不同的困难等级"):
        decide(submitted, district_officer, opinion=Opinion.CHANGE_TIER, award=award)


@pytest.mark.parametrize("amount", [None, Decimal("0"), Decimal("-5"), Decimal("10.005")])
def test_recovery_needs_a_positive_amount_in_yuan(
    submitted: Clue, district_officer: User, award: Award, amount: Decimal | None
) -> None:
    with pytest.raises(DomainError, match="追缴金额"):
        decide(
            submitted, district_officer, opinion=Opinion.RECOVER, award=award, recover_amount=amount
        )
    award.refresh_from_db()
    assert award.status == AwardStatus.LIVE


def test_recovery_stops_the_award_and_records_the_amount(
    submitted: Clue, district_officer: User, award: Award
) -> None:
    decision = decide(
        submitted,
        district_officer,
        opinion=Opinion.RECOVER,
        award=award,
        recover_amount=Decimal("625.00"),
    )

    assert decision.recover_amount == Decimal("625.00")
    award.refresh_from_db()
    assert award.status == AwardStatus.STOPPED


def test_priority_recheck_clue_needs_an_acknowledged_recheck(
    assigned: Clue, officer_a: User, district_officer: User
) -> None:
    verify(assigned, officer_a, answer=FamilyAnswer.UNREACHABLE)

    with pytest.raises(DomainError, match="重点复核"):
        decide(assigned, district_officer)
    with pytest.raises(DomainError, match="重点复核"):
        decide(assigned, district_officer, rechecked=True, reasoning="维持资助。")

    decide(assigned, district_officer, rechecked=True, reasoning="经电话复核家长，维持资助。")
    assigned.refresh_from_db()
    assert assigned.status == ClueStatus.DECIDED


# --- reply and closing ---------------------------------------------------------------------------


def test_reply_is_required_before_closing_when_the_reporter_left_a_contact(
    submitted: Clue, district_officer: User, officer_a: User
) -> None:
    decide(submitted, district_officer)

    with pytest.raises(DomainError, match="须先登记书面或口头答复"):
        svc.close_clue(submitted, actor=district_officer)

    reply = svc.reply_to_clue(
        submitted,
        actor=officer_a,
        method=ReplyMethod.ORAL,
        replied_on=timezone.localdate(),
        content="经核实，该生家庭情况符合资助条件。",
    )
    closed = svc.close_clue(submitted, actor=district_officer)

    assert reply.replied_by == officer_a
    assert closed.status == ClueStatus.CLOSED
    assert closed.closed_at is not None
    assert audit_actions(submitted)[-2:] == ["clue.replied", "clue.closed"]


def test_an_anonymous_reporter_without_contact_needs_no_reply(
    district_officer: User, alice: Student
) -> None:
    clue = new_clue(district_officer, [alice], contact="")
    svc.assign_clue(clue, actor=district_officer, school=None, note="")
    verify(clue, district_officer)
    decide(clue, district_officer)

    closed = svc.close_clue(clue, actor=district_officer)

    assert closed.status == ClueStatus.CLOSED


def test_a_named_reporter_needs_a_reply_even_without_contact(
    district_officer: User, alice: Student
) -> None:
    clue = new_clue(district_officer, [alice], contact="", name="王某")
    assert svc.needs_reply_before_closing(clue)


def test_another_schools_officer_cannot_reply(
    submitted: Clue, district_officer: User, officer_b: User
) -> None:
    decide(submitted, district_officer)
    with pytest.raises(NotPermitted):
        svc.reply_to_clue(
            submitted,
            actor=officer_b,
            method=ReplyMethod.WRITTEN,
            replied_on=timezone.localdate(),
            content="答复",
        )


def test_closing_a_clue_from_a_notice_objection_resolves_the_objection(
    school_a: OrgUnit, officer_a: User, district_officer: User
) -> None:
    today = timezone.localdate()
    notice = Notice.objects.create(
        round=NoticeRound.SCHOOL,
        org_unit=school_a,
        school_year=current_school_year(),
        title="资助初审公示",
        starts_on=today - timedelta(days=1),
        ends_on=today + timedelta(days=7),
        published_by=officer_a,
    )
    objection = raise_objection(notice, text="名单中有学生家庭条件较好。", contact="13700002222")
    clue = objection_clue(objection)
    assert clue is not None
    svc.assign_clue(clue, actor=district_officer, school=school_a, note="")
    verify(clue, officer_a, opinion=Opinion.NOT_APPLICABLE)
    decide(clue, district_officer, opinion=Opinion.NOT_APPLICABLE, reasoning="经核实，异议不成立。")
    svc.reply_to_clue(
        clue,
        actor=officer_a,
        method=ReplyMethod.ORAL,
        replied_on=today,
        content="经核实，异议不成立。",
    )

    svc.close_clue(clue, actor=district_officer)

    objection.refresh_from_db()
    assert objection.status == ObjectionStatus.RESOLVED
    assert objection.resolution == "经核实，异议不成立。"
    assert objection.resolved_by == district_officer


# --- appeal --------------------------------------------------------------------------------------


@pytest.fixture
def closed(submitted: Clue, district_officer: User) -> Clue:
    decide(submitted, district_officer)
    svc.reply_to_clue(
        submitted,
        actor=district_officer,
        method=ReplyMethod.WRITTEN,
        replied_on=timezone.localdate(),
        content="经核实，情况不属实。",
    )
    return svc.close_clue(submitted, actor=district_officer)


def test_an_appeal_within_the_period_reopens_the_clue_at_the_district(
    closed: Clue, district_officer: User
) -> None:
    appeal = svc.lodge_appeal(closed, text="该生家庭确有车辆，请再次核查。")

    closed.refresh_from_db()
    assert closed.status == ClueStatus.APPEALED
    assert closed.due_on == add_working_days(timezone.localdate(), 2)
    assert appeal.clue == closed
    entry = AuditEntry.objects.filter(action="clue.appealed").get()
    assert entry.actor is None
    assert entry.actor_label == "申诉人"
    assert "家庭确有车辆" not in str(entry.after)

    decide(closed, district_officer, reasoning="申诉复查后维持原决定。")
    closed.refresh_from_db()
    assert closed.status == ClueStatus.DECIDED


def test_an_appeal_after_the_period_is_refused(closed: Clue, settings: Any) -> None:
    settings.ZIZHU_APPEAL_DAYS = 15
    Clue.objects.filter(pk=closed.pk).update(closed_at=timezone.now() - timedelta(days=16))

    with pytest.raises(DomainError, match="超过申诉期"):
        svc.lodge_appeal(closed, text="再次申诉。")

    assert svc.lodge_appeal(closed, text="再次申诉。", within_days=20).clue == closed


def test_an_open_clue_cannot_be_appealed(submitted: Clue) -> None:
    with pytest.raises(Conflict):
        svc.lodge_appeal(submitted, text="申诉")


# --- the whole chain and the work lists ------------------------------------------------------


def test_each_step_leaves_an_event_and_an_audit_row(closed: Clue) -> None:
    assert list(closed.events.values_list("to_status", flat=True)) == [
        ClueStatus.RECEIVED,
        ClueStatus.ASSIGNED,
        ClueStatus.SUBMITTED,
        ClueStatus.DECIDED,
        ClueStatus.CLOSED,
    ]
    assert audit_actions(closed) == [
        "clue.registered",
        "clue.assigned",
        "clue.submitted",
        "clue.verification_recorded",
        "clue.decided",
        "clue.decision_recorded",
        "clue.replied",
        "clue.closed",
    ]


def _titles(actor: User) -> list[str]:
    return [item.title for item in work_items_for(actor) if "线索" in item.title]


def test_work_lists_show_each_role_its_due_clues(
    assigned: Clue, officer_a: User, officer_b: User, district_officer: User, alice: Student
) -> None:
    waiting = new_clue(district_officer, [alice])

    assert any(assigned.number in t for t in _titles(officer_a))
    assert _titles(officer_b) == []
    district_titles = _titles(district_officer)
    assert any(waiting.number in t and "待分派" in t for t in district_titles)
    assert not any(assigned.number in t for t in district_titles)

    verify(assigned, officer_a, answer=FamilyAnswer.UNREACHABLE)

    assert not any(assigned.number in t for t in _titles(officer_a))
    assert any(assigned.number in t and "重点复核" in t for t in _titles(district_officer))


def test_work_list_marks_overdue_clues_and_sorts_by_due_date(
    assigned: Clue, officer_a: User, district_officer: User, alice: Student, school_a: OrgUnit
) -> None:
    later = svc.assign_clue(
        new_clue(district_officer, [alice]), actor=district_officer, school=school_a, note=""
    )
    yesterday = timezone.localdate() - timedelta(days=1)
    Clue.objects.filter(pk=later.pk).update(due_on=yesterday)

    items = [item for item in work_items_for(officer_a) if "线索" in item.title]

    assert [later.number in items[0].title, assigned.number in items[1].title] == [True, True]
    assert items[0].overdue and not items[1].overdue


def test_decided_clue_without_reply_is_on_the_repliers_list(
    submitted: Clue, district_officer: User, officer_a: User
) -> None:
    decide(submitted, district_officer)
    assert any(submitted.number in t and "已决定待答复" in t for t in _titles(officer_a))

    svc.reply_to_clue(
        submitted,
        actor=officer_a,
        method=ReplyMethod.WRITTEN,
        replied_on=timezone.localdate(),
        content="已答复。",
    )
    assert not any(submitted.number in t for t in _titles(officer_a))


def test_a_clue_is_assigned_only_to_the_school_of_its_students(
    district_officer: User, school_a: OrgUnit, school_b: OrgUnit
) -> None:
    clue = Clue.objects.create(
        number="XZ2026999901", channel="hotline", allegation="测试", received_on=date(2026, 11, 2)
    )
    clue.students.add(StudentFactory(school=school_a))
    with pytest.raises(DomainError, match="不在所选学校"):
        svc.assign_clue(clue, actor=district_officer, school=school_b)
    clue.students.add(StudentFactory(school=school_b))
    with pytest.raises(DomainError, match="多所学校"):
        svc.assign_clue(clue, actor=district_officer, school=school_a)
