"""What the import's steps share: file kinds and fields, the error report, the plan the
checks fill in and the writes carry out, and a fast INSERT for the big tables."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any, NamedTuple, TypeVar

from django.db import models, transaction
from django.utils import timezone

from zizhu.core.crypto import BlindIndexField, Sensitive, blind_index
from zizhu.core.errors import ImportRejected
from zizhu.core.models import OrgUnit, User
from zizhu.core.reach import scope_for
from zizhu.core.tabular import Column, Row, RowError, Source, Table, read_table
from zizhu.registry import formats
from zizhu.registry.models import RegisterImport, StudentStatus

T = TypeVar("T")

SCHOOLS, STUDENTS, GUARDIANS, STAFF = "schools", "students", "guardians", "staff"
KINDS = (SCHOOLS, STUDENTS, GUARDIANS, STAFF)  # also the order files are checked and written
LABELS = {SCHOOLS: "学校", STUDENTS: "学生", GUARDIANS: "监护人", STAFF: "教职工"}
COLUMNS: dict[str, Sequence[Column]] = {
    SCHOOLS: formats.SCHOOLS,
    STUDENTS: formats.STUDENTS,
    GUARDIANS: formats.GUARDIANS,
    STAFF: formats.STAFF,
}
SUFFIXES = (".csv", ".xlsx")

STATUS_VALUE = {str(label): str(value) for value, label in StudentStatus.choices}
STATUS_LABEL = {value: label for label, value in STATUS_VALUE.items()}


def school_year_start(today: date) -> date:
    """1 September of the current school year."""
    return date(today.year if today.month >= 9 else today.year - 1, 9, 1)


# A guardian as the change record shows it: relation, name, masked identifiers.
GuardianView = dict[str, str]


def birth_of(number: str) -> date:
    return date(int(number[6:10]), int(number[10:12]), int(number[12:14]))


def gender_of(number: str) -> str:
    """GB 11643: the 17th character is odd for men."""
    return "男" if int(number[16]) % 2 else "女"


def chunks(items: Sequence[T], size: int = 900) -> Iterator[Sequence[T]]:
    # 900 keeps every IN list under SQLite's oldest parameter limit (999).
    for start in range(0, len(items), size):
        yield items[start : start + size]


def hash_id(number: str) -> str:
    return blind_index(number, Sensitive.ID_NUMBER)


def hash_of(value: str | None, kind: str) -> str | None:
    return blind_index(value, kind) if value else None


# --- input and the error report --------------------------------------------------------------


@dataclass(frozen=True)
class RegisterFile:
    """One uploaded file: its content (a path, bytes or an open binary file) and the name it
    was uploaded under, whose suffix says CSV or XLSX."""

    source: Source
    name: str


OUT_OF_REACH = "该学校不在您的管辖范围内，不能导入该学校的数据。请只导入本单位的数据。"


class Report:
    """Row errors of all files; each column names its file ("学生 · 身份证号")."""

    def __init__(self) -> None:
        self.errors: list[tuple[int, RowError]] = []
        self.per_file: Counter[str] = Counter()
        self.file_messages: list[str] = []

    def add(self, kind: str, row: Row | int, column: str, value: object, reason: str) -> None:
        number = row if isinstance(row, int) else row.number
        shown = value.isoformat() if isinstance(value, date) else str(value or "")
        error = RowError(number, f"{LABELS[kind]} · {column}", shown, reason)
        self.errors.append((KINDS.index(kind), error))
        self.per_file[kind] += 1

    def extend(self, kind: str, errors: Iterable[RowError]) -> None:
        for error in errors:
            self.add(kind, error.row, error.column, error.value, error.reason)

    def file_rejected(self, kind: str, name: str, rejection: ImportRejected) -> None:
        self.file_messages.append(f"{LABELS[kind]}文件“{name}”：{rejection.message}")
        for entry in rejection.report:
            row, column = int(str(entry["row"])), str(entry["column"])
            self.add(kind, row, column, entry.get("value"), str(entry["reason"]))
        if not rejection.report:
            self.add(kind, 1, "文件", name, rejection.message)

    def raise_if_any(self) -> None:
        if not self.errors:
            return
        report = [
            error.as_dict() for _, error in sorted(self.errors, key=lambda e: (e[0], e[1].row))
        ]
        if self.file_messages:
            raise ImportRejected(
                "学籍导入未通过：" + "；".join(self.file_messages) + " 未导入任何数据。",
                report=report,
            )
        counts = "，".join(
            f"{LABELS[k]}文件 {self.per_file[k]} 处" for k in KINDS if k in self.per_file
        )
        rows = len({(kind, error.row) for kind, error in self.errors})
        raise ImportRejected(
            f"学籍导入未通过校验：{counts}错误（涉及 {rows} 行），未导入任何数据。"
            "请下载错误报告，按行号改正后重新导入全部文件。",
            report=report,
        )


# `core.jobs.Progress` or any callable taking (done, *, total=None, stage=None).
ProgressFn = Callable[..., None]


def no_progress(done: int, *, total: int | None = None, stage: str | None = None) -> None:
    """Stands in for `core.jobs.Progress` when nobody is watching."""


# --- the plan: what the checks found out, what the writes will do -----------------------------


@dataclass
class SchoolInfo:
    code: str
    stage: str
    unit: OrgUnit | None  # None: new in this import's schools file
    in_reach: bool


class Existing(NamedTuple):
    """A registered student as the comparison needs it: no clear identifiers are loaded."""

    pk: int
    school_id: int
    status: str
    name: str
    gender: str
    grade: str
    class_name: str
    boarder: bool
    enrolled_on: date | None
    hukou_address: str
    home_address: str
    phone_hash: str | None
    bank_account_hash: str | None
    card_holder_id_hash: str | None
    household_id: int | None


class Op(NamedTuple):
    kind: str
    to_school: str | None  # school code, for a transfer


# Student fields a file row sets directly; status and school go through the ledger.
PLAIN_FIELDS = (
    "name",
    "gender",
    "grade",
    "class_name",
    "boarder",
    "enrolled_on",
    "hukou_address",
    "home_address",
)
SENSITIVE_FIELDS = {
    "phone": Sensitive.PHONE,
    "bank_account": Sensitive.BANK_ACCOUNT,
    "card_holder_id": Sensitive.ID_NUMBER,
}
ROW_KEY = {"class_name": "class"}


def jsonable(value: Any) -> Any:
    return value.isoformat() if isinstance(value, date) else value


@dataclass
class Plan:
    actor: User
    register_import: RegisterImport
    progress: ProgressFn
    tables: dict[str, Table]
    report: Report
    today: date = field(default_factory=timezone.localdate)
    schools: dict[str, SchoolInfo] = field(default_factory=dict)
    school_rows: dict[str, tuple[Row, OrgUnit]] = field(default_factory=dict)
    school_codes: dict[int, str] = field(default_factory=dict)
    hashes: dict[str, str] = field(default_factory=dict)  # ID number → blind index
    existing: dict[str, Existing] = field(default_factory=dict)  # by ID blind index
    file_students: dict[str, Row] = field(default_factory=dict)  # by ID number
    ops: dict[str, list[Op]] = field(default_factory=dict)  # by ID blind index
    guardian_groups: dict[str, list[Row]] = field(default_factory=dict)  # by student ID
    done: int = 0
    total: int = 0

    def __post_init__(self) -> None:
        self.sept1 = school_year_start(self.today)
        self.scope = scope_for(self.actor, "register:import")
        self.change_scope = scope_for(self.actor, "student:change_status")

    def id_hash(self, number: str) -> str:
        digest = self.hashes.get(number)
        if digest is None:
            digest = self.hashes[number] = hash_id(number)
        return digest

    def tick(self, stage: str, rows: int = 0) -> None:
        self.done += rows
        self.progress(self.done, total=self.total or None, stage=stage)

    def rows(self, kind: str) -> list[Row]:
        table = self.tables.get(kind)
        return table.rows if table is not None else []


# --- (a) reading ---------------------------------------------------------------------------


def read_files(
    files: Mapping[str, RegisterFile], report: Report, progress: ProgressFn
) -> dict[str, Table]:
    tables: dict[str, Table] = {}
    for kind in KINDS:
        if kind not in files:
            continue
        upload = files[kind]
        progress(0, stage=f"读取{LABELS[kind]}文件")
        try:
            table = read_table(upload.source, upload.name, COLUMNS[kind])
        except ImportRejected as rejection:
            report.file_rejected(kind, upload.name, rejection)
            continue
        report.extend(kind, table.errors)
        tables[kind] = table
    return tables


# Field types whose Python values (str, bool, int, None) the database drivers take as they are.
_AS_IS = frozenset(
    {models.CharField, models.TextField, models.BooleanField, models.ForeignKey, BlindIndexField}
)


def _preparer(field: models.Field[Any, Any], db: Any) -> Callable[[Any, Any], Any] | None:
    """None for values passed as they are; dates and times, few distinct values in one
    import (today, 入学日期), are prepared once per value. Never memoised: encryption."""
    if type(field) in _AS_IS:
        return None
    if type(field) in (models.DateField, models.DateTimeField):
        prepared: dict[Any, Any] = {}

        def prepare(value: Any, db: Any) -> Any:
            if value not in prepared:
                prepared[value] = field.get_db_prep_save(value, db)
            return prepared[value]

        return prepare
    return field.get_db_prep_save


def insert(model: type[models.Model], records: Sequence[dict[str, Any]]) -> None:
    """INSERT the records (attname → value) with executemany, in batches.

    A performance choice (issue 3's 30 s for 250,000 rows): bulk_create spends ~7 µs per
    value in Django's insert compiler, most of the budget at this size; this path spends ~1.
    Values of other types than `_AS_IS` go through their field's `get_db_prep_save`, so
    encryption, dates and JSON are stored exactly as the ORM stores them. `pre_save` does
    not run: callers pass the blind indexes (and any `auto_now` value). Fields a record
    leaves out get their default, as with bulk_create.
    """
    if not records:
        return
    db = transaction.get_connection()  # the connection itself, not the thread-local proxy
    fields = [f for f in model._meta.concrete_fields if not f.primary_key]
    given = [f for f in fields if f.attname in records[0]]
    rest = [f for f in fields if f not in given]
    fixed = [f.get_db_prep_save(f.get_default(), db) for f in rest]
    quote = db.ops.quote_name
    columns = ", ".join(quote(f.column) for f in (*given, *rest))
    marks = ", ".join(["%s"] * len(fields))
    # Table and column names come from the model's meta, quoted; values are parameters.
    sql = f"INSERT INTO {quote(model._meta.db_table)} ({columns}) VALUES ({marks})"  # noqa: S608
    plain = [(f.attname, _preparer(f, db)) for f in given]
    with db.cursor() as cursor:
        for batch in chunks(records, 5000):
            cursor.executemany(
                sql,
                [
                    [
                        record[name] if prep is None else prep(record[name], db)
                        for name, prep in plain
                    ]
                    + fixed
                    for record in batch
                ],
            )
