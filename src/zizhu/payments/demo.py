"""The payments half of the demo district: a paid batch for the past semester (issue 7, "The
demo district has paid batches for the past semester").

It builds on `registry.demo.seed_demo`, `aid.demo.seed_aid_demo` and the clue demo, and acts
only through the real services, as the demo accounts:

* demo_district brings about twenty students of the demo school in as live recipients of
  the past school year (2025-2026) with the migration import (受助学生 file), because the aid
  demo's awards belong to the current year;
* demo_district sets that year's places for the demo school, the budget, and allocates it;
* demo_district creates the spring-semester batch (the pre-payment check runs with it),
  demo_head approves it, demo_district exports the bank file;
* the bank's 发放回盘 file is built from the exported file — every line 成功 except one
  失败 (账户已销户) — and demo_district imports it, which settles the batch and puts the
  failure on the demo school's work list;
* demo_district records the disbursement in the fund ledger.

Everything is drawn from `random.Random(seed)`.
"""

from __future__ import annotations

import csv
import io
import random
from decimal import Decimal

from django.db import transaction
from openpyxl import load_workbook

from zizhu.aid.demo import PROGRAMME, the_demo_school
from zizhu.aid.models import DifficultyTier, Programme, SchoolYear, Semester, Standard, Term
from zizhu.aid.services import config as config_svc
from zizhu.aid.services.migration import SPEC, import_awards
from zizhu.core import audit
from zizhu.core.errors import DomainError
from zizhu.core.models import User
from zizhu.payments.models import LineStatus
from zizhu.payments.services import funds
from zizhu.payments.services.batches import approve_batch, create_batch, export_bank_file
from zizhu.payments.services.results import FAILURE, RESULT_COLUMNS, SUCCESS, import_bank_results
from zizhu.registry.models import Student, StudentStatus

PAST_YEAR = "2025-2026"
RECIPIENTS = 20
START_MONTH = "2025-09"
FAILURE_REASON = "账户已销户"
# The four levels' shares of the budget, in tenths (central, provincial, city, district).
BUDGET_SHARES = (5, 3, 1, 1)


def _user(username: str) -> User:
    user = User.objects.filter(username=username).first()
    if user is None:
        raise DomainError("请先生成演示数据（zizhu seed-demo），再生成发放演示数据。")
    return user


def _annual_amount(programme: Programme, year: SchoolYear, tier: DifficultyTier) -> Decimal:
    standard = (
        Standard.objects.filter(programme=programme, school_year=year, tier=tier)
        .order_by("stage")
        .filter(stage__in=("小学", ""))
        .first()
    )
    if standard is None:
        raise DomainError(f"{year}尚未设定“{programme.name}”的资助标准。")
    return standard.annual_amount


def _recipients_file(
    students: list[Student], *, programme: Programme, year: SchoolYear, rng: random.Random
) -> bytes:
    """The 受助学生 file of the past year, as the national system would export it."""
    tiers = list(DifficultyTier.objects.order_by("rank"))
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([header for header, _ in SPEC])
    for student in students:
        tier = tiers[rng.randrange(len(tiers))]
        amount = _annual_amount(programme, year, tier)
        if not student.boarder:
            amount = (amount * programme.non_boarder_ratio).quantize(Decimal("0.01"))
        values = {
            "id_number": student.id_number or "",
            "name": student.name,
            "school_code": student.school.code,
            "programme": programme.code,
            "school_year": year.code,
            "category": str(rng.choice((1, 2, 7))),
            "tier": tier.name,
            "annual_amount": f"{amount:.2f}",
            "start_month": START_MONTH,
            "end_month": "",
            "status": "有效",
        }
        writer.writerow([values[key] for _, key in SPEC])
    return out.getvalue().encode("utf-8-sig")


def _results_file(bank_file: bytes, *, failing: int) -> bytes:
    """The bank's 发放回盘 for the exported 代发 file: every row paid but the `failing`-th."""
    sheet = load_workbook(io.BytesIO(bank_file), read_only=True).worksheets[0]
    rows = sheet.iter_rows(values_only=True)
    header = [str(cell) for cell in next(rows)]
    at = {name: header.index(name) for name in ("批次号", "身份证号", "银行卡号", "金额")}
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([column.header for column in RESULT_COLUMNS])
    for index, row in enumerate(rows):
        failed = index == failing
        writer.writerow(
            [
                row[at["批次号"]],
                row[at["身份证号"]],
                row[at["银行卡号"]],
                row[at["金额"]],
                FAILURE if failed else SUCCESS,
                FAILURE_REASON if failed else "",
            ]
        )
    return out.getvalue().encode("utf-8-sig")


def _budget(
    programme: Programme, year: SchoolYear, *, district: User, school_id: int, places: int
) -> int:
    """Places, budget and allocation for the past year; returns the ledger entries made.

    The budget is what the batch owes plus a margin, split between the four levels."""
    config_svc.set_quotas(programme, actor=district, school_year=year, places={school_id: places})
    total = Decimal(1250 * places).quantize(Decimal("0.01"))
    shares = funds.split_by_weights(total, list(BUDGET_SHARES))
    budget = funds.set_budget(
        programme,
        year,
        actor=district,
        **dict(zip(funds.SHARES, shares, strict=True)),
    )
    return len(funds.allocate_by_quota(budget, actor=district))


@transaction.atomic
def seed_payment_demo(*, seed: int) -> dict[str, int]:
    """A settled batch for the spring semester of 2025-2026 at the demo school. Once only:
    the migration import refuses the same recipients file twice."""
    rng = random.Random(f"payment-demo-{seed}")  # noqa: S311 - fictitious data, not secrets
    district, head = _user("demo_district"), _user("demo_head")
    school = the_demo_school()
    programme = Programme.objects.get(code=PROGRAMME)
    year = SchoolYear.objects.get(code=PAST_YEAR)
    spring = Semester.objects.get(school_year=year, term=Term.SPRING)

    pool = list(
        Student.objects.filter(school=school, status=StudentStatus.ENROLLED)
        .select_related("school")
        .order_by("grade", "class_name", "name", "pk")
    )
    chosen = rng.sample(pool, min(RECIPIENTS, len(pool)))
    if len(chosen) < 2:
        raise DomainError("演示学校在读学生不足，无法生成发放演示数据。")
    source = _recipients_file(chosen, programme=programme, year=year, rng=rng)
    imported = import_awards(source, f"受助学生_{PAST_YEAR}.csv", actor=district)

    fund_entries = _budget(
        programme, year, district=district, school_id=school.pk, places=len(chosen)
    )

    batch = create_batch(actor=district, programme=programme, school_year=year, semester=spring)
    approve_batch(batch, actor=head)
    if batch.payable_count < 2:
        raise DomainError("演示批次可发放的明细不足两笔，无法生成发放演示数据。")
    bank_file = export_bank_file(batch, actor=district)
    failing = rng.randrange(batch.payable_count)
    results = _results_file(bank_file, failing=failing)
    result = import_bank_results(batch, results, f"发放回盘_{batch.number}.csv", actor=district)
    fund_entries += len(funds.record_disbursement(batch, actor=district))

    summary = {
        "awards": imported["rows"],
        "batches": 1,
        "paid": result.succeeded,
        "failed": result.failed,
        "blocked": batch.lines.filter(status=LineStatus.BLOCKED).count(),
        "fund_entries": fund_entries,
    }
    audit.record(
        "demo.payments_seeded",
        actor=None,
        actor_label="演示数据",
        after={"seed": seed, "batch": batch.number, **summary},
    )
    return summary
