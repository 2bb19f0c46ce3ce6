"""Application screens: the list, entering an application from the family's signed form, the
application page with its decision chain and the actions open to the person looking at it,
the printable form, and the signed-form scan.

The services in `aid.services.applications` check and write; these views collect, confirm
and route. Refusals about who may act (`NotPermitted`, `OutOfReach`) go on to the error
middleware, which audits them; refusals about the application come back onto the page.
"""

from __future__ import annotations

from pathlib import PurePosixPath
from typing import Any

from django import forms
from django.contrib import messages
from django.db.models import Count, QuerySet
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import URLPattern, path
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from zizhu.aid.models import (
    Application,
    AppStatus,
    DifficultyTier,
    Identification,
    Programme,
    SchoolYear,
)
from zizhu.aid.rules import current_school_year, eligible_stage
from zizhu.aid.services import applications as svc
from zizhu.aid.services.applications import Decision
from zizhu.core.crypto import Sensitive, mask
from zizhu.core.errors import DomainError, NotPermitted, OutOfReach
from zizhu.core.http import actor_of, paginate, query_without_page
from zizhu.core.models import OrgUnit, User
from zizhu.core.pdf import pdf_response
from zizhu.core.reach import get_for, has_permission, require_permission
from zizhu.core.services import record_export
from zizhu.registry.models import Student, StudentStatus

VIEW = "aid:view"
CREATE = "application:create"
_CONFIRM = "confirm"
_FORM_TYPES = {".pdf": "application/pdf", ".jpg": "image/jpeg"}


# --- forms ---------------------------------------------------------------------------------


class ApplicationFilterForm(forms.Form):
    status = forms.ChoiceField(
        label="状态", required=False, choices=[("", "全部状态"), *AppStatus.choices]
    )
    programme = forms.ModelChoiceField(
        label="资助项目", required=False, queryset=Programme.objects.all(), empty_label="全部项目"
    )
    school = forms.ModelChoiceField(
        label="学校", required=False, queryset=OrgUnit.objects.none(), empty_label="全部学校"
    )
    year = forms.ModelChoiceField(
        label="学年", required=False, queryset=SchoolYear.objects.all(), empty_label="全部学年"
    )

    def __init__(self, *args: Any, schools: QuerySet[OrgUnit], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["school"].queryset = schools  # type: ignore[attr-defined]


class TierChoiceField(forms.ModelChoiceField[DifficultyTier]):
    def label_from_instance(self, obj: DifficultyTier) -> str:
        return obj.name


class ApplicationForm(forms.Form):
    """Entering or correcting an application. The service has the last word on every
    rule; the choices here only keep the form to what the service would accept."""

    programme = forms.ModelChoiceField(
        label="资助项目",
        queryset=Programme.objects.none(),
        empty_label="请选择资助项目",
        error_messages={"required": "请选择资助项目。", "invalid_choice": "所选项目不适用于该生。"},
    )
    tier = TierChoiceField(
        label="困难等级",
        queryset=DifficultyTier.objects.none(),
        empty_label=None,
        error_messages={"invalid_choice": "困难等级不能高于认定等级。"},
    )
    family_statement = forms.CharField(
        label="申请理由（按家庭签字申请表录入）",
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 4}),
    )
    signed_form = forms.FileField(
        label="家庭签字申请表（PDF 或 JPG，可稍后上传）",
        required=False,
        widget=forms.ClearableFileInput(attrs={"accept": svc.SIGNED_FORM_ACCEPT}),
    )

    def __init__(
        self,
        *args: Any,
        student: Student,
        identification: Identification,
        editing: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.fields["tier"].queryset = DifficultyTier.objects.filter(  # type: ignore[attr-defined]
            rank__gte=identification.tier.rank
        )
        if editing:
            del self.fields["programme"], self.fields["signed_form"]
            return
        self.fields["programme"].queryset = Programme.objects.filter(  # type: ignore[attr-defined]
            pk__in=[p.pk for p in eligible_programmes(student)]
        )


def eligible_programmes(student: Student) -> list[Programme]:
    return [
        p
        for p in Programme.objects.filter(active=True).order_by("code")
        if eligible_stage(p, student) and (student.boarder or not p.boarders_only)
    ]


# --- list -----------------------------------------------------------------------------------


@require_GET
def application_list(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    require_permission(actor, VIEW)
    schools = OrgUnit.objects.visible_to(actor, VIEW).schools().order_by("code")
    form = ApplicationFilterForm(request.GET or None, schools=schools)
    apps = Application.objects.visible_to(actor)
    status = ""
    if form.is_valid():
        data = form.cleaned_data
        for name in ("programme", "school"):
            if data[name]:
                apps = apps.filter(**{name: data[name]})
        if data["year"]:
            apps = apps.filter(school_year=data["year"])
        status = data["status"]
    counts = dict(apps.order_by().values_list("status").annotate(n=Count("pk")))
    if status:
        apps = apps.filter(status=status)
    page = paginate(
        request,
        apps.select_related("student", "school", "programme", "school_year", "tier").order_by(
            "-updated_at", "-pk"
        ),
    )
    return render(
        request,
        "aid/application_list.html",
        {
            "form": form,
            "page": page,
            "query": query_without_page(request),
            "status_counts": [(v, label, counts.get(v, 0)) for v, label in AppStatus.choices],
            "total": sum(counts.values()),
            "status": status,
            "can_create": has_permission(actor, CREATE),
        },
    )


# --- entering an application ------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
def application_create(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    require_permission(actor, CREATE)
    year = current_school_year()
    student_pk = request.GET.get("student") or request.POST.get("student")
    if not student_pk:
        return _student_picker(request, actor, year)
    student = get_for(
        actor, Student.objects.select_related("school"), "school", perm=CREATE, pk=student_pk
    )
    identification = (
        Identification.objects.visible_to(actor, CREATE)
        .filter(student=student, school_year=year, revoked_at__isnull=True)
        .select_related("tier", "category")
        .first()
    )
    if identification is None:
        messages.error(
            request, f"{student.name}在{year.code}学年尚未认定为家庭经济困难学生，请先认定。"
        )
        return redirect("aid:application_create")
    form = ApplicationForm(
        request.POST or None,
        request.FILES or None,
        student=student,
        identification=identification,
        initial={"tier": identification.tier},
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            app = svc.create_application(
                student,
                actor=actor,
                programme=data["programme"],
                school_year=year,
                tier=data["tier"],
                identification=identification,
                family_statement=data["family_statement"],
                signed_form=data["signed_form"],
            )
        except (NotPermitted, OutOfReach):
            raise
        except DomainError as error:
            form.add_error(None, error.message)
        else:
            messages.success(request, f"已录入{student.name}的“{app.programme}”申请（草稿）。")
            return redirect("aid:application_detail", pk=app.pk)
    return render(
        request,
        "aid/application_create.html",
        {
            "student": student,
            "identification": identification,
            "year": year,
            "form": form,
            "id_number": mask(student.id_number, Sensitive.ID_NUMBER),
        },
    )


def _student_picker(request: HttpRequest, actor: User, year: SchoolYear) -> HttpResponse:
    """Identified, enrolled students within reach for the current year, searched by name."""
    q = request.GET.get("q", "").strip()
    identified = Identification.objects.visible_to(actor, CREATE).filter(
        school_year=year, revoked_at__isnull=True, student__status=StudentStatus.ENROLLED
    )
    if q:
        identified = identified.filter(student__name__contains=q)
    page = paginate(
        request,
        identified.select_related("student__school", "tier", "category").order_by(
            "student__school__code", "student__grade", "student__class_name", "student__name", "pk"
        ),
    )
    return render(
        request,
        "aid/application_create.html",
        {"page": page, "q": q, "year": year, "query": query_without_page(request)},
    )


# --- the application page ---------------------------------------------------------------------


def _get_app(actor: User, pk: int, perm: str = VIEW) -> Application:
    return get_for(
        actor,
        Application.objects.select_related(
            "student__school",
            "school",
            "programme",
            "school_year",
            "tier",
            "identification__category",
            "identification__tier",
            "created_by",
            "submitted_by",
        ),
        "school",
        perm=perm,
        pk=pk,
    )


@require_GET
def application_detail(request: HttpRequest, pk: int) -> HttpResponse:
    actor = actor_of(request)
    app = _get_app(actor, pk)
    actions = svc.actions_for(app, actor)
    context: dict[str, Any] = {
        "app": app,
        "student": app.student,
        "id_number": mask(app.student.id_number, Sensitive.ID_NUMBER),
        "events": app.events.select_related("actor").order_by("at", "pk"),
        "actions": actions,
        "notice": svc.round_one_notice(app) if app.status == AppStatus.NOTICE_1 else None,
        "accept": svc.SIGNED_FORM_ACCEPT,
        "today": timezone.localdate(),
    }
    if actions.decisions and app.status == AppStatus.NOTICE_1:
        context["places"], context["held"] = svc.quota_usage(app)
    return render(request, "aid/application_detail.html", context)


@require_http_methods(["GET", "POST"])
def application_edit(request: HttpRequest, pk: int) -> HttpResponse:
    actor = actor_of(request)
    require_permission(actor, CREATE)
    app = _get_app(actor, pk, CREATE)
    form = ApplicationForm(
        request.POST or None,
        student=app.student,
        identification=app.identification,
        editing=True,
        initial={"tier": app.tier, "family_statement": app.family_statement},
    )
    if request.method == "POST" and form.is_valid():
        try:
            svc.edit_application(
                app,
                actor=actor,
                tier=form.cleaned_data["tier"],
                family_statement=form.cleaned_data["family_statement"],
            )
        except (NotPermitted, OutOfReach):
            raise
        except DomainError as error:
            form.add_error(None, error.message)
        else:
            messages.success(request, "申请已修改。")
            return redirect("aid:application_detail", pk=app.pk)
    return render(request, "aid/application_edit.html", {"app": app, "form": form})


# --- moves: submit and decide, each through a confirmation page --------------------------------


def _confirm(request: HttpRequest, app: Application, **context: Any) -> HttpResponse:
    return render(request, "aid/application_confirm.html", {"app": app, **context})


def _act(request: HttpRequest, app: Application, act: Any, done: str) -> HttpResponse:
    try:
        act()
    except (NotPermitted, OutOfReach):
        raise
    except DomainError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, done)
    return redirect("aid:application_detail", pk=app.pk)


@require_POST
def application_submit(request: HttpRequest, pk: int) -> HttpResponse:
    actor = actor_of(request)
    app = _get_app(actor, pk)
    if request.POST.get("step") != _CONFIRM:
        return _confirm(
            request,
            app,
            title="确认提交申请",
            action="aid:application_submit",
            summary="提交后申请进入学校初审，由本校其他持证人员审核；审核前不能再修改。",
        )
    return _act(
        request,
        app,
        lambda: svc.submit_application(app, actor=actor),
        "申请已提交，等待学校初审。",
    )


_DONE: dict[str, str] = {
    AppStatus.SCHOOL_REVIEWED: "已通过学校初审，等待校长签批。",
    AppStatus.PRINCIPAL_SIGNED: "校长已签批，可列入第一榜公示。",
    AppStatus.DISTRICT_REVIEWED: "区级审核已通过，可列入第二榜公示。",
    AppStatus.RETURNED: "申请已退回经办人修改。",
    AppStatus.REJECTED: "申请未通过审核。",
}


@require_POST
def application_decide(request: HttpRequest, pk: int) -> HttpResponse:
    actor = actor_of(request)
    app = _get_app(actor, pk)
    decision = request.POST.get("decision", "")
    note = request.POST.get("note", "").strip()
    if decision not in Decision.values:
        messages.error(request, "请选择审核结果：同意、退回修改或不予通过。")
        return redirect("aid:application_detail", pk=app.pk)
    if request.POST.get("step") != _CONFIRM:
        if decision != Decision.APPROVE and not note:
            messages.error(request, "退回或不予通过必须填写理由，理由将记入审核记录。")
            return redirect("aid:application_detail", pk=app.pk)
        return _confirm(
            request,
            app,
            title=f"确认审核结果：{Decision(decision).label}",
            action="aid:application_decide",
            decision=decision,
            decision_label=Decision(decision).label,
            note=note,
            summary=_decision_summary(app, decision),
        )

    try:
        moved = svc.decide_application(app, actor=actor, decision=decision, note=note)
    except (NotPermitted, OutOfReach):
        raise
    except DomainError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _DONE.get(moved.status, "已办理。"))
    return redirect("aid:application_detail", pk=app.pk)


def _decision_summary(app: Application, decision: str) -> str:
    if decision == Decision.RETURN:
        return "退回后申请回到经办人处，修改后可重新提交，并重新经过学校初审和校长签批。"
    if decision == Decision.REJECT:
        return "不予通过后本申请结束，不能恢复；该生本学年仍可另行申请。"
    if app.status == AppStatus.NOTICE_1:
        return "审核通过后该申请占用学校本项目名额 1 个，并进入第二榜（学校现场公示）。"
    return "同意后申请进入下一环节，您的姓名和意见将记入审核记录。"


# --- documents ----------------------------------------------------------------------------------


@never_cache
@require_GET
def application_pdf(request: HttpRequest, pk: int) -> HttpResponse:
    """The application form for the family to sign, or the filled form for the file. An
    internal document: it carries the hardship category and reason, so printing is logged."""
    actor = actor_of(request)
    app = _get_app(actor, pk)
    record_export(
        "application.form_printed",
        actor=actor,
        perm=VIEW,
        filters={"application": app.pk},
        rows=1,
        org_unit=app.school,
        subject=app,
    )
    context = {
        "app": app,
        "student": app.student,
        "id_number": mask(app.student.id_number, Sensitive.ID_NUMBER),
        "guardians": list(app.student.guardians.all()),
        "printed_on": timezone.localdate(),
    }
    return pdf_response(
        f"资助申请表-{app.student.name}.pdf", "aid/pdf/application_form.html", context
    )


@require_POST
def application_signed_form_upload(request: HttpRequest, pk: int) -> HttpResponse:
    actor = actor_of(request)
    require_permission(actor, CREATE)
    app = _get_app(actor, pk, CREATE)
    upload = request.FILES.get("signed_form")
    if upload is None:
        messages.error(request, "请选择家庭签字申请表的扫描件（PDF 或 JPG）。")
        return redirect("aid:application_detail", pk=app.pk)
    return _act(
        request,
        app,
        lambda: svc.attach_signed_form(app, actor=actor, upload=upload),
        "家庭签字申请表已上传。",
    )


@never_cache
@require_GET
def application_signed_form(request: HttpRequest, pk: int) -> FileResponse:
    """The family's signed form: papers about a minor's family, so every download is logged
    and only people who may see the application get it (404 for everyone else)."""
    actor = actor_of(request)
    app = _get_app(actor, pk)
    if not app.signed_form:
        raise Http404("该申请尚未上传家庭签字申请表。")
    try:
        handle = app.signed_form.open("rb")
    except FileNotFoundError:
        raise Http404("申请表文件已不在存储中，请联系系统管理员。") from None
    record_export(
        "application.signed_form_downloaded",
        actor=actor,
        perm=VIEW,
        filters={"application": app.pk},
        rows=1,
        org_unit=app.school,
        subject=app,
    )
    suffix = PurePosixPath(app.signed_form.name or "").suffix.lower()
    return FileResponse(
        handle,
        as_attachment=True,
        filename=f"资助申请{app.pk}-家庭签字申请表{suffix}",
        content_type=_FORM_TYPES.get(suffix, "application/octet-stream"),
    )


urlpatterns: list[URLPattern] = [
    path("applications/", application_list, name="application_list"),
    path("applications/new/", application_create, name="application_create"),
    path("applications/<int:pk>/", application_detail, name="application_detail"),
    path("applications/<int:pk>/edit/", application_edit, name="application_edit"),
    path("applications/<int:pk>/submit/", application_submit, name="application_submit"),
    path("applications/<int:pk>/decide/", application_decide, name="application_decide"),
    path("applications/<int:pk>/form.pdf", application_pdf, name="application_pdf"),
    path(
        "applications/<int:pk>/signed-form/",
        application_signed_form,
        name="application_signed_form",
    ),
    path(
        "applications/<int:pk>/signed-form/upload/",
        application_signed_form_upload,
        name="application_signed_form_upload",
    ),
]
