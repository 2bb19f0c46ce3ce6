"""The clue's clock and its one transition primitive.

Deadlines are computed once, on the transition, from the working-day calendar and stored in
`due_on` (style.md, "States and deadlines"): 3 working days for the school's verification
after assignment (seed 二(二)2), 2 for the district's review after the school submits
(二(二)3). Callers check permissions and certification; this module moves the state.
"""

from __future__ import annotations

from datetime import date

from django.db import transaction
from django.utils import timezone

from zizhu.cases.models import CLUE_TRANSITIONS, Clue, ClueEvent, ClueStatus
from zizhu.core import audit
from zizhu.core.calendar import add_working_days
from zizhu.core.errors import Conflict, InvalidTransition
from zizhu.core.models import User

SCHOOL_VERIFICATION_DAYS = 3
DISTRICT_REVIEW_DAYS = 2


def due_after(status: str, start: date) -> date | None:
    """When the step that `status` opens is due; None for steps without a clock."""
    if status == ClueStatus.ASSIGNED:
        return add_working_days(start, SCHOOL_VERIFICATION_DAYS)
    if status in (ClueStatus.SUBMITTED, ClueStatus.APPEALED):
        return add_working_days(start, DISTRICT_REVIEW_DAYS)
    return None


@transaction.atomic
def move_clue(
    clue: Clue,
    to: str,
    *,
    actor: User | None,
    note: str = "",
    actor_label: str = "",
    **changes: object,
) -> Clue:
    """Check the diagram, compare-and-set the status (with the new due date and any other
    `changes`), write the event and the audit row."""
    old = clue.status
    if to not in CLUE_TRANSITIONS[old]:
        raise InvalidTransition(
            f"线索当前为“{ClueStatus(old).label}”，不能转为“{ClueStatus(to).label}”。"
        )
    due_on = due_after(to, timezone.localdate())
    fields: dict[str, object] = {
        "status": to,
        "due_on": due_on,
        "overdue_since": None,
        "escalated_at": None,
    }
    if to == ClueStatus.CLOSED:
        fields["closed_at"] = timezone.now()
    fields.update(changes)
    if Clue.objects.filter(pk=clue.pk, status=old).update(**fields) != 1:
        raise Conflict("该线索已被他人处理，请刷新页面后再试。")
    clue.refresh_from_db()
    ClueEvent.objects.create(
        clue=clue, from_status=old, to_status=to, actor=actor, note=note[:500], due_on=due_on
    )
    audit.record(
        f"clue.{to}",
        actor=actor,
        actor_label=actor_label,
        subject=clue,
        org_unit=clue.school,
        before={"status": old},
        after={"status": to, "due_on": due_on, "note": note[:500]},
    )
    return clue
