"""Hits after the run: reading them (scoped), the verdict a clue decision gives them, and the
per-rule statistics.

A hit's verdict comes from the decision on the clue it opened (seed 二(二)3: a machine never
cuts aid, a person decides): 继续资助 / 不涉及资助调整 dismiss it — the decision's reasoning is
kept as the reason, and the next runs leave it alone while its evidence stays the same —
while stopping, recovering or changing the tier confirm it.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from zizhu.cases.models import Decision, Opinion
from zizhu.core import audit
from zizhu.core.errors import OutOfReach
from zizhu.core.models import User
from zizhu.core.reach import scope_for
from zizhu.crosscheck.models import Hit, Run, RunHit, Verdict
from zizhu.crosscheck.rules import Rule, all_rules

VIEW_PERM = "crosscheck:view"
RUN_PERM = "crosscheck:run"

DISMISSING = frozenset({Opinion.CONTINUE, Opinion.NOT_APPLICABLE})


def hits_visible_to(actor: User) -> QuerySet[Hit]:
    return scope_for(actor, VIEW_PERM).filter(
        Hit.objects.select_related("student", "school", "clue"), "school"
    )


def run_hits_visible_to(actor: User, run: Run) -> QuerySet[RunHit]:
    """What one run said about the hits within the actor's reach."""
    run_hits = RunHit.objects.filter(run=run).select_related(
        "hit__student", "hit__school", "hit__clue", "clue"
    )
    return scope_for(actor, VIEW_PERM).filter(run_hits, "hit__school")


def get_hit_for(actor: User, pk: int) -> Hit:
    hit = hits_visible_to(actor).filter(pk=pk).first()
    if hit is None:
        raise OutOfReach()
    return hit


def decision_hook(decision: Decision, actor: User) -> None:
    """Registered in `cases.services.handling.DECISION_HOOKS` (CrosscheckConfig.ready)."""
    for hit in Hit.objects.select_for_update().filter(clue_id=decision.clue_id):
        before = {"verdict": hit.verdict}
        hit.verdict = Verdict.DISMISSED if decision.opinion in DISMISSING else Verdict.CONFIRMED
        hit.verdict_reason = decision.reasoning
        hit.verdict_at = timezone.now()
        hit.verdict_fingerprint = hit.fingerprint
        hit.save(update_fields=["verdict", "verdict_reason", "verdict_at", "verdict_fingerprint"])
        audit.record(
            "crosscheck.hit_verdict",
            actor=actor,
            subject=hit,
            org_unit=hit.school,
            before=before,
            after={
                "verdict": hit.verdict,
                "rule": hit.rule,
                "clue": decision.clue_id,
                "opinion": decision.opinion,
            },
        )


@dataclass(frozen=True)
class RuleStats:
    rule: Rule
    hits: int
    present: int
    pending: int
    confirmed: int
    dismissed: int

    @property
    def precision(self) -> float | None:
        """Confirmed share of the hits a person has judged; None before any verdict."""
        judged = self.confirmed + self.dismissed
        return self.confirmed / judged if judged else None


def rule_stats(actor: User) -> list[RuleStats]:
    counts = {
        row["rule"]: row
        for row in hits_visible_to(actor)
        .order_by()
        .values("rule")
        .annotate(
            hits=Count("id"),
            present=Count("id", filter=Q(present=True)),
            pending=Count("id", filter=Q(verdict=Verdict.PENDING)),
            confirmed=Count("id", filter=Q(verdict=Verdict.CONFIRMED)),
            dismissed=Count("id", filter=Q(verdict=Verdict.DISMISSED)),
        )
    }
    empty = {"hits": 0, "present": 0, "pending": 0, "confirmed": 0, "dismissed": 0}
    return [
        RuleStats(
            rule=rule,
            **{key: int(counts.get(code, empty)[key]) for key in empty},
        )
        for code, rule in all_rules().items()
    ]
