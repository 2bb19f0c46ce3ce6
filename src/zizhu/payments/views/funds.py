"""资金台账, 追缴 and 统计报表 pages (issue 7, "Funds" and "Reports")."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from zizhu.aid.models import Programme, SchoolYear
from zizhu.aid.rules import current_school_year
from zizhu.core.errors import DomainError
from zizhu.core.http import actor_of, paginate, xlsx_response
from zizhu.core.models import OrgUnit, UnitKind
from zizhu.core.reach import get_unit_for, require_permission, scope_for
from zizhu.core.services import record_export
from zizhu.payments.models import Budget, RecoveryStatus
from zizhu.payments.services import funds, recoveries, reports
from zizhu.payments.views.batches import get_batch_for


def _selection(request: HttpRequest) -> tuple[Programme, SchoolYear]:
    data = request.POST if request.method == "POST" else request.GET
    year_id = data.get("year")
    year = get_object_or_404(SchoolYear, pk=year_id) if year_id else current_school_year()
    programme_id = data.get("programme")
    programme = (
        get_object_or_404(Programme, pk=programme_id)
        if programme_id
        else Programme.objects.order_by("code").first()
    )
    if programme is None:
        raise DomainError("尚未配置资助项目。")
    return programme, year


def _back(programme: Programme, year: SchoolYear) -> HttpResponse:
    return redirect(f"{reverse('payments:fund_home')}?programme={programme.pk}&year={year.pk}")


@require_GET
def fund_home(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    funds.require_district(actor)
    programme, year = _selection(request)
    context = {
        "programme": programme,
        "year": year,
        "programmes": Programme.objects.order_by("code"),
        "years": SchoolYear.objects.order_by("-code"),
        "balances": funds.fund_balances(programme, year),
        "ledger": funds.pool_ledger(programme, year),
        "schools": OrgUnit.objects.filter(kind="school").order_by("code"),
    }
    return render(request, "payments/fund_home.html", context)


@require_POST
def fund_budget(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    programme, year = _selection(request)
    shares = {share: request.POST.get(share, "0") or "0" for share in funds.SHARES}
    funds.set_budget(programme, year, actor=actor, **shares)
    messages.success(request, "预算已保存。")
    return _back(programme, year)


@require_POST
def fund_allocate(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    funds.require_district(actor)
    programme, year = _selection(request)
    budget = Budget.objects.filter(programme=programme, school_year=year).first()
    if budget is None:
        raise DomainError("请先设定预算。")
    entries = funds.allocate_by_quota(budget, actor=actor)
    messages.success(request, f"已按名额下达 {len(entries)} 所学校。")
    return _back(programme, year)


@require_http_methods(["GET", "POST"])
def fund_surplus(request: HttpRequest) -> HttpResponse:
    """GET shows each school's surplus and cause; POST (the confirmation) moves it."""
    actor = actor_of(request)
    funds.require_district(actor)
    programme, year = _selection(request)
    if request.method == "POST":
        entries = funds.move_surplus_to_pool(programme, year, actor=actor)
        messages.success(request, f"已将 {len(entries)} 所学校的结余转入统筹资金。")
        return _back(programme, year)
    rows = funds.surplus_preview(programme, year)
    return render(
        request,
        "payments/fund_surplus.html",
        {"programme": programme, "year": year, "rows": rows},
    )


@require_POST
def fund_pool_out(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    programme, year = _selection(request)
    school = get_unit_for(actor, request.POST.get("school", ""), perm=funds.FUND_PERM)
    if school.kind != UnitKind.SCHOOL:
        raise DomainError("统筹资金只能调往学校，请选择一所学校。")
    funds.pool_out(
        programme,
        year,
        actor=actor,
        school=school,
        amount=request.POST.get("amount", ""),
        cause=request.POST.get("cause", ""),
    )
    messages.success(request, "统筹资金已调出。")
    return _back(programme, year)


@require_POST
def fund_disburse(request: HttpRequest, pk: int) -> HttpResponse:
    actor = actor_of(request)
    funds.require_district(actor)
    batch = get_batch_for(actor, pk)
    funds.record_disbursement(batch, actor=actor)
    messages.success(request, f"批次 {batch.number} 已记入资金台账。")
    return _back(batch.programme, batch.school_year)


# --- recoveries ---------------------------------------------------------------------------


@require_GET
def recovery_list(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    require_permission(actor, recoveries.VIEW_PERM)
    rows = recoveries.recoveries_visible_to(actor).select_related(
        "award__student", "award__programme", "school"
    )
    status = request.GET.get("status", "")
    if status in RecoveryStatus.values:
        rows = rows.filter(status=status)
    school = request.GET.get("school", "")
    if school.isdigit():
        rows = rows.filter(school_id=int(school))
    scope = scope_for(actor, recoveries.VIEW_PERM)
    context = {
        "page": paginate(request, rows.order_by("-created_at", "-pk")),
        "statuses": RecoveryStatus.choices,
        "status": status,
        "school": school,
        "schools": scope.filter_units(OrgUnit.objects.filter(kind="school")).order_by("code"),
        "can_manage": scope_for(actor, recoveries.MANAGE_PERM).everything,
        "can_waive": scope_for(actor, recoveries.WAIVE_PERM).everything,
        "years": SchoolYear.objects.order_by("-code"),
    }
    return render(request, "payments/recovery_list.html", context)


@require_POST
def recovery_collect(request: HttpRequest, pk: int) -> HttpResponse:
    actor = actor_of(request)
    recovery = recoveries.get_recovery_for(actor, pk, perm=recoveries.MANAGE_PERM)
    recoveries.record_collection(recovery, actor=actor, amount=request.POST.get("amount", ""))
    messages.success(request, "已登记收回。")
    return redirect("payments:recovery_list")


@require_POST
def recovery_waive(request: HttpRequest, pk: int) -> HttpResponse:
    actor = actor_of(request)
    recovery = recoveries.get_recovery_for(actor, pk, perm=recoveries.WAIVE_PERM)
    recoveries.waive_recovery(recovery, actor=actor, reason=request.POST.get("reason", ""))
    messages.success(request, "已核销。")
    return redirect("payments:recovery_list")


@require_POST
def recovery_detect(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    year = get_object_or_404(SchoolYear, pk=request.POST.get("year") or 0)
    opened = recoveries.detect_overpayments(actor=actor, school_year=year)
    messages.success(request, f"检出超发 {len(opened)} 笔，已生成追缴。")
    return redirect("payments:recovery_list")


# --- reports ------------------------------------------------------------------------------

REPORT_HEADERS = ("分组", "明细笔数", "待发放", "发放成功", "发放失败", "已拦截")


def _report_filters(request: HttpRequest) -> tuple[str, Programme | None, SchoolYear | None]:
    by = request.GET.get("by", "school")
    programme_id, year_id = request.GET.get("programme"), request.GET.get("year")
    programme = get_object_or_404(Programme, pk=programme_id) if programme_id else None
    year = get_object_or_404(SchoolYear, pk=year_id) if year_id else None
    return by, programme, year


@require_GET
def report_home(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    by, programme, year = _report_filters(request)
    rows = reports.payment_report(actor, by=by, programme=programme, school_year=year)
    context = {
        "rows": rows,
        "by": by,
        "groups": [(key, label) for key, (_, label) in reports.GROUPS.items()],
        "programme": programme,
        "year": year,
        "programmes": Programme.objects.order_by("code"),
        "years": SchoolYear.objects.order_by("-code"),
        "national": scope_for(actor, reports.EXPORT_PERM).everything,
        "query": request.GET.urlencode(),
    }
    return render(request, "payments/report_home.html", context)


@require_GET
def report_export(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    by, programme, year = _report_filters(request)
    rows = reports.payment_report(actor, by=by, programme=programme, school_year=year)
    record_export(
        "payment.report_exported",
        actor=actor,
        perm=reports.VIEW_PERM,
        filters={"by": by, "programme": programme, "year": year},
        rows=len(rows),
    )
    cells = [(r.label, r.lines, r.payable, r.paid, r.failed, r.blocked) for r in rows]
    today = timezone.localdate()
    return xlsx_response(f"发放统计-{today:%Y%m%d}.xlsx", REPORT_HEADERS, cells, sheet="发放统计")


@require_GET
def report_national(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    _, programme, year = _report_filters(request)
    year = year or current_school_year()
    rows = reports.national_rows(actor, school_year=year, programme=programme)
    record_export(
        "payment.national_exported",
        actor=actor,
        perm=reports.EXPORT_PERM,
        filters={"programme": programme, "year": year, "id_number": "clear"},
        rows=len(rows),
    )
    return xlsx_response(
        f"受助学生-{year.code}.xlsx", reports.NATIONAL_HEADERS, rows, sheet="受助学生"
    )


urlpatterns: list[URLPattern] = [
    path("funds/", fund_home, name="fund_home"),
    path("funds/budget/", fund_budget, name="fund_budget"),
    path("funds/allocate/", fund_allocate, name="fund_allocate"),
    path("funds/surplus/", fund_surplus, name="fund_surplus"),
    path("funds/pool-out/", fund_pool_out, name="fund_pool_out"),
    path("funds/batch/<int:pk>/disburse/", fund_disburse, name="fund_disburse"),
    path("recoveries/", recovery_list, name="recovery_list"),
    path("recoveries/detect/", recovery_detect, name="recovery_detect"),
    path("recoveries/<int:pk>/collect/", recovery_collect, name="recovery_collect"),
    path("recoveries/<int:pk>/waive/", recovery_waive, name="recovery_waive"),
    path("reports/", report_home, name="report_home"),
    path("reports/export.xlsx", report_export, name="report_export"),
    path("reports/national.xlsx", report_national, name="report_national"),
]
