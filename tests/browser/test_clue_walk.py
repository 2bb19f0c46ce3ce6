"""A clue from an anonymous member of the public to the stopped award, through the real
screens (issue 5, "Done when"): the public reports on the portal → the district assigns it
to the school → the certified school officer names the student, records a home visit and
submits a disputed verification with the opinion to stop → the district decides to stop
(after the priority re-check) → replies and closes → the reporter reads the reply on the
tracking page; the award ends this month, so it no longer pays from the first of the next.

The award itself is set up outside the screens, through the migration import (the real
service path a district uses for awards that predate the system).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from django.utils import timezone
from playwright.sync_api import Browser, Page, expect

from tests.aid.test_migration import grant
from zizhu.aid.models import Award, AwardChange, AwardChangeKind, AwardStatus
from zizhu.aid.rules import current_school_year, next_month
from zizhu.cases.models import Clue, ClueStatus
from zizhu.core.models import User
from zizhu.registry.demo import DEMO_PASSWORD
from zizhu.registry.models import Student

# live_server needs a transactional database; serialized_rollback restores the reference data
# (district, towns, calendar, aid configuration) that the flush after each test would wipe.
pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

SCHOOL = "邾城街中心小学"
REPLY = "经学校入户调查和区资助中心复核，反映情况属实，已停止该生的生活补助。"


@pytest.fixture
def site(demo_site: str) -> str:
    return demo_site


@pytest.fixture
def award(site: str) -> Award:
    """A live award of the current school year for one student of the demo school."""
    student = Student.objects.filter(school__name=SCHOOL).order_by("pk").first()
    assert student is not None
    year = current_school_year()
    return grant(
        student,
        User.objects.get(username="demo_district"),
        year=year.code,
        start=f"{year.starts_on:%Y-%m}",
    )


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


def expect_message(page: Page, text: str | re.Pattern[str]) -> None:
    expect(page.locator(".messages")).to_contain_text(text)


def open_clue(page: Page, number: str) -> None:
    """From the menu to the clue's page, then on to its handling page."""
    page.get_by_role("navigation", name="主导航").get_by_role(
        "link", name="问题线索", exact=True
    ).click()
    page.locator("table.list").get_by_role("link", name=number, exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(f"线索 {number}")
    page.get_by_role("link", name="办理", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(f"线索 {number}")


def test_public_report_to_stopped_award(browser: Browser, site: str, award: Award) -> None:
    name, today = award.student.name, timezone.localdate()

    # 1. A member of the public reports anonymously, without logging in.
    public = browser.new_context(locale="zh-CN")
    try:
        portal = public.new_page()
        portal.goto(f"{site}/portal/report/")
        portal.get_by_label("反映的问题").fill(
            f"{SCHOOL}学生{name}家里去年新建了三层楼房，还买了小汽车，却仍在领取生活补助。"
        )
        portal.get_by_label("涉及的学校（可不选）").select_option(label=SCHOOL)
        portal.get_by_role("button", name="提交").click()
        expect(portal.get_by_role("heading", name="已收到您反映的问题")).to_be_visible()
        number = portal.get_by_test_id("number").inner_text()
        code = portal.get_by_test_id("code").inner_text()
    finally:
        public.close()
    assert re.fullmatch(r"XZ\d{10}", number)

    # 2. The district assigns it to the school.
    with signed_in(browser, site, "demo_district") as page:
        open_clue(page, number)
        page.get_by_label("分派学校").select_option(label=SCHOOL)
        page.get_by_label("分派说明").fill("请学校入户核查。")
        page.get_by_role("button", name="分派", exact=True).click()
        expect_message(page, "已分派。学校须在 3 个工作日内提交核实结论。")

    # 3. The certified school officer names the student, visits the home, verifies.
    with signed_in(browser, site, "demo_officer") as page:
        open_clue(page, number)
        page.get_by_label("按姓名查找学生").fill(name)
        page.get_by_role("button", name="查找", exact=True).click()
        page.get_by_role("button", name=f"列为涉及学生：{name}").click()
        expect_message(page, f"已将{name}列为本线索涉及的学生。")

        page.get_by_label("调查方式").select_option(label="入户调查")
        page.get_by_label("调查日期").fill(f"{today:%Y-%m-%d}")
        page.get_by_label("调查情况").fill("入户查看，家中新建三层楼房，并有小汽车一辆。")
        page.get_by_role("button", name="登记调查记录").click()
        expect_message(page, "调查记录已登记。")

        page.get_by_label("核实日期").fill(f"{today:%Y-%m-%d}")
        page.get_by_label("核实对象（学生或监护人）").fill("学生父亲")
        page.get_by_label("核实方式（当面、电话等）").fill("当面")
        page.get_by_label("本人意见").select_option(label="本人有异议")
        page.get_by_label("核实结论").fill("家长称楼房为借款所建，但入户所见与反映一致。")
        page.get_by_label("动态管理意见").select_option(label="停止资助")
        page.get_by_label("涉及的资助").select_option(index=1)
        page.get_by_role("button", name="提交核实结论").click()
        expect_message(page, "核实结论已报区资助中心")

    # 4. The district decides to stop, after the priority re-check; replies; closes.
    effective = next_month(today)
    with signed_in(browser, site, "demo_district") as page:
        open_clue(page, number)
        expect(page.locator("h1 .tag")).to_have_text("重点复核")
        page.get_by_label("处理决定").select_option(label="停止资助")
        page.get_by_label("审核意见").fill("经重点复核，入户调查属实，同意停止资助。")
        expect(page.get_by_label("涉及的资助")).not_to_have_value("")
        page.get_by_label("已重点复核").check()
        page.get_by_role("button", name="下一步：确认决定").click()
        expect(page.get_by_role("heading", name="确认处理决定：停止资助")).to_be_visible()
        expect(page.locator("main")).to_contain_text(
            f"自 {effective.year}年{effective.month}月1日起停止发放"
        )
        page.get_by_role("button", name="确认", exact=True).click()
        expect_message(page, f"自 {effective.year}年{effective.month}月1日起执行")

        page.get_by_label("答复方式").select_option(label="书面答复")
        page.get_by_label("答复日期").fill(f"{today:%Y-%m-%d}")
        page.get_by_label("答复内容").fill(REPLY)
        page.get_by_role("button", name="登记答复").click()
        expect_message(page, "答复已登记。")

        page.get_by_role("button", name="办结线索").click()
        expect(page.get_by_role("heading", name="确认办结线索")).to_be_visible()
        page.get_by_role("button", name="确认", exact=True).click()
        expect_message(page, "线索已办结。")

        # The award page shows the stop: paid through this month.
        page.goto(f"{site}/aid/awards/{award.pk}/")
        facts = page.locator("dl.facts")
        expect(facts).to_contain_text("已停止")
        expect(facts).to_contain_text(f"{today.year}年{today.month}月（发放至该月）")

    # 5. The reporter reads the reply on the tracking page, with number and code.
    public = browser.new_context(locale="zh-CN")
    try:
        portal = public.new_page()
        portal.goto(f"{site}/portal/track/")
        portal.get_by_label("线索编号").fill(number)
        portal.get_by_label("查询码").fill(code)
        portal.get_by_role("button", name="查询").click()
        expect(portal.locator("main")).to_contain_text("办理状态：已办结")
        expect(portal.locator("main")).to_contain_text(REPLY)
        expect(portal.get_by_role("heading", name="对处理结果申诉")).to_be_visible()
        assert name not in portal.locator("main").inner_text()
    finally:
        public.close()

    # 6. In the database: stopped, paid through this month, effective from next month.
    clue = Clue.objects.get(number=number)
    assert clue.status == ClueStatus.CLOSED
    award.refresh_from_db()
    assert award.status == AwardStatus.STOPPED
    assert award.end_month == today.replace(day=1)
    change = AwardChange.objects.get(award=award)
    assert change.kind == AwardChangeKind.STOP
    assert change.effective_month == effective
