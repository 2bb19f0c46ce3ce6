"""What a status-change ledger entry does to a student's awards (seed 二(二)1: "做好受助学生
信息异动记载…为适时调整学生受助时限提供可靠依据"; issue 4, "Spring dynamic review").

Registered with `registry.services.on_status_change`, so it runs inside the ledger entry's
transaction: the entry and the award changes commit together or not at all.

Leaving school (death, dropout, graduation, transfer out of the district) ends the live
awards; suspension stops them; a transfer within the district moves them to the new school.
Each takes effect from the month after the entry's effective date (seed 二(二)3, "从次月起
执行"). That month may already be past when the entry is recorded late — intended: payments
are computed from months, and money paid after it becomes a recovery. A change of family
circumstances or a resumption changes nothing by itself: the school's officers are told to
review.
"""

from __future__ import annotations

from collections import defaultdict

from django.urls import reverse

from zizhu.aid.models import Award, AwardChange, AwardChangeKind, AwardStatus
from zizhu.aid.services.awards import change_award
from zizhu.aid.services.review import close_pending_reviews, move_pending_reviews
from zizhu.core.models import OrgUnit, User
from zizhu.core.notifications import notify_unit
from zizhu.registry.models import ChangeKind, StatusChange
from zizhu.registry.services import on_status_change

NOTIFY_PERM = "review:decide"

# The ledger's kinds that change live awards by themselves, and how.
AWARD_CHANGE_FOR: dict[str, str] = {
    ChangeKind.DEATH: AwardChangeKind.END,
    ChangeKind.DROPOUT: AwardChangeKind.END,
    ChangeKind.GRADUATION: AwardChangeKind.END,
    ChangeKind.TRANSFER_OUT: AwardChangeKind.END,
    ChangeKind.SUSPENSION: AwardChangeKind.STOP,
    ChangeKind.TRANSFER: AwardChangeKind.MOVE,
}
# Kinds that change nothing by themselves but need the officers' review.
REVIEW_ONLY = frozenset({ChangeKind.FAMILY_CHANGE, ChangeKind.RESUMPTION})


@on_status_change
def adjust_awards(entry: StatusChange, actor: User) -> None:
    kind = AWARD_CHANGE_FOR.get(entry.kind)
    if kind is not None:
        _change_live_awards(entry, actor, kind)
    elif entry.kind in REVIEW_ONLY:
        _ask_for_review(entry)


def _label(entry: StatusChange) -> str:
    return str(ChangeKind(entry.kind).label)


def _student_url(entry: StatusChange) -> str:
    return reverse("registry:student_detail", args=[entry.student_id])


def _change_live_awards(entry: StatusChange, actor: User, kind: str) -> None:
    awards = list(
        Award.objects.filter(student_id=entry.student_id, status=AwardStatus.LIVE)
        .select_related("school", "programme", "school_year", "tier", "student__school")
        .order_by("pk")
    )
    reason = f"学籍异动：{_label(entry)}（{entry.reason}）"
    told: dict[OrgUnit, list[str]] = defaultdict(list)
    for award in awards:
        old_school = award.school
        change = change_award(
            award,
            actor=actor,
            kind=kind,
            decided_on=entry.effective_on,
            reason=reason,
            new_school=entry.to_school if kind == AwardChangeKind.MOVE else None,
            check_permission=False,
        )
        line = _describe(award, change)
        told[old_school].append(line)
        if kind == AwardChangeKind.MOVE and entry.to_school is not None:
            move_pending_reviews(award, to_school=entry.to_school)
            told[entry.to_school].append(line)
        else:
            close_pending_reviews(award, actor=actor, reason=reason)
    for school, lines in told.items():
        notify_unit(
            school,
            perm=NOTIFY_PERM,
            title=f"学籍异动：{entry.student.name}（{_label(entry)}），"
            f"{len(lines)} 项资助已自动调整",
            body="\n".join([*lines, f"异动原因：{entry.reason}"]),
            url=_student_url(entry),
        )


def _describe(award: Award, change: AwardChange) -> str:
    month = f"{change.effective_month:%Y年%m月}"
    name = f"{award.school_year.code}学年“{award.programme.name}”"
    if change.kind == AwardChangeKind.MOVE:
        return f"{name}自{month}起随转学转至{change.new_school}。"
    return f"{name}自{month}起{AwardChangeKind(change.kind).label}。"


def _ask_for_review(entry: StatusChange) -> None:
    """Only a student who holds aid (live, or stopped by a suspension) is a review matter."""
    held = Award.objects.filter(
        student_id=entry.student_id, status__in=(AwardStatus.LIVE, AwardStatus.STOPPED)
    )
    if not held.exists():
        return
    notify_unit(
        entry.student.school,
        perm=NOTIFY_PERM,
        title=f"{_label(entry)}：请复核{entry.student.name}的受助资格",
        body=f"{entry.effective_on:%Y年%m月%d日}登记“{_label(entry)}”：{entry.reason}。"
        "系统未自动调整资助，请核实后决定是否调整等级、停止或重新申请。",
        url=_student_url(entry),
    )
