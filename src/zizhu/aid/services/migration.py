"""The first year's migration of current recipients (受助学生, exchange-formats.md).

A district starting on this system brings the recipients exported from the national system.
The file is history: rows that break award rules — the same programme twice, mutually
exclusive programmes, a student the rules would not admit, a school other than the one the
register holds — are imported as they are, because the cross-checks exist to flag them
(issue 4, "Migration of current recipients"). Malformed rows are refused, all or nothing,
with a row-by-row report, like every exchange file.

A student missing from the register is refused as malformed too: an award must point at a
registered student (the ledger, the cross-checks and payments all start there), so the
register is imported first.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar

from django.core.files.base import File
from django.db import transaction
from django.utils import timezone

from zizhu.aid.models import (
    Award,
    AwardSource,
    AwardStatus,
    DifficultyTier,
    HardshipCategory,
    Programme,
    SchoolYear,
)
from zizhu.core import audit
from zizhu.core.crypto import Sensitive, blind_index
from zizhu.core.errors import DomainError, NotPermitted
from zizhu.core.jobs import Progress, handles, start_job
from zizhu.core.models import AuditEntry, Job, OrgUnit, UnitKind, User
from zizhu.core.reach import home_unit, require_permission, scope_for
from zizhu.core.tabular import (
    CellError,
    Column,
    Parser,
    Row,
    RowError,
    Source,
    Table,
    amount,
    choice,
    id_number,
    month,
    optional,
    read_table,
    school_year,
    text,
)
from zizhu.registry.models import Student, StudentStatus

T = TypeVar("T")

IMPORT_PERM = "award:import"
JOB_KIND = "award_import"
IMPORTED_ACTION = "award.imported"
SUFFIXES = (".csv", ".xlsx")

LIVE, STOPPED = "有效", "已停止"
STATUS_VALUE = {LIVE: AwardStatus.LIVE, STOPPED: AwardStatus.STOPPED}
NOT_REGISTERED = "学生不在学籍库中，请先导入学籍。"


# The file's columns (exchange-formats.md, "Existing recipients"): header, key.
SPEC: tuple[tuple[str, str], ...] = (
    ("身份证号", "id_number"),
    ("姓名", "name"),
    ("学校代码", "school_code"),
    ("资助项目", "programme"),
    ("学年", "school_year"),
    ("困难类别", "category"),
    ("困难等级", "tier"),
    ("年度金额", "annual_amount"),
    ("开始月份", "start_month"),
    ("结束月份", "end_month"),
    ("状态", "status"),
)
HEADERS = {key: header for header, key in SPEC}


def _chunks(items: Sequence[T], size: int = 900) -> Iterator[Sequence[T]]:
    # 900 keeps every IN list under SQLite's oldest parameter limit (999).
    for start in range(0, len(items), size):
        yield items[start : start + size]


# --- the columns: codes and names resolved while the file is read ----------------------------


class _Config:
    """Schools and the aid configuration, each read in one query, so that the parsers turn a
    code or a name into its row and every unknown one is a cell error in the same report as
    the format errors."""

    def __init__(self, actor: User) -> None:
        self.scope = scope_for(actor, IMPORT_PERM)
        self.programmes: dict[str, Programme] = {}
        for programme in Programme.objects.all():
            self.programmes[programme.code.upper()] = programme
            self.programmes[programme.name] = programme
        self.schools = {unit.code: unit for unit in OrgUnit.objects.filter(kind=UnitKind.SCHOOL)}
        self.years = {year.code: year for year in SchoolYear.objects.all()}
        self.tiers = {tier.name: tier for tier in DifficultyTier.objects.all()}
        self.categories = {c.number: c for c in HardshipCategory.objects.all()}

    def school(self, raw: str) -> OrgUnit:
        code = text(20)(raw)
        unit = self.schools.get(code)
        if unit is None:
            raise CellError(f"学校代码“{code}”不存在，请核对或先导入学校。")
        if not self.scope.covers(unit.pk):
            raise CellError("该学校不在您的管辖范围内，不能导入该学校的受助学生。")
        return unit

    def programme(self, raw: str) -> Programme:
        value = text(60)(raw)
        found = self.programmes.get(value.upper()) or self.programmes.get(value)
        if found is None:
            raise CellError(
                f"未知的资助项目“{value}”：请填写项目代码（如 HS_STIPEND）"
                "或项目名称（如 普通高中国家助学金）。"
            )
        return found

    def year(self, raw: str) -> SchoolYear:
        code = school_year(raw)
        if code not in self.years:
            raise CellError(f"学年“{code}”尚未在资助配置中设置，请区资助中心先添加该学年。")
        return self.years[code]

    def category(self, raw: str) -> HardshipCategory:
        value = raw.strip()
        if value not in {str(n) for n in range(1, 8)}:
            raise CellError("困难类别应为 1–7 之间的数字。")
        if int(value) not in self.categories:
            raise CellError(f"第{value}类困难类别尚未在资助配置中设置。")
        return self.categories[int(value)]

    def tier(self, raw: str) -> DifficultyTier:
        value = raw.strip()
        if value not in self.tiers:
            raise CellError(f"应为以下之一：{'、'.join(self.tiers)}。")
        return self.tiers[value]

    def columns(self) -> tuple[Column, ...]:
        parsers: dict[str, Parser] = {
            "id_number": id_number,
            "name": text(50),
            "school_code": self.school,
            "programme": self.programme,
            "school_year": self.year,
            "category": self.category,
            "tier": self.tier,
            "annual_amount": amount,
            "start_month": month,
            "end_month": optional(month),
            "status": choice((LIVE, STOPPED)),
        }
        # 结束月份 may be blank, so a file may leave the column out.
        return tuple(
            Column(header, key, parsers[key], required=key != "end_month") for header, key in SPEC
        )


# --- the register: the students the rows name -------------------------------------------------


@dataclass(frozen=True)
class _Student:
    pk: int
    name: str
    school_id: int
    status: str


def _registered(rows: Sequence[Row]) -> dict[str, _Student]:
    """Registered students by ID number, read by blind index in chunks."""
    hashes = {row["id_number"]: blind_index(row["id_number"], Sensitive.ID_NUMBER) for row in rows}
    by_hash: dict[str, _Student] = {}
    for chunk in _chunks(sorted(set(hashes.values()))):
        found = Student.objects.filter(id_number_hash__in=chunk).values_list(
            "id_number_hash", "pk", "name", "school_id", "status"
        )
        for digest, pk, name, school_id, status in found:
            by_hash[digest or ""] = _Student(pk, name, school_id, status)
    return {number: by_hash[digest] for number, digest in hashes.items() if digest in by_hash}


@dataclass(frozen=True)
class _Planned:
    row: Row
    student: _Student


def _validate(table: Table) -> list[_Planned]:
    """The checks that need the whole row or the register, on rows whose cells parsed."""
    students = _registered(table.rows)
    planned: list[_Planned] = []
    for row in table.rows:
        good = True
        student = students.get(row["id_number"])
        if student is None:
            table.errors.append(
                RowError(row.number, HEADERS["id_number"], row["id_number"], NOT_REGISTERED)
            )
            good = False
        end: date | None = row["end_month"]
        if end is not None and end < row["start_month"]:
            reason = "结束月份不能早于开始月份。"
            table.errors.append(RowError(row.number, HEADERS["end_month"], f"{end:%Y-%m}", reason))
            good = False
        if good and student is not None:
            planned.append(_Planned(row, student))
    return planned


# --- what the cross-checks will find: counted for the person, never refused ---------------------


FLAG_LABELS = {
    "duplicates": "同一学生同一学年重复享受同一项目",
    "exclusive": "同一学生同一学年享受互斥项目",
    "school_mismatch": "所在学校与学籍库不一致",
    "name_mismatch": "姓名与学籍库不一致",
    "not_enrolled": "学籍状态不是在读",
}


def _exclusive_pairs() -> set[tuple[int, int]]:
    pairs = Programme.excludes.through.objects.values_list("from_programme_id", "to_programme_id")
    return {(a, b) for a, b in pairs} | {(b, a) for a, b in pairs}


def _flags(planned: Sequence[_Planned]) -> dict[str, int]:
    """Rows that break award rules, accepted as history (exchange-formats.md)."""
    held: dict[tuple[int, int], list[int]] = {}  # (student, year) -> programmes, file and DB
    student_ids = sorted({p.student.pk for p in planned})
    for chunk in _chunks(student_ids):
        existing = Award.objects.filter(student_id__in=chunk, status=AwardStatus.LIVE)
        for student_id, year_id, programme_id in existing.values_list(
            "student_id", "school_year_id", "programme_id"
        ):
            held.setdefault((student_id, year_id), []).append(programme_id)
    exclusive = _exclusive_pairs()
    flags: Counter[str] = Counter()
    for p in planned:
        if p.row["status"] == LIVE:
            key = (p.student.pk, p.row["school_year"].pk)
            held.setdefault(key, []).append(p.row["programme"].pk)
        flags["school_mismatch"] += p.row["school_code"].pk != p.student.school_id
        flags["name_mismatch"] += p.row["name"] != p.student.name
        flags["not_enrolled"] += p.student.status != StudentStatus.ENROLLED
    for programmes in held.values():
        counts = Counter(programmes)
        flags["duplicates"] += sum(n - 1 for n in counts.values() if n > 1)
        distinct = sorted(counts)
        flags["exclusive"] += sum(
            1 for i, a in enumerate(distinct) for b in distinct[i + 1 :] if (a, b) in exclusive
        )
    return {key: flags[key] for key in FLAG_LABELS}


# --- the import --------------------------------------------------------------------------------


def _award(p: _Planned) -> Award:
    row = p.row
    status = STATUS_VALUE[row["status"]]
    end_month: date | None = row["end_month"]
    if status == AwardStatus.STOPPED and end_month is None:
        # A stopped award needs its last month; the export left it blank, so the award is
        # taken to have stopped in the month it started (paid at most that month).
        end_month = row["start_month"]
    return Award(
        student_id=p.student.pk,
        school=row["school_code"],
        programme=row["programme"],
        school_year=row["school_year"],
        category=row["category"],
        tier=row["tier"],
        annual_amount=Decimal(row["annual_amount"]),
        start_month=row["start_month"],
        end_month=end_month,
        status=status,
        source=AwardSource.MIGRATION,
    )


def _refuse_repeat(table: Table) -> None:
    """The same file twice would double every award; its hash is in the first import's
    audit row, the import's only record."""
    earlier = (
        AuditEntry.objects.filter(action=IMPORTED_ACTION, after__sha256=table.sha256)
        .order_by("at")
        .first()
    )
    if earlier is not None:
        when = timezone.localtime(earlier.at)
        raise DomainError(
            f"该文件（内容完全相同）已于 {when:%Y-%m-%d %H:%M} 导入过，本次未重复导入。"
            "如需补充，请只上传新增的受助学生。"
        )


def _no_progress(done: int, *, total: int | None = None, stage: str | None = None) -> None:
    """Stands in for `core.jobs.Progress` when nobody is watching."""


def import_awards(
    source: Source,
    filename: str,
    *,
    actor: User,
    progress: Callable[..., None] | None = None,
) -> dict[str, Any]:
    """Read and check the 受助学生 file, then create its awards in one transaction.

    Any malformed row raises ImportRejected with the whole report and nothing is written.
    Returns the counts: rows, live, stopped, and the rule-breaking rows accepted as history.
    """
    require_permission(actor, IMPORT_PERM)
    tick = progress or _no_progress
    tick(0, stage="读取并校验文件")
    table = read_table(source, filename, _Config(actor).columns())
    planned = _validate(table)
    table.raise_if_errors()
    if not planned:
        raise DomainError("文件中只有表头，没有受助学生记录，未导入任何数据。")
    _refuse_repeat(table)
    tick(0, total=len(planned), stage="写入数据库")
    summary = _write(planned, actor=actor, filename=Path(filename).name, sha256=table.sha256)
    tick(len(planned), total=len(planned), stage="完成")
    return summary


@transaction.atomic
def _write(
    planned: Sequence[_Planned], *, actor: User, filename: str, sha256: str
) -> dict[str, Any]:
    awards = [_award(p) for p in planned]
    flags = _flags(planned)
    Award.objects.bulk_create(awards, batch_size=1000)
    summary: dict[str, Any] = {
        "rows": len(awards),
        "live": sum(award.status == AwardStatus.LIVE for award in awards),
        "stopped": sum(award.status == AwardStatus.STOPPED for award in awards),
        "flags": flags,
    }
    audit.record(
        IMPORTED_ACTION,
        actor=actor,
        org_unit=home_unit(actor, IMPORT_PERM),
        after={"file_name": filename, "sha256": sha256, **summary},
    )
    return summary


def summary_message(summary: dict[str, Any]) -> str:
    flagged = [f"{FLAG_LABELS[key]} {count} 条" for key, count in summary["flags"].items() if count]
    text = (
        f"受助学生导入完成：共 {summary['rows']} 条，其中有效 {summary['live']} 条、"
        f"已停止 {summary['stopped']} 条。"
    )
    if flagged:
        text += "按历史数据原样导入、留待比对核查的：" + "，".join(flagged) + "。"
    return text


# --- the job: the web's way ---------------------------------------------------------------------


def _check_filename(name: str) -> None:
    if Path(name).suffix.lower() not in SUFFIXES:
        raise DomainError(f"“{name}”不是 CSV 或 XLSX 文件：请上传 .csv 或 .xlsx 文件。")


def start_award_import(upload: File[bytes], *, actor: User) -> Job:
    """Store the upload and queue the import; the job page follows it from there."""
    require_permission(actor, IMPORT_PERM)
    filename = Path(upload.name or "").name
    _check_filename(filename)
    unit = home_unit(actor, IMPORT_PERM)
    if unit is None:  # unreachable after the permission check; keeps the type exact
        raise NotPermitted("您没有导入受助学生的岗位。")
    return start_job(
        JOB_KIND,
        actor=actor,
        org_unit=unit,
        title=f"导入受助学生（历史数据迁移）：{filename}",
        params={"filename": filename},
        upload=upload,
    )


@handles(JOB_KIND)
def run_award_import(job: Job, progress: Progress) -> tuple[dict[str, Any], str]:
    with job.upload.open("rb") as upload:
        summary = import_awards(
            upload, job.params["filename"], actor=job.created_by, progress=progress
        )
    # Shown on the job page as they are: labels in Chinese, counts flat.
    result: dict[str, Any] = {"导入条数": summary["rows"], "有效": summary["live"]}
    result["已停止"] = summary["stopped"]
    result.update({FLAG_LABELS[key]: count for key, count in summary["flags"].items()})
    return result, summary_message(summary)
