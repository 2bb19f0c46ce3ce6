"""Award screens: the list of awards (资助名单) with its audited export, an award with its
dated changes, and the district's decisions to stop an award or change its tier.

Every decision takes effect from the first day of the month after it is made (seed 二(二)3,
"从次月起执行"); the page says which month before anything is written.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from django import forms
from django.contrib import messages
from django.core.files.uploadedfile import UploadedFile
from django.db.models import QuerySet
from django.http import FileResponse, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import URLPattern, path
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from zizhu.aid.models import (
    Award,
    AwardChange,
    AwardChangeKind,
    AwardStatus,
    DifficultyTier,
    Programme,
    SchoolYear,
)
from zizhu.aid.rules import annual_amount, next_month
from zizhu.aid.services.notices import decide_award
from zizhu.aid.views.notices import STUDENT_SECRETS, SchoolChoiceField, YearChoiceField
from zizhu.core.errors import DomainError, NotPermitted, OutOfReach
from zizhu.core.files import EVIDENCE_ACCEPT, audited_download, clean_evidence
from zizhu.core.http import actor_of, paginate, query_without_page, xlsx_response
from zizhu.core.models import OrgUnit, User
from zizhu.core.reach import get_for, has_permission, require_permission, scope_for
from zizhu.core.services import record_export

_DEFER = [f"student__{name}" for name in STUDENT_SECRETS]
_ORDER = ("school__code", "student__grade", "student__class_name", "student__name", "pk")


def month_label(month: date) -> str:
    return f"{month.year}年{month.month}月"


# --- list and export ----------------------------------------------------------------------


class AwardFilterForm(forms.Form):
    name = forms.CharField(label="姓名", required=False, max_length=64)
    school = SchoolChoiceField(
        label="学校", queryset=OrgUnit.objects.none(), required=False, empty_label="全部学校"
    )
    programme = forms.ModelChoiceField(
        label="资助项目",
        queryset=Programme.objects.order_by("code"),
        required=False,
        empty_label="全部项目",
    )
    year = YearChoiceField(
        label="学年", queryset=SchoolYear.objects.all(), required=False, empty_label="全部学年"
    )
    status = forms.ChoiceField(
        label="状态", required=False, choices=[("", "全部状态"), *AwardStatus.choices]
    )

    def __init__(self, *args: Any, schools: QuerySet[OrgUnit], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["school"].queryset = schools  # type: ignore[attr-defined]


def _search(
    request: HttpRequest, actor: User, perm: str
) -> tuple[AwardFilterForm, QuerySet[Award]]:
    if request.GET.get("school"):
        get_for(actor, OrgUnit.objects.schools(), "pk", perm=perm, pk=request.GET["school"])
    schools = OrgUnit.objects.visible_to(actor, perm).schools().order_by("code")
    form = AwardFilterForm(request.GET, schools=schools)
    awards: QuerySet[Award] = Award.objects.visible_to(actor, perm)
    if not form.is_valid():
        return form, awards.none()
    data = form.cleaned_data
    if data["name"]:
        awards = awards.filter(student__name__contains=data["name"])
    for key, field in (("school", "school"), ("programme", "programme"), ("year", "school_year")):
        if data[key]:
            awards = awards.filter(**{field: data[key]})
    if data["status"]:
        awards = awards.filter(status=data["status"])
    rows = awards.select_related("student", "school", "programme", "school_year", "tier")
    return form, rows.defer(*_DEFER).order_by(*_ORDER)


@require_GET
def award_list(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    form, awards = _search(request, actor, "aid:view")
    return render(
        request,
        "aid/award_list.html",
        {
            "form": form,
            "page": paginate(request, awards),
            "query": query_without_page(request),
            "can_export": form.is_valid() and has_permission(actor, "student:export"),
        },
    )


_EXPORT_HEADERS = (
    "姓名",
    "学校",
    "年级",
    "班级",
    "资助项目",
    "学年",
    "困难等级",
    "年度金额（元）",
    "开始月份",
    "结束月份",
    "状态",
    "来源",
)


class _Counter:
    def __init__(self) -> None:
        self.value = 0


def _export_rows(awards: QuerySet[Award], counter: _Counter) -> Iterator[list[Any]]:
    for award in awards.iterator(chunk_size=2000):
        counter.value += 1
        yield [
            award.student.name,
            award.school.name,
            award.student.grade,
            award.student.class_name,
            award.programme.name,
            award.school_year.code,
            award.tier.name,
            award.annual_amount,
            month_label(award.start_month),
            month_label(award.end_month) if award.end_month else "",
            award.get_status_display(),
            award.get_source_display(),
        ]


def _describe(form: AwardFilterForm) -> dict[str, str]:
    if not form.is_valid():
        return {}
    described = {}
    for key, value in form.cleaned_data.items():
        if value:
            described[key] = getattr(value, "code", None) or str(value)
    return described


@require_GET
def award_export(request: HttpRequest) -> HttpResponse:
    """资助名单 as XLSX. Names with their aid are personal data: the export needs the
    student-export permission and leaves an audit row with the filters and row count."""
    actor = actor_of(request)
    require_permission(actor, "student:export")
    form, awards = _search(request, actor, "student:export")
    counter = _Counter()
    response = xlsx_response(
        "资助名单.xlsx", _EXPORT_HEADERS, _export_rows(awards, counter), sheet="资助名单"
    )
    record_export(
        "award.exported",
        actor=actor,
        perm="student:export",
        filters=_describe(form),
        rows=counter.value,
        org_unit=form.cleaned_data.get("school") if form.is_valid() else None,
    )
    return response


# --- detail and decisions ---------------------------------------------------------------


class _DecisionForm(forms.Form):
    reason = forms.CharField(
        label="原因",
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 3}),
        error_messages={"required": "请填写原因。"},
    )
    evidence = forms.FileField(label="依据材料（可选）", required=False)

    def clean_evidence(self) -> UploadedFile | None:
        return clean_evidence(self.cleaned_data.get("evidence"), label="依据材料")


class StopForm(_DecisionForm):
    kind = AwardChangeKind.STOP


class TierForm(_DecisionForm):
    kind = AwardChangeKind.CHANGE_TIER
    new_tier = forms.ModelChoiceField(
        label="调整为",
        queryset=DifficultyTier.objects.none(),
        empty_label="请选择困难等级",
        error_messages={"required": "请选择调整后的困难等级。"},
    )
    field_order = ("new_tier", "reason", "evidence")

    def __init__(self, *args: Any, award: Award, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        tiers = DifficultyTier.objects.exclude(pk=award.tier_id).order_by("rank")
        self.fields["new_tier"].queryset = tiers  # type: ignore[attr-defined]


@dataclass(frozen=True)
class TierPreview:
    tier: DifficultyTier
    amount: Decimal | None


def _tier_previews(award: Award) -> list[TierPreview]:
    previews = []
    for tier in DifficultyTier.objects.exclude(pk=award.tier_id).order_by("rank"):
        try:
            amount = annual_amount(award.programme, award.school_year, tier, award.student)
        except DomainError:
            amount = None
        previews.append(TierPreview(tier, amount))
    return previews


def _get_award(actor: User, pk: int) -> Award:
    queryset = Award.objects.select_related(
        "student", "student__school", "school", "programme", "school_year", "tier", "category"
    )
    return get_for(actor, queryset, "school", perm="aid:view", pk=pk)


def _render_detail(
    request: HttpRequest,
    actor: User,
    award: Award,
    *,
    stop_form: StopForm | None = None,
    tier_form: TierForm | None = None,
) -> HttpResponse:
    can_change = award.status == AwardStatus.LIVE and scope_for(actor, "award:change").covers(
        award.school_id
    )
    today = timezone.localdate()
    effective = next_month(today)
    changes = award.changes.select_related("new_tier", "new_school", "actor").order_by(
        "effective_month", "pk"
    )
    return render(
        request,
        "aid/award_detail.html",
        {
            "award": award,
            "changes": changes,
            "can_change": can_change,
            "stop_form": stop_form or StopForm(),
            "tier_form": tier_form or TierForm(award=award),
            "effective_label": month_label(effective),
            "last_paid_label": month_label(max(today.replace(day=1), award.start_month)),
            "tier_previews": _tier_previews(award) if can_change else [],
            "evidence_accept": EVIDENCE_ACCEPT,
        },
        status=400 if (stop_form or tier_form) else 200,
    )


@require_GET
def award_detail(request: HttpRequest, pk: int) -> HttpResponse:
    actor = actor_of(request)
    return _render_detail(request, actor, _get_award(actor, pk))


@require_POST
def award_change(request: HttpRequest, pk: int) -> HttpResponse:
    actor = actor_of(request)
    require_permission(actor, "award:change")
    award = get_for(
        actor,
        Award.objects.select_related("student", "school", "programme", "school_year", "tier"),
        "school",
        perm="award:change",
        pk=pk,
    )
    kind = request.POST.get("kind", "")
    form: StopForm | TierForm
    if kind == AwardChangeKind.CHANGE_TIER:
        form = TierForm(request.POST, request.FILES, award=award)
    elif kind == AwardChangeKind.STOP:
        form = StopForm(request.POST, request.FILES)
    else:
        raise DomainError("请选择停止资助或调整等级。")
    if form.is_valid():
        try:
            change = decide_award(
                award,
                actor=actor,
                kind=kind,
                reason=form.cleaned_data["reason"],
                new_tier=form.cleaned_data.get("new_tier"),
                evidence=form.cleaned_data.get("evidence"),
            )
        except (NotPermitted, OutOfReach):
            raise
        except DomainError as error:
            form.add_error(None, error.message)
        else:
            messages.success(request, _decided_message(change))
            return redirect("aid:award_detail", pk=award.pk)
    award = _get_award(actor, pk)
    if isinstance(form, StopForm):
        return _render_detail(request, actor, award, stop_form=form)
    return _render_detail(request, actor, award, tier_form=form)


def _decided_message(change: AwardChange) -> str:
    effective = month_label(change.effective_month)
    if change.kind == AwardChangeKind.STOP:
        return f"已停止资助，自 {effective} 起生效（发放至上月）。"
    return f"已调整为“{change.new_tier}”，年度金额 {change.new_amount} 元，自 {effective} 起生效。"


@never_cache
@require_GET
def award_evidence(request: HttpRequest, pk: int) -> FileResponse:
    """The evidence behind one award decision; every download is logged."""
    actor = actor_of(request)
    change = get_for(
        actor,
        AwardChange.objects.select_related("award__school"),
        "award__school",
        perm="aid:view",
        pk=pk,
    )
    return audited_download(
        change.evidence,
        actor=actor,
        action="award.evidence_downloaded",
        perm="aid:view",
        filters={"award_change": change.pk},
        org_unit=change.award.school,
        subject=change.award,
        filename=f"资助变更{change.pk}-依据材料",
        label="依据材料",
    )


urlpatterns: list[URLPattern] = [
    path("awards/", award_list, name="award_list"),
    path("awards/export.xlsx", award_export, name="award_export"),
    path("awards/<int:pk>/", award_detail, name="award_detail"),
    path("awards/<int:pk>/change/", award_change, name="award_change"),
    path("award-changes/<int:pk>/evidence/", award_evidence, name="award_evidence"),
]
