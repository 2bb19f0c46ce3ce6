"""The snapshot a cross-check run reads: the register, awards and payments from the
application database, and the chosen department dataset versions, copied into an embedded
DuckDB database (architecture.md, "analytics / cross-checks").

Only keyed hashes, names and the columns the rules need are copied; clear ID numbers never
leave the application database. Rows stream in chunks (a server-side cursor on PostgreSQL),
so a 1.5-million-student district never sits in Python memory at once.

The tables (all the rules may read; `rules/README.md` lists their columns):

    school, student, guardian, staff, award, payment_line,
    ds_<kind> for each of the 12 department datasets (empty when no version is chosen),
    category_evidence (which department record backs which category, from the aid config),
    exclusive_programme (pairs of programmes one student may not hold together),
    guardian_link (guardians without an ID number linked to officials by Splink).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.csv as pa_csv
from django.db import connection

from zizhu.aid.models import AwardStatus, HardshipCategory, Programme
from zizhu.payments.models import BatchStatus, LineStatus
from zizhu.registry.models import StudentStatus
from zizhu.sources.formats import FORMATS
from zizhu.sources.models import DatasetKind, DatasetVersion

CHUNK = 100_000
# PostgreSQL streams its rows as CSV (COPY … TO STDOUT) for Arrow to parse this much at a
# time. DuckDB appends 64 MB batches several times faster than 16 MB ones (measured: 1.5 M
# students in 0.6 s against 2.8 s).
COPY_BLOCK = 64 << 20

# Table name → (columns with DuckDB types, SQL reading them from the application database).
# The SQL is plain enough for SQLite and PostgreSQL alike; `%s` placeholders take `params`.
_STR = "VARCHAR"


@dataclass(frozen=True)
class Source:
    columns: tuple[tuple[str, str], ...]
    sql: str
    params: Callable[[date], Sequence[Any]] = lambda as_of: ()


def _first_of_month(day: date) -> date:
    return day.replace(day=1)


REGISTER: dict[str, Source] = {
    "school": Source(
        (("school_id", "BIGINT"), ("code", _STR), ("name", _STR)),
        "SELECT id, code, name FROM core_orgunit WHERE kind = 'school'",
    ),
    "student": Source(
        (
            ("student_id", "BIGINT"),
            ("id_hash", _STR),
            ("name", _STR),
            ("school_id", "BIGINT"),
            ("status", _STR),
            ("phone_hash", _STR),
            ("card_hash", _STR),
            ("card_holder_hash", _STR),
            ("hukou_address", _STR),
            ("home_address", _STR),
        ),
        # The status as the exchange format writes it (在读, 死亡…), as the rules read it.
        "SELECT id, id_number_hash, name, school_id, CASE status "
        + " ".join(f"WHEN '{value}' THEN '{label}'" for value, label in StudentStatus.choices)
        + " ELSE status END, phone_hash, bank_account_hash,"
        " card_holder_id_hash, hukou_address, home_address FROM registry_student",
    ),
    "guardian": Source(
        (
            ("guardian_id", "BIGINT"),
            ("student_id", "BIGINT"),
            ("name", _STR),
            ("id_hash", _STR),
            ("phone_hash", _STR),
            ("relation", _STR),
            ("employer", _STR),
        ),
        "SELECT id, student_id, name, id_number_hash, phone_hash, relation, employer"
        " FROM registry_guardian",
    ),
    "staff": Source(
        (
            ("staff_id", "BIGINT"),
            ("id_hash", _STR),
            ("name", _STR),
            ("school_id", "BIGINT"),
            ("post", _STR),
            ("hardship_staff", "BOOLEAN"),
            ("phone_hash", _STR),
        ),
        "SELECT id, id_number_hash, name, school_id, post, hardship_staff, phone_hash"
        " FROM registry_staff",
    ),
    # `live`: a live award not ended before the month of the run.
    "award": Source(
        (
            ("award_id", "BIGINT"),
            ("student_id", "BIGINT"),
            ("school_id", "BIGINT"),
            ("programme", _STR),
            ("programme_name", _STR),
            ("school_year", _STR),
            ("category", "INTEGER"),
            ("status", _STR),
            ("start_month", "DATE"),
            ("end_month", "DATE"),
            ("live", "BOOLEAN"),
        ),
        "SELECT a.id, a.student_id, a.school_id, p.code, p.name, y.code, c.number, a.status,"
        " a.start_month, a.end_month,"
        " CASE WHEN a.status = %s AND (a.end_month IS NULL OR a.end_month >= %s)"
        " THEN 1 ELSE 0 END"
        " FROM aid_award a JOIN aid_programme p ON p.id = a.programme_id"
        " JOIN aid_schoolyear y ON y.id = a.school_year_id"
        " LEFT JOIN aid_hardshipcategory c ON c.id = a.category_id",
        lambda as_of: (AwardStatus.LIVE.value, _first_of_month(as_of)),
    ),
    # Lines still on their way to the bank: money that can yet be stopped.
    "payment_line": Source(
        (
            ("line_id", "BIGINT"),
            ("batch_no", _STR),
            ("batch_status", _STR),
            ("award_id", "BIGINT"),
            ("student_id", "BIGINT"),
            ("line_status", _STR),
        ),
        "SELECT l.id, b.number, b.status, l.award_id, l.student_id, l.status"
        " FROM payments_paymentline l JOIN payments_paymentbatch b ON b.id = l.batch_id"
        " WHERE b.status <> %s AND l.status = %s",
        lambda as_of: (BatchStatus.SETTLED.value, LineStatus.PAYABLE.value),
    ),
}

_RECORD_COLUMNS = (
    ("version_id", "BIGINT"),
    ("row_number", "BIGINT"),
    ("person_hash", _STR),
    ("person_masked", _STR),
    ("name", _STR),
    ("related_hash", _STR),
)


def dataset_columns(kind: str) -> list[str]:
    """The attribute columns of `ds_<kind>`: the format's columns other than the person's ID
    and name (those are person_hash/person_masked and name) and the related ID (related_hash)."""
    spec = FORMATS[kind]
    skip = {spec.person_key, spec.name_key, spec.related_key}
    return [column.key for column in spec.columns if column.key not in skip]


@dataclass
class Snapshot:
    con: duckdb.DuckDBPyConnection
    as_of: date
    versions: dict[str, DatasetVersion]
    rows: dict[str, int] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)

    def close(self) -> None:
        self.con.close()


def connect(*, threads: int | None = None, memory_limit: str | None = None) -> Any:
    from django.conf import settings

    threads = threads or settings.ZIZHU_CROSSCHECK_THREADS
    memory_limit = memory_limit or settings.ZIZHU_CROSSCHECK_MEMORY
    config: dict[str, Any] = {}
    if threads:
        config["threads"] = threads
    if memory_limit:
        config["memory_limit"] = memory_limit
    con = duckdb.connect(":memory:", config=config)
    # Progress bars go to stderr; a run reports its progress through the job instead.
    con.execute("SET enable_progress_bar = false")
    return con


def _chunks(sql: str, params: Sequence[Any]) -> Iterator[list[tuple[Any, ...]]]:
    # chunked_cursor(): a server-side (named) cursor on PostgreSQL, so rows arrive CHUNK at a
    # time instead of the whole result landing in client memory; a plain cursor elsewhere.
    with connection.chunked_cursor() as cursor:
        cursor.execute(sql, list(params))
        while rows := cursor.fetchmany(CHUNK):
            yield rows


def _copy_tables(sql: str, params: Sequence[Any], schema: pa.Schema) -> Iterator[pa.Table]:
    """PostgreSQL: `COPY (sql) TO STDOUT` as CSV, parsed by Arrow a block at a time.

    No Python object per value: at 1.5 M students the chunked cursor and the conversion to
    Arrow took 10 s for the student table alone, this takes 4 s (and jsonb arrives as text,
    without a decode and re-encode per record)."""
    read = pa_csv.ReadOptions(column_names=schema.names)
    parse = pa_csv.ParseOptions(newlines_in_values=True)
    convert = pa_csv.ConvertOptions(
        column_types=schema,
        null_values=[""],  # CSV writes NULL as an empty field and '' as ""
        strings_can_be_null=True,
        quoted_strings_can_be_null=False,
        true_values=["t", "1"],  # booleans, and the 1/0 of a CASE
        false_values=["f", "0"],
    )
    from psycopg import ClientCursor

    pending = bytearray()
    with connection.cursor() as cursor:
        # COPY takes no parameters: bind them client-side, as Django's cursors do anyway.
        query = ClientCursor(connection.connection).mogrify(sql, list(params)) if params else sql
        with cursor.copy(f"COPY ({query}) TO STDOUT (FORMAT csv)") as copy:
            for data in copy:
                pending += data
                if len(pending) >= COPY_BLOCK and (cut := _record_end(pending)):
                    yield pa_csv.read_csv(pa.py_buffer(bytes(pending[:cut])), read, parse, convert)
                    del pending[:cut]
    if pending:
        yield pa_csv.read_csv(pa.py_buffer(bytes(pending)), read, parse, convert)


def _record_end(data: bytearray) -> int:
    """Just past the last newline that ends a CSV record (not one inside a quoted value:
    those have an odd number of quote characters before them)."""
    end = data.rfind(b"\n")
    while end >= 0 and data.count(b'"', 0, end) % 2:
        end = data.rfind(b"\n", 0, end)
    return end + 1


def _arrow_type(duck: str) -> pa.DataType:
    return {
        "BIGINT": pa.int64(),
        "INTEGER": pa.int32(),
        "BOOLEAN": pa.bool_(),
        "DATE": pa.date32(),
        _STR: pa.string(),
    }[duck]


def load_table(
    con: Any,
    name: str,
    columns: Sequence[tuple[str, str]],
    sql: str,
    params: Sequence[Any] = (),
    *,
    convert: Callable[[list[tuple[Any, ...]]], list[tuple[Any, ...]]] | None = None,
) -> int:
    """Create `name` in DuckDB and stream the rows of `sql` into it; returns the row count.
    `convert` adjusts fetched rows; PostgreSQL's COPY path parses typed CSV and needs none."""
    ddl = ", ".join(f'"{column}" {kind}' for column, kind in columns)
    con.execute(f'CREATE OR REPLACE TABLE "{name}" ({ddl})')
    schema = pa.schema([(column, _arrow_type(kind)) for column, kind in columns])
    total = 0
    if connection.vendor == "postgresql":
        for block in _copy_tables(sql, params, schema):  # each read by DuckDB by name
            con.execute(f'INSERT INTO "{name}" SELECT * FROM block')
            total += block.num_rows
        return total
    for rows in _chunks(sql, params):
        if convert is not None:
            rows = convert(rows)
        arrays = [
            pa.array(values, type=schema.field(i).type)
            for i, values in enumerate(zip(*rows, strict=True))
        ]
        batch = pa.Table.from_arrays(arrays, schema=schema)  # noqa: F841 — read by DuckDB
        con.execute(f'INSERT INTO "{name}" SELECT * FROM batch')
        total += len(rows)
    return total


def _bool_rows(index: int) -> Callable[[list[tuple[Any, ...]]], list[tuple[Any, ...]]]:
    """SQLite hands booleans back as 0/1 (and CASE yields integers everywhere)."""

    def convert(rows: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
        return [(*row[:index], bool(row[index]), *row[index + 1 :]) for row in rows]

    return convert


def _date_rows(*indexes: int) -> Callable[[list[tuple[Any, ...]]], list[tuple[Any, ...]]]:
    """SQLite hands dates back as text."""

    def convert(rows: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
        out = []
        for row in rows:
            values = list(row)
            for i in indexes:
                if isinstance(values[i], str):
                    values[i] = date.fromisoformat(values[i])
            out.append(tuple(values))
        return out

    return convert


def _compose(
    *steps: Callable[[list[tuple[Any, ...]]], list[tuple[Any, ...]]],
) -> Callable[[list[tuple[Any, ...]]], list[tuple[Any, ...]]]:
    def convert(rows: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
        for step in steps:
            rows = step(rows)
        return rows

    return convert


_CONVERT = {
    "staff": _bool_rows(5),
    "award": _compose(_date_rows(8, 9), _bool_rows(10)),
}


def latest_versions() -> dict[str, DatasetVersion]:
    latest: dict[str, DatasetVersion] = {}
    for version in DatasetVersion.objects.order_by("kind", "-number"):
        latest.setdefault(version.kind, version)
    return latest


def load_dataset(con: Any, kind: str, version: DatasetVersion | None) -> int:
    """`ds_<kind>`: one version's records with their attributes as typed-as-text columns."""
    attrs = dataset_columns(kind)
    raw = f"raw_{kind}"
    count = 0
    if version is None:
        ddl = ", ".join(f'"{c}" {t}' for c, t in (*_RECORD_COLUMNS, ("attrs", _STR)))
        con.execute(f"CREATE OR REPLACE TABLE {raw} ({ddl})")
    else:
        count = load_table(
            con,
            raw,
            (*_RECORD_COLUMNS, ("attrs", _STR)),
            "SELECT version_id, row_number, person_hash, person_masked, name, related_hash,"
            " attrs FROM sources_datasetrecord WHERE version_id = %s",
            (version.pk,),
        )
    picks = ", ".join(f"json_extract_string(attrs, '$.{key}') AS \"{key}\"" for key in attrs)
    base = ", ".join(column for column, _ in _RECORD_COLUMNS)
    con.execute(
        f"CREATE OR REPLACE TABLE ds_{kind} AS SELECT {base}"
        f"{', ' if picks else ''}{picks} FROM {raw}"
    )
    con.execute(f"DROP TABLE {raw}")
    return count


def load_config(con: Any) -> None:
    """Config tables the rules join: category backing and mutually exclusive programmes."""
    con.execute(
        "CREATE OR REPLACE TABLE category_evidence (category INTEGER, person_hash VARCHAR,"
        " dataset VARCHAR, version_id BIGINT, row_number BIGINT, detail VARCHAR)"
    )
    labels = dict(DatasetKind.choices)
    for category in HardshipCategory.objects.exclude(dataset_kind="").order_by("number"):
        if category.dataset_kind not in FORMATS:
            continue
        kind = category.dataset_kind
        columns = set(dataset_columns(kind))
        where = ["1 = 1"]
        params: list[Any] = [category.number, kind, f"{labels[kind]}："]
        for attr, allowed in sorted((category.criteria or {}).items()):
            if attr not in columns:
                continue  # a criterion on a column the format lacks matches nothing extra
            values = [str(v) for v in (allowed if isinstance(allowed, list) else [allowed])]
            where.append(f'"{attr}" IN ({", ".join("?" for _ in values)})')
            params.extend(values)
        shown = next(
            (a for a in ("category", "household_type", "level", "status") if a in columns), None
        )
        detail = f"? || coalesce(\"{shown}\", '')" if shown else "?"
        con.execute(
            f"INSERT INTO category_evidence SELECT ?, person_hash, ?, version_id, row_number,"
            f" {detail} FROM ds_{kind} WHERE {' AND '.join(where)}",
            params,
        )
    con.execute(
        "CREATE OR REPLACE TABLE hardship_category (category INTEGER, name VARCHAR,"
        " dataset VARCHAR, dataset_label VARCHAR)"
    )
    con.executemany(
        "INSERT INTO hardship_category VALUES (?, ?, ?, ?)",
        [
            (c.number, c.name, c.dataset_kind, str(labels.get(c.dataset_kind, "")))
            for c in HardshipCategory.objects.order_by("number")
        ]
        or [(0, "", "", "")],
    )
    con.execute("DELETE FROM hardship_category WHERE category = 0")
    con.execute("CREATE OR REPLACE TABLE exclusive_programme (programme VARCHAR, other VARCHAR)")
    pairs = set()
    for programme in Programme.objects.prefetch_related("excludes"):
        for other in programme.excludes.all():
            pairs.add((programme.code, other.code))
            pairs.add((other.code, programme.code))
    if pairs:
        con.executemany("INSERT INTO exclusive_programme VALUES (?, ?)", sorted(pairs))


def take(
    as_of: date,
    versions: dict[str, DatasetVersion] | None = None,
    *,
    con: Any | None = None,
    progress: Callable[[str], None] | None = None,
) -> Snapshot:
    """Copy everything the rules read into a fresh DuckDB database."""
    con = con if con is not None else connect()
    chosen = latest_versions() if versions is None else versions
    snapshot = Snapshot(con=con, as_of=as_of, versions=chosen)
    for name, source in REGISTER.items():
        if progress:
            progress(name)
        started = time.perf_counter()
        snapshot.rows[name] = load_table(
            con,
            name,
            source.columns,
            source.sql,
            source.params(as_of),
            convert=_CONVERT.get(name),
        )
        snapshot.seconds[name] = time.perf_counter() - started
    for kind in DatasetKind.values:
        if progress:
            progress(f"ds_{kind}")
        started = time.perf_counter()
        snapshot.rows[f"ds_{kind}"] = load_dataset(con, kind, chosen.get(kind))
        snapshot.seconds[f"ds_{kind}"] = time.perf_counter() - started
    con.execute(
        "CREATE OR REPLACE TABLE dataset_version (dataset VARCHAR, version_id BIGINT,"
        " number INTEGER, as_of DATE)"
    )
    for kind, version in sorted(chosen.items()):
        con.execute(
            "INSERT INTO dataset_version VALUES (?, ?, ?, ?)",
            [kind, version.pk, version.number, version.as_of],
        )
    load_config(con)
    return snapshot
