"""The audit log for inspectors: a filtered, scoped list, one row in full, and an export."""

from __future__ import annotations

import json
from datetime import date, datetime, time, timedelta
from typing import Any, cast

from django import forms
from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from zizhu.core import services
from zizhu.core.errors import DomainError
from zizhu.core.http import actor_of, paginate, query_without_page, xlsx_response
from zizhu.core.models import AuditEntry, OrgUnit, User
from zizhu.core.reach import get_for, has_permission, require_permission

VIEW_PERM = "audit:view"
EXPORT_PERM = "audit:export"
# One spreadsheet stays openable; past this people narrow the filter instead.
EXPORT_LIMIT = 100_000


_DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class AuditFilterForm(forms.Form):
    action = forms.CharField(label="操作代码（前缀）", max_length=64, required=False)
    actor = forms.CharField(label="操作人", max_length=100, required=False)
    subject_type = forms.CharField(label="对象类型", max_length=64, required=False)
    subject_id = forms.CharField(label="对象编号", max_length=64, required=False)
    org_unit = forms.ModelChoiceField(
        label="单位（含下属）", queryset=OrgUnit.objects.none(), required=False
    )
    date_from = forms.DateField(label="起始日期", required=False, widget=_DATE)
    date_to = forms.DateField(label="截止日期", required=False, widget=_DATE)

    def __init__(self, *args: Any, actor: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        units = OrgUnit.objects.visible_to(actor, VIEW_PERM).order_by("code")
        cast("forms.ModelChoiceField[OrgUnit]", self.fields["org_unit"]).queryset = units

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        start, end = data.get("date_from"), data.get("date_to")
        if start and end and start > end:
            raise forms.ValidationError("起始日期不能晚于截止日期。")
        return data


def _day_start(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


def _apply(entries: QuerySet[AuditEntry], data: dict[str, Any]) -> QuerySet[AuditEntry]:
    if data.get("action"):
        entries = entries.filter(action__startswith=data["action"].strip())
    if data.get("actor"):
        entries = entries.filter(actor_label__icontains=data["actor"].strip())
    if data.get("subject_type"):
        entries = entries.filter(subject_type=data["subject_type"].strip())
    if data.get("subject_id"):
        entries = entries.filter(subject_id=data["subject_id"].strip())
    if unit := data.get("org_unit"):
        # A town's or the district's rows include those of the units beneath it.
        entries = entries.filter(
            Q(org_unit=unit) | Q(org_unit__parent=unit) | Q(org_unit__parent__parent=unit)
        )
    # Whole local days as an aware range, so the `at` index serves the filter.
    if data.get("date_from"):
        entries = entries.filter(at__gte=_day_start(data["date_from"]))
    if data.get("date_to"):
        entries = entries.filter(at__lt=_day_start(data["date_to"] + timedelta(days=1)))
    return entries


def _filtered(request: HttpRequest, actor: User) -> tuple[AuditFilterForm, QuerySet[AuditEntry]]:
    """The actor's reachable rows narrowed by the GET filters (ignored while invalid)."""
    form = AuditFilterForm(request.GET or None, actor=actor)
    entries: QuerySet[AuditEntry] = (
        AuditEntry.objects.visible_to(actor).select_related("org_unit").order_by("-id")
    )
    if form.is_valid():
        entries = _apply(entries, form.cleaned_data)
    elif form.is_bound:
        entries = entries.none()
    return form, entries


def audit_list(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    require_permission(actor, VIEW_PERM)
    form, entries = _filtered(request, actor)
    page = paginate(request, entries.defer("before", "after"))
    return render(
        request,
        "core/audit_list.html",
        {
            "form": form,
            "page": page,
            "query": query_without_page(request),
            "can_export": has_permission(actor, EXPORT_PERM),
        },
    )


def _pretty(value: Any) -> str:
    if value is None:
        return ""
    return json.dumps(value, ensure_ascii=False, indent=2, sort_keys=True)


def audit_detail(request: HttpRequest, pk: int) -> HttpResponse:
    actor = actor_of(request)
    require_permission(actor, VIEW_PERM)
    entry = get_for(
        actor,
        AuditEntry.objects.select_related("org_unit", "actor"),
        "org_unit",
        perm=VIEW_PERM,
        pk=pk,
    )
    context = {"entry": entry, "before": _pretty(entry.before), "after": _pretty(entry.after)}
    return render(request, "core/audit_detail.html", context)


EXPORT_HEADERS = [
    "编号",
    "时间",
    "操作人",
    "角色",
    "单位",
    "操作",
    "对象类型",
    "对象编号",
    "对象",
    "变更前",
    "变更后",
    "请求编号",
    "来源地址",
    "前一条哈希",
    "本条哈希",
]


def _export_row(entry: AuditEntry) -> list[Any]:
    return [
        entry.pk,
        timezone.localtime(entry.at).strftime("%Y-%m-%d %H:%M:%S"),
        entry.actor_label,
        entry.role,
        entry.org_unit.name if entry.org_unit else "",
        entry.action,
        entry.subject_type,
        entry.subject_id,
        entry.subject_label,
        _compact(entry.before),
        _compact(entry.after),
        entry.request_id,
        entry.ip,
        entry.prev_hash,
        entry.hash,
    ]


def _compact(value: Any) -> str:
    if value is None:
        return ""
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


def audit_export(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    require_permission(actor, EXPORT_PERM)
    form, entries = _filtered(request, actor)
    if not form.is_valid() and form.is_bound:
        raise DomainError("筛选条件有误，请返回审计日志页面修改后再导出。")
    count = entries.count()
    if count > EXPORT_LIMIT:
        raise DomainError(
            f"共 {count} 条记录，超过单次导出上限 {EXPORT_LIMIT} 条，请缩小筛选范围。"
        )
    filters = form.cleaned_data if form.is_bound else {}
    # Logged in its own short transaction before the file is built: a long export must not
    # hold the chain's lock, and an export that fails half-way is still on record.
    logged = services.record_export(
        "audit.exported",
        actor=actor,
        perm="audit:export",
        filters={k: v for k, v in filters.items() if v not in (None, "")},
        rows=count,
        org_unit=filters.get("org_unit"),
    )
    entries = entries.filter(pk__lt=logged.pk)
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    rows = (_export_row(entry) for entry in entries.iterator(chunk_size=2000))
    return xlsx_response(f"审计日志-{stamp}.xlsx", EXPORT_HEADERS, rows, sheet="审计日志")
