"""Clue intake: staff registration and its reach, numbers, the reporter's protected identity,
objections arriving as clues, and the staff screens."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from tests.aid.test_notices import Crew, ensure_calendar_ahead, publish, signed_apps, to_round3
from tests.factories import StudentFactory, district
from zizhu.aid.services.notices import raise_objection
from zizhu.cases.models import Channel, Clue, ClueEvent, ClueReporter, ClueStatus
from zizhu.cases.services.intake import (
    LOOKUP_ALPHABET,
    LOOKUP_LENGTH,
    new_lookup_code,
    objection_clue,
    register_clue,
    reporter_reachable,
    reveal_reporter,
)
from zizhu.core.errors import DomainError, NotPermitted
from zizhu.core.models import AuditEntry, OrgUnit, Role, User
from zizhu.registry.models import Student

ALLEGATION = "反映该生家中新购小汽车一辆，父亲在外地务工收入较高，不符合资助条件。"
REPORTER_NAME = "李举报"
REPORTER_PHONE = "13700009999"


@pytest.fixture(autouse=True)
def calendar_ahead(db: None) -> None:
    ensure_calendar_ahead()


@pytest.fixture
def student_a(school_a: OrgUnit) -> Student:
    student: Student = StudentFactory(school=school_a, name="张小明")
    return student


@pytest.fixture
def student_b(school_b: OrgUnit) -> Student:
    student: Student = StudentFactory(school=school_b, name="赵小红")
    return student


@pytest.fixture
def login(client: Client) -> Callable[[User], Client]:
    def sign_in(user: User) -> Client:
        client.force_login(user)
        return client

    return sign_in


def named_clue(actor: User, student: Student) -> Clue:
    return register_clue(
        actor=actor,
        channel=Channel.HOTLINE,
        allegation=ALLEGATION,
        students=[student],
        reporter_name=REPORTER_NAME,
        reporter_contact=REPORTER_PHONE,
        anonymous=False,
    )


# --- registration -------------------------------------------------------------------------


def test_district_officer_registers_a_hotline_clue_with_its_chain_and_audit_row(
    district_officer: User, student_a: Student, school_a: OrgUnit
) -> None:
    clue = named_clue(district_officer, student_a)

    today = timezone.localdate()
    assert clue.number == f"XZ{today.year}000001"
    assert clue.status == ClueStatus.RECEIVED
    assert clue.channel == Channel.HOTLINE
    assert clue.school == school_a  # the student's school, for assignment
    assert list(clue.students.all()) == [student_a]
    assert clue.received_on == today
    assert clue.created_by == district_officer
    assert clue.lookup_code_hash == ""
    event = ClueEvent.objects.get(clue=clue)
    assert (event.from_status, event.to_status) == ("", ClueStatus.RECEIVED)
    entry = AuditEntry.objects.get(action="clue.registered")
    assert entry.actor == district_officer
    assert entry.after["contact_left"] is True
    assert entry.after["anonymous"] is False
    assert REPORTER_NAME not in str(entry.after)
    assert REPORTER_PHONE not in str(entry.after)


def test_clue_numbers_follow_each_other_within_the_year(
    district_officer: User, student_a: Student
) -> None:
    first = named_clue(district_officer, student_a)
    second = named_clue(district_officer, student_a)
    assert int(second.number[-6:]) == int(first.number[-6:]) + 1
    assert len(second.number) == len("XZ2026000001")


def test_reporter_identity_is_stored_encrypted_apart_from_the_clue(
    district_officer: User, student_a: Student
) -> None:
    clue = named_clue(district_officer, student_a)
    with connection.cursor() as cursor:
        cursor.execute("SELECT name, contact FROM cases_cluereporter WHERE clue_id = %s", [clue.pk])
        raw_name, raw_contact = cursor.fetchone()
    assert REPORTER_NAME not in raw_name
    assert REPORTER_PHONE not in raw_contact
    assert reporter_reachable(clue)


def test_school_officer_registers_about_own_student(
    officer_a: User, student_a: Student, school_a: OrgUnit
) -> None:
    clue = named_clue(officer_a, student_a)
    assert clue.school == school_a


def test_school_officer_clue_without_a_school_is_filed_at_own_school(
    officer_a: User, school_a: OrgUnit
) -> None:
    clue = register_clue(actor=officer_a, channel=Channel.PARENT_MEETING, allegation=ALLEGATION)
    assert clue.school == school_a


def test_school_officer_cannot_register_about_another_school(
    officer_a: User, school_b: OrgUnit, student_b: Student
) -> None:
    with pytest.raises(NotPermitted):
        register_clue(
            actor=officer_a, channel=Channel.HOTLINE, allegation=ALLEGATION, school=school_b
        )
    with pytest.raises(NotPermitted):
        register_clue(
            actor=officer_a, channel=Channel.HOTLINE, allegation=ALLEGATION, students=[student_b]
        )
    assert not Clue.objects.exists()


def test_roles_without_clue_register_are_refused(
    principal_a: User, inspector_a: User, school_a: OrgUnit
) -> None:
    for actor in (principal_a, inspector_a):
        with pytest.raises(NotPermitted):
            register_clue(
                actor=actor, channel=Channel.HOTLINE, allegation=ALLEGATION, school=school_a
            )


def test_a_student_of_another_school_than_the_chosen_one_is_refused(
    district_officer: User, school_a: OrgUnit, student_b: Student
) -> None:
    with pytest.raises(DomainError, match="不是邾城第一小学的学生"):
        register_clue(
            actor=district_officer,
            channel=Channel.HOTLINE,
            allegation=ALLEGATION,
            school=school_a,
            students=[student_b],
        )


def test_staff_cannot_register_an_objection_by_hand(district_officer: User) -> None:
    with pytest.raises(DomainError, match="公示异议"):
        register_clue(
            actor=district_officer, channel=Channel.NOTICE_OBJECTION, allegation=ALLEGATION
        )


def test_anonymous_with_a_name_is_refused_and_a_future_date_too(district_officer: User) -> None:
    with pytest.raises(DomainError, match="匿名"):
        register_clue(
            actor=district_officer,
            channel=Channel.LETTER,
            allegation=ALLEGATION,
            reporter_name="某某",
            anonymous=True,
        )
    with pytest.raises(DomainError, match="受理日期"):
        register_clue(
            actor=district_officer,
            channel=Channel.LETTER,
            allegation=ALLEGATION,
            received_on=timezone.localdate() + timedelta(days=1),
        )


def test_attachments_are_checked_and_stored_under_random_names(
    district_officer: User, settings: object, tmp_path: object
) -> None:
    settings.MEDIA_ROOT = str(tmp_path)  # type: ignore[attr-defined]
    scan = SimpleUploadedFile("张小明家访.pdf", b"%PDF-1.4 letter", content_type="application/pdf")
    clue = register_clue(
        actor=district_officer, channel=Channel.LETTER, allegation=ALLEGATION, attachments=[scan]
    )
    [stored] = clue.attachments.all()
    assert "张小明" not in stored.file.name
    assert stored.label == "附件1.pdf"
    assert stored.uploaded_by == district_officer
    assert "attachments" not in clue.source_ref
    fake = SimpleUploadedFile("x.pdf", b"MZ not a pdf", content_type="application/pdf")
    with pytest.raises(DomainError, match="扩展名"):
        register_clue(
            actor=district_officer,
            channel=Channel.LETTER,
            allegation=ALLEGATION,
            attachments=[fake],
        )


def test_lookup_codes_use_the_unambiguous_alphabet() -> None:
    codes = {new_lookup_code() for _ in range(50)}
    assert len(codes) == 50
    for code in codes:
        assert len(code) == LOOKUP_LENGTH
        assert set(code) <= set(LOOKUP_ALPHABET)
        assert not set(code) & set("01OIL")


# --- the reporter's identity ---------------------------------------------------------------


def test_district_head_reveals_the_reporter_with_a_reason_and_it_is_audited(
    district_officer: User, district_head: User, student_a: Student
) -> None:
    clue = named_clue(district_officer, student_a)
    reporter = reveal_reporter(clue, actor=district_head, reason="核实举报人身份以便答复")
    assert (reporter.name, reporter.contact) == (REPORTER_NAME, REPORTER_PHONE)
    entry = AuditEntry.objects.get(action="clue.reporter_viewed")
    assert entry.actor == district_head
    assert entry.after == {"reason": "核实举报人身份以便答复"}
    assert REPORTER_PHONE not in str(entry.after)


def test_a_reveal_needs_a_reason(
    district_officer: User, district_head: User, student_a: Student
) -> None:
    clue = named_clue(district_officer, student_a)
    with pytest.raises(DomainError, match="查看事由"):
        reveal_reporter(clue, actor=district_head, reason="  ")
    assert not AuditEntry.objects.filter(action="clue.reporter_viewed").exists()


def test_school_roles_never_reveal_the_reporter(
    district_officer: User,
    officer_a: User,
    principal_a: User,
    student_a: Student,
) -> None:
    clue = named_clue(district_officer, student_a)
    for actor in (officer_a, principal_a, district_officer):
        with pytest.raises(NotPermitted):
            reveal_reporter(clue, actor=actor, reason="想知道")


def test_inspector_reveals_only_for_clues_of_own_school(
    district_officer: User, inspector_a: User, student_a: Student, student_b: Student
) -> None:
    own = named_clue(district_officer, student_a)
    other = named_clue(district_officer, student_b)
    unassigned = register_clue(actor=district_officer, channel=Channel.MEDIA, allegation=ALLEGATION)
    assert reveal_reporter(own, actor=inspector_a, reason="纪检监督").contact == REPORTER_PHONE
    for clue in (other, unassigned):
        with pytest.raises(NotPermitted):
            reveal_reporter(clue, actor=inspector_a, reason="纪检监督")


def test_detail_page_never_shows_the_reporter_to_school_roles(
    login: Callable[[User], Client],
    district_officer: User,
    officer_a: User,
    principal_a: User,
    student_a: Student,
) -> None:
    clue = named_clue(district_officer, student_a)
    for actor in (officer_a, principal_a):
        client = login(actor)
        response = client.get(reverse("cases:intake_detail", args=[clue.pk]))
        body = response.content.decode()
        assert response.status_code == 200
        assert ALLEGATION in body
        assert REPORTER_NAME not in body and REPORTER_PHONE not in body
        assert reverse("cases:intake_reveal", args=[clue.pk]) not in body
        reveal = client.post(reverse("cases:intake_reveal", args=[clue.pk]), {"reason": "x"})
        assert reveal.status_code == 404
        assert REPORTER_PHONE not in reveal.content.decode()
    assert not AuditEntry.objects.filter(action="clue.reporter_viewed").exists()


def test_district_head_reveals_on_the_page_once_with_an_audit_row(
    login: Callable[[User], Client], district_officer: User, district_head: User, student_a: Student
) -> None:
    clue = named_clue(district_officer, student_a)
    client = login(district_head)
    detail = client.get(reverse("cases:intake_detail", args=[clue.pk])).content.decode()
    assert REPORTER_PHONE not in detail
    assert reverse("cases:intake_reveal", args=[clue.pk]) in detail
    response = client.post(reverse("cases:intake_reveal", args=[clue.pk]), {"reason": "答复举报人"})
    assert response.status_code == 200
    body = response.content.decode()
    assert REPORTER_NAME in body and REPORTER_PHONE in body
    assert "no-cache" in response["Cache-Control"] or "no-store" in response["Cache-Control"]
    assert (
        AuditEntry.objects.filter(action="clue.reporter_viewed", actor=district_head).count() == 1
    )


def test_a_reveal_without_a_reason_on_the_page_goes_back_without_showing(
    login: Callable[[User], Client], district_officer: User, district_head: User, student_a: Student
) -> None:
    clue = named_clue(district_officer, student_a)
    response = login(district_head).post(
        reverse("cases:intake_reveal", args=[clue.pk]), {"reason": ""}, follow=True
    )
    assert REPORTER_PHONE not in response.content.decode()
    assert "请填写查看事由" in response.content.decode()


# --- objections become clues ---------------------------------------------------------------


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


def test_an_objection_to_a_school_notice_becomes_a_clue(crew_a: Crew, school_a: OrgUnit) -> None:
    apps = signed_apps(school_a, crew_a, 2)
    notice = publish(1, apps, actor=crew_a.officer)

    objection = raise_objection(
        notice, text="该生家长是村干部，家庭并不困难。", contact="13600001111", application=apps[0]
    )

    clue = objection_clue(objection)
    assert clue is not None
    assert clue.channel == Channel.NOTICE_OBJECTION
    assert clue.objection == objection
    assert clue.school == school_a
    assert list(clue.students.all()) == [apps[0].student]
    assert "该生家长是村干部" in clue.allegation
    assert clue.created_by is None
    reporter = ClueReporter.objects.get(clue=clue)
    assert reporter.anonymous is True
    assert reporter.contact == "13600001111"
    entry = AuditEntry.objects.get(action="clue.registered")
    assert entry.actor is None and entry.actor_label == "公众"
    assert "13600001111" not in str(entry.after)


def test_an_objection_to_the_district_notice_goes_to_the_named_students_school(
    crew_a: Crew, school_a: OrgUnit
) -> None:
    apps = signed_apps(school_a, crew_a, 1)
    notice = to_round3(apps, crew_a)
    named = raise_objection(notice, text="名单有误", application=apps[0])
    whole = raise_objection(notice, text="整份名单有问题")

    named_clue_ = objection_clue(named)
    whole_clue = objection_clue(whole)
    assert named_clue_ is not None and named_clue_.school == school_a
    assert whole_clue is not None and whole_clue.school is None
    assert not reporter_reachable(whole_clue)
    assert notice.org_unit == district()


def test_objection_clue_is_none_for_an_objection_without_a_clue(
    crew_a: Crew, school_a: OrgUnit
) -> None:
    from zizhu.aid.models import Objection

    notice = publish(1, signed_apps(school_a, crew_a, 1), actor=crew_a.officer)
    bare = Objection.objects.create(notice=notice, text="直接写入的异议")
    assert objection_clue(bare) is None


# --- the staff screens ----------------------------------------------------------------------


def test_the_list_shows_only_clues_in_reach_and_never_the_reporter(
    login: Callable[[User], Client],
    district_officer: User,
    officer_a: User,
    student_a: Student,
    student_b: Student,
) -> None:
    own = named_clue(district_officer, student_a)
    other = named_clue(district_officer, student_b)
    body = login(officer_a).get(reverse("cases:intake_list")).content.decode()
    assert own.number in body
    assert other.number not in body
    assert REPORTER_NAME not in body and REPORTER_PHONE not in body


def test_the_list_filters_by_status_channel_number_and_overdue(
    login: Callable[[User], Client], district_officer: User, student_a: Student
) -> None:
    hotline = named_clue(district_officer, student_a)
    letter = register_clue(actor=district_officer, channel=Channel.LETTER, allegation=ALLEGATION)
    Clue.objects.filter(pk=letter.pk).update(
        status=ClueStatus.ASSIGNED, due_on=timezone.localdate() - timedelta(days=1)
    )
    client = login(district_officer)
    url = reverse("cases:intake_list")

    def numbers(**params: str) -> set[str]:
        body = client.get(url, params).content.decode()
        return {n for n in (hotline.number, letter.number) if n in body}

    assert numbers() == {hotline.number, letter.number}
    assert numbers(channel=Channel.LETTER) == {letter.number}
    assert numbers(status=ClueStatus.RECEIVED) == {hotline.number}
    assert numbers(overdue="on") == {letter.number}
    assert numbers(number=hotline.number[-3:]) == {hotline.number}


def test_the_list_needs_clue_view(login: Callable[[User], Client], sysadmin: User) -> None:
    assert login(sysadmin).get(reverse("cases:intake_list")).status_code == 403


def test_the_list_costs_the_same_queries_for_more_clues(
    login: Callable[[User], Client],
    district_officer: User,
    student_a: Student,
    student_b: Student,
) -> None:
    client = login(district_officer)
    url = reverse("cases:intake_list")
    named_clue(district_officer, student_a)
    client.get(url)
    with CaptureQueriesContext(connection) as few:
        client.get(url)
    for student in (student_a, student_b) * 4:
        named_clue(district_officer, student)
    with CaptureQueriesContext(connection) as many:
        response = client.get(url)
    assert response.status_code == 200
    assert len(many) == len(few)


def test_an_officer_registers_on_the_form_with_a_found_student(
    login: Callable[[User], Client], officer_a: User, student_a: Student, student_b: Student
) -> None:
    client = login(officer_a)
    url = reverse("cases:intake_register")
    form = {
        "channel": Channel.PARENT_MEETING,
        "received_on": timezone.localdate().isoformat(),
        "allegation": ALLEGATION,
        "anonymous": "on",
        "reporter_contact": REPORTER_PHONE,
    }
    search = client.post(url, {**form, "q": "小", "search": "1"}).content.decode()
    assert student_a.name in search
    assert student_b.name not in search  # out of reach
    assert not Clue.objects.exists()

    response = client.post(url, {**form, "students": [student_a.pk]})
    clue = Clue.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("cases:intake_detail", args=[clue.pk])
    assert list(clue.students.all()) == [student_a]


def test_the_form_refuses_a_student_out_of_reach(
    login: Callable[[User], Client], officer_a: User, student_b: Student
) -> None:
    response = login(officer_a).post(
        reverse("cases:intake_register"),
        {
            "channel": Channel.HOTLINE,
            "received_on": timezone.localdate().isoformat(),
            "allegation": ALLEGATION,
            "students": [student_b.pk],
        },
    )
    assert response.status_code == 200
    assert not Clue.objects.exists()


def test_principal_cannot_open_the_register_form(
    login: Callable[[User], Client], principal_a: User
) -> None:
    assert login(principal_a).get(reverse("cases:intake_register")).status_code == 403


def test_a_clue_of_another_school_is_404(
    login: Callable[[User], Client], district_officer: User, officer_a: User, student_b: Student
) -> None:
    clue = named_clue(district_officer, student_b)
    assert login(officer_a).get(reverse("cases:intake_detail", args=[clue.pk])).status_code == 404


def test_a_number_taken_by_a_concurrent_registration_is_retried(
    district_officer: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two registrations read the same maximum: the loser's insert hits the unique number,
    rolls back to its savepoint and takes the next one."""
    from zizhu.cases.services import intake

    first = register_clue(actor=district_officer, channel=Channel.LETTER, allegation=ALLEGATION)
    real = intake._next_number
    answers = iter([first.number])
    monkeypatch.setattr(intake, "_next_number", lambda year: next(answers, None) or real(year))

    second = register_clue(actor=district_officer, channel=Channel.LETTER, allegation=ALLEGATION)

    assert second.number != first.number
    assert int(second.number[-6:]) == int(first.number[-6:]) + 1
    assert Clue.objects.count() == 2
