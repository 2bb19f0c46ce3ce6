"""Payment reports per school, programme and period, and the national system's aided-students
export (issue 7, "Reports"). Reads only, through the payment lines' and awards' reach doors.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from django.db.models import Count, Q, Sum

from zizhu.aid.models import Award, Programme, SchoolYear
from zizhu.aid.rules import CENT
from zizhu.core.errors import DomainError, NotPermitted
from zizhu.core.models import User
from zizhu.core.reach import require_permission, scope_for
from zizhu.payments.models import LineStatus, PaymentLine

VIEW_PERM = "payment:view"
EXPORT_PERM = "student:export"
GROUPS = {
    "school": ("school__name", "按学校"),
    "programme": ("batch__programme__name", "按资助项目"),
    "period": ("batch__period_start", "按发放期间"),
}
ZERO = Decimal("0.00")

NATIONAL_HEADERS = (
    "学年",
    "学校代码",
    "学校名称",
    "身份证号",
    "姓名",
    "资助项目",
    "困难类别",
    "困难等级",
    "年度金额",
    "开始日期",
    "结束日期",
    "发放金额合计",
)


@dataclass(frozen=True)
class ReportRow:
    label: str
    lines: int
    payable: Decimal
    paid: Decimal
    failed: Decimal
    blocked: Decimal


def _sum(status: str) -> Sum:
    return Sum("amount", filter=Q(status=status))


def payment_report(
    actor: User,
    *,
    by: str = "school",
    programme: Programme | None = None,
    school_year: SchoolYear | None = None,
) -> list[ReportRow]:
    """Amounts per status grouped by school, programme or period, within the actor's reach."""
    require_permission(actor, VIEW_PERM)
    if by not in GROUPS:
        raise DomainError("不支持的统计方式。")
    key, _ = GROUPS[by]
    lines = PaymentLine.objects.visible_to(actor)
    if programme is not None:
        lines = lines.filter(batch__programme=programme)
    if school_year is not None:
        lines = lines.filter(batch__school_year=school_year)
    rows = (
        lines.values(key)
        .annotate(
            lines=Count("pk"),
            payable=_sum(LineStatus.PAYABLE),
            paid=_sum(LineStatus.PAID),
            failed=_sum(LineStatus.FAILED),
            blocked=_sum(LineStatus.BLOCKED),
        )
        .order_by(key)
    )
    return [
        ReportRow(
            label=_label(row[key]),
            lines=row["lines"],
            payable=_cents(row["payable"]),
            paid=_cents(row["paid"]),
            failed=_cents(row["failed"]),
            blocked=_cents(row["blocked"]),
        )
        for row in rows
    ]


def _cents(value: Decimal | None) -> Decimal:
    """SQLite sums drop trailing zeros; every amount leaves here with 2 places."""
    return (value or ZERO).quantize(CENT)


def _label(value: Any) -> str:
    if isinstance(value, date):
        return f"{value:%Y年%m月}起"
    return str(value)


def yyyymmdd(day: date | None) -> str:
    return "" if day is None else f"{day:%Y%m%d}"


def month_end(month: date) -> date:
    return month.replace(day=calendar.monthrange(month.year, month.month)[1])


def national_rows(
    actor: User, *, school_year: SchoolYear, programme: Programme | None = None
) -> list[tuple[str, ...]]:
    """One row per award in the national layout. The ID number is in clear, so only the
    district exports it (the caller audits the export)."""
    require_permission(actor, EXPORT_PERM)
    if not scope_for(actor, EXPORT_PERM).everything:
        raise NotPermitted("全国系统受助学生导出含完整身份证号，仅区资助中心可导出。")
    awards = Award.objects.filter(school_year=school_year)
    if programme is not None:
        awards = awards.filter(programme=programme)
    awards = awards.select_related(
        "school", "student", "programme", "category", "tier", "school_year"
    ).order_by("school__code", "student__name", "pk")
    paid = dict(
        PaymentLine.objects.filter(award__in=awards, status=LineStatus.PAID)
        .values("award_id")
        .annotate(total=Sum("amount"))
        .order_by()
        .values_list("award_id", "total")
    )
    return [
        (
            award.school_year.code,
            award.school.code,
            award.school.name,
            str(award.student.id_number or ""),
            award.student.name,
            award.programme.name,
            str(award.category.number) if award.category else "",
            award.tier.name,
            str(award.annual_amount),
            yyyymmdd(award.start_month),
            yyyymmdd(month_end(award.end_month) if award.end_month else None),
            str(_cents(paid.get(award.pk))),
        )
        for award in awards
    ]
