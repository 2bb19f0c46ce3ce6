"""Writes for the foundation: accounts and reach, certification, calendar, sign-in, reveals.

Each function checks its guard, writes, and appends its audit row in the same transaction.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from zizhu.core import audit
from zizhu.core.errors import DomainError, NotCertified, NotPermitted
from zizhu.core.models import (
    AuditEntry,
    CalendarDay,
    CalendarYear,
    Certification,
    LoginAttempt,
    OrgUnit,
    Role,
    RoleAssignment,
    User,
)
from zizhu.core.permissions import ROLE_UNIT_KIND
from zizhu.core.reach import forget_assignments, home_unit, require_permission, scope_for

if TYPE_CHECKING:
    from collections.abc import Iterable

    from django.db import models


def _validation_message(error: ValidationError) -> str:
    return "；".join(error.messages)


# --- accounts and reach ---------------------------------------------------------------


@transaction.atomic
def create_user(
    username: str, *, actor: User | None, full_name: str, password: str, phone: str = ""
) -> User:
    """Create an account. `actor=None` only for bootstrap commands (seed, createadmin)."""
    if actor is not None:
        require_permission(actor, "user:manage")
    if User.objects.filter(username=username).exists():
        raise DomainError(f"用户名“{username}”已被使用，请换一个。")
    user = User(username=username, full_name=full_name, phone=phone)
    try:
        validate_password(password, user)
    except ValidationError as error:
        raise DomainError(_validation_message(error)) from None
    user.set_password(password)
    user.full_clean()
    user.save()
    audit.record("user.created", actor=actor, subject=user, after={"username": username})
    return user


@transaction.atomic
def assign_role(user: User, *, actor: User | None, role: str, org_unit: OrgUnit) -> RoleAssignment:
    if actor is not None:
        require_permission(actor, "user:manage")
        if not scope_for(actor, "user:manage").covers(org_unit.pk):
            raise NotPermitted("该单位不在您的管辖范围内，不能在此授予岗位。")
    if role not in ROLE_UNIT_KIND:
        raise DomainError(f"未知的角色“{role}”。")
    if ROLE_UNIT_KIND[role] != org_unit.kind:
        raise DomainError(
            f"“{Role(role).label}”只能授予在{_kind_label(ROLE_UNIT_KIND[role])}一级，"
            f"而“{org_unit.name}”是{org_unit.get_kind_display()}。"
        )
    assignment, created = RoleAssignment.objects.get_or_create(
        user=user, role=role, org_unit=org_unit
    )
    if created:
        audit.record(
            "role.assigned",
            actor=actor,
            subject=user,
            org_unit=org_unit,
            after={"role": role, "org_unit": org_unit.code},
        )
    forget_assignments(user)
    return assignment


@transaction.atomic
def revoke_role(assignment: RoleAssignment, *, actor: User) -> None:
    require_permission(actor, "user:manage")
    if not scope_for(actor, "user:manage").covers(assignment.org_unit_id):
        raise NotPermitted("该岗位所在单位不在您的管辖范围内。")
    audit.record(
        "role.revoked",
        actor=actor,
        subject=assignment.user,
        org_unit=assignment.org_unit,
        before={"role": assignment.role, "org_unit": assignment.org_unit.code},
    )
    assignment.delete()
    forget_assignments(assignment.user)


def _kind_label(kind: str) -> str:
    from zizhu.core.models import UnitKind

    return str(UnitKind(kind).label)


@transaction.atomic
def set_password(user: User, *, actor: User, password: str) -> User:
    if actor.pk != user.pk:
        require_permission(actor, "user:manage")
    try:
        validate_password(password, user)
    except ValidationError as error:
        raise DomainError(_validation_message(error)) from None
    user.set_password(password)
    user.save(update_fields=["password"])
    audit.record("user.password_changed", actor=actor, subject=user)
    return user


@transaction.atomic
def set_user_active(user: User, *, actor: User, active: bool) -> User:
    """Deactivate or reactivate an account; a deactivated account can no longer sign in.

    Accounts are never deleted: audit rows and certificates point at them.
    """
    require_permission(actor, "user:manage")
    if user.pk == actor.pk and not active:
        raise DomainError("不能停用自己正在使用的账户。")
    updated = User.objects.filter(pk=user.pk, is_active=not active).update(is_active=active)
    if updated != 1:
        raise DomainError("该账户已是启用状态。" if active else "该账户已是停用状态。")
    user.is_active = active
    audit.record(
        "user.activated" if active else "user.deactivated",
        actor=actor,
        subject=user,
        before={"is_active": not active},
        after={"is_active": active},
    )
    return user


# --- sign-in --------------------------------------------------------------------------


def is_locked_out(username: str) -> bool:
    window_start = timezone.now() - timedelta(seconds=settings.ZIZHU_LOCKOUT_WINDOW_SECONDS)
    recent = LoginAttempt.objects.filter(username=username, at__gte=window_start)
    last_success = recent.filter(succeeded=True).order_by("-at").values_list("at", flat=True)
    failures = recent.filter(succeeded=False)
    if last_success:
        failures = failures.filter(at__gt=last_success[0])
    return failures.count() >= settings.ZIZHU_LOCKOUT_FAILURES


@transaction.atomic
def record_locked_attempt(username: str, *, user: User | None, ip: str | None) -> None:
    """An attempt on a locked account is audited but not counted, so that retrying cannot
    keep someone else's account locked for ever: the lock ends a window after it began."""
    label = f"登录名：{username}"[:100]
    audit.record("auth.locked_out", actor=None, subject=user, actor_label=label, after={"ip": ip})


@transaction.atomic
def record_login(username: str, *, user: User | None, succeeded: bool, ip: str | None) -> None:
    """Every attempt is kept for the lockout; failures and lockouts also go to the audit."""
    LoginAttempt.objects.create(username=username, succeeded=succeeded, ip=ip)
    if succeeded:
        audit.record("auth.login", actor=user, subject=user)
        return
    label = f"登录名：{username}"[:100]
    action = "auth.locked_out" if is_locked_out(username) else "auth.login_failed"
    audit.record(action, actor=None, subject=user, actor_label=label, after={"ip": ip})


def record_denied(actor: User, *, reason: str, path: str) -> None:
    """A refused attempt (no permission, out of reach, not certified) leaves an audit row.

    Called by the error middleware after the refused operation's transaction has rolled
    back, so the row survives the refusal.
    """
    with transaction.atomic():
        audit.record("access.denied", actor=actor, after={"reason": reason, "path": path})


# --- certification (持证上岗) ----------------------------------------------------------


def live_certificate(user: User, *, on: date | None = None) -> Certification | None:
    on = on or timezone.localdate()
    return (
        Certification.objects.filter(
            holder=user, issued_on__lte=on, expires_on__gte=on, revoked_at__isnull=True
        )
        .order_by("-expires_on")
        .first()
    )


def require_certified(actor: User, *, on: date | None = None) -> Certification:
    """Seed 二(三)1(1): only a trained, certified officer may review, approve or verify."""
    on = on or timezone.localdate()
    certificate = live_certificate(actor, on=on)
    if certificate is not None:
        return certificate
    latest = Certification.objects.filter(holder=actor).order_by("-expires_on").first()
    if latest is None:
        message = (
            "您尚未取得学生资助工作上岗证（持证上岗），不能进行审核、审批或核实。"
            "请参加区资助中心组织的培训并取得证书后再办理。"
        )
    elif latest.revoked_at is not None:
        message = f"您的上岗证（编号 {latest.number}）已被吊销，不能进行审核、审批或核实。"
    elif latest.expires_on < on:
        message = (
            f"您的上岗证（编号 {latest.number}）已于 {latest.expires_on:%Y年%m月%d日} 过期，"
            "请参加复训并换证后再办理。"
        )
    else:
        message = (
            f"您的上岗证（编号 {latest.number}）自 {latest.issued_on:%Y年%m月%d日} 起才生效，"
            "生效前不能进行审核、审批或核实。"
        )
    raise NotCertified(message)


def _require_holder_in_reach(holder: User, *, actor: User) -> None:
    require_permission(actor, "certification:manage")
    scope = scope_for(actor, "certification:manage")
    posts = RoleAssignment.objects.filter(user=holder).values_list("org_unit_id", flat=True)
    if not scope.everything and not any(scope.covers(unit_id) for unit_id in posts):
        raise NotPermitted("该人员不在您的管辖范围内，不能为其办理上岗证。")


@transaction.atomic
def issue_certification(
    holder: User, *, actor: User, number: str, issued_on: date, expires_on: date
) -> Certification:
    _require_holder_in_reach(holder, actor=actor)
    if expires_on <= issued_on:
        raise DomainError("有效期至必须晚于发证日期。")
    if Certification.objects.filter(number=number).exists():
        raise DomainError(f"证书编号“{number}”已存在，请核对。")
    certificate = Certification.objects.create(
        holder=holder, number=number, issued_on=issued_on, expires_on=expires_on, issued_by=actor
    )
    audit.record(
        "certification.issued",
        actor=actor,
        subject=certificate,
        after={"holder": holder.username, "issued_on": issued_on, "expires_on": expires_on},
    )
    return certificate


@transaction.atomic
def revoke_certification(certificate: Certification, *, actor: User, reason: str) -> Certification:
    _require_holder_in_reach(certificate.holder, actor=actor)
    if not reason.strip():
        raise DomainError("吊销上岗证必须填写原因。")
    updated = Certification.objects.filter(pk=certificate.pk, revoked_at__isnull=True).update(
        revoked_at=timezone.now(), revoked_reason=reason
    )
    if updated != 1:
        raise DomainError("该上岗证已被吊销。")
    certificate.refresh_from_db()
    audit.record(
        "certification.revoked", actor=actor, subject=certificate, after={"reason": reason}
    )
    return certificate


# --- working-day calendar -------------------------------------------------------------


@transaction.atomic
def save_calendar_year(
    year: int,
    *,
    actor: User,
    holidays: Iterable[tuple[date, str]],
    workdays: Iterable[tuple[date, str]],
    source: str,
) -> CalendarYear:
    """Replace a year's special days. The year is not counted until `complete_calendar_year`."""
    require_permission(actor, "calendar:manage")
    holidays, workdays = list(holidays), list(workdays)
    for day, _ in [*holidays, *workdays]:
        if day.year != year:
            raise DomainError(f"日期 {day} 不属于 {year} 年。")
    weekday = next((d for d, _ in workdays if d.weekday() < 5), None)
    if weekday is not None:
        raise DomainError(
            f"{weekday} 是工作日，不需要登记为调休上班日；调休上班日只能是周六或周日。"
        )
    clash = {d for d, _ in holidays} & {d for d, _ in workdays}
    if clash:
        raise DomainError(f"{min(clash)} 不能同时是节假日和调休上班日。")
    calendar_year, _ = CalendarYear.objects.update_or_create(
        year=year, defaults={"complete": False, "source": source, "completed_at": None}
    )
    CalendarDay.objects.filter(date__year=year).delete()
    CalendarDay.objects.bulk_create(
        [CalendarDay(date=d, kind="holiday", name=n) for d, n in holidays]
        + [CalendarDay(date=d, kind="workday", name=n) for d, n in workdays]
    )
    audit.record(
        "calendar.saved",
        actor=actor,
        subject=calendar_year,
        after={"holidays": len(holidays), "workdays": len(workdays), "source": source},
    )
    return calendar_year


@transaction.atomic
def complete_calendar_year(calendar_year: CalendarYear, *, actor: User) -> CalendarYear:
    require_permission(actor, "calendar:manage")
    if not CalendarDay.objects.filter(date__year=calendar_year.year, kind="holiday").exists():
        raise DomainError(f"{calendar_year.year} 年尚未录入任何法定节假日，请先录入再确认完整。")
    updated = CalendarYear.objects.filter(pk=calendar_year.pk, complete=False).update(
        complete=True, completed_at=timezone.now(), completed_by=actor
    )
    if updated != 1:
        raise DomainError(f"{calendar_year.year} 年已确认完整。")
    calendar_year.refresh_from_db()
    audit.record("calendar.completed", actor=actor, subject=calendar_year)
    return calendar_year


# --- sensitive identifiers ------------------------------------------------------------


@transaction.atomic
def reveal_sensitive(
    obj: models.Model, field: str, *, actor: User, unit: OrgUnit | None, reason: str
) -> str:
    """Show one identifier in full: needs `pii:reveal` within reach and leaves a log row."""
    if not reason.strip():
        raise DomainError("查看完整信息必须填写事由。")
    if not scope_for(actor, "pii:reveal").covers(unit.pk if unit else None):
        raise NotPermitted("您无权查看完整的敏感信息。")
    value = getattr(obj, field)
    audit.record(
        "pii.revealed",
        actor=actor,
        subject=obj,
        org_unit=unit,
        after={"field": field, "reason": reason.strip()},
    )
    return str(value or "")


# --- exports of personal data and of the log --------------------------------------------


@transaction.atomic
def record_export(
    action: str,
    *,
    actor: User,
    perm: str,
    filters: dict[str, Any],
    rows: int,
    org_unit: OrgUnit | None = None,
    subject: models.Model | None = None,
) -> AuditEntry:
    """Log who exported which slice, and how many rows, before the file leaves the server.

    The row is filed under the filtered unit, else the exporter's own unit, so that unit's
    inspectors see the export.
    """
    require_permission(actor, perm)
    return audit.record(
        action,
        actor=actor,
        org_unit=org_unit or home_unit(actor, perm),
        subject=subject,
        after={"filters": filters, "rows": rows},
    )
