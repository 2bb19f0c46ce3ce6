"""One category-7 student from the home visit to the round-3 public notice and the award,
through the real screens, as the officer, the second officer, the principal and the
district officer in turn (issue 4, "Done when").

Publishing is only possible from today and each round must have ended before the next
step, so between the rounds the test moves the notice's dates into the past with a
queryset update ("time travel"), outside the screens. Everything else is clicked.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone
from playwright.sync_api import Browser, Page, expect

from zizhu.aid.demo import (
    SECOND_OFFICER,
    add_second_officer,
    enrol_demo_students,
    ensure_demo_calendar,
)
from zizhu.aid.models import Notice, Programme
from zizhu.aid.rules import current_school_year
from zizhu.aid.services import config as config_svc
from zizhu.aid.services.notices import notice_end
from zizhu.core.models import User
from zizhu.registry.demo import DEMO_PASSWORD, seed_demo
from zizhu.registry.models import Student

# live_server needs a transactional database; serialized_rollback restores the reference data
# (district, towns, calendar, aid configuration) that the flush after each test would wipe.
pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

PROGRAMME = "义务教育家庭经济困难学生生活补助"
CATEGORY_7 = "第7类 其他家庭经济困难学生"
TIER = "特别困难"


def small_pdf(text: str = "signed application form") -> bytes:
    """A minimal, well-formed one-page PDF standing in for the family's signed scan."""
    stream = f"BT /F1 12 Tf 72 720 Td ({text}) Tj ET".encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R"
        b" /Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(out)


def time_travel(notice_title: str) -> None:
    """TEST-ONLY time travel: move the notice's period into the past (ended yesterday or
    earlier, same number of working days) with a queryset update, so the next step may
    run today. The live system never does this."""
    notice = Notice.objects.get(title=notice_title)
    today = timezone.localdate()
    start = today - timedelta(days=notice.working_days)
    while notice_end(start, notice.working_days) >= today:
        start -= timedelta(days=1)
    Notice.objects.filter(pk=notice.pk).update(
        starts_on=start, ends_on=notice_end(start, notice.working_days)
    )


@pytest.fixture
def site(live_server: Any) -> str:
    seed_demo(students=60, seed=1)
    add_second_officer()
    # The small district leaves the demo school without students: enrol a few.
    ensure_demo_calendar()  # notice periods may reach into a year not entered yet
    enrol_demo_students(3, seed=1)
    # The quota is configuration the district centre sets before the year's reviews.
    school = User.objects.get(username="demo_officer").assignments.get().org_unit
    programme = Programme.objects.get(code="COMPULSORY_LIVING")
    config_svc.set_quotas(
        programme,
        actor=User.objects.get(username="demo_district"),
        school_year=current_school_year(),
        places={school.pk: 5},
    )
    return str(live_server.url)


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


def nav(page: Page, label: str) -> None:
    page.get_by_role("navigation", name="主导航").get_by_role(
        "link", name=label, exact=True
    ).click()


def expect_message(page: Page, text: str | re.Pattern[str]) -> None:
    expect(page.locator(".messages")).to_contain_text(text)


def open_application(page: Page, name: str) -> None:
    nav(page, "资助申请")
    page.locator("table.list").get_by_role("link", name=name, exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(f"{name} · {PROGRAMME}")


def decide(page: Page, decision: str, done: str) -> None:
    page.get_by_label(decision, exact=True).check()
    page.get_by_role("button", name="下一步：确认").click()
    expect(page.get_by_role("heading", name=f"确认审核结果：{decision}")).to_be_visible()
    page.get_by_role("button", name="确认", exact=True).click()
    expect_message(page, done)


def publish(page: Page, round_label: str, name: str) -> str:
    nav(page, "公示")
    page.get_by_role("link", name=f"发布{round_label}").click()
    expect(page.get_by_label(f"列入{name}")).to_be_checked()
    page.get_by_role("button", name=re.compile("发布公示")).click()
    expect_message(page, re.compile(r"已发布“.+”，共 1 人，公示期 .+ 至 .+。"))
    title = page.get_by_role("heading", level=1).inner_text()
    assert round_label in title
    return title


def test_category_7_student_from_home_visit_to_award(browser: Browser, site: str) -> None:
    student = Student.objects.filter(school__name="邾城街中心小学").order_by("pk").first()
    assert student is not None
    name, today = student.name, timezone.localdate()

    # 1. The officer records the home visit and the evaluation, identifies, enters, submits.
    with signed_in(browser, site, "demo_officer") as page:
        # No screen links an unidentified student to the identification page (reported):
        # the officer opens it by its address.
        page.goto(f"{site}/aid/identification/students/{student.pk}/")
        expect(page.get_by_role("heading", level=1)).to_have_text(f"{name} · 家庭经济困难认定")

        page.get_by_role("link", name="录入走访记录").click()
        page.get_by_label("走访方式").select_option("家访")
        page.get_by_label("走访日期").fill(f"{today:%Y-%m-%d}")
        page.get_by_label("走访人员").fill("班主任、资助专干")
        page.get_by_label("走访对象（家长、邻居、村社区干部等）").fill("学生母亲及邻居")
        page.get_by_label("走访情况").fill("父亲因病长期卧床，家庭无稳定收入。")
        page.get_by_role("button", name="保存").click()
        expect_message(page, "已保存走访座谈记录。")

        page.get_by_role("link", name="录入评议意见").click()
        page.get_by_label("评议日期").fill(f"{today:%Y-%m-%d}")
        page.get_by_label("评议小组成员").fill("校长、资助专干、班主任、家长代表")
        page.get_by_label("同意认定", exact=True).check()
        page.get_by_label("评议意见").fill("经走访核实，家庭经济困难情况属实，同意认定。")
        page.get_by_role("button", name="保存").click()
        expect_message(page, "已保存评议小组意见。")

        page.get_by_label("困难类别").select_option(label=CATEGORY_7)
        page.get_by_label("认定级别（困难等级）").select_option(label=TIER)
        page.get_by_label("认定原因").fill("家庭主要劳动力因病丧失劳动能力")
        page.get_by_role("button", name="认定", exact=True).click()
        expect_message(page, f"已认定{name}为{CATEGORY_7}（{TIER}）。")

        nav(page, "资助申请")
        page.get_by_role("link", name="录入申请").click()
        page.get_by_role("row", name=re.compile(name)).get_by_role(
            "link", name="为该生录入申请"
        ).click()
        page.get_by_label("资助项目").select_option(label=PROGRAMME)
        expect(page.get_by_label("困难等级")).to_have_value(re.compile(r"\d+"))
        page.get_by_label("申请理由（按家庭签字申请表录入）").fill("父亲患病，家庭无稳定收入。")
        page.get_by_label("家庭签字申请表（PDF 或 JPG，可稍后上传）").set_input_files(
            {"name": "申请表.pdf", "mimeType": "application/pdf", "buffer": small_pdf()}
        )
        page.get_by_role("button", name="保存为草稿").click()
        expect_message(page, f"已录入{name}的“{PROGRAMME}”申请（草稿）。")
        expect(page.get_by_role("link", name="下载扫描件")).to_be_visible()

        page.get_by_role("button", name="提交", exact=True).click()
        expect(page.get_by_role("heading", name="确认提交申请")).to_be_visible()
        page.get_by_role("button", name="确认", exact=True).click()
        expect_message(page, "申请已提交，等待学校初审。")

    # 2. The second certified officer reviews (not the submitter).
    with signed_in(browser, site, SECOND_OFFICER) as page:
        open_application(page, name)
        decide(page, "同意", "已通过学校初审，等待校长签批。")

    # 3. The principal signs.
    with signed_in(browser, site, "demo_principal") as page:
        open_application(page, name)
        decide(page, "同意", "校长已签批，可列入第一榜公示。")

    # 4. The officer publishes round 1.
    with signed_in(browser, site, "demo_officer") as page:
        round1 = publish(page, "第一榜", name)

    time_travel(round1)  # the round-1 period has run its five working days

    # 5. The district officer reviews against the quota.
    with signed_in(browser, site, "demo_district") as page:
        open_application(page, name)
        expect(page.locator("main")).to_contain_text("本校本项目名额：5 个，已占用 0 个")
        decide(page, "同意", "区级审核已通过，可列入第二榜公示。")

    # 6. The officer publishes round 2.
    with signed_in(browser, site, "demo_officer") as page:
        round2 = publish(page, "第二榜", name)

    time_travel(round2)  # the round-2 period has ended

    # 7. The district publishes round 3, online.
    with signed_in(browser, site, "demo_district") as page:
        round3 = publish(page, "第三榜", name)

    # 8. The public sees it on the portal, without logging in: six fields, no ID number.
    public = browser.new_context(locale="zh-CN")
    try:
        portal = public.new_page()
        portal.goto(f"{site}/portal/")
        portal.get_by_role("link", name=round3).click()
        row = portal.locator("table.roll tbody tr").filter(has_text=name)
        expect(row).to_have_count(1)
        expect(row).to_contain_text(PROGRAMME)
        expect(row).to_contain_text(TIER)
        expect(row).to_contain_text("邾城街中心小学")
        body = portal.locator("body").inner_text()
        assert str(student.id_number) not in body
    finally:
        public.close()

    time_travel(round3)  # the round-3 period has ended

    # 9. The district confirms the award; it appears in 资助名单.
    with signed_in(browser, site, "demo_district") as page:
        nav(page, "公示")
        page.get_by_role("link", name=round3).click()
        page.get_by_role("link", name="确认资助").click()
        page.get_by_role("button", name="确认资助 1 人").click()
        expect_message(page, re.compile(r"已确认资助 1 人，资助自 \d{4}年\d{1,2}月 起计。"))
        nav(page, "资助名单")
        row = page.locator("table.list tbody tr").filter(has_text=name)
        expect(row).to_have_count(1)
        expect(row).to_contain_text(PROGRAMME)
        expect(row).to_contain_text("资助中")
