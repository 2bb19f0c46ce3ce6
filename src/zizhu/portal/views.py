"""The public portal: no login, made for a phone (mission.md, "the public").

This first page set carries the 三榜公示 (seed 二(一)2): the district's live online notices,
any live notice reached by the token printed on the school's board, and the objection form.
Nothing but the six public fields of a notice is ever shown, and a notice is gone (404) the
day after its period ends. Issue 5 adds the policy pages (二(一)1), the report form and the
tracking lookup (二(一)5, 二(二)4).
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.core.cache import cache
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from zizhu.aid.models import Notice
from zizhu.aid.services.notices import (
    CONTACT_MAX,
    TEXT_MAX,
    application_for_key,
    live_district_notices,
    live_notice_by_token,
    notice_token,
    objection_choices,
    public_entries,
    raise_objection,
)
from zizhu.cases.services.handling import TEXT_MAX as APPEAL_MAX
from zizhu.cases.services.intake import (
    ALLEGATION_MAX,
    NAME_MAX,
    PUBLIC_ALLEGATION_MIN,
    WHO_MAX,
    active_schools,
    appeal_by_lookup,
    submit_public_report,
    track_clue,
)
from zizhu.cases.services.intake import (
    CONTACT_MAX as REPORT_CONTACT_MAX,
)
from zizhu.cases.services.portal_pages import published_page, published_pages
from zizhu.core.errors import DomainError
from zizhu.core.middleware import client_ip
from zizhu.core.models import OrgUnit

# At most this many objections from one address an hour: enough for a family, too few for
# a script flooding a school's notice.
OBJECTIONS_PER_HOUR = 5
_WINDOW_SECONDS = 60 * 60


def _base_context() -> dict[str, Any]:
    return {"hotline": settings.ZIZHU_HOTLINE}


def _gone(request: HttpRequest) -> HttpResponse:
    return render(request, "portal/notice_gone.html", _base_context(), status=404)


def _live_items() -> list[dict[str, Any]]:
    return [{"notice": n, "token": notice_token(n)} for n in live_district_notices()]


@require_GET
def home(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "portal/home.html",
        {**_base_context(), "notices": _live_items(), "pages": published_pages()},
    )


@require_GET
def page(request: HttpRequest, slug: str) -> HttpResponse:
    found = published_page(slug)
    if found is None:
        raise Http404("页面不存在。")
    return render(request, "portal/page.html", {**_base_context(), "page": found})


@require_GET
def notice_list(request: HttpRequest) -> HttpResponse:
    return render(request, "portal/notice_list.html", {**_base_context(), "notices": _live_items()})


@require_GET
def notice_detail(request: HttpRequest, token: str) -> HttpResponse:
    notice = live_notice_by_token(token)
    if notice is None:
        return _gone(request)
    return render(
        request,
        "portal/notice_detail.html",
        {**_base_context(), "notice": notice, "token": token, "entries": public_entries(notice)},
    )


class ObjectionForm(forms.Form):
    text = forms.CharField(
        label="异议内容",
        max_length=TEXT_MAX,
        widget=forms.Textarea(attrs={"rows": 6}),
        error_messages={
            "required": "请填写异议内容。",
            "max_length": f"异议内容不能超过 {TEXT_MAX} 个字，请精简后再提交。",
        },
    )
    student = forms.ChoiceField(label="涉及的学生（可不选）", required=False)
    contact = forms.CharField(
        label="联系方式（可不填）",
        max_length=CONTACT_MAX,
        required=False,
        error_messages={"max_length": f"联系方式不能超过 {CONTACT_MAX} 个字。"},
    )
    # Honeypot: hidden from people by the page's style; scripts fill in every field.
    website = forms.CharField(label="网址", required=False)

    def __init__(self, *args: Any, notice: Notice, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.notice = notice
        choices = [("", "不指定具体学生（对整份公示）")]
        choices += [
            (key, f"{e.name}（{e.school} {e.grade}{e.class_name}）")
            for key, e in objection_choices(notice)
        ]
        self.fields["student"].choices = choices  # type: ignore[attr-defined]


def _rate_key(request: HttpRequest) -> str:
    return f"zizhu:portal:objections:{client_ip(request) or 'unknown'}"


def _over_limit(request: HttpRequest) -> bool:
    return int(cache.get(_rate_key(request), 0)) >= OBJECTIONS_PER_HOUR


def _count_objection(request: HttpRequest) -> None:
    key = _rate_key(request)
    # add() starts the hour on the first objection; incr() keeps that expiry.
    if not cache.add(key, 1, _WINDOW_SECONDS):
        try:
            cache.incr(key)
        except ValueError:  # expired between the two calls
            cache.add(key, 1, _WINDOW_SECONDS)


def _submit(request: HttpRequest, notice: Notice, form: ObjectionForm) -> bool:
    """Store the objection; False (with the reason on the form) when refused."""
    if _over_limit(request):
        form.add_error(
            None,
            f"同一网络一小时内最多提交 {OBJECTIONS_PER_HOUR} 条异议，请稍后再试，"
            f"或拨打监督电话 {settings.ZIZHU_HOTLINE} 反映。",
        )
        return False
    data = form.cleaned_data
    application = application_for_key(notice, data["student"]) if data["student"] else None
    try:
        raise_objection(notice, text=data["text"], contact=data["contact"], application=application)
    except DomainError as error:
        form.add_error(None, error.message)
        return False
    _count_objection(request)
    return True


@require_http_methods(["GET", "POST"])
def objection_create(request: HttpRequest, token: str) -> HttpResponse:
    notice = live_notice_by_token(token)
    if notice is None:
        return _gone(request)
    form = ObjectionForm(request.POST or None, notice=notice)
    # A filled honeypot is a script: it is thanked, and nothing is kept.
    if (
        request.method == "POST"
        and form.is_valid()
        and (form.cleaned_data["website"] or _submit(request, notice, form))
    ):
        return redirect("portal:objection_thanks", token=token)
    return render(
        request,
        "portal/objection_form.html",
        {**_base_context(), "notice": notice, "token": token, "form": form},
    )


@require_GET
def objection_thanks(request: HttpRequest, token: str) -> HttpResponse:
    notice = live_notice_by_token(token)
    return render(
        request,
        "portal/objection_thanks.html",
        {**_base_context(), "notice": notice, "token": token},
    )


# --- the report form and the tracking lookup (issue 5) ------------------------------------

_RECEIPT_KEY = "zizhu_portal_receipt"


class SchoolField(forms.ModelChoiceField[OrgUnit]):
    def label_from_instance(self, obj: OrgUnit) -> str:
        return obj.name


class ReportForm(forms.Form):
    allegation = forms.CharField(
        label="反映的问题",
        min_length=PUBLIC_ALLEGATION_MIN,
        max_length=ALLEGATION_MAX,
        widget=forms.Textarea(attrs={"rows": 7}),
        error_messages={
            "required": "请填写反映的问题。",
            "min_length": f"请至少写 {PUBLIC_ALLEGATION_MIN} 个字，说明涉及谁、什么问题。",
            "max_length": f"反映的问题不能超过 {ALLEGATION_MAX} 个字，请精简后再提交。",
        },
    )
    school = SchoolField(
        label="涉及的学校（可不选）",
        queryset=OrgUnit.objects.none(),
        required=False,
        empty_label="不选择",
    )
    who = forms.CharField(
        label="涉及的学生或学校（文字描述，可不填）",
        max_length=WHO_MAX,
        required=False,
        error_messages={"max_length": f"不能超过 {WHO_MAX} 个字。"},
    )
    name = forms.CharField(
        label="您的姓名（可不填，不填即为匿名）",
        max_length=NAME_MAX,
        required=False,
        error_messages={"max_length": f"姓名不能超过 {NAME_MAX} 个字。"},
    )
    contact = forms.CharField(
        label="联系方式（可不填，便于答复您）",
        max_length=REPORT_CONTACT_MAX,
        required=False,
        error_messages={"max_length": f"联系方式不能超过 {REPORT_CONTACT_MAX} 个字。"},
    )
    # Honeypot: hidden from people by the page's style; scripts fill in every field.
    website = forms.CharField(label="网址", required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["school"].queryset = active_schools()  # type: ignore[attr-defined]


def _submit_report(request: HttpRequest, form: ReportForm) -> bool:
    data = form.cleaned_data
    try:
        clue, code = submit_public_report(
            allegation=data["allegation"],
            who=data["who"],
            school=data["school"],
            contact=data["contact"],
            name=data["name"],
            ip=client_ip(request),
        )
    except DomainError as error:
        form.add_error(None, error.message)
        return False
    # Kept in the session only until the receipt page has shown it once.
    request.session[_RECEIPT_KEY] = {"number": clue.number, "code": code}
    return True


@require_http_methods(["GET", "POST"])
def report(request: HttpRequest) -> HttpResponse:
    form = ReportForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        # A filled honeypot is a script: it is thanked, and nothing is kept.
        if form.cleaned_data["website"]:
            return redirect("portal:report_receipt")
        if _submit_report(request, form):
            return redirect("portal:report_receipt")
    return render(request, "portal/report_form.html", {**_base_context(), "form": form})


@never_cache
@require_GET
def report_receipt(request: HttpRequest) -> HttpResponse:
    receipt = request.session.pop(_RECEIPT_KEY, None)
    return render(request, "portal/report_receipt.html", {**_base_context(), "receipt": receipt})


class TrackForm(forms.Form):
    number = forms.CharField(
        label="线索编号", max_length=20, error_messages={"required": "请填写线索编号。"}
    )
    code = forms.CharField(
        label="查询码", max_length=20, error_messages={"required": "请填写查询码。"}
    )


class AppealForm(TrackForm):
    """The appeal carries the number and code in its body: they are checked again on every
    appeal, and never put into an address."""

    text = forms.CharField(
        label="申诉内容",
        max_length=APPEAL_MAX,
        widget=forms.Textarea(attrs={"rows": 6}),
        error_messages={
            "required": "请填写申诉内容：对处理结果哪里有异议、有什么新的情况。",
            "max_length": f"申诉内容不能超过 {APPEAL_MAX} 个字，请精简后再提交。",
        },
    )


def _track_page(
    request: HttpRequest, form: TrackForm, progress: Any, appeal_form: AppealForm | None = None
) -> HttpResponse:
    if progress is not None and progress.appeal_open and appeal_form is None:
        appeal_form = AppealForm(
            initial={"number": progress.number, "code": form.cleaned_data.get("code", "")}
        )
    return render(
        request,
        "portal/track.html",
        {**_base_context(), "form": form, "progress": progress, "appeal_form": appeal_form},
    )


@never_cache
@require_http_methods(["GET", "POST"])
def track(request: HttpRequest) -> HttpResponse:
    """POST, so the code stays out of addresses, history and server logs."""
    form = TrackForm(request.POST or None)
    progress = None
    if request.method == "POST" and form.is_valid():
        try:
            progress = track_clue(
                form.cleaned_data["number"], form.cleaned_data["code"], ip=client_ip(request)
            )
        except DomainError as error:
            form.add_error(None, error.message)
    return _track_page(request, form, progress)


@never_cache
@require_POST
def appeal(request: HttpRequest) -> HttpResponse:
    """The appeal from the tracking page. The pair is checked first, as a lookup (a wrong
    pair counts against the address like one), then again by the appeal service itself."""
    ip = client_ip(request)
    lookup = TrackForm(request.POST)
    if not lookup.is_valid():
        return _track_page(request, lookup, None)
    number, code = lookup.cleaned_data["number"], lookup.cleaned_data["code"]
    try:
        progress = track_clue(number, code, ip=ip)
    except DomainError as error:
        lookup.add_error(None, error.message)
        return _track_page(request, lookup, None)
    appeal_form = AppealForm(request.POST)
    if appeal_form.is_valid():
        try:
            progress = appeal_by_lookup(number, code, text=appeal_form.cleaned_data["text"], ip=ip)
        except DomainError as error:
            appeal_form.add_error(None, error.message)
        else:
            return render(
                request,
                "portal/track.html",
                {**_base_context(), "form": TrackForm(), "progress": progress, "appealed": True},
            )
    return _track_page(request, lookup, progress, appeal_form)
