"""Ledger screens: the status-change form and its confirmation, evidence, the student page."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from tests.factories import SchoolFactory, StudentFactory
from zizhu.core.files import EVIDENCE_MAX_BYTES
from zizhu.core.models import AuditEntry, OrgUnit, User
from zizhu.registry.models import ChangeKind, Household, StatusChange, Student, StudentStatus
from zizhu.registry.services import record_status_change

PDF = b"%PDF-1.4\n% test evidence\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32


def create_url(student: Student) -> str:
    return reverse("registry:status_change_create", args=[student.pk])


def detail_url(student: Student) -> str:
    return reverse("registry:student_detail", args=[student.pk])


def evidence_url(entry: StatusChange) -> str:
    return reverse("registry:ledger_evidence", args=[entry.pk])


@pytest.fixture
def login(client: Client) -> Callable[[User], Client]:
    def sign_in(user: User) -> Client:
        client.force_login(user)
        return client

    return sign_in


@pytest.fixture
def alice(school_a: OrgUnit) -> Student:
    return StudentFactory(school=school_a, name="张小花")


def fields(kind: str = ChangeKind.SUSPENSION, **extra: Any) -> dict[str, Any]:
    today = timezone.localdate()
    return {"kind": kind, "effective_on": today.isoformat(), "reason": "因病休学一年"} | extra


def kinds_offered(response: Any) -> set[str]:
    return {value for value, _ in response.context["form"].fields["kind"].choices if value}


def record(student: Student, actor: User, kind: str, **extra: Any) -> StatusChange:
    return record_status_change(
        student,
        actor=actor,
        kind=kind,
        effective_on=extra.pop("effective_on", timezone.localdate()),
        reason=extra.pop("reason", "家长申请"),
        **extra,
    )


# --- who may open the form ---------------------------------------------------------------------


def test_form_offers_only_the_kinds_allowed_from_the_current_status(
    login: Callable[[User], Client], officer_a: User, alice: Student, school_a: OrgUnit
) -> None:
    suspended = StudentFactory(school=school_a, status=StudentStatus.SUSPENDED)
    client = login(officer_a)

    enrolled_kinds = kinds_offered(client.get(create_url(alice)))
    suspended_kinds = kinds_offered(client.get(create_url(suspended)))

    assert enrolled_kinds == {
        ChangeKind.TRANSFER,
        ChangeKind.TRANSFER_OUT,
        ChangeKind.SUSPENSION,
        ChangeKind.DROPOUT,
        ChangeKind.GRADUATION,
        ChangeKind.DEATH,
        ChangeKind.FAMILY_CHANGE,
    }
    assert suspended_kinds == {
        ChangeKind.TRANSFER_OUT,
        ChangeKind.RESUMPTION,
        ChangeKind.DROPOUT,
        ChangeKind.DEATH,
        ChangeKind.FAMILY_CHANGE,
    }


def test_transfer_targets_are_the_districts_other_active_schools(
    login: Callable[[User], Client],
    officer_a: User,
    alice: Student,
    school_a: OrgUnit,
    school_b: OrgUnit,
) -> None:
    closed = SchoolFactory(name="已撤并小学", active=False)

    response = login(officer_a).get(create_url(alice))

    targets = set(response.context["form"].fields["to_school"].queryset)
    assert school_b in targets
    assert school_a not in targets
    assert closed not in targets


@pytest.mark.parametrize("kind", [ChangeKind.RESUMPTION, ChangeKind.ENROLMENT, "promotion"])
def test_a_posted_kind_outside_the_rules_is_refused(
    login: Callable[[User], Client], officer_a: User, alice: Student, kind: str
) -> None:
    response = login(officer_a).post(create_url(alice), fields(kind, step="confirm"))

    assert "当前学籍状态下不能登记这类异动" in response.content.decode()
    assert not StatusChange.objects.exists()


def test_officer_of_another_school_gets_404(
    login: Callable[[User], Client], officer_b: User, alice: Student
) -> None:
    client = login(officer_b)

    assert client.get(create_url(alice)).status_code == 404
    assert client.post(create_url(alice), fields(step="confirm")).status_code == 404
    assert not StatusChange.objects.exists()


def test_principal_without_the_permission_is_refused_and_audited(
    login: Callable[[User], Client], principal_a: User, alice: Student
) -> None:
    client = login(principal_a)

    assert client.get(create_url(alice)).status_code == 403
    assert client.post(create_url(alice), fields(step="confirm")).status_code == 403
    assert not StatusChange.objects.exists()
    assert AuditEntry.objects.filter(action="access.denied", actor=principal_a).count() == 2


# --- the confirmation step ---------------------------------------------------------------------


def test_review_shows_a_confirmation_and_writes_nothing(
    login: Callable[[User], Client], officer_a: User, alice: Student
) -> None:
    response = login(officer_a).post(create_url(alice), fields(step="review"))

    content = response.content.decode()
    assert response.status_code == 200
    assert "确认登记</button>" in content
    assert "只能追加" in content
    assert "在读 → <strong>休学</strong>" in content
    assert 'type="file" name="evidence"' in content
    assert 'name="reason" value="因病休学一年"' in content
    assert not StatusChange.objects.exists()
    alice.refresh_from_db()
    assert alice.status == StudentStatus.ENROLLED


def test_confirm_records_the_change_and_returns_to_the_student_page(
    login: Callable[[User], Client], officer_a: User, alice: Student
) -> None:
    evidence = SimpleUploadedFile("张小花休学申请.pdf", PDF, content_type="application/pdf")

    response = login(officer_a).post(
        create_url(alice), fields(step="confirm", evidence=evidence), follow=True
    )

    assert response.redirect_chain == [(detail_url(alice), 302)]
    assert "已为张小花登记“休学”" in response.content.decode()
    entry = StatusChange.objects.get(student=alice)
    assert (entry.kind, entry.status_after, entry.actor) == ("suspension", "suspended", officer_a)
    assert entry.evidence.read() == PDF
    assert "张小花" not in entry.evidence.name
    assert entry.evidence.name.endswith(".pdf")
    alice.refresh_from_db()
    assert alice.status == StudentStatus.SUSPENDED


def test_edit_goes_back_to_the_form_with_what_was_typed(
    login: Callable[[User], Client], officer_a: User, alice: Student
) -> None:
    response = login(officer_a).post(create_url(alice), fields(step="edit"))

    content = response.content.decode()
    assert "下一步：核对信息" in content
    assert "因病休学一年" in content
    assert not StatusChange.objects.exists()


def test_a_future_effective_date_is_refused_before_the_confirmation(
    login: Callable[[User], Client], officer_a: User, alice: Student
) -> None:
    tomorrow = timezone.localdate() + timedelta(days=1)

    response = login(officer_a).post(
        create_url(alice), fields(step="review", effective_on=tomorrow.isoformat())
    )

    content = response.content.decode()
    assert "生效日期不能晚于今天" in content
    assert "确认登记</button>" not in content


def test_a_blank_reason_is_refused(
    login: Callable[[User], Client], officer_a: User, alice: Student
) -> None:
    response = login(officer_a).post(create_url(alice), fields(step="confirm", reason="   "))

    assert "请填写异动原因" in response.content.decode()
    assert not StatusChange.objects.exists()


def test_a_transfer_needs_the_school_it_goes_to(
    login: Callable[[User], Client], officer_a: User, alice: Student
) -> None:
    response = login(officer_a).post(create_url(alice), fields(ChangeKind.TRANSFER, step="review"))

    assert "区内转学须选择转入学校" in response.content.decode()


def test_a_transfer_out_of_reach_lands_on_the_list_and_the_page_is_then_404(
    login: Callable[[User], Client],
    officer_a: User,
    officer_b: User,
    alice: Student,
    school_b: OrgUnit,
) -> None:
    client = login(officer_a)

    response = client.post(
        create_url(alice),
        fields(ChangeKind.TRANSFER, step="confirm", to_school=school_b.pk, reason="随父母迁居"),
        follow=True,
    )

    assert response.redirect_chain == [(reverse("registry:student_list"), 302)]
    content = response.content.decode()
    assert "该生已转入阳逻第一小学" in content
    assert "已不在您的管辖范围内" in content
    assert client.get(detail_url(alice)).status_code == 404
    page = login(officer_b).get(detail_url(alice))
    assert page.status_code == 200
    assert "随父母迁居" in page.content.decode()


# --- evidence validation -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("材料.docx", b"PK\x03\x04", "只能是 PDF、JPG 或 PNG 文件"),
        ("材料.exe", b"MZ\x90\x00", "只能是 PDF、JPG 或 PNG 文件"),
        ("材料", PDF, "只能是 PDF、JPG 或 PNG 文件"),
        ("伪装.pdf", b"MZ\x90\x00 not a pdf", "文件内容与扩展名不符"),
        ("伪装.png", PDF, "文件内容与扩展名不符"),
        ("空.pdf", b"", "空文件"),
    ],
)
def test_evidence_of_the_wrong_type_is_refused_on_the_confirmation(
    login: Callable[[User], Client],
    officer_a: User,
    alice: Student,
    name: str,
    content: bytes,
    message: str,
) -> None:
    upload = SimpleUploadedFile(name, content)

    response = login(officer_a).post(create_url(alice), fields(step="confirm", evidence=upload))

    page = response.content.decode()
    assert response.status_code == 200
    assert message in page
    assert "确认登记</button>" in page
    assert not StatusChange.objects.exists()


def test_evidence_over_10_mb_is_refused(
    login: Callable[[User], Client], officer_a: User, alice: Student
) -> None:
    upload = SimpleUploadedFile("大.pdf", PDF + b"0" * (EVIDENCE_MAX_BYTES + 1 - len(PDF)))

    response = login(officer_a).post(create_url(alice), fields(step="confirm", evidence=upload))

    assert "证明材料不能超过 10 MB" in response.content.decode()
    assert not StatusChange.objects.exists()


@pytest.mark.parametrize(
    ("name", "content"), [("照片.PNG", PNG), ("扫描.jpeg", b"\xff\xd8\xff\xe0")]
)
def test_images_are_accepted_as_evidence(
    login: Callable[[User], Client], officer_a: User, alice: Student, name: str, content: bytes
) -> None:
    upload = SimpleUploadedFile(name, content)

    login(officer_a).post(create_url(alice), fields(step="confirm", evidence=upload))

    entry = StatusChange.objects.get(student=alice)
    assert entry.evidence.name.endswith(".png" if name.endswith("PNG") else ".jpg")


# --- evidence download -------------------------------------------------------------------------


@pytest.fixture
def entry(officer_a: User, alice: Student) -> StatusChange:
    return record(
        alice, officer_a, ChangeKind.SUSPENSION, evidence=ContentFile(PDF, name="scan.pdf")
    )


def test_evidence_download_is_served_and_audited(
    login: Callable[[User], Client], officer_a: User, entry: StatusChange, school_a: OrgUnit
) -> None:
    response = login(officer_a).get(evidence_url(entry))

    assert response.status_code == 200
    assert b"".join(response.streaming_content) == PDF  # type: ignore[attr-defined]
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"].startswith("attachment;")
    audit = AuditEntry.objects.get(action="ledger.evidence_downloaded")
    assert audit.actor == officer_a
    assert audit.org_unit == school_a
    assert audit.after == {"filters": {"ledger": entry.pk}, "rows": 1}


def test_evidence_download_by_someone_who_cannot_see_the_student_is_404(
    login: Callable[[User], Client], officer_b: User, outsider: User, entry: StatusChange
) -> None:
    assert login(officer_b).get(evidence_url(entry)).status_code == 404
    assert login(outsider).get(evidence_url(entry)).status_code == 404
    assert not AuditEntry.objects.filter(action="ledger.evidence_downloaded").exists()


def test_a_principal_may_download_evidence_of_the_school(
    login: Callable[[User], Client], principal_a: User, entry: StatusChange
) -> None:
    assert login(principal_a).get(evidence_url(entry)).status_code == 200


def test_an_entry_without_evidence_has_nothing_to_download(
    login: Callable[[User], Client], officer_a: User, alice: Student
) -> None:
    bare = record(alice, officer_a, ChangeKind.FAMILY_CHANGE)

    assert login(officer_a).get(evidence_url(bare)).status_code == 404
    assert not AuditEntry.objects.filter(action="ledger.evidence_downloaded").exists()


# --- the student page ----------------------------------------------------------------------------


def test_the_ledger_appears_on_the_student_page(
    login: Callable[[User], Client], officer_a: User, entry: StatusChange, alice: Student
) -> None:
    response = login(officer_a).get(detail_url(alice))

    content = response.content.decode()
    assert "学籍异动台账" in content
    assert "在读 → 休学" in content
    assert "家长申请" in content
    assert "经办人录入" in content
    assert officer_a.full_name in content
    assert evidence_url(entry) in content
    assert "登记学籍异动</a>" in content
    assert 'class="tag status-suspended"' in content


def test_the_change_button_is_only_for_those_who_may_record(
    login: Callable[[User], Client], principal_a: User, alice: Student
) -> None:
    content = login(principal_a).get(detail_url(alice)).content.decode()

    assert "登记学籍异动</a>" not in content
    assert "学籍异动台账" in content


def test_the_page_has_no_placeholder_sections(
    login: Callable[[User], Client], officer_a: User, alice: Student
) -> None:
    content = login(officer_a).get(detail_url(alice)).content.decode()

    # Section headings only: the menu may well name 问题线索.
    for absent in ("受助记录", "资助记录", "问题线索", "同一家庭"):
        assert f"<h2>{absent}" not in content


def test_household_members_within_reach_are_listed_masked(
    login: Callable[[User], Client],
    officer_a: User,
    alice: Student,
    school_a: OrgUnit,
    school_b: OrgUnit,
) -> None:
    household = Household.objects.create(key_hash="f" * 64)
    sister = StudentFactory(school=school_a, name="张小草", household=household)
    cousin = StudentFactory(school=school_b, name="张小树", household=household)
    Student.objects.filter(pk=alice.pk).update(household=household)

    content = login(officer_a).get(detail_url(alice)).content.decode()

    assert "同一家庭的其他学生" in content
    assert sister.name in content
    assert detail_url(sister) in content
    number = str(sister.id_number)
    assert number not in content
    assert f"{number[:6]}********{number[-4:]}" in content
    assert cousin.name not in content


def test_student_page_query_count_does_not_grow_with_the_ledger(
    login: Callable[[User], Client],
    officer_a: User,
    alice: Student,
    django_assert_max_num_queries: Any,
) -> None:
    record(alice, officer_a, ChangeKind.FAMILY_CHANGE, evidence=ContentFile(PDF, name="a.pdf"))
    client = login(officer_a)
    with CaptureQueriesContext(connection) as one:
        assert client.get(detail_url(alice)).status_code == 200

    for _ in range(9):
        record(alice, officer_a, ChangeKind.FAMILY_CHANGE, evidence=ContentFile(PDF, name="b.pdf"))
    with django_assert_max_num_queries(len(one.captured_queries)):
        response = client.get(detail_url(alice))
    assert len(response.context["ledger"]) == 10
