"""The clue work page: the clue's chain and, for each step the actor may take now, its form.

The services in `cases.services.handling` check and write; these views collect input, ask for
confirmation before the two steps that cannot be undone (the decision and closing), and show
the result. Every read goes through `Clue.objects` with `get_for`, so a clue out of reach is a
404 like a missing one.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

from django import forms
from django.contrib import messages
from django.core.files.uploadedfile import UploadedFile
from django.db.models import QuerySet
from django.http import FileResponse, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import URLPattern, path
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from zizhu.aid.models import Award, AwardStatus, DifficultyTier
from zizhu.aid.rules import next_month
from zizhu.cases.models import (
    Clue,
    FamilyAnswer,
    Investigation,
    InvestigationKind,
    Opinion,
    ReplyMethod,
)
from zizhu.cases.services import handling as svc
from zizhu.core.errors import DomainError, NotPermitted, OutOfReach
from zizhu.core.files import EVIDENCE_ACCEPT, audited_download, clean_evidence
from zizhu.core.http import actor_of
from zizhu.core.models import OrgUnit, User
from zizhu.core.reach import get_for
from zizhu.registry.models import Student

_CONFIRM = "confirm"
_DATE = forms.DateInput(attrs={"type": "date"})


def month_label(month: date) -> str:
    return f"{month.year}年{month.month}月1日"


def _get_clue(actor: User, pk: int) -> Clue:
    return get_for(
        actor,
        Clue.objects.visible_to(actor).select_related("school", "objection"),
        "school",
        perm="clue:view",
        pk=pk,
    )


def _live_awards(clue: Clue, actor: User) -> QuerySet[Award]:
    return (
        Award.objects.visible_to(actor)
        .filter(student__in=clue.students.all(), status=AwardStatus.LIVE)
        .select_related("student", "programme", "tier")
        .only(
            "pk",
            "annual_amount",
            "student__name",
            "programme__name",
            "tier__name",
            "tier__rank",
        )
        .order_by("student__name", "pk")
    )


class AwardChoiceField(forms.ModelChoiceField):  # type: ignore[type-arg]
    def label_from_instance(self, obj: Any) -> str:
        student, programme, tier = obj.student.name, obj.programme.name, obj.tier.name
        return f"{student} · {programme} · {tier} · {obj.annual_amount} 元/年"


def _no_future(day: date) -> date:
    if day > timezone.localdate():
        raise forms.ValidationError("日期不能晚于今天。")
    return day


# --- forms ------------------------------------------------------------------------------------


class AssignForm(forms.Form):
    school = forms.ModelChoiceField(
        label="分派学校",
        queryset=OrgUnit.objects.none(),
        required=False,
        empty_label="区资助中心自行核查",
    )
    note = forms.CharField(label="分派说明", required=False, max_length=500)

    def __init__(self, *args: Any, actor: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        schools = OrgUnit.objects.visible_to(actor, "clue:assign").schools().order_by("code")
        self.fields["school"].queryset = schools  # type: ignore[attr-defined]


class InvestigationForm(forms.Form):
    kind = forms.ChoiceField(label="调查方式", choices=InvestigationKind.choices)
    done_on = forms.DateField(label="调查日期", widget=_DATE)
    findings = forms.CharField(label="调查情况", max_length=2000, widget=forms.Textarea)
    attachment = forms.FileField(label="附件（可选，PDF/JPG/PNG，10 MB 以内）", required=False)

    def clean_done_on(self) -> date:
        return _no_future(self.cleaned_data["done_on"])

    def clean_attachment(self) -> UploadedFile | None:
        return clean_evidence(self.cleaned_data.get("attachment"), label="附件")


class _AwardFields(forms.Form):
    award = AwardChoiceField(
        label="涉及的资助", queryset=Award.objects.none(), required=False, empty_label="（不涉及）"
    )
    new_tier = forms.ModelChoiceField(
        label="调整为（调整等级时）",
        queryset=DifficultyTier.objects.order_by("rank"),
        required=False,
        empty_label="（不调整）",
    )

    def __init__(self, *args: Any, awards: QuerySet[Award], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["award"].queryset = awards  # type: ignore[attr-defined]


class VerificationForm(_AwardFields):
    contacted_on = forms.DateField(label="核实日期", widget=_DATE)
    contacted_person = forms.CharField(label="核实对象（学生或监护人）", max_length=100)
    contact_method = forms.CharField(label="核实方式（当面、电话等）", max_length=40)
    answer = forms.ChoiceField(label="本人意见", choices=FamilyAnswer.choices)
    conclusion = forms.CharField(label="核实结论", max_length=2000, widget=forms.Textarea)
    opinion = forms.ChoiceField(label="动态管理意见", choices=Opinion.choices)
    field_order = (
        "contacted_on",
        "contacted_person",
        "contact_method",
        "answer",
        "conclusion",
        "opinion",
        "award",
        "new_tier",
    )

    def clean_contacted_on(self) -> date:
        return _no_future(self.cleaned_data["contacted_on"])


class SendBackForm(forms.Form):
    reason = forms.CharField(label="退回理由", max_length=500, widget=forms.Textarea)


class DecisionForm(_AwardFields):
    opinion = forms.ChoiceField(label="处理决定", choices=Opinion.choices)
    reasoning = forms.CharField(label="审核意见", max_length=2000, widget=forms.Textarea)
    recover_amount = forms.DecimalField(
        label="追缴金额（元，追缴时填写）",
        required=False,
        max_digits=12,
        decimal_places=2,
        min_value=0,
    )
    public_outcome = forms.CharField(
        label="结果公示内容（必要时）", required=False, max_length=2000, widget=forms.Textarea
    )
    rechecked = forms.BooleanField(label="已重点复核", required=False)
    field_order = (
        "opinion",
        "reasoning",
        "award",
        "new_tier",
        "recover_amount",
        "public_outcome",
        "rechecked",
    )


class ReplyForm(forms.Form):
    method = forms.ChoiceField(label="答复方式", choices=ReplyMethod.choices)
    replied_on = forms.DateField(label="答复日期", widget=_DATE)
    content = forms.CharField(label="答复内容", max_length=2000, widget=forms.Textarea)

    def clean_replied_on(self) -> date:
        return _no_future(self.cleaned_data["replied_on"])


# --- the page -------------------------------------------------------------------------------


STUDENT_SEARCH_LIMIT = 20


def _student_candidates(clue: Clue, actor: User, query: str) -> list[Student]:
    """Students the verifier may name: in reach, at the clue's school when it has one."""
    if not query:
        return []
    found = Student.objects.visible_to(actor).filter(name__icontains=query).exclude(clues=clue)
    if clue.school_id is not None:
        found = found.filter(school_id=clue.school_id)
    return list(
        found.only("pk", "name", "grade", "class_name").order_by("name", "pk")[
            :STUDENT_SEARCH_LIMIT
        ]
    )


def _context(clue: Clue, actor: User, **forms_given: forms.Form) -> dict[str, Any]:
    actions = svc.available_actions(clue, actor)
    awards = _live_awards(clue, actor)
    decisions = list(
        clue.decisions.select_related(
            "award__student", "award__programme", "new_tier", "decided_by"
        )
    )
    students = Student.objects.visible_to(actor).filter(clues=clue).only("pk", "name", "grade")
    return {
        "clue": clue,
        "actions": actions,
        "self_handled": svc.is_self_handled(clue),
        "students": students.order_by("name", "pk"),
        "events": clue.events.select_related("actor"),
        "investigations": clue.investigations.select_related("recorded_by"),
        "verifications": clue.verifications.select_related(
            "award__student", "award__programme", "new_tier", "submitted_by"
        ),
        "decisions": [(d, month_label(svc.effective_month(d))) for d in decisions],
        "replies": clue.replies.select_related("replied_by"),
        "appeals": clue.appeals.all(),
        "reply_required": svc.needs_reply_before_closing(clue),
        "appeal_deadline": svc.appeal_deadline(clue),
        "effective_label": month_label(next_month(timezone.localdate())),
        "evidence_accept": EVIDENCE_ACCEPT,
        "assign_form": forms_given.get("assign") or AssignForm(actor=actor),
        "investigation_form": forms_given.get("investigate") or InvestigationForm(),
        "verification_form": forms_given.get("verify") or VerificationForm(awards=awards),
        "send_back_form": forms_given.get("send_back") or SendBackForm(),
        "decision_form": forms_given.get("decide") or _initial_decision(clue, awards),
        "reply_form": forms_given.get("reply")
        or ReplyForm(initial={"replied_on": timezone.localdate()}),
    }


def _initial_decision(clue: Clue, awards: QuerySet[Award]) -> DecisionForm:
    """Prefilled from the latest verification: the district usually follows the school."""
    latest = clue.verifications.order_by("-submitted_at", "-pk").first()
    initial: dict[str, Any] = {}
    if latest is not None:
        initial = {
            "opinion": latest.opinion,
            "award": latest.award_id,
            "new_tier": latest.new_tier_id,
        }
    return DecisionForm(initial=initial, awards=awards)


def _render(
    request: HttpRequest, clue: Clue, actor: User, status: int = 200, **given: forms.Form
) -> HttpResponse:
    return render(
        request, "cases/handling_clue.html", _context(clue, actor, **given), status=status
    )


@require_GET
def handling_clue(request: HttpRequest, pk: int) -> HttpResponse:
    actor = actor_of(request)
    clue = _get_clue(actor, pk)
    query = (request.GET.get("q") or "").strip()[:50]
    context = _context(clue, actor)
    context["student_query"] = query
    if context["actions"].verify:
        context["student_candidates"] = _student_candidates(clue, actor, query)
    return render(request, "cases/handling_clue.html", context)


@require_POST
def handling_student(request: HttpRequest, pk: int) -> HttpResponse:
    actor = actor_of(request)
    clue = _get_clue(actor, pk)
    student_id = request.POST.get("student", "")
    student = get_for(
        actor,
        Student.objects.visible_to(actor).only("pk", "name", "school_id"),
        "school",
        perm="student:view",
        pk=student_id if student_id.isdigit() else 0,
    )
    try:
        svc.add_clue_student(clue, actor=actor, student=student)
    except (NotPermitted, OutOfReach):
        raise
    except DomainError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, f"已将{student.name}列为本线索涉及的学生。")
    return redirect("cases:handling_clue", pk=clue.pk)


def _attempt(
    request: HttpRequest,
    clue: Clue,
    actor: User,
    *,
    key: str,
    form: forms.Form,
    act: Callable[[dict[str, Any]], object],
    done: str,
) -> HttpResponse:
    """Run the service on a valid form; a rule's refusal goes back to the form, a refusal of
    permission or reach to the error page (403/404, audited by the middleware)."""
    if form.is_valid():
        try:
            act(form.cleaned_data)
        except (NotPermitted, OutOfReach):
            raise
        except DomainError as error:
            form.add_error(None, error.message)
        else:
            messages.success(request, done)
            return redirect("cases:handling_clue", pk=clue.pk)
    return _render(request, _get_clue(actor, clue.pk), actor, status=400, **{key: form})


# --- actions ---------------------------------------------------------------------------------


@require_POST
def handling_assign(request: HttpRequest, pk: int) -> HttpResponse:
    actor = actor_of(request)
    clue = _get_clue(actor, pk)
    form = AssignForm(request.POST, actor=actor)

    def act(data: dict[str, Any]) -> object:
        return svc.assign_clue(clue, actor=actor, school=data["school"], note=data["note"])

    done = "已分派。学校须在 3 个工作日内提交核实结论。"
    if not request.POST.get("school"):
        done = "已由区资助中心自行核查，请在 3 个工作日内登记核实结论。"
    return _attempt(request, clue, actor, key="assign", form=form, act=act, done=done)


@require_POST
def handling_investigate(request: HttpRequest, pk: int) -> HttpResponse:
    actor = actor_of(request)
    clue = _get_clue(actor, pk)
    form = InvestigationForm(request.POST, request.FILES)

    def act(data: dict[str, Any]) -> object:
        return svc.record_investigation(
            clue,
            actor=actor,
            kind=data["kind"],
            done_on=data["done_on"],
            findings=data["findings"],
            attachment=data["attachment"],
        )

    return _attempt(
        request, clue, actor, key="investigate", form=form, act=act, done="调查记录已登记。"
    )


@require_POST
def handling_verify(request: HttpRequest, pk: int) -> HttpResponse:
    actor = actor_of(request)
    clue = _get_clue(actor, pk)
    form = VerificationForm(request.POST, awards=_live_awards(clue, actor))

    def act(data: dict[str, Any]) -> object:
        return svc.submit_verification(clue, actor=actor, **data)

    done = "核实结论已报区资助中心，区资助中心将在 2 个工作日内审核。"
    return _attempt(request, clue, actor, key="verify", form=form, act=act, done=done)


@require_POST
def handling_send_back(request: HttpRequest, pk: int) -> HttpResponse:
    actor = actor_of(request)
    clue = _get_clue(actor, pk)
    form = SendBackForm(request.POST)

    def act(data: dict[str, Any]) -> object:
        return svc.send_back(clue, actor=actor, reason=data["reason"])

    done = "已退回补充核查，学校须在 3 个工作日内重新提交。"
    return _attempt(request, clue, actor, key="send_back", form=form, act=act, done=done)


def _decision_summary(data: dict[str, Any], effective: str) -> str:
    opinion = data["opinion"]
    if opinion not in svc.AID_OPINIONS:
        return "本决定不调整资助。确认后线索进入答复环节。"
    award = data["award"]
    who = f"{award.student.name}的“{award.programme.name}”" if award else "所选资助"
    if opinion == Opinion.CHANGE_TIER:
        tier = data["new_tier"]
        return f"{who}自 {effective}起调整为“{tier or '—'}”，此前月份不变。"
    text = f"{who}自 {effective}起停止发放（发放至上月）。"
    if opinion == Opinion.RECOVER:
        text += f"另追缴已发资金 {data['recover_amount'] or '—'} 元，由资金发放环节办理。"
    return text


@require_POST
def handling_decide(request: HttpRequest, pk: int) -> HttpResponse:
    actor = actor_of(request)
    clue = _get_clue(actor, pk)
    form = DecisionForm(request.POST, awards=_live_awards(clue, actor))
    effective = month_label(next_month(timezone.localdate()))
    if request.POST.get("step") != _CONFIRM and form.is_valid():
        data = form.cleaned_data
        return render(
            request,
            "cases/handling_confirm.html",
            {
                "clue": clue,
                "title": f"确认处理决定：{Opinion(data['opinion']).label}",
                "summary": _decision_summary(data, effective),
                "action": "cases:handling_decide",
                "hidden": {k: v for k, v in request.POST.items() if k != "csrfmiddlewaretoken"},
                "facts": [("审核意见", data["reasoning"]), ("执行时间", f"自 {effective}起执行")],
            },
        )

    def act(data: dict[str, Any]) -> object:
        return svc.decide_clue(clue, actor=actor, **data)

    done = f"处理决定已作出，自 {effective}起执行。请登记对反映人的答复。"
    return _attempt(request, clue, actor, key="decide", form=form, act=act, done=done)


@require_POST
def handling_reply(request: HttpRequest, pk: int) -> HttpResponse:
    actor = actor_of(request)
    clue = _get_clue(actor, pk)
    form = ReplyForm(request.POST)

    def act(data: dict[str, Any]) -> object:
        return svc.reply_to_clue(clue, actor=actor, **data)

    return _attempt(request, clue, actor, key="reply", form=form, act=act, done="答复已登记。")


@require_POST
def handling_close(request: HttpRequest, pk: int) -> HttpResponse:
    actor = actor_of(request)
    clue = _get_clue(actor, pk)
    if request.POST.get("step") != _CONFIRM:
        return render(
            request,
            "cases/handling_confirm.html",
            {
                "clue": clue,
                "title": "确认办结线索",
                "summary": (
                    "办结后线索不能再修改；反映人可在申诉期内申诉，申诉后线索回到区资助中心复查。"
                ),
                "action": "cases:handling_close",
                "hidden": {},
                "facts": [],
            },
        )
    try:
        svc.close_clue(clue, actor=actor)
    except (NotPermitted, OutOfReach):
        raise
    except DomainError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, "线索已办结。")
    return redirect("cases:handling_clue", pk=clue.pk)


@never_cache
@require_GET
def handling_attachment(request: HttpRequest, pk: int) -> FileResponse:
    """An investigation's attachment, for those who reach its clue; every download logged."""
    actor = actor_of(request)
    investigation = get_for(
        actor,
        Investigation.objects.select_related("clue__school"),
        "clue__school",
        perm="clue:view",
        pk=pk,
    )
    return audited_download(
        investigation.attachment,
        actor=actor,
        action="clue.attachment_downloaded",
        perm="clue:view",
        filters={"investigation": investigation.pk},
        org_unit=investigation.clue.school,
        subject=investigation.clue,
        filename=f"线索{investigation.clue.number}-调查{investigation.pk}",
        label="附件",
    )


urlpatterns: list[URLPattern] = [
    path("<int:pk>/handling/", handling_clue, name="handling_clue"),
    path("<int:pk>/handling/assign/", handling_assign, name="handling_assign"),
    path("<int:pk>/handling/investigate/", handling_investigate, name="handling_investigate"),
    path("<int:pk>/handling/verify/", handling_verify, name="handling_verify"),
    path("<int:pk>/handling/student/", handling_student, name="handling_student"),
    path("<int:pk>/handling/send-back/", handling_send_back, name="handling_send_back"),
    path("<int:pk>/handling/decide/", handling_decide, name="handling_decide"),
    path("<int:pk>/handling/reply/", handling_reply, name="handling_reply"),
    path("<int:pk>/handling/close/", handling_close, name="handling_close"),
    path(
        "investigations/<int:pk>/attachment/",
        handling_attachment,
        name="handling_attachment",
    ),
]
