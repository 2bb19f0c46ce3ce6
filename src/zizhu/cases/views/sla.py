"""办理时效 (issue 5, "Deadlines"): on time / due soon / overdue for open clues and the share
closed within deadline, by school, channel and month; its export; the overdue work list.

Who sees what is `clue:view` reach: the district every clue, a town supervisor the town's
schools, a school its own clues.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import URLPattern, path
from django.utils import timezone
from django.views.decorators.http import require_GET

from zizhu.cases.models import ClueStatus
from zizhu.cases.services.deadlines import (
    VIEW_PERM,
    SlaReport,
    SlaRow,
    overdue_clues,
    sla_report,
)
from zizhu.core.errors import DomainError
from zizhu.core.http import actor_of, paginate, xlsx_response
from zizhu.core.reach import require_permission
from zizhu.core.services import record_export

BREAKDOWNS = {"school": "按学校", "channel": "按来源渠道", "month": "按受理月份"}
SLA_HEADERS = (
    "分组",
    "办理中：按期",
    "办理中：临期",
    "办理中：逾期",
    "待分派/待答复",
    "已办结",
    "按期办结",
    "按期办结率（%）",
)
OVERDUE_HEADERS = ("线索编号", "学校", "当前环节", "办理期限", "逾期起始", "督办时间")


def _rows(report: SlaReport, by: str) -> list[SlaRow]:
    rows: list[SlaRow] = getattr(report, f"by_{by}")
    return rows


@require_GET
def sla_home(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    require_permission(actor, VIEW_PERM)
    report = sla_report(actor)
    tables = [(by, label, _rows(report, by)) for by, label in BREAKDOWNS.items()]
    return render(request, "cases/sla_home.html", {"report": report, "tables": tables})


def _sla_cells(row: SlaRow) -> tuple[Any, ...]:
    share = "" if row.share_in_time is None else row.share_in_time
    return (
        row.label,
        row.on_time,
        row.due_soon,
        row.overdue,
        row.waiting,
        row.closed,
        row.closed_in_time,
        share,
    )


@require_GET
def sla_export(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    require_permission(actor, VIEW_PERM)
    by = request.GET.get("by", "school")
    today = timezone.localdate()
    if by == "overdue":
        clues = list(overdue_clues(actor, today=today))
        headers: tuple[str, ...] = OVERDUE_HEADERS
        rows: list[tuple[Any, ...]] = [
            (
                c.number,
                c.school.name if c.school else "区资助中心",
                ClueStatus(c.status).label,
                c.due_on,
                c.overdue_since,
                timezone.localtime(c.escalated_at).strftime("%Y-%m-%d %H:%M")
                if c.escalated_at
                else "",
            )
            for c in clues
        ]
        sheet = "逾期线索"
    elif by in BREAKDOWNS:
        report = sla_report(actor, today=today)
        headers = SLA_HEADERS
        rows = [_sla_cells(r) for r in [*_rows(report, by), report.total]]
        sheet = f"办理时效{BREAKDOWNS[by]}"
    else:
        raise DomainError("不支持的导出方式，请从“办理时效”页面上的按钮导出。")
    record_export(
        "clue.sla_exported",
        actor=actor,
        perm=VIEW_PERM,
        filters={"by": by, "date": today},
        rows=len(rows),
    )
    return xlsx_response(f"{sheet}-{today:%Y%m%d}.xlsx", headers, rows, sheet=sheet)


@require_GET
def sla_overdue(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    require_permission(actor, VIEW_PERM)
    page = paginate(request, overdue_clues(actor))
    return render(request, "cases/sla_overdue.html", {"page": page, "today": timezone.localdate()})


urlpatterns: list[URLPattern] = [
    path("sla/", sla_home, name="sla_home"),
    path("sla/export.xlsx", sla_export, name="sla_export"),
    path("sla/overdue/", sla_overdue, name="sla_overdue"),
]
