"""Staff list: reach, search, masked identifiers, constant query count."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from tests.factories import StaffFactory, fake_id
from zizhu.core.models import OrgUnit, User
from zizhu.registry.models import Post, Staff

LIST = reverse("registry:staff_list")


@pytest.fixture
def teacher_a(school_a: OrgUnit) -> Staff:
    return StaffFactory(
        school=school_a,
        name="周老师",
        id_number=fake_id(date(1999, 3, 4)),
        phone="13512340000",
        post=Post.TEACHER,
    )


@pytest.fixture
def officer_staff_a(school_a: OrgUnit) -> Staff:
    return StaffFactory(school=school_a, name="吴专干", post=Post.AID_OFFICER)


@pytest.fixture
def teacher_b(school_b: OrgUnit) -> Staff:
    return StaffFactory(school=school_b, name="郑老师")


def names(client: Client, **query: Any) -> set[str]:
    content = client.get(LIST, query).content.decode()
    return {n for n in ("周老师", "吴专干", "郑老师") if n in content}


def test_school_officer_lists_own_schools_staff_only(
    client: Client, officer_a: User, teacher_a: Staff, officer_staff_a: Staff, teacher_b: Staff
) -> None:
    client.force_login(officer_a)

    assert names(client) == {"周老师", "吴专干"}


def test_school_officer_naming_another_school_gets_404(
    client: Client, officer_a: User, school_b: OrgUnit, teacher_b: Staff
) -> None:
    client.force_login(officer_a)

    assert client.get(LIST, {"school": school_b.pk}).status_code == 404


def test_town_supervisor_sees_its_towns_schools_only(
    client: Client, town_supervisor: User, teacher_a: Staff, teacher_b: Staff
) -> None:
    client.force_login(town_supervisor)

    assert names(client) == {"周老师"}


def test_district_officer_sees_every_school_and_filters_by_school(
    client: Client, district_officer: User, school_b: OrgUnit, teacher_a: Staff, teacher_b: Staff
) -> None:
    client.force_login(district_officer)

    assert names(client) == {"周老师", "郑老师"}
    assert names(client, school=school_b.pk) == {"郑老师"}


def test_outsider_sees_no_staff(client: Client, outsider: User, teacher_a: Staff) -> None:
    client.force_login(outsider)

    assert names(client) == set()


def test_search_by_name_and_post(
    client: Client, officer_a: User, teacher_a: Staff, officer_staff_a: Staff
) -> None:
    client.force_login(officer_a)

    assert names(client, name="周") == {"周老师"}
    assert names(client, post=Post.AID_OFFICER) == {"吴专干"}
    assert names(client, name="周", post=Post.AID_OFFICER) == set()


def test_identifiers_are_masked_never_clear(
    client: Client, officer_a: User, teacher_a: Staff
) -> None:
    client.force_login(officer_a)
    number = str(teacher_a.id_number)

    content = client.get(LIST).content.decode()

    assert number not in content
    assert "13512340000" not in content
    assert f"{number[:6]}********{number[-4:]}" in content
    assert "135****0000" in content


def test_list_is_paginated(client: Client, officer_a: User, school_a: OrgUnit) -> None:
    StaffFactory.create_batch(52, school=school_a)
    client.force_login(officer_a)

    assert len(client.get(LIST).context["rows"]) == 50
    assert len(client.get(LIST, {"page": 2}).context["rows"]) == 2


def test_list_query_count_does_not_grow_with_staff(
    client: Client,
    officer_a: User,
    school_a: OrgUnit,
    django_assert_max_num_queries: Any,
) -> None:
    client.force_login(officer_a)
    StaffFactory.create_batch(5, school=school_a)
    with CaptureQueriesContext(connection) as five:
        client.get(LIST)

    StaffFactory.create_batch(25, school=school_a)
    with django_assert_max_num_queries(len(five.captured_queries)):
        response = client.get(LIST)
    assert len(response.context["rows"]) == 30
