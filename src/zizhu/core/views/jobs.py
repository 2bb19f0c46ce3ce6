"""Background jobs as people follow them: the list, one job with a polled progress fragment,
and the download of a rejected import's error report.

A job is seen by its starter and by anyone whose `job:view` reach covers its org unit
(`JobQuerySet.visible_to`); anything else answers 404 like a missing job.
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.http import FileResponse, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from zizhu.core.errors import OutOfReach
from zizhu.core.http import XLSX_TYPE, actor_of, paginate
from zizhu.core.models import Job, JobStatus, User
from zizhu.core.reach import require_permission
from zizhu.core.services import record_export

VIEW_PERM = "job:view"

# How each status is badged: green when done, amber while waiting or working, red when the
# person has something to fix.
STATUS_CSS: dict[str, str] = {
    JobStatus.QUEUED: "warn",
    JobStatus.RUNNING: "warn",
    JobStatus.SUCCEEDED: "ok",
    JobStatus.REJECTED: "bad",
    JobStatus.FAILED: "bad",
}

# The page showing a job kind's full outcome: (reverse accessor from Job, URL name, link text).
# Named by string because core cannot import the apps above it (navigation.py's menu names
# their pages the same way).
RESULT_PAGES: dict[str, tuple[str, str, str]] = {
    "register_import": ("register_import", "registry:import_detail", "查看导入详情"),
    "dataset_import": ("dataset_version", "sources:version_detail", "查看导入的数据版本"),
    "crosscheck_run": ("crosscheck_run", "crosscheck:run_detail", "查看比对结果"),
}

# Labels for the counts handlers put in `Job.result`; unknown keys are shown as they are.
RESULT_LABELS: dict[str, str] = {
    "errors": "错误数",
    "run": "比对运行编号",
    "run_id": "运行记录号",
    "clues": "生成线索",
    "rows": "行数",
    "created": "新增",
    "updated": "更新",
    "unchanged": "未变化",
    "removed": "删除",
    "status_changes": "学籍异动",
    "transfers": "区内转学",
    "students_moved": "调整家庭的学生",
    "households": "家庭",
    "schools": "学校",
    "students": "学生",
    "guardians": "监护人",
    "staff": "教职工",
}


def visible_jobs(actor: User) -> QuerySet[Job]:
    require_permission(actor, VIEW_PERM)
    return Job.objects.visible_to(actor).select_related("org_unit", "created_by")


def get_job_for(actor: User, pk: int) -> Job:
    """One job within reach (or started by the actor); OutOfReach (404) otherwise."""
    try:
        return visible_jobs(actor).get(pk=pk)
    except Job.DoesNotExist:
        raise OutOfReach() from None


def _result_page(job: Job) -> tuple[str, str] | None:
    """(url, label) of the page showing what the job produced, once that exists."""
    page = RESULT_PAGES.get(job.kind)
    if page is None:
        return None
    accessor, url_name, label = page
    # A rejected import rolls its record back, so the related row may be missing.
    produced = getattr(job, accessor, None)
    if produced is None:
        return None
    return reverse(url_name, args=[produced.pk]), label


def _label(key: str) -> str:
    return RESULT_LABELS.get(key, key)


def _result_counts(job: Job) -> list[tuple[str, str]]:
    """The handler's result as (label, text) lines; a nested group reads on one line,
    e.g. ("学生", "新增 7，更新 3")."""
    lines: list[tuple[str, str]] = []
    for key, value in job.result.items():
        if isinstance(value, dict):
            parts = [f"{_label(k)} {v}" for k, v in value.items() if not isinstance(v, dict | list)]
            if parts:
                lines.append((_label(key), "，".join(parts)))
        elif not isinstance(value, list):
            lines.append((_label(key), str(value)))
    return lines


def _progress_context(job: Job) -> dict[str, Any]:
    return {
        "job": job,
        "status_css": STATUS_CSS.get(job.status, "warn"),
        "result_page": _result_page(job) if job.finished else None,
        "result_counts": _result_counts(job),
    }


@require_GET
def job_list(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    jobs = visible_jobs(actor).defer("params", "result").order_by("-created_at", "-id")
    page = paginate(request, jobs)
    rows = [(job, STATUS_CSS.get(job.status, "warn")) for job in page]
    return render(request, "core/job_list.html", {"page": page, "rows": rows})


@require_GET
def job_detail(request: HttpRequest, pk: int) -> HttpResponse:
    job = get_job_for(actor_of(request), pk)
    return render(request, "core/job_detail.html", _progress_context(job))


@never_cache
@require_GET
def job_progress(request: HttpRequest, pk: int) -> HttpResponse:
    """The status block, polled every second by htmx while the job is not finished.

    The finished block carries no trigger, so polling stops there; it holds the message,
    counts and links too, so the page shows the outcome without a reload.
    """
    job = get_job_for(actor_of(request), pk)
    return render(request, "core/_job_progress.html", _progress_context(job))


@require_GET
def job_report(request: HttpRequest, pk: int) -> FileResponse:
    """The XLSX error report. It quotes the refused cells (ID numbers among them), so every
    download is logged like an export of personal data."""
    actor = actor_of(request)
    job = get_job_for(actor, pk)
    if not job.report:
        raise OutOfReach("该任务没有错误报告。")
    errors = job.result.get("errors", 0)
    record_export(
        "job.report_downloaded",
        actor=actor,
        perm=VIEW_PERM,
        filters={"job": job.pk},
        rows=errors if isinstance(errors, int) else 0,
        org_unit=job.org_unit,
    )
    return FileResponse(
        job.report.open("rb"),
        as_attachment=True,
        filename=f"错误报告-任务{job.pk}-{timezone.localtime(job.created_at):%Y%m%d}.xlsx",
        content_type=XLSX_TYPE,
    )
