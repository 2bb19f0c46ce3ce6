"""三榜公示: period on the calendar, who publishes which round, what moves, objections and how
they block, the award step after round 3, and the staff screens.

The helpers at the top walk applications along the real path (application services, then
`publish_notice`); the award and portal tests import them. A notice that has ended, or has
not begun, is made by publishing today and then moving its dates: publishing in the past is
refused, and there is no clock to freeze.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from tests.aid.factories import draft, identified_student, set_quota
from tests.factories import district
from zizhu.aid.models import (
    Application,
    ApplicationEvent,
    AppStatus,
    Award,
    Notice,
    NoticeRound,
    ObjectionStatus,
)
from zizhu.aid.services import applications as app_svc
from zizhu.aid.services.awards import award_start_month
from zizhu.aid.services.notices import (
    NoticeState,
    finalise_awards,
    has_open_objection,
    held_applications,
    is_live,
    notice_end,
    notice_state,
    notice_token,
    public_entries,
    publish_notice,
    raise_objection,
    resolve_objection,
)
from zizhu.core.errors import (
    CalendarYearMissing,
    Conflict,
    DomainError,
    NotCertified,
    NotPermitted,
)
from zizhu.core.models import AuditEntry, CalendarYear, OrgUnit, Role, User
from zizhu.core.worklist import work_items_for

# --- shared helpers (also used by test_awards and the portal tests) ------------------------


@dataclass(frozen=True)
class Crew:
    officer: User
    reviewer: User
    principal: User
    district: User


def ensure_calendar_ahead() -> None:
    """Publishing starts today; a period may run into next year, whose schedule the seed
    lacks. Weekends-only years stand in so that the tests do not age."""
    today = timezone.localdate()
    for year in (today.year, today.year + 1):
        CalendarYear.objects.get_or_create(year=year, defaults={"complete": True})


@pytest.fixture(autouse=True)
def calendar_ahead(db: None) -> None:
    ensure_calendar_ahead()


@pytest.fixture
def reviewer_a(make_user: Callable[..., User], school_a: OrgUnit) -> User:
    return make_user("reviewer_a", Role.SCHOOL_OFFICER, school_a, certified=True)


@pytest.fixture
def reviewer_b(make_user: Callable[..., User], school_b: OrgUnit) -> User:
    return make_user("reviewer_b", Role.SCHOOL_OFFICER, school_b, certified=True)


@pytest.fixture
def principal_b(make_user: Callable[..., User], school_b: OrgUnit) -> User:
    return make_user("principal_b", Role.PRINCIPAL, school_b)


@pytest.fixture
def crew_a(officer_a: User, reviewer_a: User, principal_a: User, district_officer: User) -> Crew:
    return Crew(officer_a, reviewer_a, principal_a, district_officer)


@pytest.fixture
def crew_b(officer_b: User, reviewer_b: User, principal_b: User, district_officer: User) -> Crew:
    return Crew(officer_b, reviewer_b, principal_b, district_officer)


def signed_apps(
    school: OrgUnit,
    crew: Crew,
    n: int = 2,
    *,
    programme_code: str = "COMPULSORY_LIVING",
    **fields: Any,
) -> list[Application]:
    """`n` applications of `school`, signed by the principal and ready for round 1."""
    apps = []
    for _ in range(n):
        student = identified_student(school, actor=crew.officer, **fields)
        app = draft(student, actor=crew.officer, programme_code=programme_code)
        app = app_svc.submit_application(app, actor=crew.officer)
        app = app_svc.school_review(app, actor=crew.reviewer, decision=app_svc.Decision.APPROVE)
        apps.append(app_svc.sign_application(app, actor=crew.principal))
    return apps


def fresh(apps: list[Application]) -> list[Application]:
    return list(Application.objects.filter(pk__in=[a.pk for a in apps]).order_by("pk"))


def publish(
    round_: int,
    apps: list[Application],
    *,
    actor: User,
    unit: OrgUnit | None = None,
    starts_on: date | None = None,
    days: int = 5,
) -> Notice:
    return publish_notice(
        round_,
        actor=actor,
        school_year=apps[0].school_year,
        applications=apps,
        starts_on=starts_on or timezone.localdate(),
        working_days=days,
        org_unit=unit or (district() if round_ == 3 else apps[0].school),
    )


def end(notice: Notice, *, days_ago: int = 1) -> Notice:
    """Move a notice's period into the past, as if it had run its course."""
    today = timezone.localdate()
    Notice.objects.filter(pk=notice.pk).update(
        starts_on=today - timedelta(days=days_ago + 9), ends_on=today - timedelta(days=days_ago)
    )
    notice.refresh_from_db()
    return notice


def to_round2(apps: list[Application], crew: Crew) -> Notice:
    """Round 1 published and ended, district review passed, round 2 published (live)."""
    end(publish(1, apps, actor=crew.officer))
    set_quota(apps[0], 50)
    for app in fresh(apps):
        app_svc.district_review(app, actor=crew.district, decision=app_svc.Decision.APPROVE)
    return publish(2, fresh(apps), actor=crew.officer)


def to_round3(apps: list[Application], crew: Crew) -> Notice:
    """…and round 2 ended, round 3 published by the district (live)."""
    end(to_round2(apps, crew))
    return publish(3, fresh(apps), actor=crew.district)


def statuses(apps: list[Application]) -> list[str]:
    return [a.status for a in fresh(apps)]


@pytest.fixture
def login(client: Client) -> Callable[[User], Client]:
    def sign_in(user: User) -> Client:
        client.force_login(user)
        return client

    return sign_in


# --- the period -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("starts_on", "days", "ends_on"),
    [
        # A plain week.
        (date(2026, 11, 2), 5, date(2026, 11, 6)),
        # 28–30 Sep, then the National Day holiday (1–7 Oct), then 8–9 Oct.
        (date(2026, 9, 28), 5, date(2026, 10, 9)),
        # Saturday 10 Oct 2026 is a make-up working day (调休).
        (date(2026, 9, 28), 6, date(2026, 10, 10)),
        (date(2026, 9, 28), 7, date(2026, 10, 12)),
        # Starting on a holiday: counting begins on the next working day (8 Oct).
        (date(2026, 10, 1), 5, date(2026, 10, 13)),
        # Starting on a Saturday that is not a make-up day.
        (date(2026, 11, 7), 5, date(2026, 11, 13)),
    ],
)
def test_notice_end_counts_working_days_on_the_holiday_calendar(
    db: None, starts_on: date, days: int, ends_on: date
) -> None:
    assert notice_end(starts_on, days) == ends_on


def test_notice_end_refuses_a_year_without_a_schedule(db: None) -> None:
    with pytest.raises(CalendarYearMissing, match="2099年的节假日安排尚未录入"):
        notice_end(date(2099, 3, 2), 5)


# --- publishing -------------------------------------------------------------------------


def test_round_one_moves_the_signed_applications_onto_the_notice(
    crew_a: Crew, school_a: OrgUnit
) -> None:
    apps = signed_apps(school_a, crew_a, 2)
    today = timezone.localdate()

    notice = publish(1, apps, actor=crew_a.officer)

    assert notice.round == NoticeRound.SCHOOL
    assert notice.org_unit == school_a
    assert notice.starts_on == today
    assert notice.ends_on == notice_end(today, 5)
    assert notice.title == (
        f"新洲区{apps[0].school_year.code}学年义务教育家庭经济困难学生生活补助"
        f"第一榜公示（{school_a.name}）"
    )
    assert set(notice.applications.all()) == set(apps)
    assert statuses(apps) == [AppStatus.NOTICE_1] * 2
    events = ApplicationEvent.objects.filter(application__in=apps, to_status=AppStatus.NOTICE_1)
    assert {e.actor for e in events} == {crew_a.officer}
    entry = AuditEntry.objects.get(action="notice.published")
    assert entry.actor == crew_a.officer
    assert entry.after["round"] == 1
    assert sorted(entry.after["applications"]) == sorted(a.pk for a in apps)


def test_round_two_moves_district_reviewed_applications(crew_a: Crew, school_a: OrgUnit) -> None:
    apps = signed_apps(school_a, crew_a, 2)
    notice = to_round2(apps, crew_a)
    assert notice.round == NoticeRound.SCHOOL_ON_SITE
    assert "第二榜公示" in notice.title
    assert statuses(apps) == [AppStatus.NOTICE_2] * 2


def test_round_three_is_published_by_the_district_across_schools(
    crew_a: Crew, crew_b: Crew, school_a: OrgUnit, school_b: OrgUnit
) -> None:
    a_apps = signed_apps(school_a, crew_a, 1)
    b_apps = signed_apps(school_b, crew_b, 1)
    end(to_round2(a_apps, crew_a))
    end(to_round2(b_apps, crew_b))

    notice = publish(3, fresh(a_apps + b_apps), actor=crew_a.district)

    assert notice.org_unit == district()
    assert notice.title.endswith("第三榜公示")
    assert statuses(a_apps + b_apps) == [AppStatus.NOTICE_3] * 2


@pytest.mark.parametrize("days", [1, 4])
def test_fewer_than_five_working_days_are_refused(
    crew_a: Crew, school_a: OrgUnit, days: int
) -> None:
    apps = signed_apps(school_a, crew_a, 1)
    with pytest.raises(DomainError, match="不少于 5 个工作日"):
        publish(1, apps, actor=crew_a.officer, days=days)
    assert statuses(apps) == [AppStatus.PRINCIPAL_SIGNED]
    assert not Notice.objects.exists()


def test_the_minimum_period_is_a_setting(crew_a: Crew, school_a: OrgUnit, settings: Any) -> None:
    settings.ZIZHU_NOTICE_MIN_WORKING_DAYS = 7
    apps = signed_apps(school_a, crew_a, 1)
    with pytest.raises(DomainError, match="不少于 7 个工作日"):
        publish(1, apps, actor=crew_a.officer, days=6)
    assert publish(1, apps, actor=crew_a.officer, days=7).working_days == 7


def test_a_notice_cannot_start_in_the_past(crew_a: Crew, school_a: OrgUnit) -> None:
    apps = signed_apps(school_a, crew_a, 1)
    yesterday = timezone.localdate() - timedelta(days=1)
    with pytest.raises(DomainError, match="不能早于今天"):
        publish(1, apps, actor=crew_a.officer, starts_on=yesterday)


def test_applications_in_the_wrong_state_are_refused(crew_a: Crew, school_a: OrgUnit) -> None:
    signed = signed_apps(school_a, crew_a, 1)
    student = identified_student(school_a, actor=crew_a.officer)
    submitted = app_svc.submit_application(
        draft(student, actor=crew_a.officer), actor=crew_a.officer
    )
    with pytest.raises(DomainError, match="当前为“已提交”，不能列入第一榜"):
        publish(1, [*signed, submitted], actor=crew_a.officer)
    assert statuses(signed) == [AppStatus.PRINCIPAL_SIGNED]
    with pytest.raises(DomainError, match="当前为“校长已签批”，不能列入第二榜"):
        publish(2, signed, actor=crew_a.officer)


def test_an_officer_cannot_publish_for_another_school(
    crew_a: Crew, officer_b: User, school_a: OrgUnit
) -> None:
    apps = signed_apps(school_a, crew_a, 1)
    with pytest.raises(NotPermitted, match="不在您的管辖范围内"):
        publish(1, apps, actor=officer_b)
    assert statuses(apps) == [AppStatus.PRINCIPAL_SIGNED]


def test_another_schools_applications_cannot_go_on_a_schools_notice(
    crew_a: Crew, crew_b: Crew, school_a: OrgUnit, school_b: OrgUnit
) -> None:
    a_apps = signed_apps(school_a, crew_a, 1)
    b_apps = signed_apps(school_b, crew_b, 1)
    with pytest.raises(DomainError, match=f"不是{school_a.name}的申请"):
        publish(1, a_apps + b_apps, actor=crew_a.officer, unit=school_a)
    assert statuses(a_apps + b_apps) == [AppStatus.PRINCIPAL_SIGNED] * 2


def test_only_certified_school_officers_publish_school_rounds(
    crew_a: Crew,
    school_a: OrgUnit,
    principal_a: User,
    uncertified_officer_a: User,
    district_officer: User,
) -> None:
    apps = signed_apps(school_a, crew_a, 1)
    with pytest.raises(NotPermitted):
        publish(1, apps, actor=principal_a)
    with pytest.raises(NotPermitted):
        publish(1, apps, actor=district_officer)
    with pytest.raises(NotCertified):
        publish(1, apps, actor=uncertified_officer_a)


def test_round_three_is_the_districts(crew_a: Crew, school_a: OrgUnit) -> None:
    apps = signed_apps(school_a, crew_a, 1)
    end(to_round2(apps, crew_a))
    with pytest.raises(NotPermitted):
        publish(3, fresh(apps), actor=crew_a.officer)
    with pytest.raises(DomainError, match="第三榜由区学生资助管理中心发布"):
        publish(3, fresh(apps), actor=crew_a.district, unit=school_a)


def test_round_three_waits_for_round_two_to_end(crew_a: Crew, school_a: OrgUnit) -> None:
    apps = signed_apps(school_a, crew_a, 1)
    to_round2(apps, crew_a)
    with pytest.raises(DomainError, match="第二榜公示尚未期满"):
        publish(3, fresh(apps), actor=crew_a.district)


# --- live, ended, and the public table ---------------------------------------------------


def test_a_notice_is_live_from_its_first_to_its_last_day(crew_a: Crew, school_a: OrgUnit) -> None:
    notice = publish(1, signed_apps(school_a, crew_a, 1), actor=crew_a.officer)
    assert notice_state(notice, today=notice.starts_on - timedelta(days=1)) == "scheduled"
    assert is_live(notice, today=notice.starts_on)
    assert is_live(notice, today=notice.ends_on)
    assert notice_state(notice, today=notice.ends_on + timedelta(days=1)) == NoticeState.ENDED


def test_public_entries_hold_the_six_public_fields_only(crew_a: Crew, school_a: OrgUnit) -> None:
    apps = signed_apps(school_a, crew_a, 1, name="李明", grade="五年级", class_name="3班")
    notice = publish(1, apps, actor=crew_a.officer)
    [entry] = public_entries(notice)
    assert vars(entry) == {
        "name": "李明",
        "school": school_a.name,
        "grade": "五年级",
        "class_name": "3班",
        "programme": "义务教育家庭经济困难学生生活补助",
        "tier": "特别困难",
    }


def test_a_returned_application_comes_off_the_public_table(crew_a: Crew, school_a: OrgUnit) -> None:
    apps = signed_apps(school_a, crew_a, 2)
    notice = end(publish(1, apps, actor=crew_a.officer))
    first = fresh(apps)[0]
    app_svc.return_application(first, actor=crew_a.district, reason="异议属实，家庭收入超标")
    assert [e.name for e in public_entries(notice)] == [fresh(apps)[1].student.name]


def pdf_text(pdf: bytes, tmp_path: Any) -> str:
    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext (poppler-utils) is not installed")
    source = tmp_path / "notice.pdf"
    source.write_bytes(pdf)
    result = subprocess.run(  # noqa: S603 -- fixed tool, our own file
        ["pdftotext", "-enc", "UTF-8", str(source), "-"],  # noqa: S607
        capture_output=True,
        check=True,
    )
    return re.sub(r"\s+", "", result.stdout.decode("utf-8"))


def secrets_of(app: Application) -> list[str]:
    """Everything about a student that must never appear on a notice."""
    student = app.student
    birth = student.birth_date
    return [
        student.id_number or "",
        student.id_number[-6:] if student.id_number else "",
        birth.isoformat(),
        f"{birth:%Y%m%d}",
        f"{birth.year}年{birth.month}月{birth.day}日",
        student.home_address,
        student.hukou_address,
        student.phone or "",
        student.bank_account or "",
        app.identification.category.name,
        app.identification.reason,
        app.family_statement,
    ]


def make_exposed_app(school: OrgUnit, crew: Crew) -> Application:
    """An application whose student has every private field filled in."""
    [app] = signed_apps(
        school,
        crew,
        1,
        name="王小雨",
        home_address="新洲区邾城街道问津大道88号",
        hukou_address="新洲区徐古街道将军山村",
        phone="13912345678",
        bank_account="6217001234567890123",
    )
    return app


@pytest.fixture
def exposed_app(crew_a: Crew, school_a: OrgUnit) -> Application:
    return make_exposed_app(school_a, crew_a)


def test_the_printed_notice_shows_the_table_and_never_the_private_fields(
    login: Callable[[User], Client], crew_a: Crew, exposed_app: Application, tmp_path: Any
) -> None:
    notice = publish(1, [exposed_app], actor=crew_a.officer)
    response = login(crew_a.officer).get(reverse("aid:notice_pdf", args=[notice.pk]))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    text = pdf_text(response.content, tmp_path)

    for shown in ("王小雨", "义务教育家庭经济困难学生生活补助", "特别困难", "027-00000000"):
        assert shown in text
    assert notice_token(notice) in text
    assert "公示期" in text and "个工作日" in text
    for secret in secrets_of(exposed_app):
        assert secret and re.sub(r"\s+", "", secret) not in text, secret


def test_round_three_has_no_printed_notice(
    login: Callable[[User], Client], crew_a: Crew, school_a: OrgUnit
) -> None:
    notice = to_round3(signed_apps(school_a, crew_a, 1), crew_a)
    response = login(crew_a.district).get(reverse("aid:notice_pdf", args=[notice.pk]))
    assert response.status_code == 404


def test_the_notice_token_is_stable_and_unforgeable(crew_a: Crew, school_a: OrgUnit) -> None:
    notice = publish(1, signed_apps(school_a, crew_a, 1), actor=crew_a.officer)
    token = notice_token(notice)
    assert token == notice_token(Notice.objects.get(pk=notice.pk))
    pk, _, signature = token.partition(".")
    assert pk == str(notice.pk) and len(signature) >= 20


# --- objections ---------------------------------------------------------------------------


@pytest.fixture
def live_round1(crew_a: Crew, school_a: OrgUnit) -> Notice:
    return publish(1, signed_apps(school_a, crew_a, 2), actor=crew_a.officer)


def test_anyone_may_object_anonymously_to_a_live_notice(live_round1: Notice) -> None:
    app = live_round1.applications.order_by("pk").first()
    objection = raise_objection(live_round1, text="  该生家里刚买了新车。 ", application=app)
    assert objection.status == ObjectionStatus.OPEN
    assert objection.text == "该生家里刚买了新车。"
    assert not objection.contact
    entry = AuditEntry.objects.get(action="objection.raised")
    assert entry.actor is None
    assert entry.actor_label == "公众"
    assert entry.after == {"notice": live_round1.pk, "application": app.pk, "contact_left": False}


def test_an_objectors_contact_is_encrypted_at_rest(live_round1: Notice) -> None:
    from django.db import connection

    objection = raise_objection(live_round1, text="该生家里刚买了新车。", contact="13912345678")
    with connection.cursor() as cursor:
        cursor.execute("SELECT contact FROM aid_objection WHERE id = %s", [objection.pk])
        stored = cursor.fetchone()[0]
    assert "13912345678" not in stored
    objection.refresh_from_db()
    assert objection.contact == "13912345678"


def test_an_objection_needs_text_within_limits(live_round1: Notice) -> None:
    with pytest.raises(DomainError, match="请填写异议内容"):
        raise_objection(live_round1, text="   ")
    with pytest.raises(DomainError, match="不能超过 2000 个字"):
        raise_objection(live_round1, text="字" * 2001)
    with pytest.raises(DomainError, match="联系方式不能超过 100 个字"):
        raise_objection(live_round1, text="有异议", contact="1" * 101)


def test_an_objection_may_only_name_a_student_on_the_notice(
    live_round1: Notice, crew_a: Crew, school_a: OrgUnit
) -> None:
    [elsewhere] = signed_apps(school_a, crew_a, 1)
    with pytest.raises(DomainError, match="不在本公示名单中"):
        raise_objection(live_round1, text="有异议", application=elsewhere)


def test_objections_are_refused_before_and_after_the_period(live_round1: Notice) -> None:
    end(live_round1)
    with pytest.raises(DomainError, match="不在公示期内"):
        raise_objection(live_round1, text="有异议")
    today = timezone.localdate()
    Notice.objects.filter(pk=live_round1.pk).update(
        starts_on=today + timedelta(days=3), ends_on=today + timedelta(days=10)
    )
    live_round1.refresh_from_db()
    with pytest.raises(DomainError, match="不在公示期内"):
        raise_objection(live_round1, text="有异议")


def test_an_open_objection_holds_the_named_application_only(live_round1: Notice) -> None:
    first, second = live_round1.applications.order_by("pk")
    raise_objection(live_round1, text="有异议", application=first)
    assert has_open_objection(first)
    assert not has_open_objection(second)


def test_an_objection_naming_nobody_holds_every_application_of_its_notice(
    live_round1: Notice,
) -> None:
    raise_objection(live_round1, text="名单整体有问题")
    assert all(has_open_objection(app) for app in live_round1.applications.all())


def test_the_school_officer_resolves_an_objection_on_the_schools_notice(
    live_round1: Notice, crew_a: Crew
) -> None:
    objection = raise_objection(live_round1, text="有异议")
    resolved = resolve_objection(objection, actor=crew_a.officer, resolution="经核实，情况属实无误")
    assert resolved.status == ObjectionStatus.RESOLVED
    assert resolved.resolved_by == crew_a.officer
    assert resolved.resolved_at is not None
    assert not any(has_open_objection(a) for a in live_round1.applications.all())
    assert AuditEntry.objects.filter(action="objection.resolved", actor=crew_a.officer).exists()


def test_the_district_may_resolve_a_schools_objection(
    live_round1: Notice, district_officer: User
) -> None:
    objection = raise_objection(live_round1, text="有异议")
    resolve_objection(objection, actor=district_officer, resolution="区中心核实")
    objection.refresh_from_db()
    assert objection.status == ObjectionStatus.RESOLVED


def test_resolving_needs_certification_reach_and_a_resolution(
    live_round1: Notice,
    uncertified_officer_a: User,
    officer_b: User,
    principal_a: User,
    crew_a: Crew,
) -> None:
    objection = raise_objection(live_round1, text="有异议")
    with pytest.raises(NotCertified):
        resolve_objection(objection, actor=uncertified_officer_a, resolution="已核实")
    with pytest.raises(NotPermitted):
        resolve_objection(objection, actor=officer_b, resolution="已核实")
    with pytest.raises(NotPermitted):
        resolve_objection(objection, actor=principal_a, resolution="已核实")
    with pytest.raises(DomainError, match="请填写处理结果"):
        resolve_objection(objection, actor=crew_a.officer, resolution=" ")
    objection.refresh_from_db()
    assert objection.status == ObjectionStatus.OPEN


def test_an_objection_is_resolved_once(live_round1: Notice, crew_a: Crew) -> None:
    objection = raise_objection(live_round1, text="有异议")
    resolve_objection(objection, actor=crew_a.officer, resolution="已核实")
    with pytest.raises(Conflict):
        resolve_objection(objection, actor=crew_a.district, resolution="再次处理")


def test_round_three_objections_are_the_districts_to_resolve(
    crew_a: Crew, school_a: OrgUnit
) -> None:
    notice = to_round3(signed_apps(school_a, crew_a, 1), crew_a)
    objection = raise_objection(notice, text="有异议")
    with pytest.raises(NotPermitted, match="第三榜的异议由区学生资助管理中心处理"):
        resolve_objection(objection, actor=crew_a.officer, resolution="学校核实")
    resolve_objection(objection, actor=crew_a.district, resolution="区中心核实")


def test_an_open_objection_on_round_two_blocks_round_three(crew_a: Crew, school_a: OrgUnit) -> None:
    apps = signed_apps(school_a, crew_a, 2)
    round2 = to_round2(apps, crew_a)
    held, clear = fresh(apps)
    objection = raise_objection(round2, text="有异议", application=held)
    end(round2)

    with pytest.raises(DomainError, match="有未处理的公示异议"):
        publish(3, [held, clear], actor=crew_a.district)
    publish(3, [clear], actor=crew_a.district)

    resolve_objection(objection, actor=crew_a.district, resolution="经核实不属实")
    publish(3, fresh([held]), actor=crew_a.district)
    assert statuses([held, clear]) == [AppStatus.NOTICE_3] * 2


# --- finalising -----------------------------------------------------------------------------


def test_finalise_awards_every_application_without_an_open_objection(
    crew_a: Crew, school_a: OrgUnit
) -> None:
    apps = signed_apps(school_a, crew_a, 3)
    notice = to_round3(apps, crew_a)
    held = fresh(apps)[0]
    raise_objection(notice, text="有异议", application=held)
    end(notice)

    awards = finalise_awards(notice, actor=crew_a.district)

    today = timezone.localdate()
    assert len(awards) == 2
    assert statuses(apps) == [AppStatus.NOTICE_3, AppStatus.AWARDED, AppStatus.AWARDED]
    for award in awards:
        assert award.application is not None
        assert award.start_month == award_start_month(award.application, today)
        assert award.tier == award.application.tier
        assert award.annual_amount == award.application.annual_amount
    assert held_applications(notice) == [held]
    entry = AuditEntry.objects.get(action="notice.finalised")
    assert entry.after == {"awarded": 2, "held_by_objection": 1}


def test_finalise_waits_for_round_three_to_end(crew_a: Crew, school_a: OrgUnit) -> None:
    notice = to_round3(signed_apps(school_a, crew_a, 1), crew_a)
    with pytest.raises(DomainError, match="期满后才能确认资助"):
        finalise_awards(notice, actor=crew_a.district)
    assert not Award.objects.exists()


def test_finalise_is_the_certified_districts(
    crew_a: Crew, school_a: OrgUnit, make_user: Callable[..., User]
) -> None:
    notice = end(to_round3(signed_apps(school_a, crew_a, 1), crew_a))
    uncertified = make_user("district_new", Role.DISTRICT_OFFICER, district())
    with pytest.raises(NotPermitted):
        finalise_awards(notice, actor=crew_a.officer)
    with pytest.raises(NotCertified):
        finalise_awards(notice, actor=uncertified)
    assert not Award.objects.exists()


def test_finalise_refuses_school_rounds(live_round1: Notice, district_officer: User) -> None:
    end(live_round1)
    with pytest.raises(DomainError, match="只有第三榜"):
        finalise_awards(live_round1, actor=district_officer)


def test_after_the_objection_is_resolved_the_held_application_is_awarded(
    crew_a: Crew, school_a: OrgUnit
) -> None:
    apps = signed_apps(school_a, crew_a, 2)
    notice = to_round3(apps, crew_a)
    objection = raise_objection(notice, text="有异议", application=fresh(apps)[0])
    end(notice)
    assert len(finalise_awards(notice, actor=crew_a.district)) == 1

    resolve_objection(objection, actor=crew_a.district, resolution="经核实不属实")
    assert len(finalise_awards(notice, actor=crew_a.district)) == 1
    assert statuses(apps) == [AppStatus.AWARDED] * 2
    with pytest.raises(DomainError, match="已没有待确认资助的申请"):
        finalise_awards(notice, actor=crew_a.district)


# --- staff screens ------------------------------------------------------------------------


def test_another_schools_officer_gets_404_on_a_schools_notice(
    login: Callable[[User], Client], live_round1: Notice, officer_b: User
) -> None:
    client = login(officer_b)
    assert client.get(reverse("aid:notice_detail", args=[live_round1.pk])).status_code == 404
    assert client.get(reverse("aid:notice_pdf", args=[live_round1.pk])).status_code == 404
    response = client.get(reverse("aid:notice_list"))
    assert response.status_code == 200
    assert response.context["rows"] == []


def test_notice_detail_shows_entries_objections_and_the_resolve_form(
    login: Callable[[User], Client], live_round1: Notice, crew_a: Crew
) -> None:
    raise_objection(live_round1, text="该生家庭条件较好", contact="13800000000")
    response = login(crew_a.officer).get(reverse("aid:notice_detail", args=[live_round1.pk]))
    body = response.content.decode()
    assert response.status_code == 200
    assert len(response.context["entries"]) == 2
    assert all(row.held for row in response.context["entries"])
    assert "该生家庭条件较好" in body
    assert "登记处理结果" in body
    # The objector's contact is for the district head and inspectors only.
    assert "13800000000" not in body
    assert "仅区资助中心负责人和纪检人员可以查看" in body


def test_resolving_from_the_notice_page(
    login: Callable[[User], Client], live_round1: Notice, crew_a: Crew
) -> None:
    objection = raise_objection(live_round1, text="有异议")
    client = login(crew_a.officer)
    url = reverse("aid:notice_objection_resolve", args=[objection.pk])
    response = client.post(url, {"resolution": "经入户核实，情况属实"}, follow=True)
    assert response.status_code == 200
    objection.refresh_from_db()
    assert objection.status == ObjectionStatus.RESOLVED
    assert objection.resolution == "经入户核实，情况属实"


def test_another_schools_officer_cannot_resolve(
    login: Callable[[User], Client], live_round1: Notice, officer_b: User
) -> None:
    objection = raise_objection(live_round1, text="有异议")
    url = reverse("aid:notice_objection_resolve", args=[objection.pk])
    assert login(officer_b).post(url, {"resolution": "x"}).status_code == 404
    objection.refresh_from_db()
    assert objection.status == ObjectionStatus.OPEN


def test_the_district_head_sees_an_objectors_contact_and_it_is_logged(
    login: Callable[[User], Client], live_round1: Notice, district_head: User, crew_a: Crew
) -> None:
    objection = raise_objection(live_round1, text="有异议", contact="13800000000")
    url = reverse("aid:notice_objection_contact", args=[objection.pk])
    assert login(crew_a.officer).post(url).status_code == 404
    response = login(district_head).post(url)
    assert "13800000000" in response.content.decode()
    assert AuditEntry.objects.filter(
        action="objection.contact_viewed", actor=district_head
    ).exists()


def test_publish_page_lists_the_schools_eligible_applications_and_publishes(
    login: Callable[[User], Client], crew_a: Crew, school_a: OrgUnit
) -> None:
    apps = signed_apps(school_a, crew_a, 2)
    client = login(crew_a.officer)
    url = reverse("aid:notice_publish", args=[1])
    response = client.get(url)
    assert response.status_code == 200
    assert {app.pk for app, checked in response.context["rows"]} == {a.pk for a in apps}

    today = timezone.localdate()
    response = client.post(
        url,
        {
            "school": school_a.pk,
            "school_year": apps[0].school_year_id,
            "starts_on": today.isoformat(),
            "working_days": 5,
            "applications": [apps[0].pk],
        },
    )
    notice = Notice.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("aid:notice_detail", args=[notice.pk])
    assert statuses(apps) == [AppStatus.NOTICE_1, AppStatus.PRINCIPAL_SIGNED]


def test_publish_page_shows_the_refusal_for_a_short_period(
    login: Callable[[User], Client], crew_a: Crew, school_a: OrgUnit
) -> None:
    apps = signed_apps(school_a, crew_a, 1)
    response = login(crew_a.officer).post(
        reverse("aid:notice_publish", args=[1]),
        {
            "school": school_a.pk,
            "school_year": apps[0].school_year_id,
            "starts_on": timezone.localdate().isoformat(),
            "working_days": 3,
            "applications": [apps[0].pk],
        },
    )
    assert response.status_code == 200
    assert "不少于 5 个工作日" in response.content.decode()
    assert not Notice.objects.exists()


def test_publish_page_refuses_another_school(
    login: Callable[[User], Client], officer_b: User, school_a: OrgUnit
) -> None:
    url = reverse("aid:notice_publish", args=[1]) + f"?school={school_a.pk}"
    assert login(officer_b).get(url).status_code == 404


def test_principal_cannot_open_the_publish_page(
    login: Callable[[User], Client], principal_a: User
) -> None:
    assert login(principal_a).get(reverse("aid:notice_publish", args=[1])).status_code == 403


def test_finalise_page_confirms_then_awards(
    login: Callable[[User], Client], crew_a: Crew, school_a: OrgUnit
) -> None:
    apps = signed_apps(school_a, crew_a, 2)
    notice = end(to_round3(apps, crew_a))
    client = login(crew_a.district)
    detail = client.get(reverse("aid:notice_detail", args=[notice.pk]))
    assert detail.context["can_finalise"]
    url = reverse("aid:notice_finalise", args=[notice.pk])
    confirm = client.get(url)
    assert confirm.status_code == 200
    assert confirm.context["ready"] == 2
    assert Award.objects.count() == 0

    response = client.post(url, follow=True)
    assert response.status_code == 200
    assert Award.objects.count() == 2
    assert "已确认资助 2 人" in response.content.decode()


def test_notice_list_filters_and_keeps_its_query_count(
    login: Callable[[User], Client],
    crew_a: Crew,
    school_a: OrgUnit,
    django_assert_max_num_queries: Any,
) -> None:
    client = login(crew_a.district)
    publish(1, signed_apps(school_a, crew_a, 1), actor=crew_a.officer)
    with CaptureQueriesContext(connection) as one:
        assert client.get(reverse("aid:notice_list")).status_code == 200

    for _ in range(3):
        end(publish(1, signed_apps(school_a, crew_a, 2), actor=crew_a.officer))
    with django_assert_max_num_queries(len(one.captured_queries)):
        response = client.get(reverse("aid:notice_list"))
    assert len(response.context["rows"]) == 4

    live = client.get(reverse("aid:notice_list"), {"state": "live"})
    assert [row.state for row in live.context["rows"]] == ["live"]
    ended = client.get(reverse("aid:notice_list"), {"state": "ended", "round": 1})
    assert len(ended.context["rows"]) == 3
    assert all(row.state_label == "已结束" for row in ended.context["rows"])
    by_school = client.get(reverse("aid:notice_list"), {"school": school_a.pk})
    assert len(by_school.context["rows"]) == 4


def test_notice_detail_keeps_its_query_count(
    login: Callable[[User], Client],
    crew_a: Crew,
    school_a: OrgUnit,
    django_assert_max_num_queries: Any,
) -> None:
    small = publish(1, signed_apps(school_a, crew_a, 1), actor=crew_a.officer)
    raise_objection(small, text="有异议")
    client = login(crew_a.officer)
    with CaptureQueriesContext(connection) as one:
        assert client.get(reverse("aid:notice_detail", args=[small.pk])).status_code == 200

    big = publish(1, signed_apps(school_a, crew_a, 5), actor=crew_a.officer)
    for app in big.applications.all():
        raise_objection(big, text="有异议", application=app)
    with django_assert_max_num_queries(len(one.captured_queries)):
        response = client.get(reverse("aid:notice_detail", args=[big.pk]))
    assert len(response.context["entries"]) == 5


def test_the_work_list_names_what_waits_for_each_role(
    crew_a: Crew, school_a: OrgUnit, principal_a: User
) -> None:
    apps = signed_apps(school_a, crew_a, 2)
    titles = [item.title for item in work_items_for(crew_a.officer)]
    assert "2 份资助申请待列入第一榜公示" in titles

    notice = to_round3(apps, crew_a)
    raise_objection(notice, text="有异议")
    end(notice)
    district_titles = [item.title for item in work_items_for(crew_a.district)]
    assert f"“{notice.title}”有 1 条异议待处理" in district_titles
    assert f"“{notice.title}”已期满，待确认资助" in district_titles
    assert not [t for t in (i.title for i in work_items_for(principal_a)) if "公示" in t]


def test_round_three_publish_page_offers_only_applications_ready_for_it(
    login: Callable[[User], Client], crew_a: Crew, school_a: OrgUnit
) -> None:
    ready_apps = signed_apps(school_a, crew_a, 2)
    end(to_round2(ready_apps, crew_a))
    running = signed_apps(school_a, crew_a, 1)
    to_round2(running, crew_a)

    response = login(crew_a.district).get(reverse("aid:notice_publish", args=[3]))
    assert response.status_code == 200
    assert {app.pk for app, _ in response.context["rows"]} == {a.pk for a in ready_apps}
    assert response.context["waiting"] == 1
    assert "另有 1 份第二榜申请暂不能列入" in response.content.decode()
    assert login(crew_a.officer).get(reverse("aid:notice_publish", args=[3])).status_code == 403


def test_the_home_page_shows_notice_work(
    login: Callable[[User], Client], crew_a: Crew, school_a: OrgUnit
) -> None:
    signed_apps(school_a, crew_a, 1)
    response = login(crew_a.officer).get(reverse("core:home"))
    assert "1 份资助申请待列入第一榜公示" in response.content.decode()
