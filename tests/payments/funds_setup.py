"""Shared set-up for the fund, recovery and report tests."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from zizhu.aid.models import Award, Programme, SchoolYear, Semester
from zizhu.core.models import User
from zizhu.payments.models import BatchStatus, LineStatus, PaymentBatch, PaymentLine

YEAR = "2026-2027"


def year() -> SchoolYear:
    return SchoolYear.objects.get(code=YEAR)


def living() -> Programme:
    return Programme.objects.get(code="COMPULSORY_LIVING")


def paid_batch(
    awards: list[Award],
    actor: User,
    amount: Decimal,
    *,
    start: date = date(2026, 9, 1),
    end: date = date(2027, 1, 1),
    status: str = LineStatus.PAID,
) -> PaymentBatch:
    """A settled batch with one line per award. The batch workflow (cards, checks, the bank
    file) is tested in its own module; here only the settled outcome matters."""
    first = awards[0]
    batch = PaymentBatch.objects.create(
        number=f"T{first.pk}-{start:%Y%m}-{PaymentBatch.objects.count()}",
        programme=first.programme,
        school_year=first.school_year,
        semester=Semester.objects.get(school_year=first.school_year, term="autumn"),
        period_start=start,
        period_end=end,
        status=BatchStatus.SETTLED,
        created_by=actor,
    )
    for award in awards:
        PaymentLine.objects.create(
            batch=batch,
            award=award,
            student=award.student,
            school=award.school,
            amount=amount,
            bank_account="6222020200000000001",
            status=status,
        )
    return batch
