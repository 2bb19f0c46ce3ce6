"""Department data screens: reach, upload through a job, records, diff, query counts."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from tests.sources.conftest import AS_OF, Importer
from tests.sources.samples import ALICE, BOB, csv_bytes, header, person_id, valid_rows
from zizhu.core import crypto
from zizhu.core.crypto import Sensitive
from zizhu.core.models import Job, JobStatus, User
from zizhu.sources.models import DatasetVersion

LIST = reverse("sources:dataset_list")
UPLOAD = reverse("sources:dataset_upload")

Login = Callable[[User], Client]


@pytest.fixture
def login(client: Client) -> Login:
    def sign_in(user: User) -> Client:
        client.force_login(user)
        # The first request after signing in writes the session; query counts start after.
        client.get(LIST)
        return client

    return sign_in


def detail_url(kind: str) -> str:
    return reverse("sources:dataset_detail", args=[kind])


def version_url(version: DatasetVersion) -> str:
    return reverse("sources:version_detail", args=[version.pk])


def diff_url(old: DatasetVersion, new: DatasetVersion) -> str:
    return reverse("sources:version_diff", args=[old.pk, new.pk])


@pytest.fixture
def two_versions(import_rows: Importer) -> tuple[DatasetVersion, DatasetVersion]:
    old = import_rows("civil_affairs")
    rows = valid_rows("civil_affairs")
    rows[2][3] = "已退出"
    rows[2][5] = "2026-06-30"
    return old, import_rows("civil_affairs", rows[:3])


# --- reach -------------------------------------------------------------------------------


def _urls(versions: tuple[DatasetVersion, DatasetVersion]) -> list[str]:
    old, new = versions
    return [LIST, detail_url("civil_affairs"), version_url(old), diff_url(old, new), UPLOAD]


@pytest.mark.parametrize("persona", ["officer_a", "outsider", "town_supervisor", "principal_a"])
def test_school_and_town_roles_are_refused_every_page(
    login: Login,
    two_versions: tuple[DatasetVersion, DatasetVersion],
    persona: str,
    request: pytest.FixtureRequest,
) -> None:
    client = login(request.getfixturevalue(persona))

    for url in _urls(two_versions):
        assert client.get(url).status_code == 403, url


@pytest.mark.parametrize(
    "persona", ["district_officer", "district_head", "inspection_team", "auditor"]
)
def test_district_roles_see_every_page_but_the_upload(
    login: Login,
    two_versions: tuple[DatasetVersion, DatasetVersion],
    persona: str,
    request: pytest.FixtureRequest,
) -> None:
    client = login(request.getfixturevalue(persona))

    for url in _urls(two_versions)[:-1]:
        assert client.get(url).status_code == 200, url
    expected = 200 if persona == "district_officer" else 403
    assert client.get(UPLOAD).status_code == expected


def test_upload_link_only_for_importers(
    login: Login, district_officer: User, auditor: User
) -> None:
    assert UPLOAD in login(district_officer).get(LIST).content.decode()
    assert UPLOAD not in login(auditor).get(LIST).content.decode()


def test_unknown_version_is_404(login: Login, district_officer: User) -> None:
    assert (
        login(district_officer).get(reverse("sources:version_detail", args=[999])).status_code
        == 404
    )


def test_unknown_kind_is_404(login: Login, district_officer: User) -> None:
    assert login(district_officer).get(detail_url("tax")).status_code == 404


def test_versions_of_two_kinds_cannot_be_compared(
    login: Login, district_officer: User, import_rows: Importer
) -> None:
    one = import_rows("deaths")
    other = import_rows("disability")

    assert login(district_officer).get(diff_url(one, other)).status_code == 404


# --- pages -------------------------------------------------------------------------------


def test_list_shows_latest_version_per_dataset(
    login: Login, district_officer: User, two_versions: tuple[DatasetVersion, DatasetVersion]
) -> None:
    content = login(district_officer).get(LIST).content.decode()

    assert "民政救助对象" in content
    assert "第 2 版" in content
    assert "（共 2 版）" in content
    assert "尚未导入" in content  # the eleven other datasets
    assert district_officer.full_name in content


def test_dataset_page_shows_provenance(
    login: Login, district_officer: User, two_versions: tuple[DatasetVersion, DatasetVersion]
) -> None:
    old, _ = two_versions

    content = login(district_officer).get(detail_url("civil_affairs")).content.decode()

    assert old.sha256 in content
    assert "民政" in content
    assert "2026-10-31" in content
    assert "比较两个版本" in content


def test_compare_form_redirects_to_the_diff(
    login: Login, district_officer: User, two_versions: tuple[DatasetVersion, DatasetVersion]
) -> None:
    old, new = two_versions

    response = login(district_officer).get(
        detail_url("civil_affairs"), {"old": old.pk, "new": new.pk}
    )

    assert response.status_code == 302
    assert response["Location"] == diff_url(old, new)


def test_paging_versions_does_not_trip_the_compare_form(
    login: Login, district_officer: User, two_versions: tuple[DatasetVersion, DatasetVersion]
) -> None:
    content = login(district_officer).get(detail_url("civil_affairs"), {"page": "1"}).content

    assert "这个字段是必填项" not in content.decode()
    assert 'role="alert"' not in content.decode()


def test_comparing_a_version_with_itself_is_refused(
    login: Login, district_officer: User, two_versions: tuple[DatasetVersion, DatasetVersion]
) -> None:
    old, _ = two_versions

    response = login(district_officer).get(
        detail_url("civil_affairs"), {"old": old.pk, "new": old.pk}
    )

    assert response.status_code == 200
    assert "请选择两个不同的版本" in response.content.decode()


def test_version_page_lists_records_masked(
    login: Login, district_officer: User, import_rows: Importer
) -> None:
    version = import_rows("civil_affairs")

    content = login(district_officer).get(version_url(version)).content.decode()

    assert "张三" in content
    assert crypto.mask(ALICE, Sensitive.ID_NUMBER) in content
    assert ALICE not in content
    assert "救助类别" in content
    assert "低保" in content


def test_search_by_name(login: Login, district_officer: User, import_rows: Importer) -> None:
    version = import_rows("civil_affairs")

    content = login(district_officer).get(version_url(version), {"name": "李"}).content.decode()

    assert "李四" in content
    assert "张三" not in content


def test_search_by_id_number_keeps_it_out_of_the_address(
    login: Login, district_officer: User, import_rows: Importer
) -> None:
    version = import_rows("civil_affairs")
    client = login(district_officer)

    response = client.post(version_url(version), {"id_number": BOB.lower()})

    assert response.status_code == 302
    location = response["Location"]
    assert BOB not in location
    assert crypto.blind_index(BOB, Sensitive.ID_NUMBER) in location
    content = client.get(location).content.decode()
    assert "李四" in content
    assert "张三" not in content
    assert BOB not in content


def test_malformed_id_search_shows_an_error_without_the_number(
    login: Login, district_officer: User, import_rows: Importer
) -> None:
    version = import_rows("civil_affairs")
    mistyped = BOB[:17] + ("0" if BOB[17] != "0" else "1")

    response = login(district_officer).post(version_url(version), {"id_number": mistyped})

    content = response.content.decode()
    assert response.status_code == 200
    assert "校验位错误" in content
    assert mistyped not in content
    assert "李四" not in content


def test_diff_page_shows_counts_and_changes(
    login: Login, district_officer: User, two_versions: tuple[DatasetVersion, DatasetVersion]
) -> None:
    old, new = two_versions
    client = login(district_officer)

    content = client.get(diff_url(old, new)).content.decode()
    assert "新增 0 人" in content
    assert "减少 1 人" in content
    assert "变更 1 人" in content

    removed = client.get(diff_url(old, new), {"tab": "removed"}).content.decode()
    assert "王小五" in removed

    changed = client.get(diff_url(old, new), {"tab": "changed"}).content.decode()
    assert "李四" in changed
    assert "已退出" in changed
    assert "2026-06-30" in changed


# --- upload ------------------------------------------------------------------------------


def test_district_officer_uploads_and_the_job_imports(login: Login, district_officer: User) -> None:
    upload = SimpleUploadedFile("残联.csv", csv_bytes(valid_rows("disability"), "gb18030"))

    response = login(district_officer).post(
        UPLOAD, {"kind": "disability", "file": upload, "as_of": AS_OF.isoformat()}
    )

    job = Job.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("core:job_detail", args=[job.pk])
    assert job.status == JobStatus.SUCCEEDED, job.message
    version = DatasetVersion.objects.get()
    assert (version.kind, version.row_count, version.department) == ("disability", 3, "残联")
    assert version.imported_by == district_officer
    assert version.job == job


def test_upload_with_a_bad_row_ends_in_a_rejected_job(login: Login, district_officer: User) -> None:
    rows = [*valid_rows("deaths"), [person_id(50), "某", "不详"]]
    upload = SimpleUploadedFile("deaths.csv", csv_bytes(rows))

    login(district_officer).post(
        UPLOAD, {"kind": "deaths", "file": upload, "as_of": AS_OF.isoformat()}
    )

    job = Job.objects.get()
    assert job.status == JobStatus.REJECTED
    assert job.report.name
    assert not DatasetVersion.objects.exists()


@pytest.mark.parametrize(
    ("filename", "as_of", "message"),
    [
        ("deaths.txt", AS_OF.isoformat(), "只能上传 CSV 或 XLSX"),
        (
            "deaths.csv",
            (timezone.localdate() + timedelta(days=1)).isoformat(),
            "不能晚于今天",
        ),
        ("deaths.csv", "", "请填写数据截止日期"),
    ],
)
def test_upload_form_errors(
    login: Login, district_officer: User, filename: str, as_of: str, message: str
) -> None:
    upload = SimpleUploadedFile(filename, csv_bytes(valid_rows("deaths")))

    response = login(district_officer).post(
        UPLOAD, {"kind": "deaths", "file": upload, "as_of": as_of}
    )

    assert response.status_code == 200
    assert message in response.content.decode()
    assert not Job.objects.exists()


def test_auditor_cannot_post_an_upload(login: Login, auditor: User) -> None:
    upload = SimpleUploadedFile("deaths.csv", csv_bytes(valid_rows("deaths")))

    response = login(auditor).post(
        UPLOAD, {"kind": "deaths", "file": upload, "as_of": AS_OF.isoformat()}
    )

    assert response.status_code == 403
    assert not Job.objects.exists()


# --- query counts ------------------------------------------------------------------------


def _queries(client: Client, url: str, params: dict[str, Any] | None = None) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url, params or {}).status_code == 200
    return len(captured.captured_queries)


def test_list_query_count_does_not_grow_with_versions(
    login: Login, district_officer: User, import_rows: Importer
) -> None:
    client = login(district_officer)
    import_rows("deaths")
    one = _queries(client, LIST)

    for kind in ("deaths", "disability", "cadres", "vehicles", "household"):
        import_rows(kind)

    assert _queries(client, LIST) == one


def test_dataset_page_query_count_does_not_grow_with_versions(
    login: Login, district_officer: User, import_rows: Importer
) -> None:
    client = login(district_officer)
    import_rows("deaths")
    import_rows("deaths")
    two = _queries(client, detail_url("deaths"))

    for _ in range(4):
        import_rows("deaths")

    assert _queries(client, detail_url("deaths")) == two


def test_version_page_query_count_does_not_grow_with_records(
    login: Login, district_officer: User, import_rows: Importer
) -> None:
    client = login(district_officer)
    small = import_rows("household")
    rows = [header("household")] + [
        [person_id(200 + n), f"人{n}", f"H{n}", "户主", ""] for n in range(40)
    ]
    large = import_rows("household", rows)

    assert _queries(client, version_url(large)) == _queries(client, version_url(small))


def test_diff_page_query_count_does_not_grow_with_changes(
    login: Login, district_officer: User, import_rows: Importer
) -> None:
    client = login(district_officer)

    def deaths(count: int, day: str) -> list[list[str]]:
        return [header("deaths")] + [[person_id(300 + n), f"人{n}", day] for n in range(count)]

    small = (
        import_rows("deaths", deaths(1, "2025-01-01")),
        import_rows("deaths", deaths(2, "2025-01-02")),
    )
    large = (
        import_rows("deaths", deaths(20, "2025-01-01")),
        import_rows("deaths", deaths(30, "2025-01-02")),
    )

    for tab in ("added", "removed", "changed"):
        expected = _queries(client, diff_url(*small), {"tab": tab})
        assert _queries(client, diff_url(*large), {"tab": tab}) == expected, tab
