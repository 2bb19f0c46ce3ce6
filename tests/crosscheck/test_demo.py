"""The cross-check demo (issue 6): planting is deterministic for a seed, plants every rule,
shows its hits after a run, comes with `zizhu seed-demo`, and is refused a second time on
the same database (拒绝，不是幂等：再次生成会重复导入部门数据和受助学生)."""

from __future__ import annotations

from datetime import date
from io import StringIO
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.db import transaction
from django.utils import timezone

from tests.aid.test_notices import ensure_calendar_ahead
from tests.cases.test_deadlines import set_today
from tests.crosscheck.planted import (
    award_background,
    make_background,
    make_district_officer,
    make_schools,
)
from zizhu.core.audit import verify_chain
from zizhu.core.errors import DomainError
from zizhu.core.models import AuditEntry, User
from zizhu.crosscheck.demo import SEEDED_ACTION, Planted, plant_violations
from zizhu.crosscheck.models import Run
from zizhu.crosscheck.rules import all_rules
from zizhu.crosscheck.services.runs import run_crosscheck
from zizhu.payments.models import BatchStatus, LineStatus, PaymentBatch
from zizhu.registry.models import Student
from zizhu.sources.models import DatasetKind, DatasetVersion

pytestmark = pytest.mark.django_db


@pytest.fixture
def officer() -> User:
    """A district with its register and a few awards, nothing planted yet."""
    ensure_calendar_ahead()
    user = make_district_officer()
    award_background(make_background(make_schools()), user)
    return user


def _signature(planted: Planted) -> tuple[Any, ...]:
    students = Student.objects.select_related("school").in_bulk(
        [case.student_id for case in planted.cases]
    )
    people = [
        (
            case.key,
            sorted(case.rules),
            students[case.student_id].name,
            students[case.student_id].id_number_hash,
            students[case.student_id].school.code,
        )
        for case in planted.cases
    ]
    files = sorted(DatasetVersion.objects.values_list("kind", "sha256", "row_count"))
    awards = AuditEntry.objects.filter(action="award.imported").latest("pk").after
    return people, files, awards and awards["sha256"], planted.versions


def _plant_and_roll_back(seed: int, actor: User) -> tuple[Any, ...]:
    with transaction.atomic():
        signature = _signature(plant_violations(seed=seed, actor=actor))
        transaction.set_rollback(True)
    return signature


def test_planting_is_deterministic_for_a_seed(officer: User) -> None:
    first = _plant_and_roll_back(3, officer)
    assert not DatasetVersion.objects.exists()

    assert _plant_and_roll_back(3, officer) == first
    assert _plant_and_roll_back(4, officer)[0] != first[0]


def test_the_demo_plants_every_rule_and_a_run_finds_them(officer: User) -> None:
    out = StringIO()
    call_command("seed_demo_crosscheck", "--seed", "2", stdout=out)

    text = out.getvalue()
    recorded = AuditEntry.objects.get(action=SEEDED_ACTION).after
    assert recorded is not None
    planted = recorded["violations"]
    assert set(planted) == set(all_rules())
    assert all(count >= 2 for count in planted.values())
    assert recorded["controls"] >= 2 * len(planted)
    for code, count in planted.items():
        assert f"{code}" in text
        assert f"应命中 {count} 名学生" in text
    assert "zizhu crosscheck run" in text
    assert set(DatasetVersion.objects.values_list("kind", flat=True)) == set(DatasetKind.values)
    assert not Run.objects.exists()  # the person runs the cross-check, not the demo
    batch = PaymentBatch.objects.get(number=recorded["batch"])
    assert batch.status == BatchStatus.CHECKED
    assert batch.lines.filter(status=LineStatus.PAYABLE).count() == 2

    run = run_crosscheck(officer, as_of=timezone.localdate())
    assert {code: c["hits"] for code, c in run.counts["rules"].items()} == planted
    assert run.counts["clues"] == sum(planted.values())


def test_planting_twice_is_refused(officer: User) -> None:
    plant_violations(seed=1, actor=officer)
    students, versions = Student.objects.count(), DatasetVersion.objects.count()

    with pytest.raises(DomainError, match="只能生成一次"):
        plant_violations(seed=1, actor=officer)
    with pytest.raises(CommandError, match="只能生成一次"):
        call_command("seed_demo_crosscheck", "--seed", "2", stdout=StringIO())
    assert Student.objects.count() == students
    assert DatasetVersion.objects.count() == versions


def test_planting_needs_the_demo_district(district_officer: User) -> None:
    with pytest.raises(DomainError, match="seed-demo"):
        plant_violations(seed=1)  # no demo_district account
    with pytest.raises(DomainError, match="seed-demo"):
        plant_violations(seed=1, actor=district_officer)  # no schools
    assert not DatasetVersion.objects.exists()


def test_seed_demo_plants_the_crosscheck_demo_and_a_run_shows_its_hits(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The clue demo's working-day arithmetic needs a day inside the seeded calendar.
    set_today(monkeypatch, date(2026, 11, 26))
    out = StringIO()

    call_command("seed_demo", "--students", "60", "--seed", "2", stdout=out)

    assert "比对演示数据：导入部门数据 12 个数据集" in out.getvalue()
    recorded = AuditEntry.objects.get(action=SEEDED_ACTION).after
    assert recorded is not None
    run = run_crosscheck(User.objects.get(username="demo_district"))
    assert {code: c["hits"] for code, c in run.counts["rules"].items()} == recorded["violations"]
    assert verify_chain().ok
