"""Shared helpers: import a file as the district officer."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date

import pytest

from tests.sources.samples import csv_bytes, valid_rows
from zizhu.core.models import User
from zizhu.sources.models import DatasetVersion
from zizhu.sources.services import import_dataset

AS_OF = date(2026, 10, 31)

Importer = Callable[..., DatasetVersion]


@pytest.fixture
def import_rows(district_officer: User) -> Importer:
    """import_rows(kind, rows=None, *, as_of=AS_OF, filename="data.csv") → version."""

    def run(
        kind: str,
        rows: Sequence[Sequence[object]] | None = None,
        *,
        as_of: date = AS_OF,
        filename: str = "data.csv",
        actor: User | None = None,
        department: str | None = None,
    ) -> DatasetVersion:
        content = csv_bytes(rows if rows is not None else valid_rows(kind))
        return import_dataset(
            kind,
            content,
            filename,
            actor=actor or district_officer,
            as_of=as_of,
            department=department,
        )

    return run
