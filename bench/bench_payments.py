"""Issue 7: a payment batch of 50,000 lines — create, check, approve and export the bank file
— in 10 s or less.

`bench_payment_batch` runs against whatever database Django is configured for; the caller
sets up a fresh, migrated one (bench/run.py does). Run alone with:

    DATABASE_URL=sqlite:////tmp/bench_pay.sqlite3 .venv/bin/zizhu migrate
    DATABASE_URL=sqlite:////tmp/bench_pay.sqlite3 .venv/bin/python bench/bench_payments.py
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
    from zizhu.aid.models import Programme, SchoolYear, Semester
    from zizhu.core.models import OrgUnit, User

LIMIT_SECONDS = 10.0
SCHOOLS = 100
BATCH = 5000
# A school year of its own, so the benchmark never meets real batches or awards.
BENCH_YEAR = "2097-2098"


def _user(username: str, role: str, *, certified: bool) -> User:
    from zizhu.core import services
    from zizhu.core.models import OrgUnit, UnitKind, User

    existing = User.objects.filter(username=username).first()
    if existing is not None:
        return existing
    # Nobody signs in as these accounts; a random password keeps it that way.
    password = secrets.token_urlsafe(18) + "-Aa1"
    user = services.create_user(username, actor=None, full_name="性能测试", password=password)
    district = OrgUnit.objects.get(kind=UnitKind.DISTRICT, parent__isnull=True)
    services.assign_role(user, actor=None, role=role, org_unit=district)
    if certified:
        today = date.today()  # noqa: DTZ011 -- a certificate's dates are calendar dates
        services.issue_certification(
            user,
            actor=user,
            number=f"BENCH-{username}",
            issued_on=today - timedelta(days=30),
            expires_on=today + timedelta(days=365),
        )
    return user


def _schools() -> list[OrgUnit]:
    from zizhu.core.models import OrgUnit, Stage, UnitKind

    town = OrgUnit.objects.filter(kind=UnitKind.TOWN).order_by("code").first()
    OrgUnit.objects.bulk_create(
        [
            OrgUnit(
                kind=UnitKind.SCHOOL,
                code=f"BENCHPAY{n:04d}",
                name=f"发放测试第{n}小学",
                parent=town,
                stage=Stage.PRIMARY,
            )
            for n in range(SCHOOLS)
        ],
        ignore_conflicts=True,
    )
    return list(OrgUnit.objects.filter(code__startswith="BENCHPAY").order_by("code"))


def _year() -> tuple[SchoolYear, Semester]:
    from zizhu.aid.models import SchoolYear, Semester, Term

    start = int(BENCH_YEAR[:4])
    year, _ = SchoolYear.objects.get_or_create(
        code=BENCH_YEAR,
        defaults={"starts_on": date(start, 9, 1), "ends_on": date(start + 1, 8, 31)},
    )
    semester, _ = Semester.objects.get_or_create(
        school_year=year,
        term=Term.AUTUMN,
        defaults={"starts_on": date(start, 9, 1), "ends_on": date(start + 1, 1, 31)},
    )
    return year, semester


def create_recipients(lines: int) -> tuple[Programme, SchoolYear, Semester]:
    """Students with a guardian and a card (half held by the guardian), one live award
    each, in bulk: outside the timing."""
    from zizhu.aid.models import Award, AwardSource, DifficultyTier, Programme
    from zizhu.core.idnumbers import make_id_number
    from zizhu.registry.models import Guardian, Student

    schools = _schools()
    year, semester = _year()
    programme = Programme.objects.get(code="COMPULSORY_LIVING")
    tier = DifficultyTier.objects.order_by("rank").first()
    first_birth = date(2012, 1, 1)
    for start in range(0, lines, BATCH):
        students, parents = [], []
        for i in range(start, min(start + BATCH, lines)):
            birth = first_birth + timedelta(days=i // 500)
            own = make_id_number("420117", birth, i % 500, male=bool(i & 1))
            parent = make_id_number("420117", birth.replace(year=1980), i % 500, male=True)
            parents.append(parent)
            students.append(
                Student(
                    id_number=own,
                    name=f"发放{i % 997}号",
                    gender="男" if i & 1 else "女",
                    birth_date=birth,
                    area_code="420117",
                    school=schools[i % len(schools)],
                    grade="五年级",
                    bank_account=f"62{i:017d}",
                    card_holder_id=parent if i & 1 else own,
                )
            )
        Student.objects.bulk_create(students)
        Guardian.objects.bulk_create(
            Guardian(student=s, name="家长", id_number=p, relation="父亲")
            for s, p in zip(students, parents, strict=True)
        )
        Award.objects.bulk_create(
            Award(
                student=s,
                school_id=s.school_id,
                programme=programme,
                school_year=year,
                tier=tier,
                annual_amount=Decimal("1250.00"),
                start_month=year.starts_on,
                source=AwardSource.MIGRATION,
            )
            for s in students
        )
    return programme, year, semester


def bench_payment_batch(lines: int = 50_000) -> tuple[str, float, float]:
    """(label, seconds, limit): the timed part is create + check + approve + export."""
    from zizhu.core.models import Role
    from zizhu.payments.services.batches import (
        approve_batch,
        check_batch,
        create_batch,
        export_bank_file,
    )

    officer = _user("bench_pay_officer", Role.DISTRICT_OFFICER, certified=True)
    head = _user("bench_pay_head", Role.DISTRICT_HEAD, certified=True)
    programme, year, semester = create_recipients(lines)
    started = time.perf_counter()
    batch = create_batch(actor=officer, programme=programme, school_year=year, semester=semester)
    check_batch(batch, actor=officer)  # a second check, as after the schools fix cards
    approve_batch(batch, actor=head)
    content = export_bank_file(batch, actor=officer)
    elapsed = time.perf_counter() - started
    assert batch.payable_count == lines, batch.payable_count
    assert content
    return f"payment batch {lines} lines", elapsed, LIMIT_SECONDS


def main() -> int:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "zizhu.config.settings.dev")
    os.environ.setdefault("ZIZHU_DEBUG", "false")  # DEBUG would keep every SQL query
    import django

    django.setup()
    lines = int(sys.argv[1]) if len(sys.argv) > 1 else 50_000
    label, seconds, limit = bench_payment_batch(lines)
    verdict = "PASS" if seconds <= limit else "FAIL"
    print(f"{label}: {seconds:.1f} s (limit {limit:.0f} s) {verdict}")
    return 0 if seconds <= limit else 1


if __name__ == "__main__":
    sys.exit(main())
