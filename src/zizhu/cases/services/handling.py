"""Classified handling of a clue (seed 二(二)): assignment, verification, review, decision,
reply, closing and appeal.

Each step is one service: explicit actor, one transaction, the guard, then `move_clue` (the
status primitive, which also computes the working-day `due_on`), then the step's own rows and
audit row. The clock: the school verifies within 3 working days of assignment (二(二)2), the
district reviews within 2 working days of the submission (二(二)3), the decision takes effect
from the first day of the next month through the awards service (二(二)3, "从次月起执行"), and
the complainant gets a written or oral reply (二(二)4).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation
from functools import reduce
from operator import or_

from django.conf import settings
from django.core.files import File
from django.db import transaction
from django.db.models import Exists, F, OuterRef, Q, QuerySet
from django.urls import reverse
from django.utils import timezone

from zizhu.aid.models import Award, AwardChangeKind, AwardStatus, DifficultyTier, ObjectionStatus
from zizhu.aid.rules import CENT, next_month
from zizhu.aid.services.awards import change_award
from zizhu.aid.services.notices import RESOLUTION_MAX, resolve_objection
from zizhu.cases.models import (
    Appeal,
    Clue,
    ClueEvent,
    ClueReporter,
    ClueStatus,
    Decision,
    FamilyAnswer,
    Investigation,
    InvestigationKind,
    Opinion,
    Reply,
    ReplyMethod,
    Verification,
)
from zizhu.cases.services.workflow import SCHOOL_VERIFICATION_DAYS, move_clue
from zizhu.core import audit, worklist
from zizhu.core.calendar import add_working_days
from zizhu.core.errors import Conflict, DomainError, NotPermitted
from zizhu.core.models import OrgUnit, UnitKind, User
from zizhu.core.notifications import notify_unit
from zizhu.core.reach import permissions_of, require_permission, scope_for
from zizhu.core.services import require_certified
from zizhu.registry.models import Student

TEXT_MAX = 2000
SHORT_MAX = 100
APPELLANT_LABEL = "申诉人"
SELF_HANDLED_NOTE = "区资助中心自行核查"
RECHECK_WORD = "复核"

# Higher apps react to a decision inside its transaction (payments opens a recovery for
# "停止资助并追缴已发资金"); cases cannot import them, so they register here from ready().
DECISION_HOOKS: list[Callable[[Decision, User], None]] = []

# Opinions that change an award, and the award change each becomes. Recovery stops the
# award as well; the money already paid is collected by payments from the recorded amount.
AID_OPINIONS: dict[str, str] = {
    Opinion.CHANGE_TIER: AwardChangeKind.CHANGE_TIER,
    Opinion.STOP: AwardChangeKind.STOP,
    Opinion.RECOVER: AwardChangeKind.STOP,
}
_INVESTIGATION_OPTIONS = "、".join(label for _, label in InvestigationKind.choices)


# --- small guards ----------------------------------------------------------------------------


def _clean(value: str, *, label: str, limit: int = TEXT_MAX, required: bool = True) -> str:
    value = (value or "").strip()
    if required and not value:
        raise DomainError(f"请填写{label}。")
    if len(value) > limit:
        raise DomainError(f"{label}不能超过 {limit} 字，请精简后再提交。")
    return value


def _not_future(day: date, *, label: str) -> date:
    if day > timezone.localdate():
        raise DomainError(f"{label}不能晚于今天。")
    return day


def _require_on_clue(actor: User, clue: Clue, perm: str) -> None:
    """The actor holds `perm` over the clue's school; a clue without a school (not yet
    assigned, or handled by the district itself) is reached only by district roles."""
    require_permission(actor, perm)
    if not scope_for(actor, perm).covers(clue.school_id):
        raise NotPermitted("该线索不在您的办理范围内。")


def _require_status(clue: Clue, *allowed: str) -> None:
    if clue.status not in allowed:
        wanted = "、".join(f"“{ClueStatus(s).label}”" for s in allowed)
        raise Conflict(
            f"线索当前为“{clue.get_status_display()}”，只有{wanted}的线索可以办理此项。"
            "请刷新页面查看最新进度。"
        )


def _lock(clue: Clue) -> Clue:
    # Only the clue row is locked: school and objection are outer joins (nullable).
    locked = Clue.objects.select_for_update(of=("self",)).select_related("school", "objection")
    return locked.get(pk=clue.pk)


def _check_award(
    clue: Clue,
    *,
    actor: User,
    perm: str,
    opinion: str,
    award: Award | None,
    new_tier: DifficultyTier | None,
) -> tuple[Award | None, DifficultyTier | None]:
    """The award an aid-changing opinion acts on: live, one of the clue's students', within
    the actor's reach. Other opinions carry no award."""
    if opinion not in AID_OPINIONS:
        return None, None
    if award is None:
        raise DomainError("“调整等级”“停止资助”“追缴”须选择所涉学生的在享资助。")
    if not clue.students.filter(pk=award.student_id).exists():
        raise DomainError("所选资助不属于本线索所涉学生，请重新选择。")
    if not scope_for(actor, perm).covers(award.school_id):
        raise NotPermitted("所选资助不在您的管辖范围内。")
    if award.status != AwardStatus.LIVE:
        raise DomainError(f"所选资助当前为“{award.get_status_display()}”，不能再调整。")
    if opinion == Opinion.CHANGE_TIER:
        if new_tier is None or new_tier.pk == award.tier_id:
            raise DomainError("调整等级须选择与当前不同的困难等级。")
        return award, new_tier
    return award, None


def _recover_amount(opinion: str, amount: Decimal | None) -> Decimal | None:
    if opinion != Opinion.RECOVER:
        if amount is not None:
            raise DomainError("只有“停止资助并追缴已发资金”的决定才填写追缴金额。")
        return None
    try:
        valid = amount is not None and amount > 0 and amount == amount.quantize(CENT)
    except (InvalidOperation, TypeError):
        valid = False
    if not valid or amount is None:
        raise DomainError("追缴须填写追缴金额：以元为单位，大于 0，最多两位小数。")
    return amount.quantize(CENT)


# --- assignment ------------------------------------------------------------------------------


@transaction.atomic
def assign_clue(clue: Clue, *, actor: User, school: OrgUnit | None = None, note: str = "") -> Clue:
    """The district assigns a received clue to a school, due in 3 working days (二(二)2), or,
    with `school=None`, keeps it: the district then verifies it itself under the same clock."""
    require_permission(actor, "clue:assign")
    if not scope_for(actor, "clue:assign").everything:
        raise NotPermitted("线索由区资助中心分派。")
    note = _clean(note, label="分派说明", limit=500, required=False)
    clue = _lock(clue)
    _require_status(clue, ClueStatus.RECEIVED)
    if school is None:
        return _keep_at_district(clue, actor=actor, note=note)
    if school.kind != UnitKind.SCHOOL:
        raise DomainError("线索只能分派给学校（幼儿园），请重新选择。")
    # A school verifies only its own students: the allegation names them, so a clue about
    # students of several schools (or of another school) stays at the district.
    named = set(clue.students.values_list("school_id", flat=True))
    if len(named) > 1:
        raise DomainError("该线索涉及多所学校的学生，请由区资助中心自行核查，或拆分后分别分派。")
    if named and school.pk not in named:
        raise DomainError("该线索涉及的学生不在所选学校，请选择学生所在学校。")
    clue = move_clue(
        clue, ClueStatus.ASSIGNED, actor=actor, note=note or "分派学校核查", school=school
    )
    notify_unit(
        school,
        perm="clue:verify",
        title=f"线索 {clue.number} 已分派本校核查，请于 {clue.due_on:%Y年%m月%d日} 前提交核实结论",
        url=reverse("cases:handling_clue", args=[clue.pk]),
    )
    return clue


def _keep_at_district(clue: Clue, *, actor: User, note: str) -> Clue:
    # The clue stays RECEIVED (the diagram's RECEIVED → SUBMITTED path); only its school is
    # cleared and the verification clock started, so the district's own check is timed too.
    due_on = add_working_days(timezone.localdate(), SCHOOL_VERIFICATION_DAYS)
    Clue.objects.filter(pk=clue.pk, status=ClueStatus.RECEIVED).update(school=None, due_on=due_on)
    previous_school = clue.school
    clue.refresh_from_db()
    text = f"{SELF_HANDLED_NOTE}：{note}" if note else SELF_HANDLED_NOTE
    ClueEvent.objects.create(
        clue=clue,
        from_status=ClueStatus.RECEIVED,
        to_status=ClueStatus.RECEIVED,
        actor=actor,
        note=text,
        due_on=due_on,
    )
    audit.record(
        "clue.self_handled",
        actor=actor,
        subject=clue,
        before={"school": previous_school.pk if previous_school else None},
        after={"school": None, "due_on": due_on, "note": text},
    )
    return clue


def is_self_handled(clue: Clue) -> bool:
    return (
        clue.school_id is None
        and clue.events.filter(
            from_status=ClueStatus.RECEIVED, to_status=ClueStatus.RECEIVED
        ).exists()
    )


# --- verification ----------------------------------------------------------------------------


def _require_verifier(actor: User, clue: Clue) -> None:
    _require_on_clue(actor, clue, "clue:verify")
    _require_status(clue, ClueStatus.RECEIVED, ClueStatus.ASSIGNED)
    # An unassigned clue is verified only by the district handling it itself.
    if clue.status == ClueStatus.RECEIVED and not scope_for(actor, "clue:assign").everything:
        raise NotPermitted("该线索尚未分派，由区资助中心分派或自行核查。")


@transaction.atomic
def add_clue_student(clue: Clue, *, actor: User, student: Student) -> Clue:
    """Name a student the clue concerns. A public report describes them only in words; the
    verifier (the school, or the district handling the clue itself) finds the student in the
    register, so the verification and the decision can act on the student's award."""
    clue = _lock(clue)
    _require_verifier(actor, clue)
    if not Student.objects.visible_to(actor).filter(pk=student.pk).exists():
        raise NotPermitted("所选学生不在您的管辖范围内。")
    if clue.school is not None and student.school_id != clue.school_id:
        raise DomainError(f"{student.name}不是{clue.school.name}的学生，请重新选择。")
    clue.students.add(student)
    audit.record(
        "clue.student_named",
        actor=actor,
        subject=clue,
        org_unit=clue.school,
        after={"student": student.pk},
    )
    return clue


@transaction.atomic
def record_investigation(
    clue: Clue,
    *,
    actor: User,
    kind: str,
    done_on: date,
    findings: str,
    attachment: File[bytes] | None = None,
) -> Investigation:
    """A home visit, neighbour visit, letter of evidence or data re-check (二(二)2) made
    because the family disputed the clue, with its findings and an optional scan."""
    clue = _lock(clue)
    _require_verifier(actor, clue)
    require_certified(actor)
    if kind not in InvestigationKind.values:
        raise DomainError(f"请选择调查方式：{_INVESTIGATION_OPTIONS}。")
    _not_future(done_on, label="调查日期")
    findings = _clean(findings, label="调查情况")
    investigation = Investigation(
        clue=clue, kind=kind, done_on=done_on, findings=findings, recorded_by=actor
    )
    if attachment is not None:
        investigation.attachment.save(attachment.name or "attachment", attachment, save=False)
    investigation.save()
    # Findings hold family details: the row keeps them, the log only what was done.
    audit.record(
        "clue.investigation_recorded",
        actor=actor,
        subject=clue,
        org_unit=clue.school,
        after={
            "investigation": investigation.pk,
            "kind": kind,
            "done_on": done_on,
            "attachment": bool(investigation.attachment),
        },
    )
    return investigation


def needs_priority_recheck(answer: str, opinion: str, investigations: int) -> bool:
    """二(二)3: "对未经受助学生确认、证据不充分的，要重点组织复核". Not confirmed by the family
    (disputed or unreachable), or thin evidence: an opinion that changes or ends aid, without
    the family's confirmation and without a single investigation behind it."""
    unconfirmed = answer != FamilyAnswer.CONFIRMED
    thin_evidence = (
        opinion not in (Opinion.CONTINUE, Opinion.NOT_APPLICABLE)
        and unconfirmed
        and investigations < 1
    )
    return unconfirmed or thin_evidence


@transaction.atomic
def submit_verification(
    clue: Clue,
    *,
    actor: User,
    contacted_on: date,
    contacted_person: str,
    contact_method: str,
    answer: str,
    conclusion: str,
    opinion: str,
    award: Award | None = None,
    new_tier: DifficultyTier | None = None,
) -> Verification:
    """The verification conclusion and dynamic-management opinion go to the district, which
    reviews within 2 working days (二(二)2–3). Only a certified officer may verify."""
    clue = _lock(clue)
    _require_verifier(actor, clue)
    require_certified(actor)
    if answer not in FamilyAnswer.values:
        raise DomainError("请选择受助学生或监护人的意见：确认无异议、有异议或未能联系。")
    if opinion not in Opinion.values:
        raise DomainError("请选择动态管理意见。")
    _not_future(contacted_on, label="核实日期")
    contacted_person = _clean(contacted_person, label="核实对象", limit=SHORT_MAX)
    contact_method = _clean(contact_method, label="核实方式", limit=40)
    conclusion = _clean(conclusion, label="核实结论")
    investigations = clue.investigations.count()
    if answer == FamilyAnswer.DISPUTED and investigations < 1:
        raise DomainError(
            f"本人有异议的，须先通过{_INVESTIGATION_OPTIONS}等方式调查核实并登记调查记录，"
            "再提交核实结论。"
        )
    award, new_tier = _check_award(
        clue, actor=actor, perm="clue:verify", opinion=opinion, award=award, new_tier=new_tier
    )
    priority = needs_priority_recheck(answer, opinion, investigations)
    clue = move_clue(
        clue,
        ClueStatus.SUBMITTED,
        actor=actor,
        note=f"核实结论：{Opinion(opinion).label}",
        priority_recheck=priority,
    )
    verification = Verification.objects.create(
        clue=clue,
        contacted_on=contacted_on,
        contacted_person=contacted_person,
        contact_method=contact_method,
        answer=answer,
        conclusion=conclusion,
        opinion=opinion,
        award=award,
        new_tier=new_tier,
        submitted_by=actor,
    )
    audit.record(
        "clue.verification_recorded",
        actor=actor,
        subject=clue,
        org_unit=clue.school,
        after={
            "verification": verification.pk,
            "answer": answer,
            "opinion": opinion,
            "award": award.pk if award else None,
            "new_tier": new_tier.code if new_tier else None,
            "investigations": investigations,
            "priority_recheck": priority,
        },
    )
    return verification


# --- district review -------------------------------------------------------------------------


@transaction.atomic
def send_back(clue: Clue, *, actor: User, reason: str) -> Clue:
    """The district returns the verification for more work; a new 3-working-day clock."""
    reason = _clean(reason, label="退回理由", limit=500)
    clue = _lock(clue)
    _require_on_clue(actor, clue, "clue:decide")
    _require_status(clue, ClueStatus.SUBMITTED)
    clue = move_clue(clue, ClueStatus.ASSIGNED, actor=actor, note=f"退回补充核查：{reason}")
    if clue.school is not None:
        notify_unit(
            clue.school,
            perm="clue:verify",
            title=f"线索 {clue.number} 被退回补充核查，请于 {clue.due_on:%Y年%m月%d日} 前重新提交",
            body=reason,
            url=reverse("cases:handling_clue", args=[clue.pk]),
        )
    return clue


@dataclass(frozen=True)
class DecisionInput:
    opinion: str
    reasoning: str
    award: Award | None
    new_tier: DifficultyTier | None
    recover_amount: Decimal | None
    public_outcome: str


def _check_decision(clue: Clue, actor: User, data: DecisionInput, rechecked: bool) -> DecisionInput:
    if data.opinion not in Opinion.values:
        raise DomainError("请选择处理决定。")
    reasoning = _clean(data.reasoning, label="审核意见")
    if clue.priority_recheck and not (rechecked and RECHECK_WORD in reasoning):
        raise DomainError(
            "该线索未经受助学生确认或证据不充分，属于重点复核线索（二(二)3）。"
            "请组织复核后勾选“已重点复核”，并在审核意见中写明复核情况。"
        )
    award, new_tier = _check_award(
        clue,
        actor=actor,
        perm="clue:decide",
        opinion=data.opinion,
        award=data.award,
        new_tier=data.new_tier,
    )
    return DecisionInput(
        opinion=data.opinion,
        reasoning=reasoning,
        award=award,
        new_tier=new_tier,
        recover_amount=_recover_amount(data.opinion, data.recover_amount),
        public_outcome=_clean(data.public_outcome, label="结果公示内容", required=False),
    )


@transaction.atomic
def decide_clue(
    clue: Clue,
    *,
    actor: User,
    opinion: str,
    reasoning: str,
    award: Award | None = None,
    new_tier: DifficultyTier | None = None,
    recover_amount: Decimal | None = None,
    public_outcome: str = "",
    rechecked: bool = False,
) -> Decision:
    """The district's decision (二(二)3). An award change goes through the awards service and
    takes effect from the first day of next month; a recovery records the amount for payments
    to collect."""
    clue = _lock(clue)
    _require_on_clue(actor, clue, "clue:decide")
    require_certified(actor)
    _require_status(clue, ClueStatus.SUBMITTED, ClueStatus.APPEALED)
    data = _check_decision(
        clue,
        actor,
        DecisionInput(opinion, reasoning, award, new_tier, recover_amount, public_outcome),
        rechecked,
    )
    clue = move_clue(
        clue, ClueStatus.DECIDED, actor=actor, note=f"处理决定：{Opinion(data.opinion).label}"
    )
    decision = Decision.objects.create(
        clue=clue,
        opinion=data.opinion,
        reasoning=data.reasoning,
        award=data.award,
        new_tier=data.new_tier,
        recover_amount=data.recover_amount,
        public_outcome=data.public_outcome,
        decided_by=actor,
    )
    today = timezone.localdate()
    if data.award is not None:
        change_award(
            data.award,
            actor=actor,
            kind=AID_OPINIONS[data.opinion],
            decided_on=today,
            reason=f"线索{clue.number}：{data.reasoning}"[:500],
            new_tier=data.new_tier,
            check_permission=False,
        )
    audit.record(
        "clue.decision_recorded",
        actor=actor,
        subject=clue,
        org_unit=clue.school,
        after={
            "decision": decision.pk,
            "opinion": data.opinion,
            "award": data.award.pk if data.award else None,
            "new_tier": data.new_tier.code if data.new_tier else None,
            "recover_amount": data.recover_amount,
            "effective_month": next_month(today) if data.award else None,
            "rechecked": clue.priority_recheck,
            "public_outcome": bool(data.public_outcome),
        },
    )
    for hook in DECISION_HOOKS:
        hook(decision, actor)
    return decision


def effective_month(decision: Decision) -> date:
    """The first day of the month after the decision (二(二)3, "从次月起执行")."""
    return next_month(timezone.localdate(decision.decided_at))


# --- reply, closing, appeal ------------------------------------------------------------------


@transaction.atomic
def reply_to_clue(clue: Clue, *, actor: User, method: str, replied_on: date, content: str) -> Reply:
    """The written or oral reply to the complainant (二(二)4): date, by whom, content. Shown on
    the public tracking page."""
    clue = _lock(clue)
    _require_on_clue(actor, clue, "clue:reply")
    _require_status(clue, ClueStatus.DECIDED, ClueStatus.CLOSED)
    if method not in ReplyMethod.values:
        raise DomainError("请选择答复方式：书面答复或口头答复。")
    _not_future(replied_on, label="答复日期")
    content = _clean(content, label="答复内容")
    reply = Reply.objects.create(
        clue=clue, method=method, replied_on=replied_on, content=content, replied_by=actor
    )
    audit.record(
        "clue.replied",
        actor=actor,
        subject=clue,
        org_unit=clue.school,
        after={"reply": reply.pk, "method": method, "replied_on": replied_on},
    )
    return reply


def needs_reply_before_closing(clue: Clue) -> bool:
    """The reporter left a way to reach them (a contact, or their name): then the clue needs
    its reply before it closes (二(二)4). Asked of the hash, never of the decrypted contact."""
    reachable = Q(anonymous=False) | Q(contact_hash__isnull=False)
    if ClueReporter.objects.filter(reachable, clue=clue).exists():
        return True
    return clue.objection is not None and bool((clue.objection.contact or "").strip())


@transaction.atomic
def close_clue(clue: Clue, *, actor: User) -> Clue:
    """Close a decided clue. A clue born of a notice objection resolves the objection with the
    decision's reasoning, in the same transaction."""
    clue = _lock(clue)
    _require_on_clue(actor, clue, "clue:decide")
    _require_status(clue, ClueStatus.DECIDED)
    if needs_reply_before_closing(clue) and not clue.replies.exists():
        raise DomainError(
            "反映人留有联系方式，须先登记书面或口头答复（答复日期、答复人、答复内容），再办结线索。"
        )
    decision = clue.decisions.order_by("-decided_at", "-pk").first()
    clue = move_clue(clue, ClueStatus.CLOSED, actor=actor, note="办结")
    objection = clue.objection
    if objection is not None and objection.status == ObjectionStatus.OPEN and decision:
        resolve_objection(objection, actor=actor, resolution=decision.reasoning[:RESOLUTION_MAX])
    return clue


def appeal_deadline(clue: Clue, within_days: int | None = None) -> date | None:
    if clue.closed_at is None:
        return None
    days = settings.ZIZHU_APPEAL_DAYS if within_days is None else within_days
    return timezone.localdate(clue.closed_at) + timedelta(days=days)


@transaction.atomic
def lodge_appeal(clue: Clue, *, text: str, within_days: int | None = None) -> Appeal:
    """The reporter appeals within ZIZHU_APPEAL_DAYS calendar days of closing; the clue reopens
    at the district, due in 2 working days. Public: the caller has checked number and code."""
    clue = _lock(clue)
    _require_status(clue, ClueStatus.CLOSED)
    deadline = appeal_deadline(clue, within_days)
    if deadline is None or timezone.localdate() > deadline:
        raise DomainError(
            f"申诉须在办结后的申诉期内提出（截至 {deadline:%Y年%m月%d日}），现已超过申诉期。"
            "如有新的情况，请重新反映。"
            if deadline
            else "该线索尚未办结，不能申诉。"
        )
    text = _clean(text, label="申诉内容")
    appeal = Appeal.objects.create(clue=clue, text=text)
    # The appeal text stays in its row; the log records only that an appeal came in.
    move_clue(clue, ClueStatus.APPEALED, actor=None, actor_label=APPELLANT_LABEL, note="申诉")
    return appeal


# --- what an actor may do, and the work list -------------------------------------------------


@dataclass(frozen=True)
class Actions:
    assign: bool = False
    investigate: bool = False
    verify: bool = False
    send_back: bool = False
    decide: bool = False
    reply: bool = False
    close: bool = False

    @property
    def any(self) -> bool:
        return any(vars(self).values())


def available_actions(clue: Clue, actor: User) -> Actions:
    """The steps the actor may take on the clue now; the services check again on submit."""

    def reaches(perm: str) -> bool:
        return scope_for(actor, perm).covers(clue.school_id)

    status = clue.status
    district = scope_for(actor, "clue:assign").everything
    verifying = status == ClueStatus.ASSIGNED or (status == ClueStatus.RECEIVED and district)
    return Actions(
        assign=status == ClueStatus.RECEIVED and district,
        investigate=verifying and reaches("clue:verify"),
        verify=verifying and reaches("clue:verify"),
        send_back=status == ClueStatus.SUBMITTED and reaches("clue:decide"),
        decide=status in (ClueStatus.SUBMITTED, ClueStatus.APPEALED) and reaches("clue:decide"),
        reply=status in (ClueStatus.DECIDED, ClueStatus.CLOSED) and reaches("clue:reply"),
        close=status == ClueStatus.DECIDED and reaches("clue:decide"),
    )


WORKLIST_LIMIT = 30


def _due_clues(actor: User) -> QuerySet[Clue] | None:
    perms = permissions_of(actor)
    parts: list[QuerySet[Clue]] = []
    if "clue:verify" in perms:
        scope = scope_for(actor, "clue:verify")
        assigned = Clue.objects.filter(status=ClueStatus.ASSIGNED)
        # The district verifies only what it kept; schools' clues are in its review lists.
        parts.append(
            assigned.filter(school__isnull=True)
            if scope.everything
            else scope.filter(assigned, "school")
        )
    if "clue:assign" in perms:
        parts.append(
            Clue.objects.visible_to(actor, "clue:assign").filter(status=ClueStatus.RECEIVED)
        )
    if "clue:decide" in perms:
        parts.append(
            Clue.objects.visible_to(actor, "clue:decide").filter(
                status__in=(ClueStatus.SUBMITTED, ClueStatus.APPEALED)
            )
        )
    if "clue:reply" in perms:
        unreplied = ~Exists(Reply.objects.filter(clue=OuterRef("pk")))
        parts.append(
            Clue.objects.visible_to(actor, "clue:reply").filter(
                unreplied, status=ClueStatus.DECIDED
            )
        )
    return reduce(or_, parts) if parts else None


def work_label(number: str, status: str, priority: bool) -> str:
    flag = "【重点复核】" if priority else ""
    return f"{flag}线索 {number}：{ClueStatus(status).label}"


@worklist.register
def clues_due(actor: User) -> list[worklist.WorkItem]:
    """Clues waiting on the actor, by due date, overdue ones marked (issue 5, work lists)."""
    clues = _due_clues(actor)
    if clues is None:
        return []
    today = timezone.localdate()
    rows = clues.order_by(F("due_on").asc(nulls_last=True), "pk").values_list(
        "pk", "number", "status", "due_on", "priority_recheck"
    )[:WORKLIST_LIMIT]
    return [
        worklist.WorkItem(
            title=work_label(number, status, priority),
            url=reverse("cases:handling_clue", args=[pk]),
            due_on=due_on,
            overdue=due_on is not None and due_on < today,
        )
        for pk, number, status, due_on, priority in rows
    ]
