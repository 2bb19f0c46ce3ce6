"""Spring dynamic review pages (春季动态复核): the round and its progress per school, one
school's items with a bulk "continue", one item's decision; and the person's notifications,
which mostly ask for a review after a ledger change.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from zizhu.aid.models import (
    DifficultyTier,
    Programme,
    ReviewItem,
    ReviewOutcome,
    ReviewRound,
    SchoolYear,
)
from zizhu.aid.rules import current_school_year
from zizhu.aid.services.review import (
    DECIDE_PERM,
    DECISIONS,
    OPEN_PERM,
    continue_review_items,
    decide_review_item,
    open_spring_review,
    progress_by_school,
)
from zizhu.core.errors import DomainError, NotPermitted, OutOfReach
from zizhu.core.http import actor_of, paginate, query_without_page
from zizhu.core.models import Notification, OrgUnit, User
from zizhu.core.notifications import get_notification_for, mark_read
from zizhu.core.reach import get_for, get_unit_for, has_permission, require_permission, scope_for

VIEW_PERM = "aid:view"

# --- forms ------------------------------------------------------------------------------------


class OpenRoundForm(forms.Form):
    school_year = forms.ModelChoiceField(
        label="学年", queryset=SchoolYear.objects.order_by("-code"), empty_label=None
    )
    due_on = forms.DateField(
        label="完成期限（工作日）", widget=forms.DateInput(attrs={"type": "date"})
    )


class ItemFilterForm(forms.Form):
    outcome = forms.ChoiceField(
        label="复核结果",
        required=False,
        choices=[("", "全部"), *ReviewOutcome.choices],
    )
    programme = forms.ModelChoiceField(
        label="资助项目", queryset=Programme.objects.all(), required=False, empty_label="全部"
    )
    grade = forms.CharField(label="年级", required=False, max_length=20)
    q = forms.CharField(label="姓名", required=False, max_length=64)

    def __init__(self, *args: Any, programmes: QuerySet[Programme], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["programme"]
        assert isinstance(field, forms.ModelChoiceField)  # noqa: S101
        field.queryset = programmes

    def apply(self, items: QuerySet[ReviewItem]) -> QuerySet[ReviewItem]:
        if not self.is_valid():
            return items
        data = self.cleaned_data
        if data["outcome"]:
            items = items.filter(outcome=data["outcome"])
        if data["programme"] is not None:
            items = items.filter(award__programme=data["programme"])
        if data["grade"].strip():
            items = items.filter(award__student__grade=data["grade"].strip())
        if data["q"].strip():
            items = items.filter(award__student__name__contains=data["q"].strip())
        return items


class BulkContinueForm(forms.Form):
    items = forms.TypedMultipleChoiceField(label="复核事项", coerce=int, choices=())
    reason = forms.CharField(label="复核意见", max_length=500)

    def __init__(self, *args: Any, item_ids: list[int], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["items"]
        assert isinstance(field, forms.TypedMultipleChoiceField)  # noqa: S101
        field.choices = [(pk, pk) for pk in item_ids]
        field.error_messages["required"] = "请至少勾选一名学生。"


class DecisionForm(forms.Form):
    outcome = forms.ChoiceField(
        label="复核结果",
        choices=[(value, ReviewOutcome(value).label) for value in DECISIONS],
        widget=forms.RadioSelect,
    )
    new_tier = forms.ModelChoiceField(
        label="新的困难等级（调整等级时填写）",
        queryset=DifficultyTier.objects.all(),
        required=False,
    )
    reason = forms.CharField(label="复核意见", max_length=500, widget=forms.Textarea({"rows": 3}))
    evidence = forms.FileField(label="依据材料（可选）", required=False)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("outcome") == ReviewOutcome.CHANGE_TIER and data.get("new_tier") is None:
            self.add_error("new_tier", "调整等级须选择新的困难等级。")
        return data


# --- doors ------------------------------------------------------------------------------------


def _items_of(actor: User) -> QuerySet[ReviewItem]:
    require_permission(actor, VIEW_PERM)
    return ReviewItem.objects.visible_to(actor, VIEW_PERM)


def get_review_item_for(actor: User, pk: int) -> ReviewItem:
    queryset = ReviewItem.objects.select_related(
        "round__school_year",
        "school",
        "award__student",
        "award__programme",
        "award__tier",
        "award__school_year",
        "new_tier",
        "decided_by",
    )
    return get_for(actor, queryset, "school", perm=VIEW_PERM, pk=pk)


def _round_for_year(code: str | None) -> tuple[SchoolYear | None, ReviewRound | None]:
    year = SchoolYear.objects.filter(code=code).first() if code else None
    if year is None:
        try:
            year = current_school_year()
        except DomainError:
            return None, None
    return year, ReviewRound.objects.filter(school_year=year).first()


def _can_open(actor: User) -> bool:
    return has_permission(actor, OPEN_PERM) and scope_for(actor, OPEN_PERM).everything


# --- the round --------------------------------------------------------------------------------


def _home_context(request: HttpRequest, actor: User, form: OpenRoundForm | None) -> dict[str, Any]:
    year, review = _round_for_year(request.GET.get("year"))
    progress = progress_by_school(_items_of(actor).filter(round=review)) if review else []
    total_pending = sum(row.pending for row in progress)
    return {
        "year": year,
        "years": SchoolYear.objects.order_by("-code"),
        "review": review,
        "progress": progress,
        "total": sum(row.total for row in progress),
        "total_pending": total_pending,
        "overdue": review is not None and review.due_on < timezone.localdate(),
        "can_open": _can_open(actor) and review is None,
        "form": form or OpenRoundForm(initial={"school_year": year}),
        "can_decide": has_permission(actor, DECIDE_PERM),
    }


@require_GET
def review_home(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    require_permission(actor, VIEW_PERM)
    return render(request, "aid/review_home.html", _home_context(request, actor, None))


@require_POST
def review_open(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    if not _can_open(actor):
        raise NotPermitted("春季复核由区资助中心统一开启。")
    form = OpenRoundForm(request.POST)
    if form.is_valid():
        year = form.cleaned_data["school_year"]
        try:
            review = open_spring_review(year, actor=actor, due_on=form.cleaned_data["due_on"])
        except NotPermitted:
            raise
        except DomainError as error:
            form.add_error(None, error.message)
        else:
            count = review.items.count()
            messages.success(request, f"已开启{year.code}学年春季复核，共 {count} 项。")
            return redirect(reverse("aid:review_home") + f"?year={year.code}")
    return render(request, "aid/review_home.html", _home_context(request, actor, form), status=400)


# --- one school's items -----------------------------------------------------------------------


def _school_items(
    actor: User, round_pk: int, school_pk: int
) -> tuple[ReviewRound, OrgUnit, QuerySet[ReviewItem]]:
    school = get_unit_for(actor, school_pk, perm=VIEW_PERM)
    review = ReviewRound.objects.select_related("school_year").filter(pk=round_pk).first()
    if review is None:
        raise OutOfReach()
    items = _items_of(actor).filter(round=review, school=school)
    return review, school, items


@require_GET
def review_list(request: HttpRequest, round_pk: int, school_pk: int) -> HttpResponse:
    actor = actor_of(request)
    review, school, items = _school_items(actor, round_pk, school_pk)
    # Pending items first: that is the work; "全部" sends an empty outcome explicitly.
    data = request.GET.copy()
    data.setdefault("outcome", ReviewOutcome.PENDING)
    programmes = Programme.objects.filter(pk__in=items.values("award__programme"))
    filters = ItemFilterForm(data, programmes=programmes)
    shown = filters.apply(items).select_related(
        "award__student", "award__programme", "award__tier", "new_tier", "decided_by"
    )
    page = paginate(request, shown.order_by("award__student__grade", "award__student__name", "pk"))
    can_decide = has_permission(actor, DECIDE_PERM) and scope_for(actor, DECIDE_PERM).covers(
        school.pk
    )
    return render(
        request,
        "aid/review_list.html",
        {
            "review": review,
            "school": school,
            "filters": filters,
            "page": page,
            "query": query_without_page(request),
            "counts": progress_by_school(items),
            "can_decide": can_decide,
            "pending_value": ReviewOutcome.PENDING,
        },
    )


@require_POST
def review_bulk_continue(request: HttpRequest, round_pk: int, school_pk: int) -> HttpResponse:
    actor = actor_of(request)
    review, school, items = _school_items(actor, round_pk, school_pk)
    pending_ids = list(items.filter(outcome=ReviewOutcome.PENDING).values_list("pk", flat=True))
    form = BulkContinueForm(request.POST, item_ids=pending_ids)
    back = reverse("aid:review_list", args=[review.pk, school.pk])
    if not form.is_valid():
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, str(error))
        return redirect(back)
    chosen = items.filter(pk__in=form.cleaned_data["items"]).select_related("school")
    decided = continue_review_items(chosen, actor=actor, reason=form.cleaned_data["reason"])
    skipped = len(form.cleaned_data["items"]) - decided
    text = f"已对 {decided} 名学生作出“继续资助”的复核决定。"
    if skipped:
        text += f"另有 {skipped} 名已被他人处理或资助已变化，未作改动。"
    messages.success(request, text)
    return redirect(back)


# --- one item ---------------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
def review_item(request: HttpRequest, pk: int) -> HttpResponse:
    actor = actor_of(request)
    item = get_review_item_for(actor, pk)
    can_decide = (
        item.outcome == ReviewOutcome.PENDING
        and has_permission(actor, DECIDE_PERM)
        and scope_for(actor, DECIDE_PERM).covers(item.school_id)
    )
    form = DecisionForm(request.POST or None, request.FILES or None)
    if request.method == "POST":
        if not can_decide:
            raise NotPermitted("该复核事项已处理，或您无权作出复核决定。")
        if form.is_valid():
            done = _decide(form, item, actor)
            if done is not None:
                messages.success(request, f"已保存{item.award.student.name}的复核决定。")
                return redirect("aid:review_list", item.round_id, done.school_id)
    changes = item.award.changes.select_related("new_tier", "new_school", "actor")
    return render(
        request,
        "aid/review_item.html",
        {"item": item, "form": form, "can_decide": can_decide, "changes": changes},
    )


def _decide(form: DecisionForm, item: ReviewItem, actor: User) -> ReviewItem | None:
    data = form.cleaned_data
    try:
        return decide_review_item(
            item,
            actor=actor,
            outcome=data["outcome"],
            reason=data["reason"],
            new_tier=data.get("new_tier"),
            evidence=data.get("evidence"),
        )
    except NotPermitted:
        raise  # the middleware answers 403 and audits the refusal
    except DomainError as error:
        form.add_error(None, error.message)
        return None


# --- notifications ----------------------------------------------------------------------------


@require_GET
def review_notifications(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    notes = Notification.objects.filter(recipient=actor).order_by("-created_at", "-id")
    return render(request, "aid/review_notifications.html", {"page": paginate(request, notes)})


@require_GET
def review_notification(request: HttpRequest, pk: int) -> HttpResponse:
    note = get_notification_for(actor_of(request), pk)
    return render(request, "aid/review_notification.html", {"note": note})


@require_POST
def review_notification_read(request: HttpRequest, pk: int) -> HttpResponse:
    actor = actor_of(request)
    note = get_notification_for(actor, pk)
    if note.read_at is None:
        mark_read(note, actor=actor)
    target = note.url
    if target and url_has_allowed_host_and_scheme(target, {request.get_host()}):
        return redirect(target)
    return redirect("aid:review_notifications")


urlpatterns: list[URLPattern] = [
    path("review/", review_home, name="review_home"),
    path("review/open/", review_open, name="review_open"),
    path("review/<int:round_pk>/schools/<int:school_pk>/", review_list, name="review_list"),
    path(
        "review/<int:round_pk>/schools/<int:school_pk>/continue/",
        review_bulk_continue,
        name="review_bulk_continue",
    ),
    path("review/items/<int:pk>/", review_item, name="review_item"),
    path("notifications/", review_notifications, name="review_notifications"),
    path("notifications/<int:pk>/", review_notification, name="review_notification"),
    path("notifications/<int:pk>/read/", review_notification_read, name="review_notification_read"),
]
