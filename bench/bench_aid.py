"""Issue 4: the spring review of 100,000 recipients must open in 60 s or less.

`bench_spring_review` runs against whatever database Django is configured for; the caller
sets up a fresh, migrated one (bench/run.py does). Run alone against any database with:

    DATABASE_URL=sqlite:////tmp/bench_aid.sqlite3 .venv/bin/zizhu migrate
    DATABASE_URL=sqlite:////tmp/bench_aid.sqlite3 .venv/bin/python bench/bench_aid.py
"""

from __future__ import annotations

import os
import secrets
import sys
import time
from datetime import date, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from zizhu.aid.models import SchoolYear
    from zizhu.core.models import OrgUnit, User

LIMIT_SECONDS = 60.0
SCHOOLS = 200
BATCH = 5000
# A school year of its own, so the benchmark never meets a round opened on real data.
BENCH_YEAR = "2098-2099"


def bench_actor() -> User:
    """A certified district officer named bench_aid, created when missing."""
    from zizhu.core import services
    from zizhu.core.models import OrgUnit, Role, UnitKind, User

    existing = User.objects.filter(username="bench_aid").first()
    if existing is not None:
        return existing
    # Nobody signs in as this account; a random password keeps it that way.
    password = secrets.token_urlsafe(18) + "-Aa1"
    user = services.create_user("bench_aid", actor=None, full_name="性能测试", password=password)
    district = OrgUnit.objects.get(kind=UnitKind.DISTRICT, parent__isnull=True)
    services.assign_role(user, actor=None, role=Role.DISTRICT_OFFICER, org_unit=district)
    return user


def _schools() -> list[OrgUnit]:
    from zizhu.core.models import OrgUnit, Stage, UnitKind

    town = OrgUnit.objects.filter(kind=UnitKind.TOWN).order_by("code").first()
    OrgUnit.objects.bulk_create(
        [
            OrgUnit(
                kind=UnitKind.SCHOOL,
                code=f"BENCHAID{n:04d}",
                name=f"性能测试第{n}小学",
                parent=town,
                stage=Stage.PRIMARY,
            )
            for n in range(SCHOOLS)
        ],
        ignore_conflicts=True,
    )
    return list(OrgUnit.objects.filter(code__startswith="BENCHAID").order_by("code"))


def _year() -> SchoolYear:
    from zizhu.aid.models import SchoolYear

    start = int(BENCH_YEAR[:4])
    year, _ = SchoolYear.objects.get_or_create(
        code=BENCH_YEAR,
        defaults={"starts_on": date(start, 9, 1), "ends_on": date(start + 1, 8, 31)},
    )
    return year


def create_recipients(recipients: int) -> SchoolYear:
    """Students and one live award each, in bulk, spread over SCHOOLS schools."""
    from zizhu.aid.models import (
        Award,
        AwardSource,
        DifficultyTier,
        HardshipCategory,
        Programme,
    )
    from zizhu.core.idnumbers import make_id_number
    from zizhu.registry.models import Student

    schools = _schools()
    year = _year()
    programme = Programme.objects.get(code="COMPULSORY_LIVING")
    tier = DifficultyTier.objects.order_by("rank").first()
    category = HardshipCategory.objects.get(number=2)
    first_birth = date(2013, 1, 1)
    for start in range(0, recipients, BATCH):
        students = [
            Student(
                # 500 distinct numbers per birth date, then the next day.
                id_number=make_id_number(
                    "420117", first_birth + timedelta(days=i // 500), i % 500, male=bool(i & 1)
                ),
                name=f"测试{i % 997}号",
                gender="男" if i & 1 else "女",
                birth_date=first_birth + timedelta(days=i // 500),
                area_code="420117",
                school=schools[i % len(schools)],
                grade="六年级",
            )
            for i in range(start, min(start + BATCH, recipients))
        ]
        Student.objects.bulk_create(students)
        Award.objects.bulk_create(
            Award(
                student=student,
                school_id=student.school_id,
                programme=programme,
                school_year=year,
                category=category,
                tier=tier,
                annual_amount=Decimal("1250.00"),
                start_month=date(int(BENCH_YEAR[:4]), 9, 1),
                source=AwardSource.MIGRATION,
            )
            for student in students
        )
    return year


def bench_spring_review(recipients: int = 100_000) -> tuple[str, float, float]:
    """(label, seconds, limit): the timed part is `open_spring_review` alone."""
    from django.utils import timezone

    from zizhu.aid.models import ReviewItem
    from zizhu.aid.services.review import open_spring_review
    from zizhu.core.calendar import add_working_days

    actor = bench_actor()
    year = create_recipients(recipients)  # outside the timing
    due_on = add_working_days(timezone.localdate(), 10)
    started = time.perf_counter()
    review = open_spring_review(year, actor=actor, due_on=due_on)
    elapsed = time.perf_counter() - started
    assert ReviewItem.objects.filter(round=review).count() == recipients
    return f"open spring review {recipients} recipients", elapsed, LIMIT_SECONDS


def main() -> int:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "zizhu.config.settings.dev")
    os.environ.setdefault("ZIZHU_DEBUG", "false")  # DEBUG would keep every SQL query
    import django

    django.setup()
    recipients = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    label, seconds, limit = bench_spring_review(recipients)
    verdict = "PASS" if seconds <= limit else "FAIL"
    print(f"{label}: {seconds:.1f} s (limit {limit:.0f} s) {verdict}")
    return 0 if seconds <= limit else 1


if __name__ == "__main__":
    sys.exit(main())
