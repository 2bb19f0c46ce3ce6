"""A cross-check through the real screens (issue 6, "Done when"): the district officer opens
大数据比对, runs it now after the confirmation, follows the progress to the run, opens a hit's
evidence and the clue it opened; the school officer of the student's school then finds that
clue waiting in the work list on the home page.

The facts behind the hit are set up outside the screens through the real services: a live
award (the migration import) and the police's death records (a department data import).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import Browser, Page, expect

from tests.aid.test_migration import grant
from tests.sources.samples import csv_bytes
from zizhu.aid.rules import current_school_year
from zizhu.cases.models import Channel, Clue, ClueStatus
from zizhu.core.models import User
from zizhu.crosscheck.models import Hit, Run, RunStatus, Trigger
from zizhu.registry.demo import DEMO_PASSWORD
from zizhu.registry.models import Student
from zizhu.sources.services import import_dataset

# live_server needs a transactional database; serialized_rollback restores the reference data
# (district, towns, calendar, aid configuration) that the flush after each test would wipe.
pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

SCHOOL = "邾城街中心小学"  # demo_officer's school
RULE_TITLE = "已死亡或不在读仍在资助"


@pytest.fixture
def site(demo_site: str) -> str:
    return demo_site


@pytest.fixture
def deceased(site: str) -> Student:
    """A student of the demo school with a live award, recorded dead by the police."""
    student = Student.objects.filter(school__name=SCHOOL).order_by("pk").first()
    assert student is not None
    district = User.objects.get(username="demo_district")
    year = current_school_year()
    grant(student, district, year=year.code, start=f"{year.starts_on:%Y-%m}")
    died = timezone.localdate() - timedelta(days=20)
    rows = [["身份证号", "姓名", "死亡日期"], [student.id_number, student.name, f"{died:%Y-%m-%d}"]]
    import_dataset(
        "deaths", csv_bytes(rows), "死亡注销.csv", actor=district, as_of=timezone.localdate()
    )
    return student


@contextmanager
def signed_in(browser: Browser, site: str, username: str) -> Iterator[Page]:
    context = browser.new_context(locale="zh-CN")
    page = context.new_page()
    page.goto(f"{site}/login/")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="登录").click()
    expect(page.get_by_role("heading", name="工作台")).to_be_visible()
    try:
        yield page
    finally:
        context.close()


def test_run_now_to_evidence_to_the_schools_work_list(
    browser: Browser, site: str, deceased: Student
) -> None:
    name = deceased.name

    # 1. The district officer runs the cross-checks now, after the confirmation.
    with signed_in(browser, site, "demo_district") as page:
        page.get_by_role("navigation", name="主导航").get_by_role(
            "link", name="大数据比对", exact=True
        ).click()
        expect(page.get_by_role("heading", name="大数据比对", level=1)).to_be_visible()
        expect(page.locator("main")).to_contain_text("尚未运行比对")
        page.get_by_role("button", name="立即运行").click()

        expect(page.get_by_role("heading", name="确认立即运行大数据比对")).to_be_visible()
        expect(page.locator("main")).to_contain_text("分派给学生所在学校核实")
        page.get_by_role("button", name="确认运行").click()

        # 2. The progress page follows the job; once finished it links to the run.
        expect(page.get_by_role("heading", name="大数据比对（立即运行）")).to_be_visible()
        result = page.get_by_role("link", name=re.compile(r"查看第 1 次比对结果"))
        expect(result).to_be_visible(timeout=60_000)
        expect(page.locator("#job-progress")).to_contain_text("已完成")
        result.click()

        # 3. The run: the rule found the student; open the hit's evidence.
        expect(page.get_by_role("heading", name="第1次比对", level=1)).to_be_visible()
        page.locator("select[name=rule]").select_option(label=RULE_TITLE)
        page.get_by_role("button", name="查询").click()
        hits = page.get_by_role("table", name="本次命中")
        expect(hits).to_contain_text(SCHOOL)
        expect(hits).to_contain_text("新增")
        hits.get_by_role("link", name=name, exact=True).click()

        expect(page.get_by_role("heading", name=f"比对命中：{name}")).to_be_visible()
        evidence = page.get_by_role("table", name="证据")
        expect(evidence).to_contain_text("公安死亡注销记录")
        expect(evidence).to_contain_text("死亡注销")
        expect(evidence.get_by_role("link", name="第 1 版")).to_be_visible()
        assert str(deceased.id_number) not in page.content()

        # 4. The clue the hit opened, assigned to the school.
        page.get_by_role("link", name=re.compile(r"^线索 XZ\d{10}$")).click()
        heading = page.get_by_role("heading", level=1)
        expect(heading).to_contain_text("线索 XZ")
        number = re.search(r"XZ\d{10}", heading.inner_text())
        assert number is not None
        expect(page.locator("main")).to_contain_text("系统比对预警")

    # 5. The school officer finds the clue in the work list on the home page.
    with signed_in(browser, site, "demo_officer") as page:
        work = page.get_by_role("link", name=re.compile(f"线索 {number.group(0)}"))
        expect(work).to_be_visible()
        work.click()
        expect(page.get_by_role("heading", level=1)).to_contain_text(f"线索 {number.group(0)}")

    # 6. In the database: one web run, the hit, and its monitoring clue at the school.
    run = Run.objects.get()
    assert run.trigger == Trigger.WEB and run.status == RunStatus.SUCCEEDED
    hit = Hit.objects.get(rule="DECEASED_OR_GONE", student=deceased)
    clue = Clue.objects.get(number=number.group(0))
    assert hit.clue == clue
    assert clue.channel == Channel.MONITORING
    assert clue.status == ClueStatus.ASSIGNED
    assert clue.school == deceased.school
