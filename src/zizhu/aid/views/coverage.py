"""应助尽助 pages: coverage per school with district totals (and its export), and one school's
gap list, where the officer records why a student has no award.
"""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from zizhu.aid.models import SchoolYear
from zizhu.aid.rules import current_school_year
from zizhu.aid.services.coverage import (
    REASON_MAX,
    RECORD_PERM,
    VIEW_PERM,
    coverage_gaps,
    matched_categories,
    record_coverage_reason,
)
from zizhu.core.errors import DomainError, NotPermitted
from zizhu.core.http import actor_of, paginate, xlsx_response
from zizhu.core.reach import get_for, get_unit_for, has_permission, require_permission, scope_for
from zizhu.core.services import record_export
from zizhu.registry.models import Student

EXPORT_HEADERS = ("学校代码", "学校名称", "应助人数", "已资助", "已登记未资助原因", "应助未助")


class ReasonForm(forms.Form):
    reason = forms.CharField(label="未资助原因", max_length=REASON_MAX)


def _year(request: HttpRequest) -> SchoolYear:
    code = request.GET.get("year") or request.POST.get("year")
    year = SchoolYear.objects.filter(code=code).first() if code else None
    return year or current_school_year()


def _year_query(year: SchoolYear) -> str:
    return f"?year={year.code}"


@require_GET
def coverage_home(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    year = _year(request)
    report = coverage_gaps(actor=actor, school_year=year)
    return render(
        request,
        "aid/coverage_home.html",
        {
            "year": year,
            "years": SchoolYear.objects.order_by("-code"),
            "report": report,
            "total": report.total,
        },
    )


@require_GET
def coverage_export(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    year = _year(request)
    report = coverage_gaps(actor=actor, school_year=year)
    record_export(
        "coverage.exported",
        actor=actor,
        perm=VIEW_PERM,
        filters={"school_year": year.code},
        rows=len(report.rows),
    )
    rows = [
        (r.code, r.name, r.eligible, r.covered, r.with_reason, r.gaps)
        for r in [*report.rows, report.total]
    ]
    filename = f"应助尽助-{year.code}-{timezone.localdate():%Y%m%d}.xlsx"
    return xlsx_response(filename, EXPORT_HEADERS, rows, sheet="应助尽助")


@require_GET
def coverage_school(request: HttpRequest, school_pk: int) -> HttpResponse:
    actor = actor_of(request)
    require_permission(actor, VIEW_PERM)
    school = get_unit_for(actor, school_pk, perm=VIEW_PERM)
    year = _year(request)
    report = coverage_gaps(actor=actor, school_year=year, school=school)
    page = paginate(request, report.gap_students)
    students = list(page.object_list)
    categories = matched_categories(students)
    return render(
        request,
        "aid/coverage_school.html",
        {
            "year": year,
            "school": school,
            "row": report.rows[0] if report.rows else None,
            "page": page,
            "rows": [(student, categories.get(student.pk, [])) for student in students],
            "can_record": has_permission(actor, RECORD_PERM)
            and scope_for(actor, RECORD_PERM).covers(school.pk),
            "reason_max": REASON_MAX,
        },
    )


@require_POST
def coverage_reason(request: HttpRequest, student_pk: int) -> HttpResponse:
    actor = actor_of(request)
    require_permission(actor, RECORD_PERM)
    student = get_for(actor, Student.objects.all(), "school", perm=RECORD_PERM, pk=student_pk)
    year = _year(request)
    form = ReasonForm(request.POST)
    back = reverse("aid:coverage_school", args=[student.school_id]) + _year_query(year)
    if not form.is_valid():
        messages.error(request, f"{student.name}：请填写未资助原因（不超过 {REASON_MAX} 字）。")
        return redirect(back)
    try:
        record_coverage_reason(
            student, actor=actor, school_year=year, reason=form.cleaned_data["reason"]
        )
    except NotPermitted:
        raise
    except DomainError as error:
        messages.error(request, f"{student.name}：{error.message}")
    else:
        messages.success(request, f"已登记{student.name}的未资助原因。")
    return redirect(back)


urlpatterns: list[URLPattern] = [
    path("coverage/", coverage_home, name="coverage_home"),
    path("coverage/export.xlsx", coverage_export, name="coverage_export"),
    path("coverage/schools/<int:school_pk>/", coverage_school, name="coverage_school"),
    path("coverage/students/<int:student_pk>/reason/", coverage_reason, name="coverage_reason"),
]
