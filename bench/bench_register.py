"""Issue 3's figure: 100,000 students + 150,000 guardians from XLSX in 30 s or less, end to end
(read, validate, write) on SQLite.

`bench_register_import` expects Django set up against a fresh, migrated database (bench/run.py
does that). Run alone:

    DATABASE_URL=sqlite:////tmp/bench_reg.sqlite3 .venv/bin/python bench/bench_register.py

The files are made here with xlsxwriter (constant memory, every cell text, as Excel users are
told to format ID columns); only the import itself is timed.
"""

from __future__ import annotations

import os
import random
import secrets
import sys
import tempfile
import time
from collections import defaultdict
from datetime import date, timedelta
from pathlib import Path
from typing import Any

LIMIT_SECONDS = 30.0
GUARDIANS_PER_STUDENT = 1.5
STAFF = 3000
AREA = "420117"
# (stage, grade labels with their school year, schools of the stage)
STAGES: tuple[tuple[str, tuple[tuple[str, int], ...], int], ...] = (
    ("幼儿园", (("小班", -2), ("中班", -1), ("大班", 0)), 20),
    ("小学", tuple((f"{n}年级", i) for i, n in enumerate("一二三四五六", start=1)), 28),
    ("初中", (("七年级", 7), ("八年级", 8), ("九年级", 9)), 12),
    ("九年一贯制", tuple((f"{n}年级", i) for i, n in enumerate("一二三四五六七八九", 1)), 8),
    ("高中", (("高一", 10), ("高二", 11), ("高三", 12)), 6),
    ("中职", (("一年级", 10), ("二年级", 11), ("三年级", 12)), 4),
)
TOWNS = ("邾城街道", "阳逻街道", "仓埠街道", "三店街道", "旧街街道", "双柳街道", "李集街道")
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = "伟强磊军勇杰涛芳娟敏静丽艳娜明华飞鑫宇浩"
RELATIONS = ("父亲", "母亲", "祖父", "祖母", "外祖父", "外祖母")


class _Ids:
    """Unique valid ID numbers: make_id_number gives 500 per birth date and gender."""

    def __init__(self) -> None:
        from zizhu.core.idnumbers import make_id_number

        self.make = make_id_number
        self.used: dict[tuple[date, bool], int] = defaultdict(int)

    def take(self, born: date, *, male: bool) -> str:
        sequence = self.used[born, male]
        self.used[born, male] = sequence + 1
        return self.make(AREA, born, sequence, male=male)


def _sheet(path: Path, header: list[str], rows: Any) -> None:
    import xlsxwriter

    workbook = xlsxwriter.Workbook(str(path), {"constant_memory": True})
    sheet = workbook.add_worksheet()
    for col, title in enumerate(header):
        sheet.write_string(0, col, title)
    for line, row in enumerate(rows, start=1):
        for col, value in enumerate(row):
            sheet.write_string(line, col, value)
    workbook.close()


def _schools() -> list[list[str]]:
    rows = []
    for digit, (stage, _, count) in enumerate(STAGES, start=1):
        for n in range(count):
            code = f"{AREA}{digit}{n:03d}"
            rows.append([code, f"测试{stage}{n + 1}", stage, TOWNS[n % len(TOWNS)], "否"])
    return rows


def _name(rng: random.Random) -> str:
    return rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.randint(1, 2)))


def _birth(rng: random.Random, year_index: int, school_year: int) -> date:
    last = date(school_year - 5 - year_index, 8, 31)
    return last - timedelta(days=rng.randrange(365))


def write_files(folder: Path, students: int, *, seed: int = 1) -> dict[str, Path]:
    """学校, 学生, 监护人 and 教职工 XLSX files for `students` students."""
    from zizhu.registry.imports import school_year_start

    rng = random.Random(seed)
    ids = _Ids()
    school_year = school_year_start(date.today()).year  # noqa: DTZ011 - a bench's calendar
    schools = _schools()
    by_stage = {s[0]: [row[0] for row in schools if row[2] == s[0]] for s in STAGES}
    student_rows, guardian_rows = [], []
    parents: list[str] = []
    for _ in range(students):
        stage, grades, _count = rng.choice(STAGES)
        grade, year_index = rng.choice(grades)
        male = rng.random() < 0.5
        number = ids.take(_birth(rng, year_index, school_year), male=male)
        student_rows.append(
            [number, _name(rng), "男" if male else "女", rng.choice(by_stage[stage]), grade,
             f"{rng.randint(1, 8)}班", "否", "在读", f"{school_year - max(year_index, 0)}-09-01",
             "湖北省武汉市新洲区", "新洲区某村", f"138{rng.randrange(10**8):08d}",
             f"62{rng.randrange(10**17):017d}", ""]
        )  # fmt: skip
        guardian_rows.extend(_guardians(rng, ids, number, parents))
    staff_rows = [
        [ids.take(date(1970 + n % 30, 1 + n % 12, 1 + n % 28), male=n % 2 == 0), _name(rng),
         rng.choice(schools)[0], "教师", "否", f"139{rng.randrange(10**8):08d}"]
        for n in range(STAFF)
    ]  # fmt: skip
    from zizhu.registry.imports import COLUMNS

    paths = {}
    for kind, rows in (
        ("schools", schools),
        ("students", student_rows),
        ("guardians", guardian_rows),
        ("staff", staff_rows),
    ):
        paths[kind] = folder / f"{kind}.xlsx"
        _sheet(paths[kind], [column.header for column in COLUMNS[kind]], rows)
    return paths


def _guardians(rng: random.Random, ids: _Ids, student: str, parents: list[str]) -> list[list[str]]:
    """One guardian or two (1.5 on average); one student in ten shares a parent with an
    earlier one, so households of siblings form; one guardian in ten has no ID number."""
    count = 2 if rng.random() < GUARDIANS_PER_STUDENT - 1 else 1
    rows: list[list[str]] = []
    for n in range(count):
        if n == 0 and parents and rng.random() < 0.1:
            number = rng.choice(parents)
        elif rng.random() < 0.9:
            born = date(1975 + rng.randrange(17), 1 + rng.randrange(12), 1 + rng.randrange(28))
            number = ids.take(born, male=n == 0)
            parents.append(number)
        else:
            number = ""
        name = _name(rng)
        while rows and name == rows[0][1]:  # one student's guardians have different names
            name = _name(rng)
        phone = f"137{rng.randrange(10**8):08d}"
        rows.append([student, name, number, RELATIONS[n], "务农", phone])
    return rows


def _actor() -> Any:
    from zizhu.core import services
    from zizhu.core.models import OrgUnit, Role, UnitKind, User

    user = User.objects.filter(username="bench_register").first()
    if user is None:
        password = secrets.token_urlsafe(16)  # nobody signs in as the bench's importer
        user = services.create_user(
            "bench_register", actor=None, full_name="基准测试", password=password
        )
        district = OrgUnit.objects.get(kind=UnitKind.DISTRICT)
        services.assign_role(user, actor=None, role=Role.DISTRICT_OFFICER, org_unit=district)
    return user


def bench_register_import(students: int = 100_000) -> tuple[str, float, float]:
    """(label, seconds, limit) for importing `students` students and 1.5 times as many
    guardians from XLSX into the database Django is set up with (fresh and migrated)."""
    from zizhu.core.models import Job
    from zizhu.registry.imports import JOB_KIND, RegisterFile, import_register
    from zizhu.registry.models import Guardian, RegisterImport, Student

    actor = _actor()
    with tempfile.TemporaryDirectory(prefix="zizhu-bench-register-") as folder:
        paths = write_files(Path(folder), students)
        job = Job.objects.create(
            kind=JOB_KIND,
            title="基准测试：学籍导入",
            created_by=actor,
            org_unit=actor.assignments.get().org_unit,
        )
        record = RegisterImport.objects.create(job=job)
        files = {kind: RegisterFile(path, path.name) for kind, path in paths.items()}
        started = time.perf_counter()
        summary = import_register(files, actor=actor, register_import=record)
        elapsed = time.perf_counter() - started
    assert summary["students"]["created"] == students == Student.objects.count()
    guardians = Guardian.objects.count()
    label = f"import-register {students} students + {guardians} guardians (XLSX)"
    return label, elapsed, LIMIT_SECONDS


if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "zizhu.config.settings.dev")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    name, seconds, limit = bench_register_import(count)
    verdict = "PASS" if seconds <= limit else "FAIL"
    print(f"{name}: {seconds:.1f} s (limit {limit:.0f} s) {verdict}")
    sys.exit(0 if seconds <= limit else 1)
