"""Background jobs: a `Job` row records a long operation; a django-tasks task runs it.

Higher apps register a handler per job kind (in their AppConfig.ready). The task is
enqueued inside the transaction that creates the job row, so with the database backend the
job and its queue entry commit together: no job without its task, no task without its job.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.core.files.base import ContentFile, File
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import timezone
from django_tasks import task

from zizhu.core import audit
from zizhu.core.errors import DomainError, ImportRejected
from zizhu.core.models import Job, JobStatus, OrgUnit, User
from zizhu.core.tabular import RowError, error_report_xlsx

logger = logging.getLogger(__name__)


@dataclass
class Progress:
    """Handlers report progress through this; each call is its own small write."""

    job: Job

    def __call__(self, done: int, *, total: int | None = None, stage: str | None = None) -> None:
        fields: dict[str, Any] = {"done": done}
        if total is not None:
            fields["total"] = total
            self.job.total = total
        if stage is not None:
            fields["stage"] = stage
        fields["done"] = min(done, self.job.total) if self.job.total else 0
        Job.objects.filter(pk=self.job.pk).update(**fields)


# A handler does the work and returns (result dict, message for the person).
Handler = Callable[[Job, Progress], tuple[dict[str, Any], str]]
HANDLERS: dict[str, Handler] = {}


def handles(kind: str) -> Callable[[Handler], Handler]:
    def register(handler: Handler) -> Handler:
        HANDLERS[kind] = handler
        return handler

    return register


@transaction.atomic
def start_job(
    kind: str,
    *,
    actor: User,
    org_unit: OrgUnit,
    title: str,
    params: dict[str, Any] | None = None,
    upload: File[bytes] | None = None,
) -> Job:
    """Record and enqueue a job. Callers check the permission for what the job does."""
    if kind not in HANDLERS:
        raise DomainError(f"未知的任务类型“{kind}”。")
    job = Job(kind=kind, title=title, created_by=actor, org_unit=org_unit, params=params or {})
    if upload is not None:
        job.upload.save(upload.name or "upload", upload, save=False)
    job.save()
    audit.record(
        "job.started",
        actor=actor,
        subject=job,
        org_unit=org_unit,
        after={"kind": kind, **job.params},
    )
    run_job.enqueue(job.pk)
    return job


@task()
def run_job(job_id: int) -> None:
    claimed = Job.objects.filter(pk=job_id, status=JobStatus.QUEUED).update(
        status=JobStatus.RUNNING, started_at=timezone.now()
    )
    if claimed != 1:  # already taken by another worker, or not queued any more
        return
    job = Job.objects.get(pk=job_id)
    try:
        result, message = HANDLERS[job.kind](job, Progress(job))
    except ImportRejected as rejection:
        _finish_rejected(job, rejection)
    except DomainError as error:
        _finish(job, JobStatus.FAILED, message=error.message)
    except Exception:
        logger.exception("job %s (%s) failed", job.pk, job.kind)
        _finish(
            job,
            JobStatus.FAILED,
            message="处理过程中发生内部错误，未写入任何数据。请联系系统管理员。",
        )
    else:
        _finish(job, JobStatus.SUCCEEDED, message=message, result=result)


def _finish_rejected(job: Job, rejection: ImportRejected) -> None:
    errors = [
        RowError(int(str(e["row"])), str(e["column"]), str(e["value"]), str(e["reason"]))
        for e in rejection.report
        if "row" in e
    ]
    if errors:
        job.report.save(f"error-report-{job.pk}.xlsx", ContentFile(error_report_xlsx(errors)))
    _finish(job, JobStatus.REJECTED, message=rejection.message, result={"errors": len(errors)})


def uploaded_paths(job: Job) -> list[str]:
    """Storage paths of the files a job was given: `job.upload`, and the convention
    `params["files"] = {kind: {"path": …, "name": …}}` for jobs given several files."""
    paths = [job.upload.name] if job.upload else []
    files = job.params.get("files")
    if isinstance(files, dict):
        paths += [str(spec["path"]) for spec in files.values() if isinstance(spec, dict)]
    return [path for path in paths if path]


def _discard_uploads(job: Job) -> None:
    """Uploaded files hold clear ID numbers; once the job is done they are deleted. The
    provenance that stays is the file name, its SHA-256 and its row count (architecture.md,
    "Personal data")."""
    for path in uploaded_paths(job):
        default_storage.delete(path)


@transaction.atomic
def _finish(job: Job, status: str, *, message: str, result: dict[str, Any] | None = None) -> None:
    Job.objects.filter(pk=job.pk, status=JobStatus.RUNNING).update(
        status=status,
        message=message,
        result=result or {},
        finished_at=timezone.now(),
        report=job.report.name or "",
    )
    job.refresh_from_db()
    audit.record(
        f"job.{status}",
        actor=job.created_by,
        subject=job,
        org_unit=job.org_unit,
        after={"message": message[:500], **(result or {})},
    )
    transaction.on_commit(lambda: _discard_uploads(job))
