"""The school register import (学籍导入, issue 3): up to four exchange files, all or nothing.

`import_register` works in four steps:

(a) read every file with `core.tabular` (no writes);
(b) check across the files and against the database: known schools and towns, the actor's
    reach, grades that fit the stage and the birth date, gender against the ID number,
    duplicates, guardians whose student exists, and status changes the ledger accepts;
(c) any error in any file → `ImportRejected` with one report for all files; nothing is
    written (exchange-formats.md, "Common rules");
(d) write everything in one transaction. A re-import updates by ID number (blind index) and
    records per student what changed (`RegisterChange`, identifiers masked). A changed
    学籍状态 or school of a registered student becomes a ledger entry through
    `record_status_change`, which alone writes that student's status and school (issue 3:
    the current status is derived from the ledger, not edited beside it).

Modules: `common` (kinds, the plan, the error report, reading (a), a fast INSERT), `checks`
(b), `writes`, `households` and `guardians` (d). This one holds the entry points: the import, the
background job the web starts, and the same job run in-process for `zizhu import-register`.

Performance (issue 3: 100,000 students and 150,000 guardians from XLSX in 30 s on SQLite):
registered rows are loaded by blind index in a few set queries, new rows are inserted with
executemany (`common.insert`), changed rows go through `bulk_update`. Per-row queries happen
only for ledger entries of registered students, which are few in any one re-import.
"""

from __future__ import annotations

import gc
from collections.abc import Iterable, Iterator, Mapping
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import IO, Any, cast

from django.core.files.base import File
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import timezone

from zizhu.core import audit
from zizhu.core.errors import DomainError
from zizhu.core.jobs import Progress, handles, run_job, start_job
from zizhu.core.models import Job, OrgUnit, User
from zizhu.core.reach import home_unit, require_permission
from zizhu.registry.grades import GRADES
from zizhu.registry.imports.checks import grade_problem, validate
from zizhu.registry.imports.common import (
    COLUMNS,
    GUARDIANS,
    KINDS,
    LABELS,
    SCHOOLS,
    STAFF,
    STUDENTS,
    SUFFIXES,
    Plan,
    ProgressFn,
    RegisterFile,
    Report,
    no_progress,
    read_files,
    school_year_start,
)
from zizhu.registry.imports.guardians import guardian_changes, plan_guardians, write_guardians
from zizhu.registry.imports.households import plan_households
from zizhu.registry.imports.writes import (
    create_students,
    update_students,
    write_changes,
    write_enrolments,
    write_ledger,
    write_schools,
    write_staff,
)
from zizhu.registry.models import RegisterImport, Student

__all__ = [
    "COLUMNS",
    "GRADES",
    "JOB_KIND",
    "KINDS",
    "LABELS",
    "SUFFIXES",
    "RegisterFile",
    "grade_problem",
    "import_register",
    "run_register_import",
    "run_register_import_job",
    "school_year_start",
    "start_register_import",
    "summary_message",
]

# --- the import ------------------------------------------------------------------------------


def _write(plan: Plan) -> dict[str, Any]:
    summary: dict[str, Any] = {}
    schools = write_schools(plan)
    if SCHOOLS in plan.tables:
        summary[SCHOOLS] = schools
    if STUDENTS in plan.tables or GUARDIANS in plan.tables:
        summary.update(_write_people(plan))
    if STAFF in plan.tables:
        summary[STAFF] = write_staff(plan)
    return summary


def _write_people(plan: Plan) -> dict[str, Any]:
    households = plan_households(plan)
    created = create_students(plan, households.for_new)
    student_pks = {digest: existing.pk for digest, existing in plan.existing.items()}
    student_pks.update((student.digest, pk) for pk, student in created.items())
    updated = update_students(plan)
    moved = [Student(pk=pk, household_id=household) for pk, household in households.moved.items()]
    Student.objects.bulk_update(moved, ["household"], batch_size=500)
    work = plan_guardians(plan)
    write_changes(plan, created, updated, guardian_changes(work), student_pks)
    write_enrolments(plan, created)
    ledger = write_ledger(plan)
    guardians = write_guardians(plan, work, student_pks)
    in_file = {
        plan.existing[d].pk for d in map(plan.id_hash, plan.file_students) if d in plan.existing
    }
    summary: dict[str, Any] = {
        "households": {"created": households.created, "students_moved": len(moved)}
    }
    if STUDENTS in plan.tables or updated:
        summary[STUDENTS] = {
            "created": len(created),
            "updated": len(updated),
            "unchanged": len(in_file - set(updated)),
            "status_changes": ledger["status_changes"],
            "transfers": ledger["transfers"],
        }
    if GUARDIANS in plan.tables:
        summary[GUARDIANS] = guardians
    return summary


def _check_kinds(names: Mapping[str, str]) -> None:
    if not names:
        raise DomainError("请至少选择一个学籍文件（学校、学生、监护人或教职工）。")
    unknown = sorted(set(names) - set(KINDS))
    if unknown:
        raise DomainError(f"未知的学籍文件类型：{'、'.join(unknown)}。")
    for name in names.values():
        if Path(name).suffix.lower() not in SUFFIXES:
            raise DomainError(f"“{name}”不是 CSV 或 XLSX 文件：请上传 .csv 或 .xlsx 文件。")


def import_register(
    files: Mapping[str, RegisterFile],
    *,
    actor: User,
    register_import: RegisterImport,
    progress: ProgressFn | None = None,
) -> dict[str, Any]:
    """Import the register files (keys: "schools", "students", "guardians", "staff"), all
    or nothing. Raises ImportRejected with the whole report when any row is bad; returns
    the counts per kind, which are also kept in `register_import.summary`."""
    require_permission(actor, "register:import")
    _check_kinds({kind: upload.name for kind, upload in files.items()})
    with _gc_paused():
        return _import(files, actor, register_import, progress or no_progress)


@contextmanager
def _gc_paused() -> Iterator[None]:
    """Cyclic garbage collection is paused for the import: it holds a few hundred thousand
    row objects, and every full collection walks them all again (a fifth of the run time at
    100,000 students). Reference counting still frees everything that is not a cycle."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _import(
    files: Mapping[str, RegisterFile],
    actor: User,
    register_import: RegisterImport,
    tick: ProgressFn,
) -> dict[str, Any]:
    report = Report()
    tables = read_files(files, report, tick)
    register_import.files = [
        {"kind": kind, "name": files[kind].name, "sha256": table.sha256, "rows": table.row_count}
        for kind, table in tables.items()
    ]
    register_import.save(update_fields=["files"])
    if report.file_messages:
        report.raise_if_any()
    plan = Plan(actor, register_import, tick, tables, report)
    plan.total = 2 * sum(table.row_count for table in tables.values())
    validate(plan)
    report.raise_if_any()
    plan.tick("写入数据库")
    return _commit(plan)


@transaction.atomic
def _commit(plan: Plan) -> dict[str, Any]:
    summary = _write(plan)
    plan.register_import.summary = summary
    plan.register_import.save(update_fields=["summary"])
    audit.record(
        "register.imported",
        actor=plan.actor,
        subject=plan.register_import,
        org_unit=plan.register_import.job.org_unit,
        after={"files": plan.register_import.files, **summary},
    )
    return summary


def summary_message(summary: Mapping[str, Any]) -> str:
    parts = []
    for kind in KINDS:
        counts = summary.get(kind)
        if counts is None:
            continue
        text = (
            f"{LABELS[kind]}新增 {counts['created']}、更新 {counts['updated']}、"
            f"未变 {counts['unchanged']}"
        )
        if kind == GUARDIANS:
            text += f"、删除 {counts['removed']}"
        if kind == STUDENTS:
            text += f"，学籍异动 {counts['status_changes']} 条、区内转学 {counts['transfers']} 条"
        parts.append(text)
    return "学籍导入完成：" + "；".join(parts) + "。"


# --- the job: the web's way (a worker runs it) and the command's way (run here and now) --------

JOB_KIND = "register_import"


def _title(kinds: Iterable[str]) -> str:
    return "学籍导入：" + "、".join(LABELS[kind] for kind in KINDS if kind in set(kinds))


def _prepare(actor: User, names: Mapping[str, str]) -> OrgUnit:
    """Check the permission and the files; the unit the job is filed under."""
    require_permission(actor, "register:import")
    _check_kinds(names)
    unit = home_unit(actor, "register:import")
    if unit is None:  # require_permission passed, so some role grants it
        raise LookupError("no unit grants register:import")
    return unit


def _store(kind: str, name: str, content: File[bytes]) -> dict[str, str]:
    suffix = Path(name).suffix.lower()
    folder = f"jobs/uploads/{timezone.localdate():%Y/%m}"
    path = default_storage.save(f"{folder}/register-{kind}{suffix}", content)
    return {"path": path, "name": name}


def start_register_import(uploads: Mapping[str, File[bytes]], *, actor: User) -> Job:
    """The web's way: save the uploads and queue the import as a background job."""
    names = {kind: upload.name or "" for kind, upload in uploads.items()}
    unit = _prepare(actor, names)
    params = {
        "files": {kind: _store(kind, names[kind], upload) for kind, upload in uploads.items()}
    }
    return start_job(JOB_KIND, actor=actor, org_unit=unit, title=_title(uploads), params=params)


def run_register_import(paths: Mapping[str, Path], *, actor: User) -> Job:
    """The command's way: the same job, run now in this process rather than by a worker.

    The files are stored like uploads, so the job page shows this import like any other.
    """
    unit = _prepare(actor, {kind: path.name for kind, path in paths.items()})
    stored = {}
    for kind, path in paths.items():
        with path.open("rb") as stream:
            stored[kind] = _store(kind, path.name, File(stream, name=path.name))
    with transaction.atomic():
        job = Job.objects.create(
            kind=JOB_KIND,
            title=_title(paths),
            created_by=actor,
            org_unit=unit,
            params={"files": stored},
        )
        audit.record(
            "job.started",
            actor=actor,
            subject=job,
            org_unit=unit,
            after={"kind": JOB_KIND, **job.params},
        )
    run_job.call(job.pk)
    job.refresh_from_db()
    return job


@handles(JOB_KIND)
def run_register_import_job(job: Job, progress: Progress) -> tuple[dict[str, Any], str]:
    specs: dict[str, dict[str, str]] = job.params.get("files", {})
    register_import, _ = RegisterImport.objects.get_or_create(job=job)
    with ExitStack() as stack:
        files = {
            kind: RegisterFile(
                cast(IO[bytes], stack.enter_context(default_storage.open(spec["path"], "rb"))),
                spec["name"],
            )
            for kind, spec in specs.items()
        }
        summary = import_register(
            files, actor=job.created_by, register_import=register_import, progress=progress
        )
    return summary, summary_message(summary)
