"""持证上岗 certificates: list, issue, detail, revoke (seed 二(三)1(1)).

A certificate is within reach when its holder holds a role at an org unit within reach.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from django.contrib import messages
from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from zizhu.core import services
from zizhu.core.errors import DomainError
from zizhu.core.forms import (
    CertificateState,
    CertificationFilterForm,
    CertificationForm,
    RevokeCertificationForm,
)
from zizhu.core.http import actor_of, paginate, query_without_page
from zizhu.core.models import Certification, User
from zizhu.core.reach import get_for, has_permission, require_permission, scope_for

# Certificates about to lapse are flagged this many days ahead, so the officer can be
# re-trained before the review season stops.
EXPIRING_DAYS = 60
_HOLDER_UNIT = "holder__assignments__org_unit"


def visible_certificates(actor: User, perm: str = "certification:view") -> QuerySet[Certification]:
    """The list door for certificates. `distinct` because a holder may have several roles."""
    return Certification.objects.visible_to(actor, perm)


def get_certificate_for(actor: User, pk: int, *, perm: str = "certification:view") -> Certification:
    queryset = Certification.objects.distinct().select_related("holder", "issued_by")
    return get_for(actor, queryset, _HOLDER_UNIT, perm=perm, pk=pk)


@dataclass(frozen=True)
class Standing:
    """How a certificate stands today, for display."""

    label: str
    css: str


def standing_of(certificate: Certification | None, today: date) -> Standing:
    if certificate is None:
        return Standing("无证", "warn")
    if certificate.revoked_at is not None:
        return Standing("已吊销", "error")
    if certificate.expires_on < today:
        return Standing("已过期", "error")
    if certificate.issued_on > today:
        return Standing("未生效", "warn")
    if certificate.expires_on <= today + timedelta(days=EXPIRING_DAYS):
        return Standing("即将到期", "warn")
    return Standing("有效", "ok")


def _filter_state(
    queryset: QuerySet[Certification], state: str, today: date
) -> QuerySet[Certification]:
    live = Q(revoked_at__isnull=True, issued_on__lte=today, expires_on__gte=today)
    if state == CertificateState.VALID:
        return queryset.filter(live)
    if state == CertificateState.EXPIRING:
        return queryset.filter(live, expires_on__lte=today + timedelta(days=EXPIRING_DAYS))
    if state == CertificateState.EXPIRED:
        return queryset.filter(revoked_at__isnull=True, expires_on__lt=today)
    if state == CertificateState.REVOKED:
        return queryset.filter(revoked_at__isnull=False)
    return queryset


def certification_list(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    require_permission(actor, "certification:view")
    form = CertificationFilterForm(request.GET or None)
    today = timezone.localdate()
    certificates = visible_certificates(actor).select_related("holder")
    if form.is_valid():
        query = form.cleaned_data["q"].strip()
        if query:
            certificates = certificates.filter(
                Q(number__icontains=query)
                | Q(holder__full_name__icontains=query)
                | Q(holder__username__icontains=query)
            )
        certificates = _filter_state(certificates, form.cleaned_data["state"], today)
    page = paginate(request, certificates.order_by("expires_on", "pk"))
    rows = [(certificate, standing_of(certificate, today)) for certificate in page]
    return render(
        request,
        "core/certification_list.html",
        {
            "form": form,
            "page": page,
            "rows": rows,
            "query": query_without_page(request),
            "can_manage": has_permission(actor, "certification:manage"),
        },
    )


@require_http_methods(["GET", "POST"])
def certification_create(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    require_permission(actor, "certification:manage")
    holders = scope_for(actor, "certification:manage").filter(
        User.objects.filter(is_active=True).distinct(), "assignments__org_unit"
    )
    initial = {"holder": request.GET.get("holder")} if request.GET.get("holder") else None
    form = CertificationForm(request.POST or None, initial=initial, holders=holders)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            certificate = services.issue_certification(
                data["holder"],
                actor=actor,
                number=data["number"],
                issued_on=data["issued_on"],
                expires_on=data["expires_on"],
            )
        except DomainError as error:
            form.add_error(None, error.message)
        else:
            messages.success(request, f"已为 {certificate.holder.full_name} 登记上岗证。")
            return redirect("core:certification_detail", pk=certificate.pk)
    return render(request, "core/certification_form.html", {"form": form})


def certification_detail(request: HttpRequest, pk: int) -> HttpResponse:
    actor = actor_of(request)
    certificate = get_certificate_for(actor, pk)
    assignments = certificate.holder.assignments.select_related("org_unit")
    can_revoke = certificate.revoked_at is None and has_permission(actor, "certification:manage")
    return render(
        request,
        "core/certification_detail.html",
        {
            "certificate": certificate,
            "standing": standing_of(certificate, timezone.localdate()),
            "assignments": assignments,
            "can_revoke": can_revoke,
        },
    )


@require_http_methods(["GET", "POST"])
def certification_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    """GET shows the confirmation form; POST with a reason and the tick revokes."""
    actor = actor_of(request)
    require_permission(actor, "certification:manage")
    certificate = get_certificate_for(actor, pk, perm="certification:manage")
    form = RevokeCertificationForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.revoke_certification(
                certificate, actor=actor, reason=form.cleaned_data["reason"]
            )
        except DomainError as error:
            form.add_error(None, error.message)
        else:
            messages.success(request, f"上岗证 {certificate.number} 已吊销。")
            return redirect("core:certification_detail", pk=certificate.pk)
    return render(
        request, "core/certification_revoke.html", {"certificate": certificate, "form": form}
    )
