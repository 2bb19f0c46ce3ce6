"""Cross-check screens (issue 6): who may read and who may run, "立即运行" through a
confirmation and a job, a run with its hits, filters and export, a rule, a hit's evidence,
the list of all hits, empty states and query counts."""

from __future__ import annotations

import io
from collections.abc import Callable
from datetime import date
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from python_calamine import CalamineWorkbook

from tests.aid.test_migration import grant
from tests.aid.test_notices import ensure_calendar_ahead
from tests.cases.test_handling import decide, verify
from tests.factories import StudentFactory
from tests.sources.samples import csv_bytes
from zizhu.cases.models import Clue, Opinion
from zizhu.core.crypto import Sensitive, mask
from zizhu.core.models import AuditEntry, Job, JobStatus, OrgUnit, User
from zizhu.crosscheck.models import Change, Hit, Run, RunStatus, Trigger, Verdict
from zizhu.crosscheck.services.runs import JOB_KIND, run_crosscheck
from zizhu.registry.models import Student
from zizhu.sources.models import DatasetVersion
from zizhu.sources.services import import_dataset

pytestmark = pytest.mark.django_db

RULE = "DECEASED_OR_GONE"
AS_OF = date(2026, 10, 31)
HOME = reverse("crosscheck:home")
START = reverse("crosscheck:run_start")
HITS = reverse("crosscheck:hit_list")

Login = Callable[[User], Client]


@pytest.fixture(autouse=True)
def calendar_ahead(db: None) -> None:
    ensure_calendar_ahead()


@pytest.fixture
def login(client: Client) -> Login:
    def sign_in(user: User) -> Client:
        client.force_login(user)
        # The first request after signing in writes the session; query counts start after.
        client.get(reverse("core:home"))
        return client

    return sign_in


@pytest.fixture
def alice(school_a: OrgUnit) -> Student:
    return StudentFactory(school=school_a, name="张小花")


@pytest.fixture
def bob(school_b: OrgUnit) -> Student:
    return StudentFactory(school=school_b, name="李小明")


def import_deaths(actor: User, *people: Student) -> DatasetVersion:
    rows: list[list[object]] = [["身份证号", "姓名", "死亡日期"]]
    rows += [[p.id_number, p.name, "2026-09-01"] for p in people]
    if not people:  # a version naming only someone outside the register
        rows.append(["420117198001010011", "测试人员", "2026-09-01"])
    return import_dataset("deaths", csv_bytes(rows), "死亡.csv", actor=actor, as_of=AS_OF)


@pytest.fixture
def deaths(alice: Student, bob: Student, district_officer: User) -> DatasetVersion:
    """Both students receive aid and both are recorded dead: two hits, one per school."""
    grant(alice, district_officer)
    grant(bob, district_officer)
    return import_deaths(district_officer, alice, bob)


@pytest.fixture
def first_run(deaths: DatasetVersion, district_officer: User) -> Run:
    return run_crosscheck(district_officer, codes=[RULE])


def hit_of(student: Student) -> Hit:
    return Hit.objects.get(rule=RULE, student=student)


def run_url(run: Run) -> str:
    return reverse("crosscheck:run_detail", args=[run.pk])


def hit_url(hit: Hit) -> str:
    return reverse("crosscheck:hit_detail", args=[hit.pk])


def rule_url(code: str = RULE) -> str:
    return reverse("crosscheck:rule_detail", args=[code])


def export_url(run: Run) -> str:
    return reverse("crosscheck:run_export", args=[run.pk])


def page_text(client: Client, url: str, data: dict[str, Any] | None = None) -> str:
    response = client.get(url, data or {})
    assert response.status_code == 200, url
    return response.content.decode()


# --- who may read, who may run ----------------------------------------------------------------


@pytest.mark.parametrize("persona", ["district_officer", "district_head", "inspection_team"])
def test_district_roles_read_every_page(
    login: Login, first_run: Run, alice: Student, persona: str, request: pytest.FixtureRequest
) -> None:
    client = login(request.getfixturevalue(persona))
    hit = hit_of(alice)

    assert "已死亡或不在读仍在资助" in page_text(client, HOME)
    assert "第 1 次" in page_text(client, HOME)
    assert "张小花" in page_text(client, run_url(first_run))
    assert "张小花" in page_text(client, rule_url())
    assert "公安死亡注销记录" in page_text(client, hit_url(hit))
    assert "李小明" in page_text(client, HITS)


@pytest.mark.parametrize(
    "persona", ["officer_a", "principal_a", "inspector_a", "town_supervisor", "outsider"]
)
def test_school_and_town_roles_are_refused_every_page(
    login: Login, first_run: Run, alice: Student, persona: str, request: pytest.FixtureRequest
) -> None:
    client = login(request.getfixturevalue(persona))
    hit = hit_of(alice)
    job = Job.objects.create(
        kind=JOB_KIND, title="大数据比对", created_by=first_run.actor, org_unit=hit.school
    )
    urls = [
        HOME,
        HITS,
        run_url(first_run),
        export_url(first_run),
        rule_url(),
        hit_url(hit),
        reverse("crosscheck:run_progress", args=[job.pk]),
        reverse("crosscheck:run_progress_fragment", args=[job.pk]),
    ]

    for url in urls:
        assert client.get(url).status_code == 403, url
    assert client.post(START, {"step": "confirm"}).status_code == 403
    assert Run.objects.count() == 1


def test_the_menu_offers_cross_checks_to_district_roles_only(
    login: Login, district_head: User, officer_a: User
) -> None:
    assert "大数据比对" in page_text(login(district_head), reverse("core:home"))
    assert "大数据比对" not in page_text(login(officer_a), reverse("core:home"))


def test_the_head_sees_no_run_button_and_may_not_start_a_run(
    login: Login, district_head: User
) -> None:
    client = login(district_head)

    assert "立即运行" not in page_text(client, HOME)
    assert client.post(START).status_code == 403
    assert client.post(START, {"step": "confirm"}).status_code == 403
    assert not Job.objects.filter(kind=JOB_KIND).exists()
    assert not Run.objects.exists()
    assert AuditEntry.objects.filter(action="access.denied").exists()


def test_unknown_hit_run_and_rule_are_404(
    login: Login, first_run: Run, district_officer: User
) -> None:
    client = login(district_officer)
    missing = Hit.objects.order_by("-pk").values_list("pk", flat=True)[0] + 100

    assert client.get(reverse("crosscheck:hit_detail", args=[missing])).status_code == 404
    assert (
        client.get(reverse("crosscheck:run_detail", args=[first_run.pk + 100])).status_code == 404
    )
    assert client.get(rule_url("NO_SUCH_RULE")).status_code == 404


# --- "立即运行" ---------------------------------------------------------------------------------


def test_the_officer_confirms_before_a_run_starts(
    login: Login, deaths: DatasetVersion, district_officer: User
) -> None:
    client = login(district_officer)
    assert "立即运行" in page_text(client, HOME)

    response = client.post(START)

    assert response.status_code == 200
    text = response.content.decode()
    assert "确认立即运行大数据比对" in text
    assert "分派给学生所在学校核实" in text
    assert f"死亡注销 第 {deaths.number} 版" in text
    assert "户籍" in text  # listed among the datasets not imported yet
    assert not Job.objects.filter(kind=JOB_KIND).exists()
    assert not Run.objects.exists()


def test_a_confirmed_run_goes_through_a_job_and_opens_clues(
    login: Login, deaths: DatasetVersion, district_officer: User, alice: Student
) -> None:
    client = login(district_officer)

    response = client.post(START, {"step": "confirm"})

    job = Job.objects.get(kind=JOB_KIND)
    assert response.status_code == 302
    assert response["Location"] == reverse("crosscheck:run_progress", args=[job.pk])
    # The test settings run tasks inline, so the job has finished by now.
    assert job.status == JobStatus.SUCCEEDED
    run = Run.objects.get()
    assert run.trigger == Trigger.WEB and run.job == job and run.actor == district_officer
    assert run.counts["rules"][RULE]["new"] == 2
    assert Clue.objects.filter(crosscheck_hits__student=alice).count() == 1

    progress = page_text(client, response["Location"])
    assert f'href="{run_url(run)}"' in progress
    assert "查看第 1 次比对结果" in progress
    fragment = page_text(client, reverse("crosscheck:run_progress_fragment", args=[job.pk]))
    assert "hx-get" not in fragment  # finished: polling stops
    assert "查看第 1 次比对结果" in fragment


def test_a_second_run_while_one_is_running_is_refused_with_a_message(
    login: Login, first_run: Run, district_officer: User
) -> None:
    Run.objects.filter(pk=first_run.pk).update(status=RunStatus.RUNNING)
    client = login(district_officer)

    response = client.post(START, {"step": "confirm"}, follow=True)

    assert response.redirect_chain[-1][0] == HOME
    assert "正在运行" in response.content.decode()
    assert Run.objects.count() == 1


def test_progress_of_another_kind_of_job_is_404(
    login: Login, district_officer: User, school_a: OrgUnit
) -> None:
    job = Job.objects.create(
        kind="dataset_import", title="导入", created_by=district_officer, org_unit=school_a
    )
    client = login(district_officer)

    assert client.get(reverse("crosscheck:run_progress", args=[job.pk])).status_code == 404


# --- home -------------------------------------------------------------------------------------


def test_home_before_any_run_says_so(login: Login, district_officer: User) -> None:
    text = page_text(login(district_officer), HOME)

    assert "尚未运行比对" in text
    assert "OFFICIAL_FAMILY" in text
    assert "小型轿车" in text  # AFFLUENCE's vehicle types, its current parameter value


def test_home_shows_each_rules_statistics_and_precision(
    login: Login, first_run: Run, alice: Student, officer_a: User, district_officer: User
) -> None:
    clue = hit_of(alice).clue
    assert clue is not None
    verify(clue, officer_a, opinion=Opinion.CONTINUE)
    clue.refresh_from_db()
    decide(clue, district_officer, opinion=Opinion.CONTINUE, reasoning="学籍信息有误，已更正。")

    response = login(district_officer).get(HOME)

    rows = {row.rule.code: row for row in response.context["rules"]}
    stats = rows[RULE].stats
    assert (stats.hits, stats.present, stats.pending, stats.dismissed) == (2, 2, 1, 1)
    assert rows[RULE].precision == "0.0%"
    assert rows["AFFLUENCE"].precision == "—"
    run_row = response.context["runs"][0]
    assert (run_row.hits, run_row.opened, run_row.clues) == (2, 2, 2)
    assert "死亡注销 第1版" in run_row.datasets


# --- one run ------------------------------------------------------------------------------------


def test_run_page_shows_what_the_run_used_and_found(
    login: Login, first_run: Run, deaths: DatasetVersion, alice: Student, district_officer: User
) -> None:
    response = login(district_officer).get(run_url(first_run))

    text = response.content.decode()
    assert "第1次比对" in text
    assert "命令行" in text
    assert reverse("sources:version_detail", args=[deaths.pk]) in text
    assert "读取数据快照" in text
    lines = response.context["rule_lines"]
    assert [line.code for line in lines] == [RULE]
    assert lines[0].counts["new"] == 2
    names = {line.hit.student.name for line in response.context["lines"]}
    assert names == {"张小花", "李小明"}
    assert mask(alice.id_number, Sensitive.ID_NUMBER) in text
    assert str(alice.id_number) not in text
    clue = hit_of(alice).clue
    assert clue is not None
    assert reverse("cases:handling_clue", args=[clue.pk]) in text


def test_run_hits_filter_by_school_rule_and_change(
    login: Login,
    first_run: Run,
    alice: Student,
    bob: Student,
    school_b: OrgUnit,
    district_officer: User,
) -> None:
    import_deaths(district_officer, alice)  # bob no longer in the deaths data
    second = run_crosscheck(district_officer, codes=[RULE])
    client = login(district_officer)

    def names(**filters: Any) -> set[str]:
        response = client.get(run_url(second), filters)
        return {line.hit.student.name for line in response.context["lines"]}

    assert names() == {"张小花", "李小明"}
    assert names(school=school_b.pk) == {"李小明"}
    assert names(change=Change.GONE) == {"李小明"}
    assert names(change=Change.STILL) == {"张小花"}
    assert names(rule="AFFLUENCE") == set()
    assert "没有符合条件的命中" in page_text(client, run_url(second), {"rule": "AFFLUENCE"})


def test_a_run_without_hits_says_so(login: Login, district_officer: User) -> None:
    run = run_crosscheck(district_officer, codes=[RULE])

    text = page_text(login(district_officer), run_url(run))

    assert "本次比对没有命中" in text
    assert "导出 Excel" not in text


def test_a_failed_run_shows_its_error(login: Login, first_run: Run, district_officer: User) -> None:
    Run.objects.filter(pk=first_run.pk).update(status=RunStatus.FAILED, error="DuckDB 内存不足")

    text = page_text(login(district_officer), run_url(first_run))

    assert "比对失败：DuckDB 内存不足" in text


def test_run_page_keeps_its_query_count_as_hits_grow(
    login: Login,
    district_officer: User,
    alice: Student,
    school_a: OrgUnit,
    django_assert_max_num_queries: Any,
) -> None:
    grant(alice, district_officer)
    import_deaths(district_officer, alice)
    one = run_crosscheck(district_officer, codes=[RULE])
    client = login(district_officer)
    with CaptureQueriesContext(connection) as captured:
        assert client.get(run_url(one)).status_code == 200

    more = [StudentFactory(school=school_a) for _ in range(4)]
    for student in more:
        grant(student, district_officer)
    import_deaths(district_officer, alice, *more)
    five = run_crosscheck(district_officer, codes=[RULE])
    with django_assert_max_num_queries(len(captured.captured_queries)):
        response = client.get(run_url(five))
    assert len(response.context["lines"]) == 5


# --- export ---------------------------------------------------------------------------------------


def read_xlsx(content: bytes) -> list[list[str]]:
    sheet = CalamineWorkbook.from_filelike(io.BytesIO(content)).get_sheet_by_index(0)
    return [[str(cell) for cell in row] for row in sheet.to_python()]


def test_export_holds_the_filtered_hits_with_masked_ids_and_is_audited(
    login: Login,
    first_run: Run,
    alice: Student,
    school_a: OrgUnit,
    district_officer: User,
) -> None:
    client = login(district_officer)
    assert f'href="{export_url(first_run)}?school={school_a.pk}"' in page_text(
        client, run_url(first_run), {"school": school_a.pk}
    )

    response = client.get(export_url(first_run), {"school": school_a.pk})

    assert response.status_code == 200
    rows = read_xlsx(response.content)
    assert rows[0][:6] == [
        "比对运行",
        "规则代码",
        "规则名称",
        "变化",
        "学生姓名",
        "身份证号（脱敏）",
    ]
    assert len(rows) == 2
    assert rows[1][4] == "张小花"
    assert rows[1][5] == mask(alice.id_number, Sensitive.ID_NUMBER)
    assert "公安死亡注销记录" in rows[1][12]
    assert not any(str(alice.id_number) in cell for row in rows for cell in row)
    entry = AuditEntry.objects.get(action="crosscheck.hits_exported")
    assert entry.after["rows"] == 1
    assert entry.after["filters"]["school"] == school_a.code


def test_roles_without_the_export_permission_cannot_export(
    login: Login, first_run: Run, inspection_team: User
) -> None:
    client = login(inspection_team)

    assert "导出 Excel" not in page_text(client, run_url(first_run))
    assert client.get(export_url(first_run)).status_code == 403
    assert not AuditEntry.objects.filter(action="crosscheck.hits_exported").exists()


# --- one rule, all hits -----------------------------------------------------------------------


def test_rule_page_shows_sql_parameters_and_filters_its_hits(
    login: Login, first_run: Run, alice: Student, district_officer: User
) -> None:
    import_deaths(district_officer, alice)
    run_crosscheck(district_officer, codes=[RULE])  # bob's hit is gone now
    client = login(district_officer)

    text = page_text(client, rule_url())
    assert "<pre" in text and "JOIN ds_deaths d ON d.person_hash = s.id_hash" in text

    def names(**filters: Any) -> set[str]:
        response = client.get(rule_url(), filters)
        return {line.hit.student.name for line in response.context["lines"]}

    assert names() == {"张小花", "李小明"}
    assert names(present="gone") == {"李小明"}
    assert names(present="present") == {"张小花"}
    assert names(verdict=Verdict.CONFIRMED) == set()

    affluence = page_text(client, rule_url("AFFLUENCE"))
    assert "min_capital_10k" in affluence
    assert "本规则尚无命中" in affluence


def test_hit_list_filters_by_name_school_rule_and_verdict(
    login: Login, first_run: Run, school_a: OrgUnit, district_officer: User
) -> None:
    client = login(district_officer)

    def names(**filters: Any) -> set[str]:
        response = client.get(HITS, filters)
        return {line.hit.student.name for line in response.context["lines"]}

    assert names() == {"张小花", "李小明"}
    assert names(name="小明") == {"李小明"}
    assert names(school=school_a.pk) == {"张小花"}
    assert names(rule=RULE, verdict=Verdict.PENDING) == {"张小花", "李小明"}
    assert names(verdict=Verdict.DISMISSED) == set()
    assert "没有符合条件的命中" in page_text(client, HITS, {"name": "王"})


def test_hit_list_before_any_run_says_so(login: Login, district_officer: User) -> None:
    assert "尚未运行比对" in page_text(login(district_officer), HITS)


# --- one hit ----------------------------------------------------------------------------------


def test_hit_page_shows_the_evidence_with_its_provenance(
    login: Login,
    first_run: Run,
    deaths: DatasetVersion,
    alice: Student,
    district_officer: User,
) -> None:
    hit = hit_of(alice)
    assert hit.clue is not None

    response = login(district_officer).get(hit_url(hit))

    text = response.content.decode()
    evidence = response.context["evidence"]
    assert len(evidence) == 1
    assert evidence[0].detail.startswith("公安死亡注销记录：2026-09-01 死亡")
    assert evidence[0].source == "死亡注销"
    assert evidence[0].version == f"第 {deaths.number} 版"
    assert evidence[0].version_url == reverse("sources:version_detail", args=[deaths.pk])
    assert evidence[0].row_number == hit.evidence[0]["row_number"]
    assert reverse("registry:student_detail", args=[alice.pk]) in text
    assert reverse("cases:handling_clue", args=[hit.clue.pk]) in text
    assert mask(alice.id_number, Sensitive.ID_NUMBER) in text
    assert str(alice.id_number) not in text
    assert [rh.get_change_display() for rh in response.context["history"]] == ["新增"]


def test_hit_page_shows_a_match_probability_as_a_percentage(
    login: Login, first_run: Run, alice: Student, district_officer: User
) -> None:
    # Linked guardians carry a probability; the DECEASED_OR_GONE evidence stands in for one.
    hit = hit_of(alice)
    hit.evidence = [{**hit.evidence[0], "probability": 0.9375}]
    hit.save(update_fields=["evidence"])

    response = login(district_officer).get(hit_url(hit))

    assert response.context["evidence"][0].probability == "93.8%"
