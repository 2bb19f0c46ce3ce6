"""Account management for the system administrator (`user:manage`).

Accounts are not scoped by org unit: `user:manage` is only granted at district level, so
whoever holds it reaches every account. Each page checks the permission first.
"""

from __future__ import annotations

from collections.abc import Callable

from django.contrib import messages
from django.db import transaction
from django.db.models import Case, Q, QuerySet, Value, When
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods

from zizhu.core import services
from zizhu.core.errors import DomainError
from zizhu.core.forms import AssignmentForm, NewPasswordForm, UserCreateForm, UserFilterForm
from zizhu.core.http import actor_of, paginate, query_without_page
from zizhu.core.models import OrgUnit, RoleAssignment, UnitKind, User
from zizhu.core.reach import require_permission

# District first, then towns, then schools: the order the role rules read in.
_KIND_ORDER = Case(
    When(kind=UnitKind.DISTRICT, then=Value(0)),
    When(kind=UnitKind.TOWN, then=Value(1)),
    default=Value(2),
)


def _units_for(actor: User) -> QuerySet[OrgUnit]:
    units = OrgUnit.objects.visible_to(actor, "user:manage").filter(active=True)
    return units.order_by(_KIND_ORDER, "code")


def user_list(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    require_permission(actor, "user:manage")
    form = UserFilterForm(request.GET or None)
    users = User.objects.visible_to(actor)
    if form.is_valid():
        query = form.cleaned_data["q"].strip()
        if query:
            users = users.filter(Q(username__icontains=query) | Q(full_name__icontains=query))
        if form.cleaned_data["role"]:
            users = users.filter(assignments__role=form.cleaned_data["role"]).distinct()
    users = users.prefetch_related("assignments__org_unit").order_by("username")
    return render(
        request,
        "core/user_list.html",
        {"form": form, "page": paginate(request, users), "query": query_without_page(request)},
    )


@require_http_methods(["GET", "POST"])
def user_create(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    require_permission(actor, "user:manage")
    form = UserCreateForm(request.POST or None, units=_units_for(actor))
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            # One transaction: a refused first role must not leave a role-less account behind.
            with transaction.atomic():
                user = services.create_user(
                    data["username"],
                    actor=actor,
                    full_name=data["full_name"],
                    password=data["password"],
                    phone=data["phone"],
                )
                if data["role"]:
                    services.assign_role(
                        user, actor=actor, role=data["role"], org_unit=data["org_unit"]
                    )
        except DomainError as error:
            form.add_error(None, error.message)
        else:
            messages.success(request, f"已创建账户 {user}。")
            return redirect("core:user_detail", pk=user.pk)
    return render(request, "core/user_create.html", {"form": form})


# --- the detail page and its actions ---------------------------------------------------
#
# Every action posts back to the detail page with an `action` field. An action returns a
# response when it is done (a redirect, or a confirmation page), or None to show the page
# again with the bound form carrying its errors.

Action = Callable[[HttpRequest, User, User, dict[str, object]], HttpResponse | None]


def _add_assignment(
    request: HttpRequest, actor: User, user: User, forms: dict[str, object]
) -> HttpResponse | None:
    form = AssignmentForm(request.POST, units=_units_for(actor))
    forms["assignment_form"] = form
    if not form.is_valid():
        return None
    try:
        services.assign_role(
            user,
            actor=actor,
            role=form.cleaned_data["role"],
            org_unit=form.cleaned_data["org_unit"],
        )
    except DomainError as error:
        form.add_error(None, error.message)
        return None
    messages.success(request, "已添加岗位。")
    return redirect("core:user_detail", pk=user.pk)


def _remove_assignment(
    request: HttpRequest, actor: User, user: User, forms: dict[str, object]
) -> HttpResponse | None:
    assignment_id = request.POST.get("assignment", "")
    if not assignment_id.isdigit():
        raise Http404
    assignment = get_object_or_404(
        RoleAssignment.objects.select_related("org_unit"), pk=assignment_id, user=user
    )
    if request.POST.get("confirm") != "yes":
        role, unit = assignment.get_role_display(), assignment.org_unit.name
        question = f"确定移除 {user.full_name} 在“{unit}”的“{role}”岗位吗？"
        return _confirm(request, user, question, {"assignment": str(assignment.pk)}, "移除岗位")
    services.revoke_role(assignment, actor=actor)
    messages.success(request, "已移除岗位。")
    return redirect("core:user_detail", pk=user.pk)


def _reset_password(
    request: HttpRequest, actor: User, user: User, forms: dict[str, object]
) -> HttpResponse | None:
    form = NewPasswordForm(request.POST)
    forms["password_form"] = form
    if not form.is_valid():
        return None
    try:
        services.set_password(user, actor=actor, password=form.cleaned_data["password"])
    except DomainError as error:
        form.add_error("password", error.message)
        return None
    messages.success(request, "已重置密码，请将新密码当面告知本人。")
    return redirect("core:user_detail", pk=user.pk)


def _set_active(
    request: HttpRequest, actor: User, user: User, forms: dict[str, object]
) -> HttpResponse | None:
    active = request.POST.get("active") == "1"
    if not active and request.POST.get("confirm") != "yes":
        question = f"确定停用 {user} 吗？停用后该账户不能登录，但其记录和审计日志保留。"
        return _confirm(request, user, question, {"active": "0"}, "停用账户")
    services.set_user_active(user, actor=actor, active=active)
    messages.success(request, "账户已启用。" if active else "账户已停用。")
    return redirect("core:user_detail", pk=user.pk)


def _confirm(
    request: HttpRequest, user: User, question: str, hidden: dict[str, str], button: str
) -> HttpResponse:
    hidden = {"action": request.POST.get("action", ""), **hidden}
    return render(
        request,
        "core/user_confirm.html",
        {"target": user, "question": question, "hidden": hidden, "button": button},
    )


ACTIONS: dict[str, Action] = {
    "add_assignment": _add_assignment,
    "remove_assignment": _remove_assignment,
    "reset_password": _reset_password,
    "set_active": _set_active,
}


@require_http_methods(["GET", "POST"])
def user_detail(request: HttpRequest, pk: int) -> HttpResponse:
    actor = actor_of(request)
    require_permission(actor, "user:manage")
    user = get_object_or_404(User.objects.visible_to(actor), pk=pk)
    forms: dict[str, object] = {}
    if request.method == "POST":
        action = ACTIONS.get(request.POST.get("action", ""))
        if action is None:
            return redirect("core:user_detail", pk=user.pk)
        response = action(request, actor, user, forms)
        if response is not None:
            return response
    forms.setdefault("assignment_form", AssignmentForm(units=_units_for(actor)))
    forms.setdefault("password_form", NewPasswordForm())
    assignments = user.assignments.select_related("org_unit").order_by("org_unit__code")
    return render(
        request,
        "core/user_detail.html",
        {"target": user, "assignments": assignments, "is_self": user.pk == actor.pk, **forms},
    )
