"""Issue 3: a 1,000,000-row department CSV must import in 60 s or less.

`bench_dataset_import` runs against whatever database Django is configured for; the caller
sets up a fresh, migrated one (bench/run.py does). Run alone against any database with:

    DATABASE_URL=sqlite:////tmp/bench_src.sqlite3 .venv/bin/zizhu migrate
    DATABASE_URL=sqlite:////tmp/bench_src.sqlite3 .venv/bin/python bench/bench_sources.py
"""

from __future__ import annotations

import csv
import os
import secrets
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from zizhu.core.models import User

LIMIT_SECONDS = 60.0
_CATEGORIES = ("低保", "特困供养", "孤儿", "事实无人抚养儿童", "低保边缘", "刚性支出困难")
_HEADER = ("身份证号", "姓名", "救助类别", "状态", "开始日期", "结束日期", "户主身份证号")


def write_civil_affairs_csv(path: Path, rows: int) -> None:
    """A valid 民政救助对象 file: distinct people in households of three, UTF-8."""
    from zizhu.core.idnumbers import make_id_number

    first_birth = date(1950, 1, 1)
    with path.open("w", newline="", encoding="utf-8") as stream:
        writer = csv.writer(stream)
        writer.writerow(_HEADER)
        head = ""
        for i in range(rows):
            # 500 distinct numbers per birth date (sequence and gender digits), then the next day.
            birth = first_birth + timedelta(days=(i // 500) % 25_000)
            person = make_id_number("420117", birth, i % 500, male=bool(i & 1))
            if i % 3 == 0:
                head = person
            live = i % 5 != 0
            writer.writerow(
                (
                    person,
                    f"测试{i % 997}号",
                    _CATEGORIES[i % len(_CATEGORIES)],
                    "在册" if live else "已退出",
                    "2024-01-01",
                    "" if live else "2025-06-30",
                    head,
                )
            )


def bench_actor() -> User:
    """A district officer to import as: the one named bench_sources, created when missing."""
    from zizhu.core import services
    from zizhu.core.models import OrgUnit, Role, UnitKind, User

    existing = User.objects.filter(username="bench_sources").first()
    if existing is not None:
        return existing
    # Nobody signs in as this account: a random password nobody knows.
    password = f"{secrets.token_urlsafe(16)}-Aa1"
    user = services.create_user(
        "bench_sources", actor=None, full_name="性能测试", password=password
    )
    district = OrgUnit.objects.get(kind=UnitKind.DISTRICT, parent__isnull=True)
    services.assign_role(user, actor=None, role=Role.DISTRICT_OFFICER, org_unit=district)
    return user


def bench_dataset_import(
    rows: int = 1_000_000, *, actor: User | None = None
) -> tuple[str, float, float]:
    """(label, seconds, limit): the timed part is `import_dataset` alone, file to commit."""
    from zizhu.sources.models import DatasetKind
    from zizhu.sources.services import import_dataset

    importer = actor or bench_actor()
    with tempfile.TemporaryDirectory(prefix="zizhu-bench-src-") as workdir:
        path = Path(workdir) / "civil_affairs.csv"
        write_civil_affairs_csv(path, rows)  # outside the timing: IDs take a while to make
        started = time.perf_counter()
        version = import_dataset(
            DatasetKind.CIVIL_AFFAIRS,
            path,
            path.name,
            actor=importer,
            as_of=date(2026, 10, 31),
        )
        elapsed = time.perf_counter() - started
    assert version.row_count == rows
    return f"import-dataset civil_affairs {rows} rows", elapsed, LIMIT_SECONDS


def main() -> int:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "zizhu.config.settings.dev")
    os.environ["ZIZHU_DEBUG"] = "false"  # DEBUG would keep every SQL query in memory
    import django

    django.setup()
    rows = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    label, seconds, limit = bench_dataset_import(rows)
    verdict = "PASS" if seconds <= limit else "FAIL"
    print(f"{label}: {seconds:.1f} s (limit {limit:.0f} s) {verdict}")
    return 0 if seconds <= limit else 1


if __name__ == "__main__":
    sys.exit(main())
