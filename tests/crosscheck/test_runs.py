"""A run end to end (issue 6, "Done when"): it is recorded with the rule and dataset versions
it used; hits are diffed across runs (new, still, gone, reopened); a new hit opens a
monitoring clue assigned to the school; a dismissal is remembered until the evidence changes;
only the district centre runs it; a failed run leaves its record and nothing else."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date, timedelta
from io import StringIO
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from tests.aid.test_migration import grant
from tests.aid.test_notices import ensure_calendar_ahead
from tests.cases.test_handling import decide, verify
from tests.factories import StudentFactory, fake_id
from tests.sources.samples import csv_bytes
from zizhu.aid.models import Award
from zizhu.cases.models import Channel, Clue, ClueStatus, Opinion
from zizhu.core.audit import verify_chain
from zizhu.core.calendar import add_working_days
from zizhu.core.errors import Conflict, NotPermitted
from zizhu.core.models import AuditEntry, Notification, OrgUnit, User
from zizhu.crosscheck import engine
from zizhu.crosscheck.models import Change, Hit, Run, RunHit, RunStatus, Trigger, Verdict
from zizhu.crosscheck.services import runs
from zizhu.crosscheck.services.runs import due_this_month, run_crosscheck
from zizhu.registry.models import Student
from zizhu.sources.models import DatasetVersion
from zizhu.sources.services import import_dataset

pytestmark = pytest.mark.django_db

RULE = "DECEASED_OR_GONE"
AS_OF = date(2026, 10, 31)


@pytest.fixture(autouse=True)
def calendar_ahead(db: None) -> None:
    ensure_calendar_ahead()


@pytest.fixture
def alice(school_a: OrgUnit) -> Student:
    return StudentFactory(school=school_a, name="张小花")


@pytest.fixture
def award(alice: Student, district_officer: User) -> Award:
    return grant(alice, district_officer)


def import_deaths(actor: User, *people: Student) -> DatasetVersion:
    rows: list[list[object]] = [["身份证号", "姓名", "死亡日期"]]
    rows += [[p.id_number, p.name, "2026-09-01"] for p in people]
    if not people:  # a version naming only someone outside the register
        rows.append([fake_id(date(1950, 1, 1)), "测试人员", "2026-09-01"])
    return import_dataset("deaths", csv_bytes(rows), "死亡.csv", actor=actor, as_of=AS_OF)


@pytest.fixture
def dead_alice(alice: Student, award: Award, district_officer: User) -> DatasetVersion:
    return import_deaths(district_officer, alice)


def run(actor: User, **kwargs: Any) -> Run:
    return run_crosscheck(actor, codes=[RULE], **kwargs)


def changes(run_: Run) -> dict[int, str]:
    return dict(RunHit.objects.filter(run=run_).values_list("hit__student_id", "change"))


# --- first run -------------------------------------------------------------------------------


def test_a_run_records_what_it_used(district_officer: User, dead_alice: DatasetVersion) -> None:
    result = run_crosscheck(district_officer)

    assert result.status == RunStatus.SUCCEEDED
    assert result.number == 1
    assert result.trigger == Trigger.COMMAND
    assert set(result.rule_versions) >= {RULE, "FAVORITISM", "IDENTITY_MISMATCH"}
    assert result.dataset_versions["deaths"]["number"] == dead_alice.number
    assert result.dataset_versions["deaths"]["id"] == dead_alice.pk
    assert result.timings["total"] > 0
    assert set(result.timings["rules"]) == set(result.rule_versions)
    assert result.counts["snapshot"]["student"] == 1
    assert result.counts["rules"][RULE]["hits"] == 1
    assert "min_insurance_base" in result.params["AFFLUENCE"]
    assert AuditEntry.objects.filter(action="crosscheck.run_recorded").count() == 1


def test_a_new_hit_opens_a_monitoring_clue_assigned_to_the_school(
    district_officer: User, dead_alice: DatasetVersion, alice: Student, school_a: OrgUnit
) -> None:
    result = run(district_officer)

    hit = Hit.objects.get(rule=RULE)
    assert hit.student == alice and hit.school == school_a
    assert hit.present and hit.verdict == Verdict.PENDING
    assert hit.first_run == result == hit.last_run
    assert "死亡" in hit.evidence[0]["detail"]
    assert hit.evidence[0]["version_id"] == dead_alice.pk
    assert changes(result) == {alice.pk: Change.NEW}
    clue = hit.clue
    assert clue is not None
    assert clue.channel == Channel.MONITORING
    assert clue.status == ClueStatus.ASSIGNED
    assert clue.school == school_a
    assert list(clue.students.all()) == [alice]
    assert clue.source_ref == {"rule": RULE, "version": 1, "run": 1, "hit": hit.pk}
    assert "系统比对预警" in clue.allegation and "死亡" in clue.allegation
    assert clue.created_by == district_officer
    assert result.counts["clues"] == 1


def test_the_clue_is_what_registering_and_assigning_by_hand_leaves(
    district_officer: User, officer_a: User, dead_alice: DatasetVersion
) -> None:
    run(district_officer)

    clue = Clue.objects.get()
    assert clue.due_on == add_working_days(timezone.localdate(), 3)
    assert clue.reporter.anonymous
    assert list(clue.events.values_list("from_status", "to_status")) == [
        ("", ClueStatus.RECEIVED),
        (ClueStatus.RECEIVED, ClueStatus.ASSIGNED),
    ]
    actions = AuditEntry.objects.filter(subject_type="cases.clue", subject_id=str(clue.pk))
    assert sorted(actions.values_list("action", flat=True)) == ["clue.assigned", "clue.registered"]
    assert verify_chain().ok
    told = Notification.objects.get(recipient=officer_a)
    assert "系统比对预警线索 1 条" in told.title
    assert clue in Clue.objects.visible_to(officer_a)


def test_a_student_with_nothing_wrong_gives_no_hit(
    district_officer: User, award: Award, alice: Student
) -> None:
    import_deaths(district_officer)  # someone else died

    result = run(district_officer)

    assert result.counts["rules"][RULE]["hits"] == 0
    assert not Hit.objects.exists()
    assert not Clue.objects.exists()


# --- diffing across runs -------------------------------------------------------------------


def test_the_same_hit_again_is_still_present_and_opens_no_second_clue(
    district_officer: User, dead_alice: DatasetVersion, alice: Student
) -> None:
    run(district_officer)
    second = run(district_officer)

    assert changes(second) == {alice.pk: Change.STILL}
    assert second.counts["rules"][RULE] == {
        "hits": 1,
        "new": 0,
        "still": 1,
        "reopened": 0,
        "gone": 0,
    }
    assert Clue.objects.count() == 1
    assert Hit.objects.get().last_run == second


def test_a_new_version_of_the_same_data_is_not_new_evidence(
    district_officer: User, dead_alice: DatasetVersion, alice: Student
) -> None:
    run(district_officer)
    newer = import_deaths(district_officer, alice)

    second = run(district_officer)

    hit = Hit.objects.get()
    assert changes(second) == {alice.pk: Change.STILL}
    assert hit.evidence[0]["version_id"] == newer.pk  # the evidence points at the new rows
    assert Clue.objects.count() == 1


def test_a_hit_no_longer_found_is_gone_and_its_clue_stays(
    district_officer: User, dead_alice: DatasetVersion, alice: Student
) -> None:
    run(district_officer)
    import_deaths(district_officer)  # the next version no longer lists her

    second = run(district_officer)

    hit = Hit.objects.get()
    assert changes(second) == {alice.pk: Change.GONE}
    assert not hit.present
    assert second.counts["rules"][RULE]["gone"] == 1
    assert hit.clue is not None and hit.clue.status == ClueStatus.ASSIGNED

    third = run(district_officer)
    assert changes(third) == {}  # gone is said once


def test_an_earlier_version_can_be_pinned(
    district_officer: User, dead_alice: DatasetVersion, alice: Student
) -> None:
    import_deaths(district_officer)

    result = run(district_officer, pins={"deaths": dead_alice.number})

    assert result.dataset_versions["deaths"]["number"] == dead_alice.number
    assert result.counts["rules"][RULE]["hits"] == 1


# --- verdicts and dismissal memory -----------------------------------------------------------


def handle(clue: Clue, officer: User, district: User, **decision: Any) -> None:
    verify(
        clue,
        officer,
        opinion=decision.get("opinion", Opinion.CONTINUE),
        award=decision.get("award"),
    )
    clue.refresh_from_db()
    decide(clue, district, **decision)


def test_a_dismissed_hit_keeps_its_reason_and_is_not_reopened_while_evidence_is_the_same(
    district_officer: User, officer_a: User, dead_alice: DatasetVersion, alice: Student
) -> None:
    run(district_officer)
    hit = Hit.objects.get()
    assert hit.clue is not None
    handle(hit.clue, officer_a, district_officer, reasoning="经核实为同名误报，学生在读。")

    hit.refresh_from_db()
    assert hit.verdict == Verdict.DISMISSED
    assert hit.verdict_reason == "经核实为同名误报，学生在读。"
    assert AuditEntry.objects.filter(action="crosscheck.hit_verdict").count() == 1

    again = run(district_officer)

    hit.refresh_from_db()
    assert changes(again) == {alice.pk: Change.STILL}
    assert hit.verdict == Verdict.DISMISSED
    assert Clue.objects.count() == 1


def test_a_dismissed_hit_is_reopened_when_its_evidence_changes(
    district_officer: User, officer_a: User, dead_alice: DatasetVersion, alice: Student
) -> None:
    run(district_officer)
    hit = Hit.objects.get()
    assert hit.clue is not None
    first_clue = hit.clue
    handle(first_clue, officer_a, district_officer, reasoning="经核实为误报。")
    grant(alice, district_officer, programme="PRESCHOOL_AID", amount="1000")  # new evidence

    again = run(district_officer)

    hit.refresh_from_db()
    assert changes(again) == {alice.pk: Change.REOPENED}
    assert again.counts["rules"][RULE]["reopened"] == 1
    assert hit.verdict == Verdict.PENDING
    assert hit.clue is not None and hit.clue != first_clue
    assert hit.clue.channel == Channel.MONITORING
    assert RunHit.objects.get(run=again).clue == hit.clue


def test_stopping_the_aid_confirms_the_hit(
    district_officer: User, officer_a: User, dead_alice: DatasetVersion, award: Award
) -> None:
    run(district_officer)
    hit = Hit.objects.get()
    assert hit.clue is not None

    handle(
        hit.clue,
        officer_a,
        district_officer,
        opinion=Opinion.STOP,
        award=award,
        reasoning="学生已死亡，停止资助。",
    )

    hit.refresh_from_db()
    assert hit.verdict == Verdict.CONFIRMED
    assert hit.verdict_reason == "学生已死亡，停止资助。"


# --- who may run it --------------------------------------------------------------------------


@pytest.mark.parametrize("persona", ["district_head", "officer_a", "principal_a"])
def test_only_the_district_centre_runs_the_check(
    persona: str, request: pytest.FixtureRequest, dead_alice: DatasetVersion
) -> None:
    actor: User = request.getfixturevalue(persona)

    with pytest.raises(NotPermitted):
        run_crosscheck(actor)

    assert not Run.objects.exists()
    with pytest.raises(NotPermitted):
        runs.start_run(actor)


def test_a_second_run_waits_for_the_first(district_officer: User) -> None:
    Run.objects.create(number=1, trigger=Trigger.WEB, actor=district_officer, as_of=AS_OF)

    with pytest.raises(Conflict):
        run_crosscheck(district_officer)

    # A run left 运行中 by a dead process no longer blocks.
    Run.objects.update(started_at=timezone.now() - timedelta(hours=3))
    assert run_crosscheck(district_officer).number == 2


# --- failures leave nothing half-written -----------------------------------------------------


def test_a_failure_in_the_rules_marks_the_run_failed(
    district_officer: User, dead_alice: DatasetVersion, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("磁盘已满")

    monkeypatch.setattr(engine, "evaluate", broken)

    with pytest.raises(RuntimeError):
        run(district_officer)

    failed = Run.objects.get()
    assert failed.status == RunStatus.FAILED
    assert "磁盘已满" in failed.error
    assert failed.finished_at is not None
    assert not Hit.objects.exists()
    assert AuditEntry.objects.filter(action="crosscheck.run_failed").exists()


def test_a_crash_while_opening_clues_rolls_back_every_hit(
    district_officer: User, dead_alice: DatasetVersion, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("线索编号冲突")

    monkeypatch.setattr(runs, "open_monitoring_clues", broken)

    with pytest.raises(RuntimeError):
        run(district_officer)

    assert Run.objects.get().status == RunStatus.FAILED
    assert not Hit.objects.exists()
    assert not RunHit.objects.exists()
    assert not Clue.objects.exists()


# --- schedule and command ------------------------------------------------------------------


def test_the_monthly_run_is_due_until_one_succeeds_this_month(district_officer: User) -> None:
    today = timezone.localdate()
    assert due_this_month(today)
    Run.objects.create(
        number=1,
        trigger=Trigger.SCHEDULE,
        actor=district_officer,
        as_of=today,
        status=RunStatus.FAILED,
    )
    assert due_this_month(today)
    Run.objects.create(
        number=2,
        trigger=Trigger.SCHEDULE,
        actor=district_officer,
        as_of=today,
        status=RunStatus.SUCCEEDED,
    )
    assert not due_this_month(today)
    assert due_this_month(today.replace(day=1) + timedelta(days=32))


def command(*args: str) -> str:
    out = StringIO()
    call_command("crosscheck", *args, stdout=out)
    return out.getvalue()


def test_the_command_prints_hits_as_json_with_clear_id_numbers(
    district_officer: User, dead_alice: DatasetVersion, alice: Student, school_a: OrgUnit
) -> None:
    printed = json.loads(command("run", "--json", "--user", district_officer.username))

    assert printed["run"]["number"] == 1
    assert printed["run"]["dataset_versions"]["deaths"]["number"] == dead_alice.number
    [hit] = [h for h in printed["hits"] if h["rule"] == RULE]
    assert hit["student_id_number"] == alice.id_number
    assert hit["school_code"] == school_a.code
    assert hit["evidence"]["change"] == "new"
    assert hit["evidence"]["clue"] == Clue.objects.get().number
    assert "死亡" in hit["evidence"]["items"][0]["detail"]
    assert AuditEntry.objects.filter(action="crosscheck.exported_clear").count() == 1


def test_the_command_summary_and_its_monthly_mode(
    district_officer: User, dead_alice: DatasetVersion
) -> None:
    out = command("run", "--monthly", "--user", district_officer.username)
    assert "第1次比对 完成" in out and RULE in out

    assert "本月已完成比对" in command("run", "--monthly", "--user", district_officer.username)
    assert Run.objects.get().trigger == Trigger.SCHEDULE


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--rule", "NO_SUCH_RULE"], "没有这些比对规则"),
        (["--dataset", "deaths=9"], "没有第 9 版"),
        (["--dataset", "nonsense"], "格式不对"),
    ],
)
def test_the_command_explains_bad_arguments(
    district_officer: User, args: list[str], message: str
) -> None:
    with pytest.raises(CommandError, match=message):
        command("run", "--user", district_officer.username, *args)


def test_the_command_needs_a_user_allowed_to_run(
    make_user: Callable[..., User], school_a: OrgUnit
) -> None:
    with pytest.raises(CommandError, match="没有此项操作权限"):
        command("run", "--user", make_user("nobody").username)


def test_the_rules_listing(db: None) -> None:
    out = command("rules")
    for code in ("OFFICIAL_FAMILY", "AFFLUENCE", "MISSED_ELIGIBLE"):
        assert code in out
    assert "min_capital_10k = 100" in out
