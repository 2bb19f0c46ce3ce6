"""diff_versions: added, removed and changed people between two versions of one dataset."""

from __future__ import annotations

from django.core.paginator import Paginator

from tests.sources.conftest import Importer
from tests.sources.samples import ALICE, BOB, CAROL, header, person_id
from zizhu.core import crypto
from zizhu.core.crypto import Sensitive
from zizhu.sources.queries import changes_for, diff_versions

DAVE = person_id(4)
ERIN = person_id(5)


def h(number: str) -> str:
    return crypto.blind_index(number, Sensitive.ID_NUMBER)


def civil(number: str, name: str, status: str = "在册", head: str = "") -> list[str]:
    return [number, name, "低保", status, "2024-01-01", "", head]


def test_added_removed_and_changed_are_exact(import_rows: Importer) -> None:
    old = import_rows(
        "civil_affairs",
        [
            header("civil_affairs"),
            civil(ALICE, "张三"),
            civil(BOB, "李四"),
            civil(CAROL, "王小五", head=ALICE),
            civil(DAVE, "赵六"),
        ],
    )
    new = import_rows(
        "civil_affairs",
        [
            header("civil_affairs"),
            civil(ERIN, "孙七"),  # added
            civil(ALICE, "张三"),  # unchanged, moved to another row
            civil(BOB, "李四", status="已退出"),  # attrs changed
            civil(CAROL, "王小五", head=BOB),  # 户主 changed
        ],  # DAVE removed
    )

    diff = diff_versions(old, new)

    assert diff.added.hashes() == {h(ERIN)}
    assert diff.removed.hashes() == {h(DAVE)}
    assert diff.changed.hashes() == {h(BOB), h(CAROL)}
    assert (diff.added.count(), diff.removed.count(), diff.changed.count()) == (1, 1, 2)
    assert [(p.person_masked, p.name) for p in diff.removed] == [
        (crypto.mask(DAVE, Sensitive.ID_NUMBER), "赵六")
    ]


def test_a_changed_name_is_a_change(import_rows: Importer) -> None:
    old = import_rows("deaths", [header("deaths"), [ALICE, "张三", "2025-01-01"]])
    new = import_rows("deaths", [header("deaths"), [ALICE, "张叁", "2025-01-01"]])

    assert diff_versions(old, new).changed.hashes() == {h(ALICE)}


def test_identical_versions_have_no_difference(import_rows: Importer) -> None:
    old = import_rows("disability")
    new = import_rows("disability")

    diff = diff_versions(old, new)

    assert (diff.added.count(), diff.removed.count(), diff.changed.count()) == (0, 0, 0)


def test_one_of_two_vehicles_changing_makes_the_owner_changed(import_rows: Importer) -> None:
    def vehicle(plate: str, status: str = "正常") -> list[str]:
        return [ALICE, "张三", plate, "小型轿车", "2020-01-01", status]

    old = import_rows("vehicles", [header("vehicles"), vehicle("鄂A1"), vehicle("鄂A2")])
    same = import_rows("vehicles", [header("vehicles"), vehicle("鄂A2"), vehicle("鄂A1")])
    sold = import_rows("vehicles", [header("vehicles"), vehicle("鄂A1"), vehicle("鄂A2", "注销")])
    fewer = import_rows("vehicles", [header("vehicles"), vehicle("鄂A1")])

    assert diff_versions(old, same).changed.count() == 0
    assert diff_versions(old, sold).changed.hashes() == {h(ALICE)}
    assert diff_versions(old, fewer).changed.hashes() == {h(ALICE)}
    # The owner is in both versions: neither added nor removed, listed once.
    assert diff_versions(old, fewer).removed.count() == 0
    assert len(list(diff_versions(old, sold).changed)) == 1


def test_diff_lists_paginate_without_overlap(import_rows: Importer) -> None:
    people = [(person_id(100 + n), f"人{n}") for n in range(7)]
    old = import_rows("deaths", [header("deaths")])
    new = import_rows(
        "deaths", [header("deaths")] + [[n, name, "2025-01-01"] for n, name in people]
    )
    paginator = Paginator(diff_versions(old, new).added, 3)

    pages = [[p.person_hash for p in paginator.page(n)] for n in paginator.page_range]

    assert paginator.count == 7
    assert [len(page) for page in pages] == [3, 3, 1]
    assert sorted(hash_ for page in pages for hash_ in page) == sorted(h(n) for n, _ in people)


def test_changes_show_both_sides(import_rows: Importer) -> None:
    old = import_rows("deaths", [header("deaths"), [ALICE, "张三", "2025-01-01"]])
    new = import_rows("deaths", [header("deaths"), [ALICE, "张三", "2025-02-01"]])
    diff = diff_versions(old, new)

    (change,) = changes_for(diff, list(diff.changed))

    assert [r.attrs for r in change.before] == [{"died_on": "2025-01-01"}]
    assert [r.attrs for r in change.after] == [{"died_on": "2025-02-01"}]
