"""Scoped reads of department data: versions, records, and the diff between two versions.

Department datasets cover the whole district, so only roles whose `dataset:view` reach is the
whole district see them (the district centre, its head, the inspection team, the auditor);
anyone else is refused outright rather than shown an empty page.

Diffs run in SQL over the records' hashes, so comparing two million-row versions never loads
a model object per row.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, overload

from django.core.cache import cache
from django.db import connection
from django.db.models import Count, OuterRef, QuerySet, Subquery

from zizhu.core.errors import OutOfReach
from zizhu.core.models import User
from zizhu.core.reach import scope_for
from zizhu.sources.formats import FORMATS
from zizhu.sources.models import DatasetKind, DatasetRecord, DatasetVersion
from zizhu.sources.services import require_district_permission

VIEW_PERM = "dataset:view"


def can_view(actor: User) -> bool:
    return scope_for(actor, VIEW_PERM).everything


def require_view(actor: User) -> None:
    """403 for anyone without district-wide `dataset:view` (pages call this first)."""
    require_district_permission(actor, VIEW_PERM)


def can_import(actor: User) -> bool:
    return scope_for(actor, "dataset:import").everything


def versions_visible_to(actor: User) -> QuerySet[DatasetVersion]:
    """The list door: every version for district-wide viewers, nothing for anyone else."""
    versions = DatasetVersion.objects.select_related("imported_by")
    return versions if can_view(actor) else versions.none()


def get_version_for(actor: User, pk: int) -> DatasetVersion:
    """The single-object door: 404 when missing or out of reach."""
    version = versions_visible_to(actor).filter(pk=pk).first()
    if version is None:
        raise OutOfReach()
    return version


@dataclass(frozen=True)
class KindSummary:
    kind: str
    label: str
    department: str
    latest: DatasetVersion | None
    versions: int


def dataset_summaries(actor: User) -> list[KindSummary]:
    """One line per dataset kind with its latest version: two queries whatever the count."""
    versions = versions_visible_to(actor)
    top = versions.filter(kind=OuterRef("kind")).order_by("-number").values("pk")[:1]
    latest = {v.kind: v for v in versions.filter(pk=Subquery(top))}
    counts = dict(
        versions.order_by().values_list("kind").annotate(n=Count("pk")).values_list("kind", "n")
    )
    return [
        KindSummary(
            kind=kind,
            label=label,
            department=FORMATS[kind].department,
            latest=latest.get(kind),
            versions=counts.get(kind, 0),
        )
        for kind, label in DatasetKind.choices
    ]


def versions_of(actor: User, kind: str) -> QuerySet[DatasetVersion]:
    return versions_visible_to(actor).filter(kind=kind).order_by("-number")


def records_of(
    version: DatasetVersion, *, name: str = "", idh: str = ""
) -> QuerySet[DatasetRecord]:
    """A version's rows in file order; a person is found by the blind index of their ID."""
    records = DatasetRecord.objects.filter(version=version)
    if name:
        records = records.filter(name__contains=name)
    if idh:
        records = records.filter(person_hash=idh)
    return records.order_by("row_number", "pk")


# --- diff ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class DiffPerson:
    person_hash: str
    person_masked: str
    name: str


_TABLE = DatasetRecord._meta.db_table


def _exists(version: str, condition: str) -> str:
    """Rows `o` of the version named by parameter `version` (old or new) meeting `condition`."""
    return f"EXISTS (SELECT 1 FROM {_TABLE} o WHERE o.version_id = %({version})s AND {condition})"  # noqa: S608


def _rows(side: str, condition: str) -> str:
    """(person_hash, masked ID, name) of the rows `n` of version `side` meeting `condition`."""
    return f"SELECT n.person_hash, n.person_masked, n.name FROM {_TABLE} n WHERE n.version_id = %({side})s AND {condition}"  # noqa: E501, S608


_PERSON = "o.person_hash = n.person_hash"
# attrs compare as stored: jsonb on PostgreSQL, canonical JSON text on SQLite (one writer,
# one key order).
_SAME = f"{_PERSON} AND o.name = n.name AND o.related_hash = n.related_hash AND o.attrs = n.attrs"

# Each walks one version's (version, person_hash) index and probes the other version's:
# a page can stop early, and nothing is loaded per row into Python.
_ADDED = _rows("new", "NOT " + _exists("old", _PERSON))
_REMOVED = _rows("old", "NOT " + _exists("new", _PERSON))
# One row per person and version (the dataset's unique key is the person): compare the pair.
_CHANGED_SINGLE = _rows("new", _exists("old", f"{_PERSON} AND NOT ({_SAME})"))
# Several rows per person: the person's rows differ as sets when a row on either side has
# no identical row on the other (and the person is on both sides).
_CHANGED_MULTI = (
    _rows("new", f"NOT {_exists('old', _SAME)} AND {_exists('old', _PERSON)}")
    + " UNION ALL "
    + _rows("old", f"NOT {_exists('new', _SAME)} AND {_exists('new', _PERSON)}")
)


class PeopleList:
    """A diff's people as a lazy, sliceable list for Django's Paginator, in hash order.

    Versions never change once written, so a count is cached for the pair.
    """

    def __init__(self, rows_sql: str, old: DatasetVersion, new: DatasetVersion) -> None:
        self._rows = rows_sql
        self._params = {"old": old.pk, "new": new.pk}
        stamp = f"{old.pk}.{old.imported_at.timestamp()}:{new.pk}.{new.imported_at.timestamp()}"
        self._cache_key = f"sources:diff:{hashlib.sha256((rows_sql + stamp).encode()).hexdigest()}"
        self._count: int | None = None

    def count(self) -> int:
        if self._count is None:
            cached = cache.get(self._cache_key)
            if cached is None:
                sql = f"SELECT COUNT(DISTINCT x.person_hash) FROM ({self._rows}) x"  # noqa: S608
                with connection.cursor() as cursor:
                    cursor.execute(sql, self._params)
                    row = cursor.fetchone()
                cached = int(row[0]) if row else 0
                cache.set(self._cache_key, cached, timeout=_COUNT_TTL)
            self._count = int(cached)
        return self._count

    def __len__(self) -> int:
        return self.count()

    @overload
    def __getitem__(self, index: int) -> DiffPerson: ...
    @overload
    def __getitem__(self, index: slice) -> list[DiffPerson]: ...
    def __getitem__(self, index: int | slice) -> DiffPerson | list[DiffPerson]:
        if isinstance(index, int):
            return self._fetch(index, 1)[0]
        start = index.start or 0
        stop = self.count() if index.stop is None else index.stop
        return self._fetch(start, max(stop - start, 0))

    def __iter__(self) -> Iterator[DiffPerson]:
        return iter(self._fetch(0, self.count()))

    def hashes(self) -> set[str]:
        return {person.person_hash for person in self}

    def _fetch(self, offset: int, limit: int) -> list[DiffPerson]:
        if limit <= 0:
            return []
        sql = (
            "SELECT x.person_hash, MIN(x.person_masked), MIN(x.name) "  # noqa: S608
            f"FROM ({self._rows}) x GROUP BY x.person_hash ORDER BY x.person_hash "
            "LIMIT %(limit)s OFFSET %(offset)s"
        )
        with connection.cursor() as cursor:
            cursor.execute(sql, {**self._params, "limit": limit, "offset": offset})
            return [DiffPerson(*row) for row in cursor.fetchall()]


_COUNT_TTL = 24 * 3600


@dataclass(frozen=True)
class Diff:
    old: DatasetVersion
    new: DatasetVersion
    added: PeopleList
    removed: PeopleList
    changed: PeopleList


def diff_versions(old: DatasetVersion, new: DatasetVersion) -> Diff:
    """Who is in `new` but not `old`, the reverse, and who is in both with other rows.

    A person's rows are compared as a set of (name, 户主, other columns): for multi-row data
    (vehicles, businesses) one changed vehicle makes the owner "changed". Names and masked
    IDs come from the version the person is in.
    """
    spec = FORMATS[new.kind]
    changed = _CHANGED_SINGLE if spec.unique == (spec.person_key,) else _CHANGED_MULTI
    return Diff(
        old=old,
        new=new,
        added=PeopleList(_ADDED, old, new),
        removed=PeopleList(_REMOVED, old, new),
        changed=PeopleList(changed, old, new),
    )


@dataclass(frozen=True)
class Change:
    """One changed person's rows on both sides, for showing what changed."""

    person: DiffPerson
    before: list[DatasetRecord]
    after: list[DatasetRecord]


def changes_for(diff: Diff, people: Sequence[DiffPerson]) -> list[Change]:
    """The rows behind a page of changed people: one query for the whole page."""
    hashes = [person.person_hash for person in people]
    rows = DatasetRecord.objects.filter(
        version__in=[diff.old.pk, diff.new.pk], person_hash__in=hashes
    ).order_by("row_number", "pk")
    sides: dict[tuple[int, str], list[DatasetRecord]] = {}
    for record in rows:
        sides.setdefault((record.version_id, record.person_hash), []).append(record)
    return [
        Change(
            person,
            sides.get((diff.old.pk, person.person_hash), []),
            sides.get((diff.new.pk, person.person_hash), []),
        )
        for person in people
    ]


def attr_items(record: DatasetRecord, labels: dict[str, str]) -> list[tuple[str, Any]]:
    """A record's other columns as (Chinese header, value) in the format's order; blank → —."""
    return [(label, record.attrs.get(key, "—")) for key, label in labels.items()]
