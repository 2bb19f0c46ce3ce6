"""The audit page: who sees which rows, the detail door, and the audited export."""

from __future__ import annotations

import io
from collections.abc import Callable
from contextlib import AbstractContextManager

import openpyxl
import pytest
from django.db import connection, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from zizhu.core import audit
from zizhu.core.models import AuditEntry, OrgUnit, User

pytestmark = pytest.mark.django_db


def _client(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _write(action: str, unit: OrgUnit | None, actor: User | None = None) -> AuditEntry:
    with transaction.atomic():
        return audit.record(action, actor=actor, subject=unit, org_unit=unit)


@pytest.fixture
def rows(school_a: OrgUnit, school_b: OrgUnit) -> dict[str, AuditEntry]:
    return {
        "a": _write("test.school_a_event", school_a),
        "b": _write("test.school_b_event", school_b),
        "district": _write("test.district_event", None),
    }


def _listed(user: User, **filters: str) -> str:
    response = _client(user).get(reverse("core:audit_list"), filters)
    assert response.status_code == 200
    return response.content.decode()


def test_inspection_team_sees_every_row(inspection_team: User, rows: dict[str, AuditEntry]) -> None:
    page = _listed(inspection_team)
    for action in ("test.school_a_event", "test.school_b_event", "test.district_event"):
        assert action in page


def test_school_inspector_sees_own_school_only(
    inspector_a: User, rows: dict[str, AuditEntry]
) -> None:
    page = _listed(inspector_a)
    assert "test.school_a_event" in page
    assert "test.school_b_event" not in page
    # District-level rows carry no unit and are for district roles only.
    assert "test.district_event" not in page


def test_town_supervisor_sees_its_schools(
    town_supervisor: User, rows: dict[str, AuditEntry]
) -> None:
    page = _listed(town_supervisor)
    assert "test.school_a_event" in page
    assert "test.school_b_event" not in page


def test_officer_without_audit_permission_is_refused(
    officer_a: User, rows: dict[str, AuditEntry]
) -> None:
    client = _client(officer_a)
    assert client.get(reverse("core:audit_list")).status_code == 403
    assert client.get(reverse("core:audit_export")).status_code == 403
    assert client.get(reverse("core:audit_detail", args=[rows["a"].pk])).status_code == 403
    denied = AuditEntry.objects.filter(action__startswith="access.denied", actor=officer_a)
    assert denied.exists()


def test_detail_shows_the_row_within_reach(inspector_a: User, rows: dict[str, AuditEntry]) -> None:
    response = _client(inspector_a).get(reverse("core:audit_detail", args=[rows["a"].pk]))
    assert response.status_code == 200
    page = response.content.decode()
    assert rows["a"].hash in page
    assert rows["a"].prev_hash in page


def test_detail_out_of_reach_is_404(inspector_a: User, rows: dict[str, AuditEntry]) -> None:
    client = _client(inspector_a)
    assert client.get(reverse("core:audit_detail", args=[rows["b"].pk])).status_code == 404
    assert client.get(reverse("core:audit_detail", args=[rows["district"].pk])).status_code == 404
    assert client.get(reverse("core:audit_detail", args=[999_999])).status_code == 404


def test_detail_shows_before_and_after(
    inspection_team: User, officer_a: User, school_a: OrgUnit
) -> None:
    with transaction.atomic():
        entry = audit.record(
            "student.updated",
            actor=officer_a,
            org_unit=school_a,
            before={"grade": "五年级"},
            after={"grade": "六年级"},
        )
    page = _client(inspection_team).get(reverse("core:audit_detail", args=[entry.pk]))
    text = page.content.decode()
    assert "五年级" in text
    assert "六年级" in text


@pytest.mark.parametrize(
    ("filters", "shown", "hidden"),
    [
        ({"action": "test.school_"}, ["test.school_a_event", "test.school_b_event"], ["district"]),
        ({"subject_type": "core.orgunit"}, ["test.school_a_event"], ["test.district_event"]),
        ({"actor": "系统"}, ["test.school_a_event"], []),
        ({"date_from": "2000-01-01", "date_to": "2000-01-02"}, [], ["test.school_a_event"]),
    ],
)
def test_filters_narrow_the_list(
    inspection_team: User,
    rows: dict[str, AuditEntry],
    filters: dict[str, str],
    shown: list[str],
    hidden: list[str],
) -> None:
    page = _listed(inspection_team, **filters)
    for action in shown:
        assert action in page
    for action in hidden:
        assert action not in page


def test_filters_by_unit_and_subject_id(
    inspection_team: User, rows: dict[str, AuditEntry], school_a: OrgUnit
) -> None:
    by_unit = _listed(inspection_team, org_unit=str(school_a.pk))
    assert "test.school_a_event" in by_unit
    assert "test.school_b_event" not in by_unit
    by_town = _listed(inspection_team, org_unit=str(school_a.parent_id))
    assert "test.school_a_event" in by_town
    assert "test.school_b_event" not in by_town
    by_subject = _listed(inspection_team, subject_id=str(school_a.pk))
    assert "test.school_a_event" in by_subject
    assert "test.school_b_event" not in by_subject


def test_inspector_cannot_filter_on_a_unit_out_of_reach(
    inspector_a: User, rows: dict[str, AuditEntry], school_b: OrgUnit
) -> None:
    page = _listed(inspector_a, org_unit=str(school_b.pk))
    assert "test.school_b_event" not in page
    assert "没有符合筛选条件的记录" in page


def test_list_query_count_does_not_grow_with_rows(
    inspection_team: User,
    school_a: OrgUnit,
    school_b: OrgUnit,
    django_assert_max_num_queries: Callable[[int], AbstractContextManager[object]],
) -> None:
    client = _client(inspection_team)
    url = reverse("core:audit_list")

    def count() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get(url).status_code == 200
        return len(captured)

    for _ in range(3):
        _write("test.few", school_a)
    few = count()
    for index in range(40):
        _write("test.many", school_a if index % 2 else school_b)
    with django_assert_max_num_queries(few):
        assert "test.many" in client.get(url).content.decode()


def test_export_is_a_workbook_of_the_filtered_rows_and_is_itself_audited(
    inspector_a: User, rows: dict[str, AuditEntry], school_a: OrgUnit
) -> None:
    response = _client(inspector_a).get(reverse("core:audit_export"), {"action": "test."})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    book = openpyxl.load_workbook(io.BytesIO(response.content))
    sheet = book.active
    assert sheet is not None
    values = [[cell.value for cell in row] for row in sheet.iter_rows()]
    actions = [row[5] for row in values[1:]]
    assert actions == ["test.school_a_event"]

    logged = AuditEntry.objects.filter(action="audit.exported").get()
    assert logged.actor == inspector_a
    assert logged.org_unit == school_a
    assert logged.after == {"filters": {"action": "test."}, "rows": 1}
    assert audit.verify_chain().ok
    # The inspector can see that their own export was logged.
    assert "audit.exported" in _listed(inspector_a)


def test_export_needs_the_export_permission(
    town_supervisor: User, rows: dict[str, AuditEntry]
) -> None:
    assert _client(town_supervisor).get(reverse("core:audit_export")).status_code == 403
    assert not AuditEntry.objects.filter(action="audit.exported").exists()


def test_empty_list_says_so(inspector_a: User) -> None:
    page = _listed(inspector_a, action="nothing.")
    assert "没有符合筛选条件的记录" in page
