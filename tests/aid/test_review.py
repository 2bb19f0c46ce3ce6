"""The spring dynamic review: opening a round, deciding items, the pages and the work list."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from tests.aid.test_migration import grant
from tests.factories import SchoolFactory, StudentFactory
from zizhu.aid.models import (
    Award,
    AwardChange,
    AwardChangeKind,
    AwardStatus,
    DifficultyTier,
    ReviewItem,
    ReviewOutcome,
    ReviewRound,
)
from zizhu.aid.rules import current_school_year, next_month
from zizhu.aid.services.review import (
    continue_review_items,
    decide_review_item,
    open_spring_review,
    pending_reviews,
)
from zizhu.core.calendar import add_working_days, is_working_day
from zizhu.core.errors import Conflict, DomainError, NotCertified, NotPermitted
from zizhu.core.models import AuditEntry, OrgUnit, Stage, User
from zizhu.registry.models import Student


def due() -> date:
    return add_working_days(timezone.localdate(), 10)


def next_weekend_day() -> date:
    day = timezone.localdate() + timedelta(days=1)
    while is_working_day(day):
        day += timedelta(days=1)
    return day


@pytest.fixture
def alice(school_a: OrgUnit) -> Student:
    return StudentFactory(school=school_a, name="张小花")


@pytest.fixture
def bob(school_b: OrgUnit) -> Student:
    return StudentFactory(school=school_b, name="李小明")


@pytest.fixture
def high_school(school_a: OrgUnit) -> OrgUnit:
    return SchoolFactory(stage=Stage.SENIOR, parent=school_a.parent, name="邾城高级中学")


@pytest.fixture
def alice_award(alice: Student, district_officer: User) -> Award:
    return grant(alice, district_officer)


@pytest.fixture
def opened(alice_award: Award, district_officer: User) -> ReviewRound:
    return open_spring_review(current_school_year(), actor=district_officer, due_on=due())


def item_of(award: Award) -> ReviewItem:
    return ReviewItem.objects.get(award=award)


# --- opening --------------------------------------------------------------------------------


def test_opening_creates_one_item_per_live_award_of_the_year_under_the_awards_school(
    district_officer: User, alice: Student, bob: Student, school_a: OrgUnit
) -> None:
    live = grant(alice, district_officer)
    elsewhere = grant(bob, district_officer, school=school_a)  # the file says school A
    grant(alice, district_officer, programme="HS_TUITION_WAIVER", status="已停止")
    grant(bob, district_officer, year="2025-2026", start="2025-09")

    review = open_spring_review(current_school_year(), actor=district_officer, due_on=due())

    items = ReviewItem.objects.filter(round=review)
    assert {item.award_id for item in items} == {live.pk, elsewhere.pk}
    assert {item.school_id for item in items} == {school_a.pk}
    assert {item.outcome for item in items} == {ReviewOutcome.PENDING}
    audit = AuditEntry.objects.get(action="review.opened")
    assert audit.after["items"] == 2


def test_a_year_is_reviewed_once(opened: ReviewRound, district_officer: User) -> None:
    with pytest.raises(Conflict, match="已经开启"):
        open_spring_review(current_school_year(), actor=district_officer, due_on=due())
    assert ReviewRound.objects.count() == 1


def test_due_date_must_be_a_future_working_day(district_officer: User) -> None:
    year = current_school_year()
    with pytest.raises(DomainError, match="不是工作日"):
        open_spring_review(year, actor=district_officer, due_on=next_weekend_day())
    with pytest.raises(DomainError, match="晚于今天"):
        open_spring_review(year, actor=district_officer, due_on=timezone.localdate())
    assert not ReviewRound.objects.exists()


def test_a_school_officer_cannot_open_a_round(officer_a: User) -> None:
    with pytest.raises(NotPermitted):
        open_spring_review(current_school_year(), actor=officer_a, due_on=due())
    assert not ReviewRound.objects.exists()


# --- deciding -------------------------------------------------------------------------------


def test_continue_records_the_decision_and_leaves_the_award(
    opened: ReviewRound, alice_award: Award, officer_a: User
) -> None:
    item = decide_review_item(
        item_of(alice_award), actor=officer_a, outcome=ReviewOutcome.CONTINUE, reason="无变化"
    )

    assert item.outcome == ReviewOutcome.CONTINUE
    assert item.decided_by == officer_a
    assert item.reason == "无变化"
    alice_award.refresh_from_db()
    assert alice_award.status == AwardStatus.LIVE
    assert not AwardChange.objects.exists()
    assert AuditEntry.objects.filter(action="review.decided", subject_id=str(item.pk)).exists()


def test_change_tier_recomputes_the_amount_from_next_month(
    district_officer: User, high_school: OrgUnit
) -> None:
    student = StudentFactory(school=high_school, grade="高一")
    award = grant(student, district_officer, programme="HS_STIPEND", amount="3000")
    open_spring_review(current_school_year(), actor=district_officer, due_on=due())
    general = DifficultyTier.objects.get(name="一般困难")

    decide_review_item(
        item_of(award),
        actor=district_officer,
        outcome=ReviewOutcome.CHANGE_TIER,
        reason="父亲已就业",
        new_tier=general,
        evidence=SimpleUploadedFile("走访记录.pdf", b"%PDF-1.4"),
    )

    award.refresh_from_db()
    assert award.tier == general
    assert award.annual_amount == Decimal("1000.00")
    change = AwardChange.objects.get(award=award)
    assert change.kind == AwardChangeKind.CHANGE_TIER
    assert change.effective_month == next_month(timezone.localdate())
    assert change.reason == "春季复核：父亲已就业"
    assert change.evidence.name
    assert item_of(award).evidence.name == change.evidence.name


def test_change_tier_needs_a_new_tier(
    opened: ReviewRound, alice_award: Award, officer_a: User
) -> None:
    with pytest.raises(DomainError, match="新的困难等级"):
        decide_review_item(
            item_of(alice_award), actor=officer_a, outcome=ReviewOutcome.CHANGE_TIER, reason="x"
        )
    assert item_of(alice_award).outcome == ReviewOutcome.PENDING


def test_stop_ends_payment_with_this_month(
    opened: ReviewRound, alice_award: Award, officer_a: User
) -> None:
    decide_review_item(
        item_of(alice_award), actor=officer_a, outcome=ReviewOutcome.STOP, reason="家庭已脱困"
    )

    alice_award.refresh_from_db()
    assert alice_award.status == AwardStatus.STOPPED
    assert alice_award.end_month == timezone.localdate().replace(day=1)
    change = AwardChange.objects.get(award=alice_award)
    assert change.kind == AwardChangeKind.STOP
    assert AuditEntry.objects.filter(action="award.stop").exists()


def test_a_reason_is_required(opened: ReviewRound, alice_award: Award, officer_a: User) -> None:
    with pytest.raises(DomainError, match="复核意见"):
        decide_review_item(
            item_of(alice_award), actor=officer_a, outcome=ReviewOutcome.CONTINUE, reason="  "
        )


def test_an_uncertified_officer_is_refused(
    opened: ReviewRound, alice_award: Award, uncertified_officer_a: User
) -> None:
    with pytest.raises(NotCertified):
        decide_review_item(
            item_of(alice_award),
            actor=uncertified_officer_a,
            outcome=ReviewOutcome.STOP,
            reason="x",
        )
    assert item_of(alice_award).outcome == ReviewOutcome.PENDING
    alice_award.refresh_from_db()
    assert alice_award.status == AwardStatus.LIVE


def test_officer_b_cannot_decide_school_as_item(
    opened: ReviewRound, alice_award: Award, officer_b: User
) -> None:
    with pytest.raises(NotPermitted, match="管辖范围"):
        decide_review_item(
            item_of(alice_award), actor=officer_b, outcome=ReviewOutcome.CONTINUE, reason="x"
        )
    assert item_of(alice_award).outcome == ReviewOutcome.PENDING


def test_a_principal_cannot_decide(
    opened: ReviewRound, alice_award: Award, principal_a: User
) -> None:
    with pytest.raises(NotPermitted):
        decide_review_item(
            item_of(alice_award), actor=principal_a, outcome=ReviewOutcome.CONTINUE, reason="x"
        )


def test_an_item_is_decided_once(
    opened: ReviewRound, alice_award: Award, officer_a: User, district_officer: User
) -> None:
    stale = item_of(alice_award)
    decide_review_item(stale, actor=officer_a, outcome=ReviewOutcome.CONTINUE, reason="无变化")

    with pytest.raises(Conflict):
        decide_review_item(stale, actor=district_officer, outcome=ReviewOutcome.STOP, reason="x")
    alice_award.refresh_from_db()
    assert alice_award.status == AwardStatus.LIVE
    assert item_of(alice_award).outcome == ReviewOutcome.CONTINUE


def test_bulk_continue_skips_items_already_decided(
    district_officer: User, officer_a: User, school_a: OrgUnit
) -> None:
    awards = [grant(StudentFactory(school=school_a), district_officer) for _ in range(3)]
    open_spring_review(current_school_year(), actor=district_officer, due_on=due())
    decide_review_item(
        item_of(awards[0]), actor=officer_a, outcome=ReviewOutcome.STOP, reason="已脱困"
    )

    decided = continue_review_items(
        [item_of(a) for a in awards], actor=officer_a, reason="家庭情况无变化"
    )

    assert decided == 2
    outcomes = [item_of(a).outcome for a in awards]
    assert outcomes == [ReviewOutcome.STOP, ReviewOutcome.CONTINUE, ReviewOutcome.CONTINUE]


# --- the work list --------------------------------------------------------------------------


def test_work_list_shows_pending_items_to_the_schools_officer_only(
    opened: ReviewRound,
    alice_award: Award,
    officer_a: User,
    officer_b: User,
    principal_a: User,
    district_officer: User,
) -> None:
    [item] = pending_reviews(officer_a)
    assert "1 项" in item.title
    assert item.url == reverse("aid:review_list", args=[opened.pk, alice_award.school_id])
    assert item.due_on == opened.due_on
    assert pending_reviews(officer_b) == []
    assert pending_reviews(principal_a) == []
    [district_line] = pending_reviews(district_officer)
    assert "全区尚有 1 项" in district_line.title

    decide_review_item(
        item_of(alice_award), actor=officer_a, outcome=ReviewOutcome.CONTINUE, reason="无变化"
    )
    assert pending_reviews(officer_a) == []


# --- pages ----------------------------------------------------------------------------------


@pytest.fixture
def login(client: Client) -> Callable[[User], Client]:
    def sign_in(user: User) -> Client:
        client.force_login(user)
        return client

    return sign_in


def test_district_officer_opens_a_round_from_the_home_page(
    login: Callable[[User], Client], district_officer: User, alice_award: Award
) -> None:
    client = login(district_officer)
    year = current_school_year()

    response = client.post(
        reverse("aid:review_open"), {"school_year": year.pk, "due_on": due().isoformat()}
    )

    assert response.status_code == 302
    page = client.get(response["Location"])
    content = page.content.decode()
    assert "复核进度" in content
    assert alice_award.school.name in content


def test_opening_on_a_weekend_shows_the_reason(
    login: Callable[[User], Client], district_officer: User
) -> None:
    client = login(district_officer)
    data = {"school_year": current_school_year().pk, "due_on": next_weekend_day().isoformat()}

    response = client.post(reverse("aid:review_open"), data)

    assert response.status_code == 400
    assert "不是工作日" in response.content.decode()


def test_a_school_officer_cannot_open_from_the_page(
    login: Callable[[User], Client], officer_a: User
) -> None:
    data = {"school_year": current_school_year().pk, "due_on": due().isoformat()}
    response = login(officer_a).post(reverse("aid:review_open"), data)
    assert response.status_code == 403
    assert not ReviewRound.objects.exists()


def test_school_list_shows_pending_items_and_bulk_continues(
    login: Callable[[User], Client], opened: ReviewRound, alice_award: Award, officer_a: User
) -> None:
    client = login(officer_a)
    url = reverse("aid:review_list", args=[opened.pk, alice_award.school_id])

    content = client.get(url).content.decode()
    assert "张小花" in content
    assert "对勾选的学生" in content

    item = item_of(alice_award)
    posted = client.post(
        reverse("aid:review_bulk_continue", args=[opened.pk, alice_award.school_id]),
        {"items": [item.pk], "reason": "家庭情况无变化"},
    )
    assert posted.status_code == 302
    assert item_of(alice_award).outcome == ReviewOutcome.CONTINUE


def test_school_list_query_count_does_not_grow_with_items(
    login: Callable[[User], Client],
    district_officer: User,
    officer_a: User,
    school_a: OrgUnit,
    django_assert_max_num_queries: Any,
) -> None:
    grant(StudentFactory(school=school_a), district_officer)
    review = open_spring_review(current_school_year(), actor=district_officer, due_on=due())
    client = login(officer_a)
    url = reverse("aid:review_list", args=[review.pk, school_a.pk])
    with CaptureQueriesContext(connection) as one:
        assert client.get(url).status_code == 200

    for n in range(8):
        grant(StudentFactory(school=school_a), district_officer, amount=f"{1250 + n}")
    ReviewItem.objects.bulk_create(
        ReviewItem(round=review, award=a, school=school_a)
        for a in Award.objects.exclude(reviews__round=review)
    )
    with django_assert_max_num_queries(len(one.captured_queries)):
        response = client.get(url)
    assert response.context["page"].paginator.count == 9


def test_officer_b_gets_404_for_school_as_list_and_item(
    login: Callable[[User], Client], opened: ReviewRound, alice_award: Award, officer_b: User
) -> None:
    client = login(officer_b)
    assert (
        client.get(reverse("aid:review_list", args=[opened.pk, alice_award.school_id])).status_code
        == 404
    )
    assert client.get(reverse("aid:review_item", args=[item_of(alice_award).pk])).status_code == 404


def test_decision_form_stops_an_award(
    login: Callable[[User], Client], opened: ReviewRound, alice_award: Award, officer_a: User
) -> None:
    client = login(officer_a)
    url = reverse("aid:review_item", args=[item_of(alice_award).pk])
    assert "作出复核决定" in client.get(url).content.decode()

    response = client.post(url, {"outcome": ReviewOutcome.STOP, "reason": "已转入民办学校"})

    assert response.status_code == 302
    alice_award.refresh_from_db()
    assert alice_award.status == AwardStatus.STOPPED


def test_decision_form_is_refused_to_an_uncertified_officer(
    login: Callable[[User], Client],
    opened: ReviewRound,
    alice_award: Award,
    uncertified_officer_a: User,
) -> None:
    url = reverse("aid:review_item", args=[item_of(alice_award).pk])
    response = login(uncertified_officer_a).post(url, {"outcome": "stop", "reason": "x"})
    assert response.status_code == 403
    assert item_of(alice_award).outcome == ReviewOutcome.PENDING


def test_home_page_lists_the_pending_review_for_the_officer(
    login: Callable[[User], Client], opened: ReviewRound, alice_award: Award, officer_a: User
) -> None:
    content = login(officer_a).get(reverse("core:home")).content.decode()

    assert "春季复核" in content
    assert reverse("aid:review_list", args=[opened.pk, alice_award.school_id]) in content


def test_review_home_shows_progress_within_reach(
    login: Callable[[User], Client],
    opened: ReviewRound,
    alice_award: Award,
    principal_a: User,
    officer_b: User,
) -> None:
    content = login(principal_a).get(reverse("aid:review_home")).content.decode()
    assert alice_award.school.name in content
    assert "开启复核" not in content

    other = login(officer_b).get(reverse("aid:review_home")).content.decode()
    assert alice_award.school.name not in other


def test_review_pages_are_refused_without_aid_view(
    login: Callable[[User], Client], outsider: User
) -> None:
    assert login(outsider).get(reverse("aid:review_home")).status_code == 403
