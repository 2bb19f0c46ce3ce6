"""A cross-check run, from snapshot to clues (seed 二(四); issue 6).

1. A `Run` row is written first (status 运行中), in its own transaction, so a run that dies
   still leaves its record, marked failed with the error.
2. The snapshot and the rules run in DuckDB, outside any database transaction.
3. Recording happens in one transaction: hits are diffed against the earlier runs (new, still
   present, gone, reopened), written in bulk, and each new or reopened hit opens a clue
   (channel 系统监测) that the usual workflow assigns to the student's school. A crash here
   rolls all of it back; the run is then marked failed.

Only district roles with `crosscheck:run` start a run; the clues they open are registered
and assigned in that person's name, so the audit trail reads as it would by hand.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from zizhu.cases.models import Clue
from zizhu.cases.services.intake import ALLEGATION_MAX, MonitoringItem, open_monitoring_clues
from zizhu.core import audit
from zizhu.core.errors import Conflict, DomainError, NotPermitted
from zizhu.core.jobs import Progress, handles, start_job
from zizhu.core.models import Job, OrgUnit, UnitKind, User
from zizhu.core.reach import require_permission, scope_for
from zizhu.crosscheck import engine, snapshot
from zizhu.crosscheck.engine import Finding
from zizhu.crosscheck.models import Change, Hit, Run, RunHit, RunStatus, Trigger, Verdict
from zizhu.crosscheck.rules import Rule, all_rules
from zizhu.crosscheck.services.hits import RUN_PERM
from zizhu.registry.models import Student
from zizhu.sources.models import DatasetVersion

logger = logging.getLogger(__name__)

JOB_KIND = "crosscheck_run"
# A run older than this still marked 运行中 died with its process; another may start.
STALE_AFTER = timedelta(hours=2)

Report = Callable[[str, int, int], None]  # (stage label, done, total)


def require_runner(actor: User) -> None:
    require_permission(actor, RUN_PERM)
    if not scope_for(actor, RUN_PERM).everything:
        raise NotPermitted("大数据比对由区资助中心运行。")


def _running() -> Run | None:
    return (
        Run.objects.filter(status=RunStatus.RUNNING, started_at__gte=timezone.now() - STALE_AFTER)
        .order_by("-number")
        .first()
    )


@transaction.atomic
def _open_run(
    actor: User,
    *,
    trigger: str,
    as_of: date,
    rules: dict[str, Rule],
    versions: dict[str, DatasetVersion],
    job: Job | None,
) -> Run:
    # The audit head's lock serialises writers: two runs cannot both pass the check.
    audit.record("crosscheck.run_requested", actor=actor, after={"trigger": trigger})
    if (running := _running()) is not None:
        raise Conflict(
            f"{running} 正在运行（{running.started_at:%H:%M} 开始），请等它结束后再运行。"
        )
    number = (Run.objects.aggregate(n=Max("number"))["n"] or 0) + 1
    return Run.objects.create(
        number=number,
        trigger=trigger,
        actor=actor,
        job=job,
        as_of=as_of,
        rule_versions={code: rule.version for code, rule in rules.items()},
        dataset_versions={
            kind: {
                "id": v.pk,
                "number": v.number,
                "as_of": v.as_of.isoformat(),
                "rows": v.row_count,
            }
            for kind, v in sorted(versions.items())
        },
    )


def _pick_versions(pins: dict[str, int] | None) -> dict[str, DatasetVersion]:
    """The latest version of each dataset, or the pinned version numbers ({kind: number})."""
    versions = snapshot.latest_versions()
    for kind, number in (pins or {}).items():
        version = DatasetVersion.objects.filter(kind=kind, number=number).first()
        if version is None:
            raise DomainError(f"数据集“{kind}”没有第 {number} 版，请核对版本号。")
        versions[kind] = version
    return versions


def run_crosscheck(
    actor: User,
    *,
    trigger: str = Trigger.COMMAND,
    as_of: date | None = None,
    pins: dict[str, int] | None = None,
    codes: list[str] | None = None,
    job: Job | None = None,
    report: Report | None = None,
) -> Run:
    """Run every rule (or `codes`) now; returns the finished run."""
    require_runner(actor)
    rules = all_rules()
    if codes:
        unknown = sorted(set(codes) - set(rules))
        if unknown:
            raise DomainError(f"没有这些比对规则：{', '.join(unknown)}。")
        rules = {code: rule for code, rule in rules.items() if code in codes}
    as_of = as_of or timezone.localdate()
    versions = _pick_versions(pins)
    run = _open_run(actor, trigger=trigger, as_of=as_of, rules=rules, versions=versions, job=job)
    say = report or (lambda stage, done, total: None)
    started = time.perf_counter()
    try:
        tables = len(snapshot.REGISTER) + 12
        loaded = iter(range(1, tables + 1))
        snap = snapshot.take(
            as_of, versions, progress=lambda name: say(f"读取数据：{name}", next(loaded), tables)
        )
        try:
            done = iter(range(1, len(rules) + 1))
            say("关联无身份证号的监护人", 0, len(rules))
            outcome = engine.evaluate(
                snap, rules, on_rule=lambda code: say(f"比对规则：{code}", next(done), len(rules))
            )
        finally:
            snap.close()
        say("记录结果并生成线索", len(rules), len(rules))
        recorded = time.perf_counter()
        _record(run, actor, rules, outcome)
        timings = {
            "snapshot": round(sum(snap.seconds.values()), 3),
            "linkage": round(outcome.linkage_seconds, 3),
            "rules": {code: round(s, 3) for code, s in outcome.seconds.items()},
            "record": round(time.perf_counter() - recorded, 3),
            "total": round(time.perf_counter() - started, 3),
        }
        Run.objects.filter(pk=run.pk).update(
            status=RunStatus.SUCCEEDED,
            finished_at=timezone.now(),
            timings=timings,
            counts={**run.counts, "snapshot": snap.rows, "linked": outcome.linked},
            params=outcome.params,
        )
    except Exception as error:
        _fail(run, actor, error)
        raise
    run.refresh_from_db()
    return run


def _fail(run: Run, actor: User, error: Exception) -> None:
    message = (
        error.message if isinstance(error, DomainError) else f"{type(error).__name__}: {error}"
    )
    if not isinstance(error, DomainError):
        logger.exception("cross-check run %s failed", run.number)
    with transaction.atomic():
        Run.objects.filter(pk=run.pk).update(
            status=RunStatus.FAILED, finished_at=timezone.now(), error=message[:2000]
        )
        audit.record(
            "crosscheck.run_failed", actor=actor, subject=run, after={"error": message[:500]}
        )


@dataclass
class _Opened:
    hit: Hit
    finding: Finding
    change: str


@transaction.atomic
def _record(run: Run, actor: User, rules: dict[str, Rule], outcome: engine.Outcome) -> None:
    existing: dict[str, dict[int, Hit]] = {code: {} for code in rules}
    for known in Hit.objects.select_for_update().filter(rule__in=list(rules)):
        existing[known.rule][known.student_id] = known
    schools = dict(
        Student.objects.filter(
            pk__in={sid for found in outcome.findings.values() for sid in found}
        ).values_list("pk", "school_id")
    )
    created: list[Hit] = []
    changed: list[Hit] = []
    opened: list[_Opened] = []
    run_hits: list[RunHit] = []
    counts: dict[str, dict[str, int]] = {}
    for code, rule in rules.items():
        tally = counts[code] = {"hits": 0, "new": 0, "still": 0, "reopened": 0, "gone": 0}
        found = outcome.findings.get(code, {})
        for student_id, finding in found.items():
            tally["hits"] += 1
            hit = existing[code].get(student_id)
            if hit is None:
                hit = Hit(
                    rule=code,
                    rule_version=rule.version,
                    student_id=student_id,
                    school_id=schools[student_id],
                    evidence=finding.evidence,
                    fingerprint=finding.fingerprint,
                    first_run=run,
                    last_run=run,
                )
                created.append(hit)
                opened.append(_Opened(hit, finding, Change.NEW))
                tally["new"] += 1
                continue
            change = _change_for(hit, finding)
            tally[change] += 1
            if change == Change.REOPENED:
                hit.verdict = Verdict.PENDING
                hit.verdict_at = None
                opened.append(_Opened(hit, finding, change))
            else:
                run_hits.append(RunHit(run=run, hit=hit, change=change))
            hit.rule_version = rule.version
            hit.school_id = schools[student_id]
            hit.evidence = finding.evidence
            hit.fingerprint = finding.fingerprint
            hit.last_run = run
            hit.present = True
            changed.append(hit)
        for student_id, hit in existing[code].items():
            if student_id not in found and hit.present:
                hit.present = False
                changed.append(hit)
                run_hits.append(RunHit(run=run, hit=hit, change=Change.GONE))
                tally["gone"] += 1
    Hit.objects.bulk_create(created, batch_size=2000)
    Hit.objects.bulk_update(
        changed,
        [
            "rule_version",
            "school",
            "evidence",
            "fingerprint",
            "last_run",
            "present",
            "verdict",
            "verdict_at",
        ],
        batch_size=2000,
    )
    clues = _open_clues(run, actor, rules, opened)
    for item in opened:
        run_hits.append(
            RunHit(run=run, hit=item.hit, change=item.change, clue=clues.get(item.hit.pk))
        )
    RunHit.objects.bulk_create(run_hits, batch_size=5000)
    run.counts = {"rules": counts, "clues": len(clues)}
    Run.objects.filter(pk=run.pk).update(counts=run.counts)
    audit.record(
        "crosscheck.run_recorded",
        actor=actor,
        subject=run,
        after={
            "rules": run.rule_versions,
            "datasets": {kind: v["number"] for kind, v in run.dataset_versions.items()},
            "counts": counts,
            "clues": len(clues),
        },
    )


def _change_for(hit: Hit, finding: Finding) -> str:
    """Diff one earlier hit against this run's finding for the same rule and student."""
    if hit.verdict == Verdict.DISMISSED:
        # Dismissed: left alone while the evidence is what the person judged.
        same = finding.fingerprint == (hit.verdict_fingerprint or hit.fingerprint)
        return Change.STILL if same else Change.REOPENED
    if hit.verdict == Verdict.CONFIRMED and not hit.present:
        # Confirmed, gone (aid stopped), and back: the aid came back — a new case.
        return Change.REOPENED
    return Change.STILL


def _allegation(rule: Rule, run: Run, finding: Finding) -> str:
    head = (
        f"【系统比对预警】{rule.title}（规则 {rule.code} 第{rule.version}版，"
        f"第{run.number}次比对）。比对结果仅为线索，须经学校核实、区资助中心审核后处理。证据："
    )
    details = "；".join(str(item["detail"]) for item in finding.evidence)
    text = head + details
    return text if len(text) <= ALLEGATION_MAX else text[: ALLEGATION_MAX - 1] + "…"


def _open_clues(
    run: Run, actor: User, rules: dict[str, Rule], opened: list[_Opened]
) -> dict[int, Clue]:
    """One clue per new or reopened hit, registered and assigned to the student's school to
    verify — in bulk: a first run over a city can open thousands."""
    if not opened:
        return {}
    students = Student.objects.select_related("school").in_bulk(
        {item.hit.student_id for item in opened}
    )
    items = [
        MonitoringItem(
            student=students[item.hit.student_id],
            allegation=_allegation(rules[item.hit.rule], run, item.finding),
            source_ref={
                "rule": item.hit.rule,
                "version": rules[item.hit.rule].version,
                "run": run.number,
                "hit": item.hit.pk,
            },
        )
        for item in opened
    ]
    clues = open_monitoring_clues(actor, items, note=f"系统比对（{run}）：分派学生所在学校核查")
    for item, clue in zip(opened, clues, strict=True):
        item.hit.clue = clue
    Hit.objects.bulk_update([item.hit for item in opened], ["clue"], batch_size=2000)
    return {item.hit.pk: item.hit.clue for item in opened if item.hit.clue is not None}


# --- background job and schedule ----------------------------------------------------------


def start_run(actor: User) -> Job:
    """ "立即运行" in the web: the run goes to the worker; the page follows its progress."""
    require_runner(actor)
    if (running := _running()) is not None:
        raise Conflict(f"{running} 正在运行，请等它结束后再运行。")
    district = OrgUnit.objects.get(kind=UnitKind.DISTRICT)
    return start_job(JOB_KIND, actor=actor, org_unit=district, title="大数据比对（立即运行）")


@handles(JOB_KIND)
def run_job(job: Job, progress: Progress) -> tuple[dict[str, Any], str]:
    def report(stage: str, done: int, total: int) -> None:
        progress(done, total=total, stage=stage)

    run = run_crosscheck(job.created_by, trigger=Trigger.WEB, job=job, report=report)
    new = sum(c["new"] + c["reopened"] for c in run.counts.get("rules", {}).values())
    clues = run.counts.get("clues", 0)
    return (
        {"run": run.number, "run_id": run.pk, "clues": clues},
        f"{run} 已完成：新增或重新核查的命中 {new} 条，已生成线索 {clues} 条。",
    )


def due_this_month(today: date | None = None) -> bool:
    """The monthly schedule: due when no run has succeeded since the 1st of this month."""
    today = today or timezone.localdate()
    return not Run.objects.filter(
        status=RunStatus.SUCCEEDED, as_of__gte=today.replace(day=1)
    ).exists()
