"""Payment batches (issue 7, "Batches"): the district creates a batch per programme and period,
runs the pre-payment check, the head approves, the officer downloads the bank file and imports
the bank's result file (发放回盘). Schools see their own lines and fix the failed ones.

Batches belong to the district; a school-level reader sees a batch only through its own lines
(`PaymentLine.objects.visible_to`), and only those lines.
"""

from __future__ import annotations

import base64
from decimal import Decimal
from typing import Any
from urllib.parse import quote

from django import forms
from django.contrib import messages
from django.db.models import Count, Exists, OuterRef, Q, QuerySet, Sum
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import URLPattern, path
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from zizhu.aid.models import Programme, SchoolYear, Semester
from zizhu.aid.rules import CENT
from zizhu.core.crypto import Sensitive, mask
from zizhu.core.errors import DomainError, ImportRejected, OutOfReach
from zizhu.core.http import XLSX_TYPE, actor_of, paginate, query_without_page
from zizhu.core.models import OrgUnit, User
from zizhu.core.reach import has_permission, require_permission, scope_for
from zizhu.core.tabular import RowError, error_report_xlsx
from zizhu.core.widgets import FastSelect
from zizhu.payments.models import (
    BankResultImport,
    BatchStatus,
    LineStatus,
    PaymentBatch,
    PaymentLine,
)
from zizhu.payments.services.batches import (
    approve_batch,
    check_batch,
    create_batch,
    export_bank_file,
)
from zizhu.payments.services.results import (
    EXPORTED_LINE_STATUSES,
    failed_lines_for,
    import_bank_results,
    retry_failed,
)

VIEW_PERM = "payment:view"
MANAGE_PERM = "payment:manage"
APPROVE_PERM = "payment:approve"


# --- reach -------------------------------------------------------------------------------------


def visible_batches(actor: User) -> QuerySet[PaymentBatch]:
    """The district sees every batch; a school only those holding lines of its own."""
    require_permission(actor, VIEW_PERM)
    batches = PaymentBatch.objects.all()
    if scope_for(actor, VIEW_PERM).everything:
        return batches
    lines = PaymentLine.objects.visible_to(actor).filter(batch=OuterRef("pk"))
    return batches.filter(Exists(lines))


def get_batch_for(actor: User, pk: int) -> PaymentBatch:
    batch = (
        visible_batches(actor)
        .select_related("programme", "school_year", "semester", "created_by", "approved_by")
        .filter(pk=pk)
        .first()
    )
    if batch is None:
        raise OutOfReach()
    return batch


# --- list and create ---------------------------------------------------------------------------


class BatchFilter(forms.Form):
    status = forms.ChoiceField(
        label="状态", required=False, choices=[("", "全部状态"), *BatchStatus.choices]
    )
    programme = forms.ModelChoiceField(
        label="资助项目", required=False, queryset=Programme.objects.all(), empty_label="全部项目"
    )
    school_year = forms.ModelChoiceField(
        label="学年", required=False, queryset=SchoolYear.objects.all(), empty_label="全部学年"
    )


@require_GET
def batch_list(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    batches = visible_batches(actor).select_related("programme", "school_year", "semester")
    form = BatchFilter(request.GET or None)
    if form.is_valid():
        data = form.cleaned_data
        if data["status"]:
            batches = batches.filter(status=data["status"])
        if data["programme"]:
            batches = batches.filter(programme=data["programme"])
        if data["school_year"]:
            batches = batches.filter(school_year=data["school_year"])
    # A batch spans every school: a school's counts and money come from its own lines only,
    # never from the batch-wide columns (payable_count, payable_total).
    scope = scope_for(actor, VIEW_PERM)
    mine = Q() if scope.everything else Q(lines__school_id__in=scope.unit_ids)
    not_blocked = mine & ~Q(lines__status=LineStatus.BLOCKED)
    batches = batches.annotate(
        paid_count=Count("lines", filter=mine & Q(lines__status=LineStatus.PAID)),
        failed_count=Count("lines", filter=mine & Q(lines__status=LineStatus.FAILED)),
        blocked_count=Count("lines", filter=mine & Q(lines__status=LineStatus.BLOCKED)),
        own_payable_count=Count("lines", filter=not_blocked),
        own_payable_total=Sum("lines__amount", filter=not_blocked),
    )
    page = paginate(request, batches.order_by("-created_at", "-id"))
    for batch in page.object_list:
        if scope.everything:
            batch.shown_payable_count = batch.payable_count
            batch.shown_payable_total = batch.payable_total
        else:
            batch.shown_payable_count = batch.own_payable_count
            batch.shown_payable_total = (batch.own_payable_total or Decimal(0)).quantize(CENT)
    context = {
        "form": form,
        "page": page,
        "query": query_without_page(request),
        "can_manage": has_permission(actor, MANAGE_PERM),
    }
    return render(request, "payments/batch_list.html", context)


class BatchCreateForm(forms.Form):
    programme = forms.ModelChoiceField(label="资助项目", queryset=Programme.objects.all())
    school_year = forms.ModelChoiceField(label="学年", queryset=SchoolYear.objects.all())
    semester = forms.ModelChoiceField(
        label="学期", queryset=Semester.objects.select_related("school_year")
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        year, semester = data.get("school_year"), data.get("semester")
        if year is not None and semester is not None and semester.school_year_id != year.pk:
            raise forms.ValidationError("所选学期不属于所选学年，请重新选择。")
        return data


@require_http_methods(["GET", "POST"])
def batch_create(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    require_permission(actor, MANAGE_PERM)
    form = BatchCreateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            batch = create_batch(
                actor=actor,
                programme=data["programme"],
                school_year=data["school_year"],
                semester=data["semester"],
            )
        except DomainError as exc:
            form.add_error(None, exc.message)
        else:
            # A line the bank returned earlier in this period is paid again here once the
            # school has fixed the card (issue 7: failures go "into the next batch").
            if retry_failed(batch, actor=actor):
                check_batch(batch, actor=actor)
            messages.success(request, f"已生成发放批次 {batch.number}。")
            return redirect("payments:batch_detail", batch.pk)
    return render(request, "payments/batch_create.html", {"form": form})


# --- detail ------------------------------------------------------------------------------------


class LineFilter(forms.Form):
    status = forms.ChoiceField(
        label="状态",
        required=False,
        choices=[("", "全部状态"), *LineStatus.choices],
        widget=FastSelect,
    )
    school = forms.ModelChoiceField(
        label="学校",
        required=False,
        queryset=OrgUnit.objects.none(),
        empty_label="全部学校",
        widget=FastSelect,
    )

    def __init__(self, *args: Any, schools: QuerySet[OrgUnit], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["school"]
        assert isinstance(field, forms.ModelChoiceField)  # noqa: S101 -- declared above
        field.queryset = schools


def reason_text(reason: object) -> str:
    """Blocking reasons may be stored as text or as {"code", "message"} objects."""
    if isinstance(reason, dict):
        return str(reason.get("message") or reason.get("label") or reason.get("code") or "")
    return str(reason)


def _lines(actor: User, batch: PaymentBatch, request: HttpRequest) -> tuple[Any, LineFilter]:
    visible = PaymentLine.objects.visible_to(actor).filter(batch=batch)
    schools = OrgUnit.objects.filter(pk__in=visible.values("school_id")).order_by("code")
    form = LineFilter(request.GET or None, schools=schools)
    lines = visible.select_related("student", "school", "retry_of")
    if form.is_valid():
        if form.cleaned_data["status"]:
            lines = lines.filter(status=form.cleaned_data["status"])
        if form.cleaned_data["school"]:
            lines = lines.filter(school=form.cleaned_data["school"])
    page = paginate(request, lines.order_by("school_id", "student_id", "pk"))
    for line in page.object_list:
        line.reason_texts = [reason_text(r) for r in line.reasons or []]
        line.masked_account = mask(line.bank_account, Sensitive.BANK_ACCOUNT)
    return page, form


def _totals(actor: User, batch: PaymentBatch) -> dict[str, Any]:
    lines = PaymentLine.objects.visible_to(actor).filter(batch=batch)
    by_status = {
        row["status"]: row
        for row in lines.values("status").annotate(count=Count("pk"), total=Sum("amount"))
    }
    sendable = [s for s in LineStatus.values if s != LineStatus.BLOCKED and s in by_status]
    return {
        "rows": [
            (LineStatus(status).label, by_status[status]["count"], by_status[status]["total"])
            for status in LineStatus.values
            if status in by_status
        ],
        "exported": sum(by_status[s]["count"] for s in EXPORTED_LINE_STATUSES if s in by_status),
        # What the actor may see of "应发": its own non-blocked lines, not the batch's total.
        "payable_count": sum(by_status[s]["count"] for s in sendable),
        "payable_total": sum((by_status[s]["total"] for s in sendable), Decimal(0)).quantize(CENT),
    }


def _render_detail(
    request: HttpRequest, batch: PaymentBatch, extra: dict[str, Any] | None = None
) -> HttpResponse:
    actor = actor_of(request)
    page, form = _lines(actor, batch, request)
    context = {
        "batch": batch,
        "page": page,
        "form": form,
        "query": query_without_page(request),
        "totals": _totals(actor, batch),
        "imports": BankResultImport.objects.filter(batch=batch)
        .select_related("imported_by")
        .order_by("-imported_at"),
        "can_manage": has_permission(actor, MANAGE_PERM),
        "can_approve": has_permission(actor, APPROVE_PERM),
        "can_fund": has_permission(actor, "fund:manage"),
        "Status": BatchStatus,
        **(extra or {}),
    }
    return render(request, "payments/batch_detail.html", context)


@require_GET
def batch_detail(request: HttpRequest, pk: int) -> HttpResponse:
    return _render_detail(request, get_batch_for(actor_of(request), pk))


# --- actions -----------------------------------------------------------------------------------


@require_POST
def batch_check(request: HttpRequest, pk: int) -> HttpResponse:
    actor = actor_of(request)
    require_permission(actor, MANAGE_PERM)
    batch = get_batch_for(actor, pk)
    try:
        report = check_batch(batch, actor=actor)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        blocked = sum(1 for _line, reasons in report if reasons)
        messages.success(request, f"核验完成：{blocked} 条明细被拦截，其余可发放。")
    return redirect("payments:batch_detail", batch.pk)


@require_http_methods(["GET", "POST"])
def batch_approve(request: HttpRequest, pk: int) -> HttpResponse:
    actor = actor_of(request)
    require_permission(actor, APPROVE_PERM)
    batch = get_batch_for(actor, pk)
    if request.method == "POST":
        try:
            approve_batch(batch, actor=actor)
        except DomainError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, f"批次 {batch.number} 已审批，可生成银行文件。")
        return redirect("payments:batch_detail", batch.pk)
    return render(
        request, "payments/batch_approve.html", {"batch": batch, "totals": _totals(actor, batch)}
    )


@require_POST
def batch_export(request: HttpRequest, pk: int) -> HttpResponse:
    actor = actor_of(request)
    require_permission(actor, MANAGE_PERM)
    batch = get_batch_for(actor, pk)
    try:
        content = export_bank_file(batch, actor=actor)
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect("payments:batch_detail", batch.pk)
    response = HttpResponse(content, content_type=XLSX_TYPE)
    filename = quote(f"{batch.number}-银行发放文件.xlsx")
    response["Content-Disposition"] = f"attachment; filename*=UTF-8''{filename}"
    return response


class ResultUploadForm(forms.Form):
    file = forms.FileField(label="回盘文件（CSV 或 XLSX）")


def _report_link(rejection: ImportRejected) -> str:
    """The row report as an inline XLSX download: no job, nothing kept on the server."""
    if not rejection.report:
        return ""
    errors = [
        RowError(int(str(r["row"])), str(r["column"]), str(r["value"]), str(r["reason"]))
        for r in rejection.report
    ]
    encoded = base64.b64encode(error_report_xlsx(errors)).decode()
    return f"data:{XLSX_TYPE};base64,{encoded}"


@require_POST
def batch_results(request: HttpRequest, pk: int) -> HttpResponse:
    actor = actor_of(request)
    require_permission(actor, MANAGE_PERM)
    batch = get_batch_for(actor, pk)
    form = ResultUploadForm(request.POST, request.FILES)
    if not form.is_valid():
        messages.error(request, "请选择银行回盘文件后再上传。")
        return redirect("payments:batch_detail", batch.pk)
    upload = form.cleaned_data["file"]
    try:
        result = import_bank_results(batch, upload, upload.name or "回盘.csv", actor=actor)
    except ImportRejected as exc:
        extra = {"rejection": exc, "report_link": _report_link(exc)}
        return _render_detail(request, batch, extra)
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect("payments:batch_detail", batch.pk)
    messages.success(
        request,
        f"回盘已导入：共 {result.rows} 笔，成功 {result.succeeded} 笔，失败 {result.failed} 笔。"
        "同一文件重复上传不会重复记账。",
    )
    return redirect("payments:batch_detail", batch.pk)


# --- the school's failed lines -----------------------------------------------------------------


@require_GET
def failed_lines(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    require_permission(actor, VIEW_PERM)
    page = paginate(request, failed_lines_for(actor))
    for line in page.object_list:
        line.masked_account = mask(line.bank_account, Sensitive.BANK_ACCOUNT)
    return render(request, "payments/batch_failed_lines.html", {"page": page})


urlpatterns: list[URLPattern] = [
    path("batches/", batch_list, name="batch_list"),
    path("batches/new/", batch_create, name="batch_create"),
    path("batches/<int:pk>/", batch_detail, name="batch_detail"),
    path("batches/<int:pk>/check/", batch_check, name="batch_check"),
    path("batches/<int:pk>/approve/", batch_approve, name="batch_approve"),
    path("batches/<int:pk>/bank-file/", batch_export, name="batch_export"),
    path("batches/<int:pk>/results/", batch_results, name="batch_results"),
    path("failed/", failed_lines, name="failed_lines"),
]
