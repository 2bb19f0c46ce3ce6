"""Job pages: who sees which job, the polled progress fragment, the audited error report."""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from python_calamine import CalamineWorkbook

from zizhu.core import jobs
from zizhu.core.errors import ImportRejected
from zizhu.core.models import AuditEntry, Job, JobStatus, OrgUnit, User

LIST = reverse("core:job_list")
KIND = "test_kind"


def detail_url(job: Job) -> str:
    return reverse("core:job_detail", args=[job.pk])


def progress_url(job: Job) -> str:
    return reverse("core:job_progress", args=[job.pk])


def report_url(job: Job) -> str:
    return reverse("core:job_report", args=[job.pk])


class Script:
    """What the test handler does when run: succeed, reject, or look at itself mid-run."""

    def __init__(self) -> None:
        self.reject: list[dict[str, object]] | None = None
        self.during: Callable[[Job], None] | None = None


@pytest.fixture
def script() -> Iterator[Script]:
    plan = Script()

    @jobs.handles(KIND)
    def handler(job: Job, progress: jobs.Progress) -> tuple[dict[str, Any], str]:
        progress(5, total=10, stage="校验数据")
        if plan.during is not None:
            plan.during(job)
        if plan.reject is not None:
            raise ImportRejected("文件中有 1 处错误，未导入任何数据。", report=plan.reject)
        return {"rows": 10, "students": {"created": 7, "updated": 3}}, "导入完成：新增 7 人。"

    yield plan
    jobs.HANDLERS.pop(KIND, None)


@pytest.fixture
def start(script: Script) -> Callable[..., Job]:
    def run(actor: User, unit: OrgUnit, title: str = "测试任务") -> Job:
        job = jobs.start_job(KIND, actor=actor, org_unit=unit, title=title)
        job.refresh_from_db()
        return job

    return run


def signed_in(client: Client, user: User) -> Client:
    client.force_login(user)
    return client


# --- who sees which job ----------------------------------------------------------------------


def test_starter_sees_own_job_in_list_and_page(
    client: Client, start: Callable[..., Job], officer_a: User, school_a: OrgUnit
) -> None:
    job = start(officer_a, school_a, "邾城一小学生导入")
    signed_in(client, officer_a)

    listing = client.get(LIST).content.decode()
    page = client.get(detail_url(job))

    assert "邾城一小学生导入" in listing
    assert "已完成" in listing
    assert page.status_code == 200
    body = page.content.decode()
    assert "导入完成：新增 7 人。" in body
    assert "新增 7，更新 3" in body
    assert 'aria-valuenow="100"' in body


def test_other_school_officer_gets_404_and_is_audited(
    client: Client,
    start: Callable[..., Job],
    officer_a: User,
    officer_b: User,
    school_a: OrgUnit,
) -> None:
    job = start(officer_a, school_a)
    signed_in(client, officer_b)

    assert client.get(detail_url(job)).status_code == 404
    assert client.get(progress_url(job)).status_code == 404
    assert client.get(report_url(job)).status_code == 404
    assert "测试任务" not in client.get(LIST).content.decode()
    assert AuditEntry.objects.filter(action="access.denied", actor=officer_b).count() == 3


def test_district_officer_sees_a_school_job(
    client: Client,
    start: Callable[..., Job],
    officer_a: User,
    district_officer: User,
    school_a: OrgUnit,
) -> None:
    job = start(officer_a, school_a)
    signed_in(client, district_officer)

    assert client.get(detail_url(job)).status_code == 200
    assert "测试任务" in client.get(LIST).content.decode()


def test_outsider_is_refused_the_list(client: Client, outsider: User) -> None:
    response = signed_in(client, outsider).get(LIST)

    assert response.status_code == 403
    assert "没有此项操作权限" in response.content.decode()


def test_principal_without_job_view_is_refused_even_a_visible_unit(
    client: Client,
    start: Callable[..., Job],
    officer_a: User,
    principal_a: User,
    school_a: OrgUnit,
) -> None:
    job = start(officer_a, school_a)

    assert signed_in(client, principal_a).get(detail_url(job)).status_code == 403


def test_list_is_newest_first_and_paginated(
    client: Client, start: Callable[..., Job], officer_a: User, school_a: OrgUnit
) -> None:
    for number in range(51):
        start(officer_a, school_a, f"任务{number:02d}")
    signed_in(client, officer_a)

    first = client.get(LIST).content.decode()
    second = client.get(LIST, {"page": 2}).content.decode()

    assert first.index("任务50") < first.index("任务49")
    assert "任务00" not in first
    assert "任务00" in second
    assert "第 2 / 2 页" in second


def test_list_query_count_does_not_grow_with_jobs(
    client: Client,
    start: Callable[..., Job],
    officer_a: User,
    district_officer: User,
    school_a: OrgUnit,
) -> None:
    start(officer_a, school_a)
    signed_in(client, district_officer)
    client.get(LIST)
    with CaptureQueriesContext(connection) as one:
        client.get(LIST)
    for _ in range(5):
        start(district_officer, school_a)
    with CaptureQueriesContext(connection) as six:
        response = client.get(LIST)

    assert response.content.decode().count("/jobs/") >= 6
    assert len(six) == len(one)


# --- progress --------------------------------------------------------------------------------


def test_progress_fragment_polls_while_running_and_stops_when_finished(
    client: Client, script: Script, start: Callable[..., Job], officer_a: User, school_a: OrgUnit
) -> None:
    signed_in(client, officer_a)
    seen: dict[str, str] = {}

    def look(job: Job) -> None:
        # ImmediateBackend runs the handler in-line, so this request sees the running job.
        seen["running"] = client.get(progress_url(job), HTTP_HX_REQUEST="true").content.decode()

    script.during = look
    job = start(officer_a, school_a)
    finished = client.get(progress_url(job), HTTP_HX_REQUEST="true")

    assert 'hx-trigger="every 1s"' in seen["running"]
    assert "进行中" in seen["running"]
    assert 'aria-valuenow="50"' in seen["running"]
    assert "校验数据" in seen["running"]
    assert finished.status_code == 200
    assert "hx-trigger" not in finished.content.decode()
    assert "已完成" in finished.content.decode()
    assert "no-cache" in finished["Cache-Control"]


def test_detail_page_of_a_running_job_polls(
    client: Client, script: Script, start: Callable[..., Job], officer_a: User, school_a: OrgUnit
) -> None:
    signed_in(client, officer_a)
    seen: dict[str, str] = {}
    script.during = lambda job: seen.update(page=client.get(detail_url(job)).content.decode())

    start(officer_a, school_a)

    assert 'hx-get="/jobs/' in seen["page"]
    assert 'hx-trigger="every 1s"' in seen["page"]
    assert "下载错误报告" not in seen["page"]


# --- the error report ------------------------------------------------------------------------

BAD_ROW = {"row": 3, "column": "身份证号", "value": "420117201403010010", "reason": "校验码错误"}


def test_rejected_job_offers_its_report_and_the_download_is_audited(
    client: Client, script: Script, start: Callable[..., Job], officer_a: User, school_a: OrgUnit
) -> None:
    script.reject = [BAD_ROW]
    job = start(officer_a, school_a)
    signed_in(client, officer_a)

    page = client.get(detail_url(job)).content.decode()
    response = client.get(report_url(job))

    assert job.status == JobStatus.REJECTED
    assert "未通过校验" in page
    assert "文件中有 1 处错误" in page
    assert report_url(job) in page
    assert response.status_code == 200
    assert "attachment" in response["Content-Disposition"]
    assert "%E9%94%99%E8%AF%AF%E6%8A%A5%E5%91%8A" in response["Content-Disposition"]  # 错误报告
    content = b"".join(response.streaming_content)  # type: ignore[arg-type]
    rows = CalamineWorkbook.from_filelike(io.BytesIO(content)).get_sheet_by_index(0).to_python()
    assert any("校验码错误" in [str(cell) for cell in row] for row in rows)
    logged = AuditEntry.objects.get(action="job.report_downloaded")
    assert logged.actor == officer_a
    assert logged.org_unit == school_a
    assert logged.after == {"filters": {"job": job.pk}, "rows": 1}


def test_report_of_a_job_without_one_is_404(
    client: Client, start: Callable[..., Job], officer_a: User, school_a: OrgUnit
) -> None:
    job = start(officer_a, school_a)

    response = signed_in(client, officer_a).get(report_url(job))

    assert response.status_code == 404
    assert not AuditEntry.objects.filter(action="job.report_downloaded").exists()


def test_other_school_cannot_download_the_report(
    client: Client,
    script: Script,
    start: Callable[..., Job],
    officer_a: User,
    officer_b: User,
    school_a: OrgUnit,
) -> None:
    script.reject = [BAD_ROW]
    job = start(officer_a, school_a)

    assert signed_in(client, officer_b).get(report_url(job)).status_code == 404
    assert not AuditEntry.objects.filter(action="job.report_downloaded").exists()
