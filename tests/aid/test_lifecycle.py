"""Ledger entries end, stop or move awards from the next month and tell the officers."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from tests.aid.test_migration import grant
from tests.factories import StudentFactory
from zizhu.aid.models import (
    Award,
    AwardChange,
    AwardChangeKind,
    AwardStatus,
    ReviewItem,
    ReviewOutcome,
)
from zizhu.aid.rules import current_school_year, next_month
from zizhu.aid.services.review import open_spring_review
from zizhu.core.calendar import add_working_days
from zizhu.core.errors import Conflict, OutOfReach
from zizhu.core.models import AuditEntry, Notification, OrgUnit, Role, User
from zizhu.core.notifications import mark_read, notify_unit, unread_notifications
from zizhu.core.worklist import work_items_for
from zizhu.registry.models import ChangeKind, StatusChange, Student
from zizhu.registry.services import record_status_change

TODAY = timezone.localdate


@pytest.fixture
def alice(school_a: OrgUnit) -> Student:
    return StudentFactory(school=school_a, name="张小花")


@pytest.fixture
def award(alice: Student, district_officer: User) -> Award:
    return grant(alice, district_officer)


def record(
    student: Student,
    actor: User,
    kind: str,
    *,
    effective_on: date | None = None,
    to_school: OrgUnit | None = None,
) -> StatusChange:
    return record_status_change(
        student,
        actor=actor,
        kind=kind,
        effective_on=effective_on or TODAY(),
        reason="家长告知",
        to_school=to_school,
    )


def notes_for(user: User) -> list[Notification]:
    return list(Notification.objects.filter(recipient=user))


# --- ending ---------------------------------------------------------------------------------


def test_death_ends_the_award_from_the_month_after_and_tells_school_as_officer(
    award: Award,
    alice: Student,
    officer_a: User,
    officer_b: User,
    principal_a: User,
    district_officer: User,
) -> None:
    record(alice, officer_a, ChangeKind.DEATH)

    award.refresh_from_db()
    assert award.status == AwardStatus.ENDED
    assert award.end_month == TODAY().replace(day=1)
    change = AwardChange.objects.get(award=award)
    assert change.kind == AwardChangeKind.END
    assert change.decided_on == TODAY()
    assert change.effective_month == next_month(TODAY())
    assert change.actor == officer_a
    assert change.reason.startswith("学籍异动：死亡")
    assert AuditEntry.objects.filter(action="award.end", subject_id=str(award.pk)).exists()
    [note] = notes_for(officer_a)
    assert "张小花" in note.title
    assert note.url == reverse("registry:student_detail", args=[alice.pk])
    assert notes_for(officer_b) == []
    assert notes_for(principal_a) == []  # principals do not decide reviews
    assert notes_for(district_officer) == []  # no fan-out from the district


def test_a_late_entry_may_take_effect_in_a_past_month(
    award: Award, alice: Student, officer_a: User
) -> None:
    this_month = TODAY().replace(day=1)
    last_month = (this_month - timedelta(days=1)).replace(day=1)
    effective_on = max(last_month + timedelta(days=14), award.start_month)

    record(alice, officer_a, ChangeKind.DROPOUT, effective_on=effective_on)

    award.refresh_from_db()
    assert award.end_month == effective_on.replace(day=1)
    assert AwardChange.objects.get(award=award).effective_month == next_month(effective_on)
    assert next_month(effective_on) <= this_month


@pytest.mark.parametrize(
    "kind", [ChangeKind.DROPOUT, ChangeKind.GRADUATION, ChangeKind.TRANSFER_OUT]
)
def test_leaving_school_ends_the_award(
    award: Award, alice: Student, officer_a: User, kind: str
) -> None:
    record(alice, officer_a, kind)

    award.refresh_from_db()
    assert award.status == AwardStatus.ENDED
    assert AwardChange.objects.get(award=award).kind == AwardChangeKind.END


def test_only_live_awards_change(alice: Student, district_officer: User, officer_a: User) -> None:
    live = grant(alice, district_officer)
    stopped = grant(alice, district_officer, programme="HS_TUITION_WAIVER", status="已停止")

    record(alice, officer_a, ChangeKind.DEATH)

    live.refresh_from_db()
    stopped.refresh_from_db()
    assert live.status == AwardStatus.ENDED
    assert stopped.status == AwardStatus.STOPPED
    assert not AwardChange.objects.filter(award=stopped).exists()


def test_suspension_stops_the_award(award: Award, alice: Student, officer_a: User) -> None:
    record(alice, officer_a, ChangeKind.SUSPENSION)

    award.refresh_from_db()
    assert award.status == AwardStatus.STOPPED
    assert AwardChange.objects.get(award=award).kind == AwardChangeKind.STOP
    assert len(notes_for(officer_a)) == 1


def test_ending_closes_a_pending_spring_review_item(
    award: Award, alice: Student, officer_a: User, district_officer: User
) -> None:
    due = add_working_days(TODAY(), 5)
    open_spring_review(current_school_year(), actor=district_officer, due_on=due)

    record(alice, officer_a, ChangeKind.DEATH)

    item = ReviewItem.objects.get(award=award)
    assert item.outcome == ReviewOutcome.STOP
    assert item.reason.startswith("学籍异动：死亡")


# --- moving ---------------------------------------------------------------------------------


def test_transfer_moves_the_award_and_its_review_to_the_new_school(
    award: Award,
    alice: Student,
    district_officer: User,
    officer_a: User,
    officer_b: User,
    school_b: OrgUnit,
) -> None:
    open_spring_review(
        current_school_year(), actor=district_officer, due_on=add_working_days(TODAY(), 5)
    )

    record(alice, district_officer, ChangeKind.TRANSFER, to_school=school_b)

    award.refresh_from_db()
    assert award.school == school_b
    assert award.status == AwardStatus.LIVE
    change = AwardChange.objects.get(award=award)
    assert change.kind == AwardChangeKind.MOVE
    assert change.new_school == school_b
    item = ReviewItem.objects.get(award=award)
    assert item.school == school_b
    assert item.outcome == ReviewOutcome.PENDING
    assert len(notes_for(officer_a)) == 1
    assert len(notes_for(officer_b)) == 1
    assert "转至" in notes_for(officer_b)[0].body


# --- review only ----------------------------------------------------------------------------


def test_a_family_change_only_notifies(award: Award, alice: Student, officer_a: User) -> None:
    record(alice, officer_a, ChangeKind.FAMILY_CHANGE)

    award.refresh_from_db()
    assert award.status == AwardStatus.LIVE
    assert not AwardChange.objects.exists()
    [note] = notes_for(officer_a)
    assert "请复核张小花" in note.title


def test_resumption_asks_for_a_review_of_the_stopped_award(
    award: Award, alice: Student, officer_a: User
) -> None:
    record(alice, officer_a, ChangeKind.SUSPENSION, effective_on=TODAY() - timedelta(days=1))
    record(alice, officer_a, ChangeKind.RESUMPTION)

    award.refresh_from_db()
    assert award.status == AwardStatus.STOPPED
    titles = [n.title for n in notes_for(officer_a)]
    assert any("复学" in title for title in titles)


def test_a_student_without_aid_raises_no_notification(alice: Student, officer_a: User) -> None:
    record(alice, officer_a, ChangeKind.FAMILY_CHANGE)
    record(alice, officer_a, ChangeKind.DEATH)

    assert not Notification.objects.exists()
    assert not AwardChange.objects.exists()


# --- notifications --------------------------------------------------------------------------


def test_notify_unit_reaches_only_roles_held_at_the_unit(
    school_a: OrgUnit,
    officer_a: User,
    district_officer: User,
    town_supervisor: User,
    make_user: Callable[..., User],
) -> None:
    second = make_user("officer_a2", Role.SCHOOL_OFFICER, school_a)

    sent = notify_unit(school_a, perm="review:decide", title="请复核")

    assert sent == 2
    assert {n.recipient for n in Notification.objects.all()} == {officer_a, second}


def test_unread_notifications_are_work_items_until_read(
    award: Award, alice: Student, officer_a: User, officer_b: User
) -> None:
    record(alice, officer_a, ChangeKind.DEATH)
    [note] = notes_for(officer_a)

    assert [item.title for item in unread_notifications(officer_a)] == [f"消息：{note.title}"]
    assert any(item.title == f"消息：{note.title}" for item in work_items_for(officer_a))
    with pytest.raises(OutOfReach):
        mark_read(note, actor=officer_b)

    mark_read(note, actor=officer_a)

    assert unread_notifications(officer_a) == []
    with pytest.raises(Conflict):
        mark_read(note, actor=officer_a)


@pytest.fixture
def login(client: Client) -> Callable[[User], Client]:
    def sign_in(user: User) -> Client:
        client.force_login(user)
        return client

    return sign_in


def test_notification_page_marks_read_and_opens_the_student(
    login: Callable[[User], Client], award: Award, alice: Student, officer_a: User, officer_b: User
) -> None:
    record(alice, officer_a, ChangeKind.DEATH)
    [note] = notes_for(officer_a)
    client = login(officer_a)

    assert note.title in client.get(reverse("aid:review_notifications")).content.decode()
    page = client.get(reverse("aid:review_notification", args=[note.pk]))
    assert note.title in page.content.decode()
    response = client.post(reverse("aid:review_notification_read", args=[note.pk]))

    assert response.status_code == 302
    assert response["Location"] == reverse("registry:student_detail", args=[alice.pk])
    note.refresh_from_db()
    assert note.read_at is not None
    other = login(officer_b)
    assert other.get(reverse("aid:review_notification", args=[note.pk])).status_code == 404
