"""Awards after round 3 and the district's decisions on them: stop or change tier, always
from the first day of the next month, recorded with who, why and on what evidence."""

from __future__ import annotations

import io
from collections.abc import Callable
from datetime import date
from decimal import Decimal
from typing import Any

import openpyxl
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from tests.aid.test_notices import Crew, end, ensure_calendar_ahead, signed_apps, to_round3
from tests.factories import SchoolFactory, town
from zizhu.aid.models import (
    AppStatus,
    Award,
    AwardChange,
    AwardChangeKind,
    AwardStatus,
    DifficultyTier,
)
from zizhu.aid.rules import next_month
from zizhu.aid.services.notices import decide_award, finalise_awards
from zizhu.core.errors import Conflict, DomainError, NotPermitted
from zizhu.core.models import AuditEntry, OrgUnit, Role, Stage, User

PDF = b"%PDF-1.4\n% decision evidence\n"


@pytest.fixture(autouse=True)
def calendar_ahead(db: None) -> None:
    ensure_calendar_ahead()


@pytest.fixture
def crew_a(
    make_user: Callable[..., User],
    school_a: OrgUnit,
    officer_a: User,
    principal_a: User,
    district_officer: User,
) -> Crew:
    reviewer = make_user("reviewer_a", Role.SCHOOL_OFFICER, school_a, certified=True)
    return Crew(officer_a, reviewer, principal_a, district_officer)


@pytest.fixture
def high_school() -> OrgUnit:
    return SchoolFactory(name="邾城第一中学", code="4201170109", parent=town(), stage=Stage.SENIOR)


@pytest.fixture
def crew_hs(make_user: Callable[..., User], high_school: OrgUnit, district_officer: User) -> Crew:
    return Crew(
        make_user("officer_hs", Role.SCHOOL_OFFICER, high_school, certified=True),
        make_user("reviewer_hs", Role.SCHOOL_OFFICER, high_school, certified=True),
        make_user("principal_hs", Role.PRINCIPAL, high_school),
        district_officer,
    )


def awarded(school: OrgUnit, crew: Crew, n: int = 1, **fields: Any) -> list[Award]:
    """Awards made the real way: three rounds of notice, then the district's finalise."""
    notice = end(to_round3(signed_apps(school, crew, n, **fields), crew))
    return finalise_awards(notice, actor=crew.district)


@pytest.fixture
def award_a(crew_a: Crew, school_a: OrgUnit) -> Award:
    [award] = awarded(school_a, crew_a)
    return award


@pytest.fixture
def login(client: Client) -> Callable[[User], Client]:
    def sign_in(user: User) -> Client:
        client.force_login(user)
        return client

    return sign_in


def month_label(month: date) -> str:
    return f"{month.year}年{month.month}月"


# --- the award itself -----------------------------------------------------------------------


def test_finalise_turns_the_application_into_a_live_award(award_a: Award) -> None:
    assert award_a.status == AwardStatus.LIVE
    assert award_a.application is not None
    assert award_a.application.status == AppStatus.AWARDED
    assert award_a.annual_amount == Decimal("625.00")  # 1250 a year, non-boarder at 50 %
    assert AuditEntry.objects.filter(action="award.granted").count() == 1


# --- decisions ------------------------------------------------------------------------------


def test_stopping_takes_effect_next_month_and_pays_through_this_month(
    award_a: Award, district_officer: User
) -> None:
    today = timezone.localdate()
    change = decide_award(
        award_a, actor=district_officer, kind=AwardChangeKind.STOP, reason="该生已转学外区"
    )
    award_a.refresh_from_db()
    assert change.decided_on == today
    assert change.effective_month == next_month(today)
    assert award_a.status == AwardStatus.STOPPED
    assert award_a.end_month == max(today.replace(day=1), award_a.start_month)
    assert award_a.end_month < change.effective_month
    assert change.actor == district_officer
    assert change.reason == "该生已转学外区"
    assert AuditEntry.objects.filter(action="award.stop", actor=district_officer).exists()


def test_a_stopped_award_cannot_be_changed_again(award_a: Award, district_officer: User) -> None:
    decide_award(award_a, actor=district_officer, kind=AwardChangeKind.STOP, reason="转学")
    with pytest.raises(Conflict):
        decide_award(award_a, actor=district_officer, kind=AwardChangeKind.STOP, reason="再停")


def test_a_decision_needs_a_reason(award_a: Award, district_officer: User) -> None:
    with pytest.raises(DomainError, match="请填写变更原因"):
        decide_award(award_a, actor=district_officer, kind=AwardChangeKind.STOP, reason=" ")


def test_only_stop_and_tier_change_are_decided_here(award_a: Award, district_officer: User) -> None:
    with pytest.raises(DomainError, match="只能停止资助或调整困难等级"):
        decide_award(award_a, actor=district_officer, kind=AwardChangeKind.END, reason="毕业")


def test_school_officers_cannot_change_awards(award_a: Award, officer_a: User) -> None:
    with pytest.raises(NotPermitted):
        decide_award(award_a, actor=officer_a, kind=AwardChangeKind.STOP, reason="转学")
    award_a.refresh_from_db()
    assert award_a.status == AwardStatus.LIVE


def test_changing_tier_recomputes_the_amount_from_next_month(
    crew_hs: Crew, high_school: OrgUnit
) -> None:
    [award] = awarded(high_school, crew_hs, programme_code="HS_STIPEND", grade="高一")
    assert award.annual_amount == Decimal("3000.00")
    relative = DifficultyTier.objects.get(code="relative")

    change = decide_award(
        award,
        actor=crew_hs.district,
        kind=AwardChangeKind.CHANGE_TIER,
        reason="春季复核家庭收入好转",
        new_tier=relative,
    )
    award.refresh_from_db()
    assert change.new_tier == relative
    assert change.new_amount == Decimal("2000.00")
    assert change.effective_month == next_month(timezone.localdate())
    assert award.tier == relative
    assert award.annual_amount == Decimal("2000.00")
    assert award.status == AwardStatus.LIVE


def test_changing_to_the_same_tier_is_refused(award_a: Award, district_officer: User) -> None:
    with pytest.raises(DomainError, match="不同的困难等级"):
        decide_award(
            award_a,
            actor=district_officer,
            kind=AwardChangeKind.CHANGE_TIER,
            reason="复核",
            new_tier=award_a.tier,
        )


# --- award page -------------------------------------------------------------------------------


def test_award_page_previews_the_effective_month_for_the_district(
    login: Callable[[User], Client], award_a: Award, district_officer: User
) -> None:
    response = login(district_officer).get(reverse("aid:award_detail", args=[award_a.pk]))
    body = response.content.decode()
    assert response.status_code == 200
    assert f"自 {month_label(next_month(timezone.localdate()))} 起生效" in body
    assert "停止资助" in body


def test_school_officer_sees_the_award_but_no_decision_forms(
    login: Callable[[User], Client], award_a: Award, officer_a: User
) -> None:
    client = login(officer_a)
    response = client.get(reverse("aid:award_detail", args=[award_a.pk]))
    assert response.status_code == 200
    assert not response.context["can_change"]
    url = reverse("aid:award_change", args=[award_a.pk])
    assert client.post(url, {"kind": "stop", "reason": "转学"}).status_code == 403
    award_a.refresh_from_db()
    assert award_a.status == AwardStatus.LIVE


def test_another_schools_officer_gets_404_on_the_award(
    login: Callable[[User], Client], award_a: Award, officer_b: User
) -> None:
    response = login(officer_b).get(reverse("aid:award_detail", args=[award_a.pk]))
    assert response.status_code == 404


def test_stopping_from_the_page_with_evidence(
    login: Callable[[User], Client], award_a: Award, district_officer: User
) -> None:
    client = login(district_officer)
    evidence = SimpleUploadedFile("李明转学证明.pdf", PDF, content_type="application/pdf")
    response = client.post(
        reverse("aid:award_change", args=[award_a.pk]),
        {"kind": "stop", "reason": "已转学至外区", "evidence": evidence},
        follow=True,
    )
    effective = month_label(next_month(timezone.localdate()))
    assert response.status_code == 200
    assert f"已停止资助，自 {effective} 起生效" in response.content.decode()
    change = AwardChange.objects.get(award=award_a)
    assert change.evidence
    assert "李明" not in change.evidence.name

    download = client.get(reverse("aid:award_evidence", args=[change.pk]))
    assert download.status_code == 200
    assert b"".join(download.streaming_content) == PDF
    assert AuditEntry.objects.filter(action="award.evidence_downloaded").count() == 1


def test_changing_tier_from_the_page(
    login: Callable[[User], Client], crew_hs: Crew, high_school: OrgUnit
) -> None:
    [award] = awarded(high_school, crew_hs, programme_code="HS_STIPEND", grade="高二")
    client = login(crew_hs.district)
    page = client.get(reverse("aid:award_detail", args=[award.pk]))
    previews = {p.tier.code: p.amount for p in page.context["tier_previews"]}
    assert previews == {"relative": Decimal("2000.00"), "general": Decimal("1000.00")}

    general = DifficultyTier.objects.get(code="general")
    response = client.post(
        reverse("aid:award_change", args=[award.pk]),
        {"kind": "change_tier", "new_tier": general.pk, "reason": "复核调整"},
        follow=True,
    )
    assert "年度金额 1000.00 元" in response.content.decode()
    award.refresh_from_db()
    assert award.tier == general


def test_evidence_must_be_a_real_pdf_or_image(
    login: Callable[[User], Client], award_a: Award, district_officer: User
) -> None:
    fake = SimpleUploadedFile("证明.pdf", b"MZ\x90\x00 not a pdf", content_type="application/pdf")
    response = login(district_officer).post(
        reverse("aid:award_change", args=[award_a.pk]),
        {"kind": "stop", "reason": "转学", "evidence": fake},
    )
    assert response.status_code == 400
    assert "文件内容与扩展名不符" in response.content.decode()
    assert not AwardChange.objects.exists()


def test_a_missing_reason_is_shown_on_the_page(
    login: Callable[[User], Client], award_a: Award, district_officer: User
) -> None:
    response = login(district_officer).post(
        reverse("aid:award_change", args=[award_a.pk]), {"kind": "stop", "reason": ""}
    )
    assert response.status_code == 400
    assert "请填写原因" in response.content.decode()


# --- award list and export --------------------------------------------------------------------


def test_award_list_is_scoped_filtered_and_keeps_its_query_count(
    login: Callable[[User], Client],
    crew_a: Crew,
    school_a: OrgUnit,
    officer_b: User,
    django_assert_max_num_queries: Any,
) -> None:
    awarded(school_a, crew_a, 1)
    client = login(crew_a.district)
    with CaptureQueriesContext(connection) as one:
        assert client.get(reverse("aid:award_list")).status_code == 200

    more = awarded(school_a, crew_a, 4)
    decide_award(more[0], actor=crew_a.district, kind=AwardChangeKind.STOP, reason="转学")
    with django_assert_max_num_queries(len(one.captured_queries)):
        response = client.get(reverse("aid:award_list"))
    assert response.context["page"].paginator.count == 5

    stopped = client.get(reverse("aid:award_list"), {"status": "stopped"})
    assert [a.pk for a in stopped.context["page"]] == [more[0].pk]
    by_school = client.get(reverse("aid:award_list"), {"school": school_a.pk})
    assert by_school.context["page"].paginator.count == 5

    outsider_view = login(officer_b).get(reverse("aid:award_list"))
    assert outsider_view.context["page"].paginator.count == 0
    assert (
        login(officer_b).get(reverse("aid:award_list"), {"school": school_a.pk}).status_code == 404
    )


def test_award_export_is_audited(
    login: Callable[[User], Client], award_a: Award, officer_a: User
) -> None:
    response = login(officer_a).get(reverse("aid:award_export"), {"status": "live"})
    assert response.status_code == 200
    book = openpyxl.load_workbook(io.BytesIO(response.content))
    rows = list(book.active.iter_rows(values_only=True))
    assert rows[0][0] == "姓名"
    assert rows[1][0] == award_a.student.name
    assert len(rows) == 2
    entry = AuditEntry.objects.get(action="award.exported")
    assert entry.actor == officer_a
    assert entry.after == {"filters": {"status": "live"}, "rows": 1}


def test_award_export_needs_the_export_permission(
    login: Callable[[User], Client], award_a: Award, town_supervisor: User
) -> None:
    assert login(town_supervisor).get(reverse("aid:award_export")).status_code == 403
    assert not AuditEntry.objects.filter(action="award.exported").exists()
