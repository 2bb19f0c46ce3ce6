"""Staff screens for clue intake (issue 5): the clue list, registering a clue, the clue's
header page (other screens add their panels through `DETAIL_PANELS`), the audited look at
the reporter, and the portal's policy pages."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django import forms
from django.contrib import messages
from django.db.models import F, Q, QuerySet
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import URLPattern, path
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from zizhu.cases.models import Channel, Clue, ClueAttachment, ClueStatus, PortalPage
from zizhu.cases.services.handling import available_actions
from zizhu.cases.services.intake import (
    ALLEGATION_MAX,
    ATTACHMENT_ACCEPT,
    CONTACT_MAX,
    NAME_MAX,
    REASON_MAX,
    STAFF_CHANNELS,
    can_reveal_reporter,
    register_clue,
    reporter_reachable,
    reveal_reporter,
)
from zizhu.cases.services.portal_pages import BODY_MAX, TITLE_MAX, save_portal_page
from zizhu.core.errors import DomainError, NotPermitted, OutOfReach
from zizhu.core.files import audited_download
from zizhu.core.http import actor_of, paginate, query_without_page
from zizhu.core.models import OrgUnit, User
from zizhu.core.reach import get_for, has_permission, require_permission
from zizhu.core.widgets import FastSelect
from zizhu.registry.models import Student

STUDENT_SECRETS = ("id_number", "phone", "bank_account", "card_holder_id")
SEARCH_LIMIT = 20


class SchoolChoiceField(forms.ModelChoiceField[OrgUnit]):
    def label_from_instance(self, obj: OrgUnit) -> str:
        return obj.name


def _schools(actor: User, perm: str) -> QuerySet[OrgUnit]:
    return OrgUnit.objects.visible_to(actor, perm).schools().order_by("code")


def _get_clue(actor: User, pk: int) -> Clue:
    queryset = Clue.objects.visible_to(actor).select_related(
        "school", "created_by", "objection__notice"
    )
    return get_for(actor, queryset, "school", perm="clue:view", pk=pk)


# --- list ---------------------------------------------------------------------------------


class ClueFilterForm(forms.Form):
    number = forms.CharField(label="线索编号", required=False, max_length=20)
    status = forms.ChoiceField(
        label="状态", required=False, choices=[("", "全部状态"), *ClueStatus.choices]
    )
    channel = forms.ChoiceField(
        label="来源", required=False, choices=[("", "全部来源"), *Channel.choices]
    )
    school = SchoolChoiceField(
        label="学校",
        queryset=OrgUnit.objects.none(),
        required=False,
        empty_label="全部学校",
        widget=FastSelect,
    )
    overdue = forms.BooleanField(label="只看逾期", required=False)

    def __init__(self, *args: Any, schools: QuerySet[OrgUnit], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["school"].queryset = schools  # type: ignore[attr-defined]


def overdue_filter() -> Q:
    """Past its step's due date and not closed, whether or not the sweep has marked it."""
    today = timezone.localdate()
    return ~Q(status=ClueStatus.CLOSED) & (Q(overdue_since__isnull=False) | Q(due_on__lt=today))


def _filter_clues(clues: QuerySet[Clue], data: dict[str, Any]) -> QuerySet[Clue]:
    if data["number"]:
        clues = clues.filter(number__icontains=data["number"].strip())
    if data["status"]:
        clues = clues.filter(status=data["status"])
    if data["channel"]:
        clues = clues.filter(channel=data["channel"])
    if data["school"]:
        clues = clues.filter(school=data["school"])
    if data["overdue"]:
        clues = clues.filter(overdue_filter())
    return clues


@require_GET
def intake_list(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    require_permission(actor, "clue:view")
    form = ClueFilterForm(request.GET, schools=_schools(actor, "clue:view"))
    visible: QuerySet[Clue] = Clue.objects.visible_to(actor)
    clues = _filter_clues(visible, form.cleaned_data) if form.is_valid() else visible.none()
    clues = clues.select_related("school").order_by(F("due_on").asc(nulls_last=True), "-pk")
    page = paginate(request, clues)
    return render(
        request,
        "cases/intake_list.html",
        {
            "form": form,
            "page": page,
            "query": query_without_page(request),
            "today": timezone.localdate(),
            "can_register": has_permission(actor, "clue:register"),
        },
    )


# --- register -----------------------------------------------------------------------------


class RegisterForm(forms.Form):
    channel = forms.ChoiceField(
        label="来源渠道",
        choices=[("", "请选择"), *STAFF_CHANNELS],
        error_messages={"required": "请选择线索来源渠道。"},
    )
    received_on = forms.DateField(
        label="受理日期",
        widget=forms.DateInput(attrs={"type": "date"}),
        error_messages={"required": "请填写受理日期。", "invalid": "受理日期格式不正确。"},
    )
    allegation = forms.CharField(
        label="反映内容",
        max_length=ALLEGATION_MAX,
        widget=forms.Textarea(attrs={"rows": 6}),
        error_messages={"required": "请填写反映内容。"},
    )
    school = SchoolChoiceField(
        label="涉及学校",
        queryset=OrgUnit.objects.none(),
        required=False,
        empty_label="不指定（由区资助中心分派）",
        widget=FastSelect,
    )
    students = forms.ModelMultipleChoiceField(
        label="涉及学生",
        queryset=Student.objects.none(),
        required=False,
        widget=forms.MultipleHiddenInput,
    )
    anonymous = forms.BooleanField(label="匿名", required=False, initial=True)
    reporter_name = forms.CharField(label="举报人姓名", max_length=NAME_MAX, required=False)
    reporter_contact = forms.CharField(label="联系方式", max_length=CONTACT_MAX, required=False)

    def __init__(self, *args: Any, actor: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["school"].queryset = _schools(actor, "clue:register")  # type: ignore[attr-defined]
        students = Student.objects.visible_to(actor).defer(*STUDENT_SECRETS)
        self.fields["students"].queryset = students  # type: ignore[attr-defined]


def _candidates(actor: User, query: str) -> list[Student]:
    if not query:
        return []
    return list(
        Student.objects.visible_to(actor)
        .filter(name__icontains=query)
        .select_related("school")
        .defer(*STUDENT_SECRETS)
        .order_by("name", "pk")[:SEARCH_LIMIT]
    )


def _chosen_students(request: HttpRequest, actor: User) -> list[Student]:
    ids = [i for i in request.POST.getlist("students") if i.isdigit()]
    if not ids:
        return []
    return list(
        Student.objects.visible_to(actor)
        .filter(pk__in=ids)
        .select_related("school")
        .defer(*STUDENT_SECRETS)
        .order_by("name", "pk")
    )


def _save_registration(request: HttpRequest, actor: User, form: RegisterForm) -> Clue | None:
    data = form.cleaned_data
    try:
        return register_clue(
            actor=actor,
            channel=data["channel"],
            allegation=data["allegation"],
            students=data["students"],
            school=data["school"],
            reporter_name=data["reporter_name"],
            reporter_contact=data["reporter_contact"],
            anonymous=data["anonymous"],
            received_on=data["received_on"],
            attachments=request.FILES.getlist("attachments"),
        )
    except NotPermitted:
        raise
    except DomainError as error:
        form.add_error(None, error.message)
        return None


@require_http_methods(["GET", "POST"])
def intake_register(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    require_permission(actor, "clue:register")
    form = RegisterForm(
        request.POST or None,
        request.FILES or None,
        actor=actor,
        initial={"received_on": timezone.localdate(), "anonymous": True},
    )
    searching = "search" in request.POST
    query = (request.POST.get("q") or "").strip()
    if request.method == "POST" and not searching and form.is_valid():
        clue = _save_registration(request, actor, form)
        if clue is not None:
            messages.success(request, f"线索 {clue.number} 已登记。")
            return redirect("cases:intake_detail", pk=clue.pk)
    chosen = _chosen_students(request, actor)
    chosen_ids = {s.pk for s in chosen}
    return render(
        request,
        "cases/intake_register.html",
        {
            "form": form,
            "query": query,
            "chosen": chosen,
            "candidates": [s for s in _candidates(actor, query) if s.pk not in chosen_ids],
            "searched": searching,
            "accept": ATTACHMENT_ACCEPT,
        },
    )


# --- the clue's header page -----------------------------------------------------------------


@dataclass(frozen=True)
class Panel:
    """A section another screen adds to the clue page: a template and its context."""

    template: str
    context: dict[str, Any]


# Handling, replies and appeals add their sections here: f(request, clue, actor) -> Panel.
DETAIL_PANELS: list[Callable[[HttpRequest, Clue, User], Panel | None]] = []


def _panels(request: HttpRequest, clue: Clue, actor: User) -> list[Panel]:
    found = (provider(request, clue, actor) for provider in DETAIL_PANELS)
    return [panel for panel in found if panel is not None]


@require_GET
def intake_detail(request: HttpRequest, pk: int) -> HttpResponse:
    actor = actor_of(request)
    clue = _get_clue(actor, pk)
    # Within reach only: a clue naming students of several schools may be assigned to one of
    # them, whose officers must not learn who else is named.
    students = (
        Student.objects.visible_to(actor)
        .filter(clues=clue)
        .select_related("school")
        .defer(*STUDENT_SECRETS)
        .order_by("name")
    )
    today = timezone.localdate()
    return render(
        request,
        "cases/intake_detail.html",
        {
            "clue": clue,
            "students": students,
            "events": clue.events.select_related("actor").order_by("at", "id"),
            "attachments": clue.attachments.only("pk", "label", "clue_id"),
            "can_act": available_actions(clue, actor).any,
            "reachable": reporter_reachable(clue),
            "can_reveal": can_reveal_reporter(actor, clue),
            "overdue": clue.status != ClueStatus.CLOSED
            and clue.due_on is not None
            and clue.due_on < today,
            "panels": _panels(request, clue, actor),
            "reason_max": REASON_MAX,
        },
    )


@never_cache
@require_POST
def intake_reveal(request: HttpRequest, pk: int) -> HttpResponse:
    """Shown once, in the response to the POST; never on the page itself (issue 5)."""
    actor = actor_of(request)
    clue = get_for(
        actor, Clue.objects.select_related("school"), "school", perm="reporter:view", pk=pk
    )
    try:
        reporter = reveal_reporter(clue, actor=actor, reason=request.POST.get("reason", ""))
    except (NotPermitted, OutOfReach):
        raise
    except DomainError as error:
        messages.error(request, error.message)
        return redirect("cases:intake_detail", pk=clue.pk)
    return render(request, "cases/intake_reporter.html", {"clue": clue, "reporter": reporter})


@never_cache
@require_GET
def intake_attachment(request: HttpRequest, pk: int, attachment_pk: int) -> FileResponse:
    """A file that came with the clue, for those who reach the clue; every download logged
    (the scans often show a family's circumstances)."""
    actor = actor_of(request)
    clue = _get_clue(actor, pk)
    attachment = ClueAttachment.objects.filter(clue=clue, pk=attachment_pk).first()
    if attachment is None:
        raise Http404("该附件不存在。")
    return audited_download(
        attachment.file,
        actor=actor,
        action="clue.attachment_downloaded",
        perm="clue:view",
        filters={"attachment": attachment.pk},
        org_unit=clue.school,
        subject=clue,
        filename=f"线索{clue.number}-附件{attachment.pk}",
        label="附件",
    )


# --- the portal's policy pages ---------------------------------------------------------------


@require_GET
def intake_pages(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    require_permission(actor, "portal:edit")
    pages = PortalPage.objects.select_related("updated_by").order_by("order", "slug")
    return render(request, "cases/intake_pages.html", {"pages": pages})


class PageForm(forms.Form):
    title = forms.CharField(
        label="标题", max_length=TITLE_MAX, error_messages={"required": "请填写标题。"}
    )
    body = forms.CharField(
        label="正文（纯文本，空一行分段）",
        max_length=BODY_MAX,
        widget=forms.Textarea(attrs={"rows": 18}),
        error_messages={"required": "请填写正文。"},
    )
    published = forms.BooleanField(label="在门户网站上发布", required=False)


@require_http_methods(["GET", "POST"])
def intake_page_edit(request: HttpRequest, pk: int) -> HttpResponse:
    actor = actor_of(request)
    require_permission(actor, "portal:edit")
    page = PortalPage.objects.filter(pk=pk).first()
    if page is None:
        raise OutOfReach()
    initial = {"title": page.title, "body": page.body, "published": page.published}
    form = PageForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            save_portal_page(page, actor=actor, **form.cleaned_data)
        except NotPermitted:
            raise
        except DomainError as error:
            form.add_error(None, error.message)
        else:
            messages.success(request, f"页面“{form.cleaned_data['title']}”已保存。")
            return redirect("cases:intake_pages")
    return render(request, "cases/intake_page_edit.html", {"page": page, "form": form})


urlpatterns: list[URLPattern] = [
    path("", intake_list, name="intake_list"),
    path("new/", intake_register, name="intake_register"),
    path("<int:pk>/", intake_detail, name="intake_detail"),
    path("<int:pk>/reporter/", intake_reveal, name="intake_reveal"),
    path(
        "<int:pk>/attachments/<int:attachment_pk>/",
        intake_attachment,
        name="intake_attachment",
    ),
    path("portal-pages/", intake_pages, name="intake_pages"),
    path("portal-pages/<int:pk>/", intake_page_edit, name="intake_page_edit"),
]
