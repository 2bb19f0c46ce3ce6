"""Each rule against the planted district (issue 6): every planted violation is found, with
the evidence of its own variant; no control — the case just on the other side of a
threshold or condition — is flagged; nothing outside the answer is flagged; thresholds
follow `settings.ZIZHU_CROSSCHECK_PARAMS`; a run by the district centre records the hits and
opens a clue for each."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import override_settings
from django.utils import timezone

from tests.conftest import PASSWORD
from tests.crosscheck.planted import NO_ID_GUARDIANS, PlantedDistrict
from zizhu.cases.models import Channel
from zizhu.core import services
from zizhu.core.errors import NotPermitted
from zizhu.core.models import Role
from zizhu.crosscheck import engine
from zizhu.crosscheck.models import Hit, RunStatus
from zizhu.crosscheck.rules import all_rules, get_rule
from zizhu.crosscheck.services.runs import run_crosscheck

pytestmark = pytest.mark.django_db

CODES = list(all_rules())


def _keys(district: PlantedDistrict, students: set[int]) -> list[str]:
    return sorted(c.key for c in district.planted.cases if c.student_id in students)


@pytest.mark.parametrize("code", CODES)
def test_every_planted_violation_is_found(planted_district: PlantedDistrict, code: str) -> None:
    expected = planted_district.planted.violations[code]
    assert len(expected) >= 2
    missing = expected - planted_district.found.get(code, set())
    assert not missing, _keys(planted_district, missing)


@pytest.mark.parametrize("code", CODES)
def test_each_variant_is_found_by_its_own_evidence(
    planted_district: PlantedDistrict, code: str
) -> None:
    """A variant counts only when the finding cites it: a student caught for another reason
    by the same rule would hide a broken branch of the rule."""
    findings = planted_district.outcome.findings[code]
    variants = [c for c in planted_district.planted.cases if code in c.evidence]
    assert variants
    for case in variants:
        facts = findings[case.student_id].facts if case.student_id in findings else []
        assert any(fact.startswith(case.evidence[code]) for fact in facts), (case.key, facts)


@pytest.mark.parametrize("code", CODES)
def test_no_control_is_flagged(planted_district: PlantedDistrict, code: str) -> None:
    flagged = planted_district.found.get(code, set()) & planted_district.planted.controls
    assert not flagged, _keys(planted_district, flagged)


@pytest.mark.parametrize("code", CODES)
def test_nothing_outside_the_planted_answer_is_flagged(
    planted_district: PlantedDistrict, code: str
) -> None:
    """The ordinary students (awards backed by department data, two guardians without an ID
    number) and the other rules' cases stay out of the rule's hits."""
    extra = planted_district.found.get(code, set()) - planted_district.planted.violations[code]
    assert not extra, (_keys(planted_district, extra), len(extra))


def test_the_background_is_there_to_be_left_alone(planted_district: PlantedDistrict) -> None:
    """The exactness above means something: ordinary recipients, backed categories 1–2 and
    guardians without an ID number are in the snapshot."""
    con = planted_district.snap.con
    recipients = {row[0] for row in con.execute("SELECT student_id FROM recipient").fetchall()}
    ordinary = {s.pk for s in planted_district.background}
    assert len(recipients & ordinary) >= 10
    live = con.execute("SELECT student_id, category FROM award WHERE live").fetchall()
    assert {1, 2, 7} <= {category for student_id, category in live if student_id in ordinary}
    without_id = con.execute("SELECT student_id FROM guardian WHERE id_hash IS NULL").fetchall()
    no_id = {planted_district.background[n].pk for n in NO_ID_GUARDIANS}
    assert no_id <= {row[0] for row in without_id} & recipients


# --- thresholds from the settings -------------------------------------------------------------


def _affluent(district: PlantedDistrict, params: dict[str, Any]) -> tuple[set[int], Any]:
    rule = get_rule("AFFLUENCE")
    assert rule is not None
    with override_settings(ZIZHU_CROSSCHECK_PARAMS={"AFFLUENCE": params}):
        outcome = engine.evaluate(district.snap, {"AFFLUENCE": rule})
    return engine.students_by_rule(outcome)["AFFLUENCE"], outcome.params["AFFLUENCE"]


@pytest.mark.parametrize(
    ("params", "key", "flagged"),
    [
        ({"min_insurance_base": "7999"}, "ctl_insurance_below", True),
        ({"min_insurance_base": "8000.01"}, "aff_insurance", False),
        ({"min_capital_10k": "99.99"}, "ctl_capital_below", True),
        ({"min_capital_10k": "100.01"}, "aff_business", False),
        ({"vehicle_types": ["小型轿车", "普通二轮摩托车"]}, "ctl_motorcycle", True),
        ({"vehicle_types": ["小型普通客车"]}, "aff_car", False),
        ({"truck_excluded": ["三轮汽车"]}, "ctl_excluded_truck", True),
        ({"business_roles": ["法定代表人", "股东", "个体经营者"]}, "ctl_sole_trader", True),
    ],
)
def test_a_parameter_override_moves_the_threshold(
    planted_district: PlantedDistrict, params: dict[str, Any], key: str, flagged: bool
) -> None:
    found, used = _affluent(planted_district, params)
    assert (planted_district.planted.student(key) in found) is flagged
    for name, value in params.items():
        assert used[name] == value if isinstance(value, list) else str(used[name]) == value


def test_an_override_changes_nothing_else(planted_district: PlantedDistrict) -> None:
    found, _ = _affluent(planted_district, {"min_insurance_base": "7999"})
    moved = {planted_district.planted.student("ctl_insurance_below")}
    assert found == planted_district.found["AFFLUENCE"] | moved


# --- a run, as the district centre -------------------------------------------------------------


def test_a_run_by_the_district_officer_records_the_hits_and_opens_a_clue_for_each(
    planted_district: PlantedDistrict,
) -> None:
    planted = planted_district.planted
    run = run_crosscheck(planted_district.officer, as_of=timezone.localdate())

    assert run.status == RunStatus.SUCCEEDED
    hits = list(Hit.objects.filter(first_run=run).select_related("clue", "student"))
    by_rule: dict[str, set[int]] = {code: set() for code in CODES}
    for hit in hits:
        by_rule[hit.rule].add(hit.student_id)
        assert hit.clue is not None
        assert hit.clue.channel == Channel.MONITORING
        assert hit.clue.school_id == hit.student.school_id == hit.school_id
        assert list(hit.clue.students.all()) == [hit.student]
        assert hit.evidence
    assert by_rule == planted.violations
    assert not {hit.student_id for hit in hits} & planted.controls
    assert run.counts["clues"] == len(hits)
    assert run.dataset_versions.keys() == planted.versions.keys()


def test_a_school_officer_may_not_run_the_checks(planted_district: PlantedDistrict) -> None:
    officer = services.create_user("school_runner", actor=None, full_name="学校", password=PASSWORD)
    services.assign_role(
        officer, actor=None, role=Role.SCHOOL_OFFICER, org_unit=planted_district.schools[0]
    )

    with pytest.raises(NotPermitted):
        run_crosscheck(officer, as_of=timezone.localdate())
    assert not Hit.objects.exists()
