"""三榜公示 screens for staff (seed 二(一)2): the list of notices, publishing a round, a
notice with its objections, the printable board for rounds 1–2, and the award step after
round 3. The public pages are in `zizhu.portal`; the rules are in `aid.services.notices`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django import forms
from django.conf import settings
from django.contrib import messages
from django.db.models import Count, Exists, OuterRef, Q, QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from zizhu.aid.models import (
    Application,
    AppStatus,
    Notice,
    NoticeRound,
    Objection,
    ObjectionStatus,
    SchoolYear,
)
from zizhu.aid.rules import current_school_year
from zizhu.aid.services.notices import (
    ROUND_PERMISSION,
    ROUND_SHORT,
    ROUND_STEPS,
    NoticeState,
    can_resolve,
    eligible_applications,
    finalise_awards,
    held_applications,
    min_working_days,
    notice_end,
    notice_state,
    notice_token,
    public_entries,
    publish_notice,
    resolve_objection,
    reveal_objection_contact,
    round2_over,
    state_filter,
    without_open_objections,
)
from zizhu.core.errors import DomainError, NotPermitted, OutOfReach
from zizhu.core.http import actor_of, paginate, query_without_page
from zizhu.core.models import OrgUnit, UnitKind, User
from zizhu.core.pdf import pdf_response
from zizhu.core.reach import get_for, has_permission, home_unit, require_permission, scope_for

# Identifiers a list of students never needs: deferred so they are not even decrypted.
STUDENT_SECRETS = ("id_number", "phone", "bank_account", "card_holder_id")


def _defer_student(prefix: str) -> list[str]:
    return [f"{prefix}student__{name}" for name in STUDENT_SECRETS]


class SchoolChoiceField(forms.ModelChoiceField[OrgUnit]):
    def label_from_instance(self, obj: OrgUnit) -> str:
        return obj.name


class YearChoiceField(forms.ModelChoiceField[SchoolYear]):
    def label_from_instance(self, obj: SchoolYear) -> str:
        return f"{obj.code}学年"


# --- list -------------------------------------------------------------------------------


class NoticeFilterForm(forms.Form):
    round = forms.TypedChoiceField(
        label="轮次", required=False, coerce=int, choices=[("", "全部轮次"), *NoticeRound.choices]
    )
    year = YearChoiceField(
        label="学年", queryset=SchoolYear.objects.all(), required=False, empty_label="全部学年"
    )
    school = SchoolChoiceField(
        label="学校", queryset=OrgUnit.objects.none(), required=False, empty_label="全部学校"
    )
    state = forms.ChoiceField(
        label="状态", required=False, choices=[("", "全部状态"), *NoticeState.CHOICES]
    )

    def __init__(self, *args: Any, schools: QuerySet[OrgUnit], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["school"].queryset = schools  # type: ignore[attr-defined]


@dataclass(frozen=True)
class NoticeRow:
    notice: Notice
    state: str
    state_label: str


def _filter_notices(notices: QuerySet[Notice], data: dict[str, Any]) -> QuerySet[Notice]:
    if data["round"]:
        notices = notices.filter(round=data["round"])
    if data["year"]:
        notices = notices.filter(school_year=data["year"])
    if data["state"]:
        notices = notices.filter(state_filter(data["state"]))
    if data["school"]:
        # Round 3 belongs to the district; it concerns a school when it lists its students.
        lists_school = Exists(
            Notice.applications.through.objects.filter(
                notice=OuterRef("pk"), application__school=data["school"]
            )
        )
        notices = notices.filter(
            Q(org_unit=data["school"]) | Q(round=NoticeRound.DISTRICT_ONLINE) & lists_school
        )
    return notices


def _schools(actor: User, perm: str = "aid:view") -> QuerySet[OrgUnit]:
    return OrgUnit.objects.visible_to(actor, perm).schools().order_by("code")


def _publish_links(actor: User) -> list[tuple[int, str]]:
    return [
        (round_, f"发布{ROUND_SHORT[round_]}")
        for round_, perm in ROUND_PERMISSION.items()
        if has_permission(actor, perm)
    ]


@require_GET
def notice_list(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    if request.GET.get("school"):
        get_for(actor, OrgUnit.objects.schools(), "pk", perm="aid:view", pk=request.GET["school"])
    form = NoticeFilterForm(request.GET, schools=_schools(actor))
    visible: QuerySet[Notice] = Notice.objects.visible_to(actor)
    visible = _filter_notices(visible, form.cleaned_data) if form.is_valid() else visible.none()
    notices = (
        visible.select_related("org_unit", "school_year")
        .annotate(
            entry_count=Count("applications", distinct=True),
            open_objections=Count(
                "objections", filter=Q(objections__status=ObjectionStatus.OPEN), distinct=True
            ),
        )
        .order_by("-starts_on", "-pk")
    )
    page = paginate(request, notices)
    today = timezone.localdate()
    rows = []
    for notice in page:
        state = notice_state(notice, today=today)
        rows.append(NoticeRow(notice, state, NoticeState.LABELS[state]))
    return render(
        request,
        "aid/notice_list.html",
        {
            "form": form,
            "page": page,
            "rows": rows,
            "query": query_without_page(request),
            "publish_links": _publish_links(actor),
        },
    )


# --- publish ----------------------------------------------------------------------------


class PublishForm(forms.Form):
    school_year = YearChoiceField(
        label="学年",
        queryset=SchoolYear.objects.all(),
        empty_label=None,
        error_messages={"required": "请选择学年。", "invalid_choice": "请选择学年。"},
    )
    starts_on = forms.DateField(
        label="公示开始日期",
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        error_messages={
            "required": "请填写公示开始日期。",
            "invalid": "请按“年-月-日”填写日期，如 2026-09-28。",
        },
    )
    working_days = forms.IntegerField(
        label="公示期（工作日）",
        min_value=1,
        error_messages={"required": "请填写公示工作日数。", "invalid": "请填写整数。"},
    )
    applications = forms.ModelMultipleChoiceField(
        label="列入公示的申请",
        queryset=Application.objects.none(),
        error_messages={
            "required": "请至少选择一份申请列入公示。",
            "invalid_choice": "所选申请已不能列入本轮公示，请刷新页面后重新选择。",
            "invalid_pk_value": "所选申请无效，请刷新页面后重新选择。",
        },
    )

    def __init__(self, *args: Any, eligible: QuerySet[Application], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["applications"].queryset = eligible  # type: ignore[attr-defined]


def _publishing_unit(request: HttpRequest, actor: User, round_: int) -> OrgUnit:
    perm = ROUND_PERMISSION[round_]
    if round_ == NoticeRound.DISTRICT_ONLINE:
        unit = home_unit(actor, perm)
        if unit is None or unit.kind != UnitKind.DISTRICT:
            raise NotPermitted("第三榜由区学生资助管理中心发布。")
        return unit
    raw = request.POST.get("school") or request.GET.get("school")
    if raw:
        return get_for(actor, OrgUnit.objects.schools(), "pk", perm=perm, pk=raw)
    school = _schools(actor, perm).first()
    if school is None:
        raise NotPermitted("您没有可发布公示的学校。")
    return school


def _chosen_year(request: HttpRequest) -> SchoolYear:
    raw = request.POST.get("school_year") or request.GET.get("school_year")
    year = SchoolYear.objects.filter(pk=raw).first() if raw and raw.isdigit() else None
    return year or current_school_year()


def _eligible_rows(
    round_: int, actor: User, unit: OrgUnit, year: SchoolYear
) -> QuerySet[Application]:
    return (
        eligible_applications(round_, actor=actor, org_unit=unit, school_year=year)
        .select_related("student", "school", "programme", "tier")
        .defer(*_defer_student(""))
        .order_by("school__code", "student__grade", "student__class_name", "student__name", "pk")
    )


def _waiting_for_round3(actor: User, year: SchoolYear) -> int:
    """Round-2 applications not yet ready for round 3 (period running or an open objection)."""
    at_round2 = Application.objects.visible_to(actor, "notice:publish_district").filter(
        status=AppStatus.NOTICE_2, school_year=year
    )
    ready = without_open_objections(round2_over(at_round2, today=timezone.localdate()))
    return at_round2.count() - ready.count()


def _default_end(days: int) -> Any:
    try:
        return notice_end(timezone.localdate(), days)
    except DomainError:
        return None


@require_http_methods(["GET", "POST"])
def notice_publish(request: HttpRequest, round_: int) -> HttpResponse:
    if round_ not in ROUND_STEPS:
        raise Http404("没有这一轮公示。")
    actor = actor_of(request)
    require_permission(actor, ROUND_PERMISSION[round_])
    unit = _publishing_unit(request, actor, round_)
    year = _chosen_year(request)
    eligible = _eligible_rows(round_, actor, unit, year)
    initial = {
        "school_year": year,
        "starts_on": timezone.localdate(),
        "working_days": min_working_days(),
    }
    form = PublishForm(request.POST or None, eligible=eligible, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            notice = publish_notice(
                round_,
                actor=actor,
                school_year=data["school_year"],
                applications=list(data["applications"]),
                starts_on=data["starts_on"],
                working_days=data["working_days"],
                org_unit=unit,
            )
        except (NotPermitted, OutOfReach):
            raise
        except DomainError as error:
            form.add_error(None, error.message)
        else:
            messages.success(
                request,
                f"已发布“{notice.title}”，共 {len(data['applications'])} 人，"
                f"公示期 {notice.starts_on:%Y年%m月%d日} 至 {notice.ends_on:%Y年%m月%d日}。",
            )
            return redirect("aid:notice_detail", pk=notice.pk)
    rows = list(eligible)
    chosen = set(request.POST.getlist("applications")) if request.method == "POST" else None
    return render(
        request,
        "aid/notice_publish.html",
        {
            "round": round_,
            "round_label": NoticeRound(round_).label,
            "unit": unit,
            "schools": _schools(actor, ROUND_PERMISSION[round_]) if round_ != 3 else None,
            "year": year,
            "years": SchoolYear.objects.all(),
            "form": form,
            "rows": [(app, chosen is None or str(app.pk) in chosen) for app in rows],
            "minimum": min_working_days(),
            "default_end": _default_end(min_working_days()),
            "waiting": _waiting_for_round3(actor, year) if round_ == 3 else 0,
        },
    )


# --- detail, PDF, objections, finalise ----------------------------------------------------


def _get_notice(actor: User, pk: int) -> Notice:
    queryset = Notice.objects.select_related("org_unit", "school_year", "published_by")
    return get_for(actor, queryset, "org_unit", perm="aid:view", pk=pk)


@dataclass(frozen=True)
class EntryRow:
    app: Application
    held: bool


def _entry_rows(notice: Notice) -> list[EntryRow]:
    apps = (
        notice.applications.select_related("student", "school", "programme", "tier")
        .defer(*_defer_student(""))
        .order_by("school__code", "student__grade", "student__class_name", "student__name", "pk")
    )
    clear = set(without_open_objections(notice.applications.all()).values_list("pk", flat=True))
    return [EntryRow(app, app.pk not in clear) for app in apps]


def _objections(notice: Notice) -> QuerySet[Objection]:
    return (
        notice.objections.select_related("application__student", "resolved_by")
        .defer(*_defer_student("application__"))
        .order_by("-created_at", "-pk")
    )


def _public_urls(request: HttpRequest, notice: Notice) -> tuple[str, str]:
    token = notice_token(notice)
    return (
        request.build_absolute_uri(reverse("portal:notice_detail", args=[token])),
        request.build_absolute_uri(reverse("portal:objection_create", args=[token])),
    )


@require_GET
def notice_detail(request: HttpRequest, pk: int) -> HttpResponse:
    actor = actor_of(request)
    notice = _get_notice(actor, pk)
    state = notice_state(notice)
    public_url, objection_url = _public_urls(request, notice)
    is_round3 = notice.round == NoticeRound.DISTRICT_ONLINE
    return render(
        request,
        "aid/notice_detail.html",
        {
            "notice": notice,
            "state": state,
            "state_label": NoticeState.LABELS[state],
            "entries": _entry_rows(notice),
            "objections": _objections(notice),
            "can_resolve": can_resolve(actor, notice),
            "can_view_contact": scope_for(actor, "reporter:view").covers(notice.org_unit_id),
            "can_finalise": is_round3
            and state == NoticeState.ENDED
            and scope_for(actor, "application:finalise").covers(notice.org_unit_id)
            and notice.applications.filter(status=AppStatus.NOTICE_3).exists(),
            "public_url": public_url,
            "objection_url": objection_url,
            "has_pdf": not is_round3,
        },
    )


@require_GET
def notice_pdf(request: HttpRequest, pk: int) -> HttpResponse:
    """The board for rounds 1–2, printed and posted at the school."""
    actor = actor_of(request)
    notice = _get_notice(actor, pk)
    if notice.round == NoticeRound.DISTRICT_ONLINE:
        raise Http404("第三榜为网上公示，没有打印版。")
    _, objection_url = _public_urls(request, notice)
    return pdf_response(
        f"{notice.title}.pdf",
        "aid/pdf/notice.html",
        {
            "notice": notice,
            "entries": public_entries(notice),
            "hotline": settings.ZIZHU_HOTLINE,
            "objection_url": objection_url,
        },
    )


class ResolveForm(forms.Form):
    resolution = forms.CharField(
        label="处理结果",
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
        error_messages={"required": "请填写处理结果。"},
    )


@require_POST
def notice_objection_resolve(request: HttpRequest, pk: int) -> HttpResponse:
    actor = actor_of(request)
    objection = get_for(
        actor,
        Objection.objects.select_related("notice"),
        "notice__org_unit",
        perm="objection:resolve",
        pk=pk,
    )
    form = ResolveForm(request.POST)
    if not form.is_valid():
        messages.error(
            request, "；".join(str(e) for errors in form.errors.values() for e in errors)
        )
        return redirect("aid:notice_detail", pk=objection.notice_id)
    try:
        resolve_objection(objection, actor=actor, resolution=form.cleaned_data["resolution"])
    except (NotPermitted, OutOfReach):
        raise
    except DomainError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, f"异议 #{objection.pk} 已处理。")
    return redirect("aid:notice_detail", pk=objection.notice_id)


@never_cache
@require_POST
def notice_objection_contact(request: HttpRequest, pk: int) -> HttpResponse:
    actor = actor_of(request)
    objection = get_for(
        actor,
        Objection.objects.select_related("notice"),
        "notice__org_unit",
        perm="reporter:view",
        pk=pk,
    )
    contact = reveal_objection_contact(objection, actor=actor)
    return render(
        request, "aid/notice_objection_contact.html", {"objection": objection, "contact": contact}
    )


@require_http_methods(["GET", "POST"])
def notice_finalise(request: HttpRequest, pk: int) -> HttpResponse:
    """GET shows what will happen; POST awards every listed application without an open
    objection."""
    actor = actor_of(request)
    require_permission(actor, "application:finalise")
    notice = _get_notice(actor, pk)
    if notice.round != NoticeRound.DISTRICT_ONLINE:
        raise Http404("只有第三榜期满后才能确认资助。")
    if request.method == "POST":
        try:
            awards = finalise_awards(notice, actor=actor)
        except (NotPermitted, OutOfReach):
            raise
        except DomainError as error:
            messages.error(request, error.message)
            return redirect("aid:notice_detail", pk=notice.pk)
        held = held_applications(notice)
        summary = f"已确认资助 {len(awards)} 人，资助自 {_months(awards)} 起计。"
        if held:
            names = "、".join(app.student.name for app in held[:10])
            summary += f"另有 {len(held)} 人因异议未处理暂缓：{names}。"
        messages.success(request, summary)
        return redirect("aid:notice_detail", pk=notice.pk)
    listed = notice.applications.filter(status=AppStatus.NOTICE_3)
    return render(
        request,
        "aid/notice_finalise.html",
        {
            "notice": notice,
            "state": notice_state(notice),
            "ready": without_open_objections(listed).count(),
            "held": held_applications(notice),
        },
    )


def _months(awards: list[Any]) -> str:
    months = sorted({a.start_month for a in awards})
    return "、".join(f"{m:%Y年}{m.month}月" for m in months) or "—"


urlpatterns: list[URLPattern] = [
    path("notices/", notice_list, name="notice_list"),
    path("notices/publish/<int:round_>/", notice_publish, name="notice_publish"),
    path("notices/<int:pk>/", notice_detail, name="notice_detail"),
    path("notices/<int:pk>/notice.pdf", notice_pdf, name="notice_pdf"),
    path("notices/<int:pk>/finalise/", notice_finalise, name="notice_finalise"),
    path("objections/<int:pk>/resolve/", notice_objection_resolve, name="notice_objection_resolve"),
    path("objections/<int:pk>/contact/", notice_objection_contact, name="notice_objection_contact"),
]
