"""Schools within reach: list with filters, export, and one school's facts and accounts."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from django.db.models import Count, Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from zizhu.core.forms import UnitFilterForm
from zizhu.core.http import actor_of, paginate, query_without_page, xlsx_response
from zizhu.core.models import Certification, OrgUnit, Role, User
from zizhu.core.reach import get_unit_for, has_permission, require_permission
from zizhu.core.views.certification import Standing, standing_of, visible_certificates

EXPORT_HEADERS = ("学校代码", "学校名称", "所属街镇", "学段", "寄宿制", "学生数")


def _filtered_schools(
    request: HttpRequest, actor: User
) -> tuple[UnitFilterForm, QuerySet[OrgUnit]]:
    """The schools the list and the export show: within reach, then the person's filters."""
    require_permission(actor, "orgunit:view")
    schools = OrgUnit.objects.visible_to(actor).schools()
    towns = OrgUnit.objects.filter(pk__in=schools.values("parent")).order_by("code")
    form = UnitFilterForm(request.GET or None, towns=towns)
    if form.is_valid():
        query = form.cleaned_data["q"].strip()
        if query:
            schools = schools.filter(Q(name__icontains=query) | Q(code__icontains=query))
        if form.cleaned_data["town"] is not None:
            schools = schools.filter(parent=form.cleaned_data["town"])
        if form.cleaned_data["stage"]:
            schools = schools.filter(stage=form.cleaned_data["stage"])
    # The count is annotated (one grouped query) rather than read per row.
    schools = (
        schools.select_related("parent").annotate(student_count=Count("students")).order_by("code")
    )
    return form, schools


def unit_list(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    form, schools = _filtered_schools(request, actor)
    return render(
        request,
        "core/unit_list.html",
        {"form": form, "page": paginate(request, schools), "query": query_without_page(request)},
    )


def unit_export(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    _, schools = _filtered_schools(request, actor)
    rows = (
        (
            school.code,
            school.name,
            school.parent.name if school.parent else "",
            school.stage,
            "是" if school.boarding else "否",
            school.student_count,  # type: ignore[attr-defined]  # annotated above
        )
        for school in schools.iterator(chunk_size=500)
    )
    filename = f"学校名单-{timezone.localdate():%Y%m%d}.xlsx"
    return xlsx_response(filename, EXPORT_HEADERS, rows, sheet="学校名单")


@dataclass
class Account:
    """One person with roles at the school, as the detail page lists them."""

    user: User
    roles: list[str] = field(default_factory=list)
    standing: Standing | None = None
    certificate: Certification | None = None


def _is_live(certificate: Certification, today: date) -> bool:
    return (
        certificate.revoked_at is None and certificate.issued_on <= today <= certificate.expires_on
    )


def _accounts_at(unit: OrgUnit, actor: User) -> list[Account]:
    accounts: dict[int, Account] = {}
    for assignment in unit.assignments.select_related("user").order_by("user__full_name"):
        account = accounts.setdefault(assignment.user_id, Account(assignment.user))
        account.roles.append(Role(assignment.role).label)
    if not accounts or not has_permission(actor, "certification:view"):
        return list(accounts.values())
    today = timezone.localdate()
    # One query for every holder; each keeps a live certificate over a lapsed one, and the
    # later expiry among equals.
    certificates = visible_certificates(actor).filter(holder_id__in=accounts)
    best: dict[int, Certification] = {}
    for certificate in certificates.order_by("expires_on", "pk"):
        held = best.get(certificate.holder_id)
        if held is None or not _is_live(held, today) or _is_live(certificate, today):
            best[certificate.holder_id] = certificate
    for user_id, account in accounts.items():
        account.certificate = best.get(user_id)
        account.standing = standing_of(account.certificate, today)
    return list(accounts.values())


def unit_detail(request: HttpRequest, pk: int) -> HttpResponse:
    actor = actor_of(request)
    unit = get_unit_for(actor, pk)
    accounts = _accounts_at(unit, actor)
    counts = {
        "students": unit.students.count(),
        "staff": unit.staff.count(),
        "accounts": len(accounts),
    }
    return render(
        request,
        "core/unit_detail.html",
        {
            "unit": unit,
            "accounts": accounts,
            "counts": counts,
            "can_see_certificates": has_permission(actor, "certification:view"),
            "can_manage_certificates": has_permission(actor, "certification:manage"),
        },
    )
