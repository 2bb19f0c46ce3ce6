"""Guardians without an ID number linked to officials by probability (issue 6,
OFFICIAL_FAMILY and FAVORITISM): who links, how surely, and who never does.

Most tests build the run's tables by hand in a plain DuckDB database, with the snapshot's
own column lists, and an `official` table standing in for the view of `_base.sql`; the last
one goes through the Django register, the snapshot and `engine.prepare`.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import duckdb
import pytest

from tests.aid.test_migration import grant
from tests.aid.test_notices import ensure_calendar_ahead
from tests.factories import GuardianFactory, StaffFactory, StudentFactory
from zizhu.core.models import OrgUnit, User
from zizhu.crosscheck import engine, linkage, snapshot
from zizhu.crosscheck.linkage import FLOOR, link, link_guardians
from zizhu.crosscheck.rules import get_rule

RULE_THRESHOLD = 0.9  # the rules' default min_probability
ADDRESS = "湖北省武汉市新洲区邾城街道李家村3组15号"
OTHER_ADDRESS = "湖北省武汉市新洲区仓埠街道河口村7组42号"
OFFICIAL_COLUMNS = (
    "official_key VARCHAR, kind VARCHAR, person_hash VARCHAR, person_masked VARCHAR,"
    " name VARCHAR, phone_hash VARCHAR, school_id BIGINT, post VARCHAR, hardship_staff BOOLEAN,"
    " label VARCHAR, version_id BIGINT, row_number BIGINT, address VARCHAR"
)


def _table(con: Any, name: str) -> None:
    columns = snapshot.REGISTER[name].columns
    con.execute(f"CREATE TABLE {name} ({', '.join(f'{c} {t}' for c, t in columns)})")


def run_tables(
    guardians: list[dict[str, Any]],
    officials: list[dict[str, Any]],
    *,
    recipients: tuple[int, ...] = (1,),
) -> Any:
    """A run's connection: student 1 (a recipient unless told otherwise), its guardians, the
    officials. A guardian dict: name, phone, id (hash), student (id); an official dict: key,
    name, phone, address."""
    con = duckdb.connect()
    _table(con, "student")
    _table(con, "guardian")
    con.execute(f"CREATE TABLE official ({OFFICIAL_COLUMNS})")
    con.execute("CREATE TABLE recipient (student_id BIGINT)")
    for student_id, hukou, home in ((1, ADDRESS, ADDRESS), (2, None, OTHER_ADDRESS)):
        con.execute(
            "INSERT INTO student (student_id, name, hukou_address, home_address)"
            " VALUES (?, '受助学生', ?, ?)",
            [student_id, hukou, home],
        )
    con.executemany("INSERT INTO recipient VALUES (?)", [[r] for r in recipients])
    for number, g in enumerate(guardians, start=101):
        con.execute(
            "INSERT INTO guardian (guardian_id, student_id, name, id_hash, phone_hash, relation)"
            " VALUES (?, ?, ?, ?, ?, '父亲')",
            [number, g.get("student", 1), g["name"], g.get("id"), g.get("phone")],
        )
    for o in officials:
        con.execute(
            "INSERT INTO official (official_key, kind, name, phone_hash, address)"
            " VALUES (?, 'staff', ?, ?, ?)",
            [o["key"], o["name"], o.get("phone"), o.get("address")],
        )
    return con


def links(con: Any) -> dict[tuple[int, str], float]:
    rows = con.execute("SELECT guardian_id, official_key, probability FROM guardian_link")
    return {(g, o): p for g, o, p in rows.fetchall()}


def test_guardian_with_a_teachers_name_and_phone_links_with_high_probability() -> None:
    con = run_tables(
        [{"name": "王建国", "phone": "h-phone-1"}],
        [
            {"key": "staff:7", "name": "王建国", "phone": "h-phone-1"},
            {"key": "staff:8", "name": "李秀英", "phone": "h-phone-2"},
        ],
    )
    assert link_guardians(con) == 1
    assert links(con)[(101, "staff:7")] >= RULE_THRESHOLD


def test_same_name_and_household_address_without_phone_links_above_the_floor() -> None:
    con = run_tables(
        [{"name": "王建国"}],
        [{"key": "cadres:h1", "name": "王建国", "address": ADDRESS}],
    )
    link_guardians(con)
    assert links(con)[(101, "cadres:h1")] >= FLOOR


def test_the_home_address_stands_in_when_the_hukou_address_is_missing() -> None:
    con = run_tables(
        [{"name": "王建国", "student": 2}],
        [{"key": "cadres:h1", "name": "王建国", "address": OTHER_ADDRESS}],
        recipients=(2,),
    )
    link_guardians(con)
    assert links(con)[(101, "cadres:h1")] >= FLOOR


def test_a_one_character_typo_with_the_same_phone_and_address_still_links() -> None:
    con = run_tables(
        [{"name": "张晓明", "phone": "h-phone-1"}],
        [{"key": "staff:7", "name": "张小明", "phone": "h-phone-1", "address": ADDRESS}],
    )
    link_guardians(con)
    assert links(con)[(101, "staff:7")] >= RULE_THRESHOLD


def test_a_namesake_with_another_phone_and_address_does_not_link() -> None:
    con = run_tables(
        [{"name": "王伟", "phone": "h-phone-1"}],
        [{"key": "staff:7", "name": "王伟", "phone": "h-phone-2", "address": OTHER_ADDRESS}],
    )
    link_guardians(con, floor=0.0)
    assert links(con)[(101, "staff:7")] < RULE_THRESHOLD
    assert link_guardians(con) == 0


def test_a_spouse_sharing_the_officials_phone_and_address_is_not_the_official() -> None:
    con = run_tables(
        [{"name": "刘秀兰", "phone": "h-phone-1"}],
        [{"key": "staff:7", "name": "陈国华", "phone": "h-phone-1", "address": ADDRESS}],
    )
    link_guardians(con, floor=0.0)
    assert links(con)[(101, "staff:7")] < FLOOR


def test_guardians_with_an_id_number_are_never_linked_by_probability() -> None:
    con = run_tables(
        [
            {"name": "王建国", "phone": "h-phone-1", "id": "h-id-1"},
            {"name": "王建国", "phone": "h-phone-1", "id": ""},
        ],
        [{"key": "staff:7", "name": "王建国", "phone": "h-phone-1"}],
    )
    link_guardians(con)
    assert set(links(con)) == {(102, "staff:7")}


def test_only_guardians_of_recipients_are_linked() -> None:
    con = run_tables(
        [{"name": "王建国", "phone": "h-phone-1", "student": 2}],
        [{"key": "staff:7", "name": "王建国", "phone": "h-phone-1"}],
        recipients=(1,),
    )
    assert link_guardians(con) == 0


@pytest.mark.parametrize(
    ("guardians", "officials"),
    [
        ([{"name": "王建国", "id": "h-id-1"}], [{"key": "staff:7", "name": "王建国"}]),
        ([{"name": "王建国"}], []),
    ],
    ids=["no guardian without an ID number", "no official"],
)
def test_an_empty_side_gives_an_empty_table_without_splink(
    guardians: list[dict[str, Any]], officials: list[dict[str, Any]], monkeypatch: Any
) -> None:
    def splink_called(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("Splink must not run when a side is empty")

    monkeypatch.setattr(linkage, "_predict", splink_called)
    con = run_tables(guardians, officials)
    assert link_guardians(con) == 0
    assert con.execute("SELECT count(*) FROM guardian_link").fetchall() == [(0,)]
    assert [c[:2] for c in con.execute("DESCRIBE guardian_link").fetchall()] == [
        ("guardian_id", "BIGINT"),
        ("official_key", "VARCHAR"),
        ("probability", "DOUBLE"),
    ]


def test_the_floor_keeps_only_the_surer_links() -> None:
    con = run_tables(
        [{"name": "张晓明", "phone": "h-phone-1"}, {"name": "王建国", "phone": "h-phone-2"}],
        [
            {"key": "staff:7", "name": "张小明", "phone": "h-phone-1", "address": ADDRESS},
            {"key": "staff:8", "name": "王建国", "phone": "h-phone-2", "address": ADDRESS},
        ],
    )
    assert link_guardians(con) == 2
    assert link_guardians(con, floor=0.99) == 1
    assert set(links(con)) == {(102, "staff:8")}


def test_linking_leaves_only_guardian_link_behind() -> None:
    con = run_tables(
        [{"name": "王建国", "phone": "h-phone-1"}],
        [{"key": "staff:7", "name": "王建国", "phone": "h-phone-1"}],
    )
    before = {row[2] for row in con.execute("SHOW ALL TABLES").fetchall()}
    link_guardians(con)
    after = {row[2] for row in con.execute("SHOW ALL TABLES").fetchall()}
    assert after - before == {"guardian_link"}


def test_link_pairs_two_tables_left_to_right() -> None:
    con = duckdb.connect()
    for table, rows in {
        "people_a": [(1, "王建国", "h-1"), (2, "李秀英", None)],
        "people_b": [(1, "李秀英", "h-9"), (500, "王建国", "h-1")],
    }.items():
        con.execute(
            f"CREATE TABLE {table} (unique_id BIGINT, name VARCHAR, phone_hash VARCHAR,"
            " address VARCHAR, birth_year INTEGER)"
        )
        con.executemany(f"INSERT INTO {table} VALUES (?, ?, ?, NULL, NULL)", rows)  # noqa: S608
    pairs = link(con, "people_a", "people_b", floor=0.9, output="pairs")
    assert pairs == "pairs"
    assert con.execute("SELECT left_id, right_id FROM pairs").fetchall() == [(1, 500)]


@pytest.mark.django_db
def test_a_run_links_a_guardian_without_id_to_the_teacher_of_the_school(
    school_a: OrgUnit, district_officer: User
) -> None:
    ensure_calendar_ahead()
    alice = StudentFactory(school=school_a, name="王小花")
    GuardianFactory(student=alice, name="王建国", id_number=None, phone="13912345678")
    teacher = StaffFactory(school=school_a, name="王建国", phone="13912345678", post="教师")
    grant(alice, district_officer)
    shot = snapshot.take(date(2026, 10, 31), {})
    try:
        linked, _ = engine.prepare(shot)
        assert linked == 1
        [(official_key, probability)] = shot.con.execute(
            "SELECT official_key, probability FROM guardian_link"
        ).fetchall()
        assert official_key == f"staff:{teacher.pk}"
        assert probability >= RULE_THRESHOLD
        findings, _ = engine.run_rule(shot.con, get_rule("OFFICIAL_FAMILY"))
        assert set(findings) == {alice.pk}
    finally:
        shot.close()
