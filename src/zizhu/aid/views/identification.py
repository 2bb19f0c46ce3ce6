"""Identification screens (seed 二(一)3): the list of identifications and its export for the
national system, the proposal work list, a student's identification page with its evidence,
and the category-7 visit and evaluation forms.

Reads go through the reach doors (`visible_to`, `get_for`, the helpers in
`aid.services.identification`); writes through the services, which check certification,
reach and the evidence rule and audit each step.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from django import forms
from django.contrib import messages
from django.core.files.uploadedfile import UploadedFile
from django.db.models import QuerySet
from django.http import FileResponse, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from zizhu.aid.models import (
    CategoryProposal,
    DifficultyTier,
    HardshipCategory,
    Identification,
    ProposalStatus,
    SchoolYear,
)
from zizhu.aid.services import identification as services
from zizhu.aid.views.config import chosen_year, posted
from zizhu.core.crypto import Sensitive, mask
from zizhu.core.errors import DomainError, NotPermitted
from zizhu.core.files import audited_download, clean_evidence
from zizhu.core.http import actor_of, paginate, query_without_page, xlsx_response
from zizhu.core.models import OrgUnit, User
from zizhu.core.reach import get_for, has_permission, require_permission, scope_for
from zizhu.core.services import record_export
from zizhu.registry.models import Student
from zizhu.sources.formats import FORMATS
from zizhu.sources.models import DatasetKind

VIEW = services.VIEW
MANAGE = services.MANAGE
EXPORT = "student:export"
_DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
_DATE_ERRORS = {"required": "请填写日期。", "invalid": "请按“年-月-日”填写日期，如 2026-09-20。"}


# --- forms --------------------------------------------------------------------------------


class _SchoolField(forms.ModelChoiceField[OrgUnit]):
    def label_from_instance(self, obj: OrgUnit) -> str:
        return obj.name


class _FilterForm(forms.Form):
    """Filters shared by the identification list and the proposal work list."""

    year = forms.ModelChoiceField(
        label="学年",
        queryset=SchoolYear.objects.order_by("-code"),
        required=False,
        empty_label=None,
    )
    school = _SchoolField(
        label="学校", queryset=OrgUnit.objects.none(), required=False, empty_label="全部"
    )
    category = forms.ModelChoiceField(
        label="困难类别",
        queryset=HardshipCategory.objects.order_by("number"),
        required=False,
        empty_label="全部",
    )

    def __init__(self, *args: Any, actor: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        schools = OrgUnit.objects.visible_to(actor, VIEW).schools().order_by("code")
        self.fields["school"].queryset = schools  # type: ignore[attr-defined]
        for field in self.fields.values():
            field.error_messages["invalid_choice"] = "所选项不存在或不在您的管辖范围内。"


class IdentificationFilterForm(_FilterForm):
    tier = forms.ModelChoiceField(
        label="困难等级", queryset=DifficultyTier.objects.all(), required=False, empty_label="全部"
    )
    state = forms.ChoiceField(
        label="状态",
        required=False,
        choices=[("", "有效"), ("revoked", "已撤销（重新认定前的记录）"), ("all", "全部")],
    )


class ProposalFilterForm(_FilterForm):
    status = forms.ChoiceField(
        label="建议状态", required=False, choices=[("", "全部"), *ProposalStatus.choices]
    )


class DecideForm(forms.Form):
    decision = forms.ChoiceField(choices=[("confirm", "确认"), ("dismiss", "不予认定")])
    note = forms.CharField(label="说明", max_length=300, required=False)


class IdentifyForm(forms.Form):
    category = forms.ModelChoiceField(
        label="困难类别",
        queryset=HardshipCategory.objects.order_by("number"),
        empty_label="请选择",
        error_messages={"required": "请选择困难类别。"},
    )
    tier = forms.ModelChoiceField(
        label="认定级别（困难等级）",
        queryset=DifficultyTier.objects.all(),
        empty_label="请选择",
        error_messages={"required": "请选择困难等级。"},
    )
    reason = forms.CharField(
        label="认定原因",
        max_length=300,
        widget=forms.Textarea(attrs={"rows": 2}),
        error_messages={"required": "请填写认定原因。"},
    )
    exception_reason = forms.CharField(
        label="例外说明（仅第1–6类暂无已确认的部门比对依据时填写）",
        max_length=300,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )


class VisitForm(forms.Form):
    kind = forms.ChoiceField(label="走访方式", choices=[(k, k) for k in services.VISIT_KINDS])
    visited_on = forms.DateField(label="走访日期", widget=_DATE, error_messages=_DATE_ERRORS)
    visitors = forms.CharField(
        label="走访人员", max_length=200, error_messages={"required": "请填写走访人员。"}
    )
    met_with = forms.CharField(
        label="走访对象（家长、邻居、村社区干部等）",
        max_length=200,
        error_messages={"required": "请填写走访对象。"},
    )
    findings = forms.CharField(
        label="走访情况",
        widget=forms.Textarea(attrs={"rows": 5}),
        error_messages={"required": "请填写走访了解到的家庭情况。"},
    )
    attachment = forms.FileField(
        label="附件（走访座谈记录扫描件，PDF/JPG/PNG，可不传）",
        required=False,
        error_messages={"empty": "上传的附件是空文件，请重新选择。"},
    )

    def clean_attachment(self) -> UploadedFile | None:
        return clean_evidence(self.cleaned_data.get("attachment"), label="附件")


class EvaluationForm(forms.Form):
    held_on = forms.DateField(label="评议日期", widget=_DATE, error_messages=_DATE_ERRORS)
    members = forms.CharField(
        label="评议小组成员", max_length=300, error_messages={"required": "请填写评议小组成员。"}
    )
    agreed = forms.TypedChoiceField(
        label="评议结果",
        choices=[("yes", "同意认定"), ("no", "不同意认定")],
        coerce=lambda value: value == "yes",
        # app.css stretches inputs to the full width; radios stay beside their labels.
        widget=forms.RadioSelect(attrs={"style": "display:inline;width:auto"}),
        error_messages={"required": "请选择评议结果。"},
    )
    opinion = forms.CharField(
        label="评议意见",
        widget=forms.Textarea(attrs={"rows": 4}),
        error_messages={"required": "请填写评议意见。"},
    )


# --- identification list and export -------------------------------------------------------


def _filtered_identifications(
    form: IdentificationFilterForm, queryset: QuerySet[Identification], year: SchoolYear | None
) -> QuerySet[Identification]:
    if not form.is_valid():
        return queryset.none()
    data = form.cleaned_data
    year = data["year"] or year
    queryset = queryset.filter(school_year=year) if year else queryset.none()
    for key in ("category", "tier"):
        if data[key]:
            queryset = queryset.filter(**{key: data[key]})
    if data["school"]:
        queryset = queryset.filter(student__school=data["school"])
    if data["state"] == "revoked":
        return queryset.filter(revoked_at__isnull=False)
    if data["state"] != "all":
        queryset = queryset.filter(revoked_at__isnull=True)
    return queryset


def _identifications(
    request: HttpRequest, actor: User, perm: str
) -> tuple[IdentificationFilterForm, QuerySet[Identification]]:
    year = chosen_year(request)
    data = request.GET.copy()
    if year is not None and not data.get("year"):
        data["year"] = str(year.pk)
    form = IdentificationFilterForm(data, actor=actor)
    queryset = Identification.objects.visible_to(actor, perm).select_related(
        "student__school", "category", "tier", "identified_by", "school_year"
    )
    found = _filtered_identifications(form, queryset, year)
    return form, found.order_by("student__school__code", "student__grade", "student__name", "pk")


def evidence_label(identification: Identification) -> str:
    if identification.proposal_id:
        return "部门数据比对"
    if identification.home_visit_id:
        return "走访及评议"
    return "例外认定" if identification.exception_reason else ""


def can_export(actor: User) -> bool:
    """The national-system file carries clear ID numbers: district roles only."""
    return has_permission(actor, EXPORT) and scope_for(actor, EXPORT).everything


@require_GET
def identification_list(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    require_permission(actor, VIEW)
    form, identifications = _identifications(request, actor, VIEW)
    page = paginate(request, identifications)
    rows = [
        (item, mask(item.student.id_number, Sensitive.ID_NUMBER), evidence_label(item))
        for item in page
    ]
    return render(
        request,
        "aid/identification_list.html",
        {
            "form": form,
            "page": page,
            "rows": rows,
            "query": query_without_page(request),
            "can_export": can_export(actor),
        },
    )


EXPORT_HEADERS = (
    "身份证号",
    "姓名",
    "学校代码",
    "学校名称",
    "年级",
    "班级",
    "学年",
    "困难类别",
    "认定级别",
    "认定时间",
    "认定原因",
)


@dataclass
class _Counter:
    value: int = 0


def _export_rows(queryset: QuerySet[Identification], counter: _Counter) -> Iterator[list[Any]]:
    for item in queryset.iterator(chunk_size=2000):
        counter.value += 1
        student = item.student
        yield [
            student.id_number,
            student.name,
            student.school.code,
            student.school.name,
            student.grade,
            student.class_name,
            item.school_year.code,
            f"{item.category.number} {item.category.name}",
            item.tier.name,
            f"{item.identified_on:%Y%m%d}",  # the national system's YYYYMMDD
            item.reason,
        ]


def _describe(form: IdentificationFilterForm) -> dict[str, str]:
    if not form.is_valid():
        return {}
    described = {}
    for key, value in form.cleaned_data.items():
        if value:
            described[key] = getattr(value, "code", None) or str(value)
    return described


@require_GET
def identification_export(request: HttpRequest) -> HttpResponse:
    """认定级别, 认定时间 (YYYYMMDD) and 认定原因 per student, in clear, for the national
    student-aid system. Logged by `record_export` like every personal-data export."""
    actor = actor_of(request)
    if not can_export(actor):
        raise NotPermitted("导出全国学生资助管理信息系统认定名单须由区资助中心办理。")
    form, identifications = _identifications(request, actor, EXPORT)
    counter = _Counter()
    response = xlsx_response(
        "家庭经济困难学生认定名单.xlsx",
        EXPORT_HEADERS,
        _export_rows(identifications, counter),
        sheet="认定名单",
    )
    record_export(
        "identification.exported",
        actor=actor,
        perm=EXPORT,
        filters=_describe(form),
        rows=counter.value,
        org_unit=form.cleaned_data.get("school") if form.is_valid() else None,
    )
    return response


# --- proposal work list -------------------------------------------------------------------


def _filtered_proposals(
    form: ProposalFilterForm, queryset: QuerySet[CategoryProposal], year: SchoolYear | None
) -> QuerySet[CategoryProposal]:
    if not form.is_valid():
        return queryset.none()
    data = form.cleaned_data
    year = data["year"] or year
    queryset = queryset.filter(school_year=year) if year else queryset.none()
    if data["school"]:
        queryset = queryset.filter(student__school=data["school"])
    if data["category"]:
        queryset = queryset.filter(category=data["category"])
    if data["status"]:
        queryset = queryset.filter(status=data["status"])
    return queryset


@dataclass(frozen=True)
class ProposalRow:
    proposal: CategoryProposal
    stale: bool
    id_number: str


@require_GET
def identification_proposals(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    require_permission(actor, VIEW)
    year = chosen_year(request)
    data = request.GET.copy()
    if year is not None and not data.get("year"):
        data["year"] = str(year.pk)
    if "status" not in data:
        data["status"] = ProposalStatus.PROPOSED  # a work list: what is waiting, by default
    form = ProposalFilterForm(data, actor=actor)
    queryset = services.proposals_visible_to(actor).select_related(
        "student__school", "category", "dataset_version", "record", "decided_by"
    )
    proposals = _filtered_proposals(form, queryset, year).order_by(
        "student__school__code", "student__name", "category__number", "pk"
    )
    page = paginate(request, proposals)
    stale = services.stale_proposal_ids(page)
    rows = [
        ProposalRow(p, p.pk in stale, mask(p.student.id_number, Sensitive.ID_NUMBER)) for p in page
    ]
    return render(
        request,
        "aid/identification_proposals.html",
        {
            "form": form,
            "page": page,
            "rows": rows,
            "query": query_without_page(request),
            "can_manage": has_permission(actor, MANAGE),
            "year": form.cleaned_data.get("year") if form.is_valid() else year,
        },
    )


@require_POST
def identification_run(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    require_permission(actor, MANAGE)
    raw = request.POST.get("year", "")
    year = SchoolYear.objects.filter(pk=raw).first() if raw.isdigit() else None
    if year is None:
        raise DomainError("请选择要比对的学年。")
    job = services.start_category_proposals(actor=actor, school_year=year)
    messages.success(request, "已开始类别比对，完成后可在本页查看新增的比对建议。")
    return redirect("core:job_detail", pk=job.pk)


def _safe_next(request: HttpRequest, fallback: str) -> str:
    # Django's own check: a prefix test lets "/\evil.example" through, which browsers
    # follow to another host.
    target = request.POST.get("next", "")
    allowed = url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    )
    return target if target and allowed else fallback


@require_POST
def identification_proposal_decide(request: HttpRequest, pk: int) -> HttpResponse:
    actor = actor_of(request)
    proposal = services.get_proposal_for(actor, pk, perm=MANAGE)
    form = DecideForm(request.POST)
    back = _safe_next(request, reverse("aid:identification_student", args=[proposal.student_id]))
    if not form.is_valid():
        messages.error(request, "请选择“确认”或“不予认定”。")
        return redirect(back)
    note = form.cleaned_data["note"]
    try:
        if form.cleaned_data["decision"] == "confirm":
            services.confirm_proposal(proposal, actor=actor, note=note)
            messages.success(request, f"已确认{proposal.student.name}的{proposal.category}。")
        else:
            services.dismiss_proposal(proposal, actor=actor, note=note)
            messages.success(request, f"已将{proposal.student.name}的比对建议标为不予认定。")
    except DomainError as error:
        if error.status == 403:
            raise
        messages.error(request, error.message)
    return redirect(back)


# --- a student's identification page ------------------------------------------------------


@dataclass(frozen=True)
class Evidence:
    """A proposal as the page shows it: where the data came from and what the row says."""

    proposal: CategoryProposal
    dataset: str
    attrs: list[tuple[str, str]]
    stale: bool


def _evidence(proposals: list[CategoryProposal]) -> list[Evidence]:
    stale = services.stale_proposal_ids(proposals)
    shown = []
    for proposal in proposals:
        kind = proposal.dataset_version.kind
        spec = FORMATS.get(kind)
        headers = {c.key: c.header for c in spec.columns} if spec else {}
        hidden = spec.id_keys if spec else frozenset()
        attrs = [
            (headers.get(key, key), str(value))
            for key, value in proposal.record.attrs.items()
            if key not in hidden
        ]
        label = str(DatasetKind(kind).label) if kind in DatasetKind.values else kind
        shown.append(Evidence(proposal, label, attrs, proposal.pk in stale))
    return shown


def _student_for(actor: User, pk: int, perm: str = VIEW) -> Student:
    return get_for(actor, Student.objects.select_related("school"), "school", perm=perm, pk=pk)


def _student_context(actor: User, student: Student, year: SchoolYear) -> dict[str, Any]:
    identifications = (
        Identification.objects.visible_to(actor)
        .filter(student=student, school_year=year)
        .select_related("category", "tier", "identified_by")
        .order_by("-pk")
    )
    return {
        "student": student,
        "id_number": mask(student.id_number, Sensitive.ID_NUMBER),
        "year": year,
        "years": SchoolYear.objects.order_by("-code"),
        "identifications": list(identifications),
        "evidence": _evidence(list(services.proposals_of(student, year))),
        "visits": services.visits_visible_to(actor)
        .filter(student=student, school_year=year)
        .select_related("recorded_by"),
        "evaluations": services.evaluations_visible_to(actor)
        .filter(student=student, school_year=year)
        .select_related("recorded_by")
        .order_by("-held_on", "-pk"),
        "can_manage": has_permission(actor, MANAGE)
        and scope_for(actor, MANAGE).covers(student.school_id),
    }


def _year_or_error(request: HttpRequest) -> SchoolYear:
    year = chosen_year(request)
    if year is None:
        raise DomainError("尚未设置学年，请区资助中心先在“资助配置”中设置。")
    return year


@require_http_methods(["GET", "POST"])
def identification_student(request: HttpRequest, pk: int) -> HttpResponse:
    """The student's evidence for the year and, for officers, the form to identify."""
    actor = actor_of(request)
    student = _student_for(actor, pk)
    year = _year_or_error(request)
    form = IdentifyForm(posted(request))
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.identify_student(
                student,
                actor=actor,
                school_year=year,
                category=data["category"],
                tier=data["tier"],
                reason=data["reason"],
                exception_reason=data["exception_reason"],
            )
        except DomainError as error:
            if error.status == 403:
                raise
            form.add_error(None, error.message)
        else:
            messages.success(
                request, f"已认定{student.name}为{data['category']}（{data['tier']}）。"
            )
            return redirect(_student_url(student, year))
    context = _student_context(actor, student, year)
    context["form"] = form
    return render(request, "aid/identification_student.html", context)


def _student_url(student: Student, year: SchoolYear) -> str:
    return f"{reverse('aid:identification_student', args=[student.pk])}?year={year.pk}"


# --- category 7 evidence forms ------------------------------------------------------------


@require_http_methods(["GET", "POST"])
def identification_visit_create(request: HttpRequest, pk: int) -> HttpResponse:
    actor = actor_of(request)
    require_permission(actor, MANAGE)
    student = _student_for(actor, pk, MANAGE)
    year = _year_or_error(request)
    form = VisitForm(posted(request), request.FILES or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.record_home_visit(
                student,
                actor=actor,
                school_year=year,
                kind=data["kind"],
                visited_on=data["visited_on"],
                visitors=data["visitors"],
                met_with=data["met_with"],
                findings=data["findings"],
                attachment=data["attachment"],
            )
        except DomainError as error:
            form.add_error(None, error.message)
        else:
            messages.success(request, "已保存走访座谈记录。")
            return redirect(_student_url(student, year))
    return _evidence_form(request, form, student, year, "录入走访座谈记录")


@require_http_methods(["GET", "POST"])
def identification_evaluation_create(request: HttpRequest, pk: int) -> HttpResponse:
    actor = actor_of(request)
    require_permission(actor, MANAGE)
    student = _student_for(actor, pk, MANAGE)
    year = _year_or_error(request)
    form = EvaluationForm(posted(request))
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.record_evaluation(
                student,
                actor=actor,
                school_year=year,
                members=data["members"],
                agreed=data["agreed"],
                opinion=data["opinion"],
                held_on=data["held_on"],
            )
        except DomainError as error:
            form.add_error(None, error.message)
        else:
            messages.success(request, "已保存评议小组意见。")
            return redirect(_student_url(student, year))
    return _evidence_form(request, form, student, year, "录入评议小组意见")


def _evidence_form(
    request: HttpRequest, form: forms.Form, student: Student, year: SchoolYear, title: str
) -> HttpResponse:
    return render(
        request,
        "aid/identification_evidence_form.html",
        {
            "form": form,
            "student": student,
            "year": year,
            "title": title,
            "back": _student_url(student, year),
            "today": timezone.localdate(),
        },
    )


@require_GET
def identification_visit_attachment(request: HttpRequest, pk: int) -> FileResponse:
    """A visit record's scan: papers about a minor's family, so each download is logged."""
    actor = actor_of(request)
    visit = services.get_visit_for(actor, pk)
    return audited_download(
        visit.attachment,
        actor=actor,
        action="identification.visit_attachment_downloaded",
        perm=VIEW,
        filters={"home_visit": visit.pk},
        org_unit=visit.student.school,
        subject=visit.student,
        filename=f"走访记录{visit.pk}",
        label="附件",
    )


urlpatterns = [
    path("identification/", identification_list, name="identification_list"),
    path("identification/export.xlsx", identification_export, name="identification_export"),
    path("identification/proposals/", identification_proposals, name="identification_proposals"),
    path("identification/proposals/run/", identification_run, name="identification_run"),
    path(
        "identification/proposals/<int:pk>/decide/",
        identification_proposal_decide,
        name="identification_proposal_decide",
    ),
    path(
        "identification/students/<int:pk>/",
        identification_student,
        name="identification_student",
    ),
    path(
        "identification/students/<int:pk>/visits/new/",
        identification_visit_create,
        name="identification_visit_create",
    ),
    path(
        "identification/students/<int:pk>/evaluations/new/",
        identification_evaluation_create,
        name="identification_evaluation_create",
    ),
    path(
        "identification/visits/<int:pk>/attachment/",
        identification_visit_attachment,
        name="identification_visit_attachment",
    ),
]
