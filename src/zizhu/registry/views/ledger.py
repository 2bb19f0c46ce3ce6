"""Status-change ledger screens (学籍异动, seed 二(二)1): record a change, download evidence.

The ledger is append-only and later steps end or adjust aid from it, so recording takes two
steps: the form, then a confirmation page that shows what will be written (and where the
evidence is attached) before anything is. `registry.services.record_status_change` does the
checking and writing; these views only collect, confirm and route.
"""

from __future__ import annotations

from django.contrib import messages
from django.http import FileResponse, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods

from zizhu.core.errors import DomainError, NotPermitted, OutOfReach
from zizhu.core.files import EVIDENCE_ACCEPT, audited_download
from zizhu.core.http import actor_of
from zizhu.core.models import User
from zizhu.core.reach import get_for, require_permission, scope_for
from zizhu.registry.forms import StatusChangeForm
from zizhu.registry.models import ChangeKind, StatusChange, Student, StudentStatus
from zizhu.registry.services import record_status_change

# The submit buttons name the step: the form posts "review", the confirmation page posts
# "confirm" (record) or "edit" (back to the form with what was typed).
_REVIEW, _CONFIRM, _EDIT = "review", "confirm", "edit"


@require_http_methods(["GET", "POST"])
def status_change_create(request: HttpRequest, pk: int) -> HttpResponse:
    actor = actor_of(request)
    require_permission(actor, "student:change_status")
    student = get_for(
        actor,
        Student.objects.select_related("school"),
        "school",
        perm="student:change_status",
        pk=pk,
    )
    if request.method == "GET":
        return _render_form(request, student, StatusChangeForm(student=student))
    form = StatusChangeForm(request.POST, request.FILES, student=student)
    step = request.POST.get("step", _REVIEW)
    if step == _EDIT:
        return _render_form(request, student, form)
    if not form.is_valid():
        if step == _CONFIRM and form.only_evidence_is_wrong():
            return _render_confirm(request, student, form)
        return _render_form(request, student, form)
    if step != _CONFIRM:
        return _render_confirm(request, student, form)
    return _record(request, actor, student, form)


def _record(
    request: HttpRequest, actor: User, student: Student, form: StatusChangeForm
) -> HttpResponse:
    data = form.cleaned_data
    try:
        entry = record_status_change(
            student,
            actor=actor,
            kind=data["kind"],
            effective_on=data["effective_on"],
            reason=data["reason"],
            evidence=data["evidence"],
            to_school=data["to_school"],
        )
    except (NotPermitted, OutOfReach):
        raise  # refusals of who may act go to the error middleware, which audits them
    except DomainError as error:
        form.add_error(None, error.message)
        return _render_form(request, student, form)
    summary = (
        f"已为{student.name}登记“{entry.get_kind_display()}”，"
        f"学籍状态：{entry.get_status_after_display()}。"
    )
    if entry.kind == ChangeKind.TRANSFER and entry.to_school is not None:
        summary += f"该生已转入{entry.to_school.name}，学籍台账和监护人信息随之转入。"
    if not scope_for(actor, "student:view").covers(entry.to_school_id or student.school_id):
        messages.success(request, summary + "该生已不在您的管辖范围内。")
        return redirect("registry:student_list")
    messages.success(request, summary)
    return redirect("registry:student_detail", pk=student.pk)


def _render_form(request: HttpRequest, student: Student, form: StatusChangeForm) -> HttpResponse:
    return render(
        request,
        "registry/status_change_form.html",
        {"student": student, "form": form},
    )


def _render_confirm(request: HttpRequest, student: Student, form: StatusChangeForm) -> HttpResponse:
    return render(
        request,
        "registry/status_change_confirm.html",
        {
            "student": student,
            "form": form,
            "kind_label": ChangeKind(form.cleaned_data["kind"]).label,
            "status_after": StudentStatus(form.status_after()).label,
            "evidence_accept": EVIDENCE_ACCEPT,
        },
    )


@never_cache
@require_GET
def ledger_evidence(request: HttpRequest, pk: int) -> FileResponse:
    """The evidence of one ledger entry: papers about a minor's family, so every download is
    logged, and only people who may see the student get it (404 for everyone else)."""
    actor = actor_of(request)
    entry = get_for(
        actor,
        StatusChange.objects.select_related("student__school"),
        "student__school",
        perm="student:view",
        pk=pk,
    )
    return audited_download(
        entry.evidence,
        actor=actor,
        action="ledger.evidence_downloaded",
        perm="student:view",
        filters={"ledger": entry.pk},
        org_unit=entry.student.school,
        subject=entry.student,
        filename=f"学籍异动{entry.pk}-证明材料",
        label="证明材料",
    )
