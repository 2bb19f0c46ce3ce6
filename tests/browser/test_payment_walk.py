"""A payment batch through the real screens (issue 7, "Done when"): the district creates the
batch and sees the blocked line with its reason → the district head approves → the district
downloads the bank file → uploads the bank's result file (发放回盘) with one failure → the
batch is settled with one failure → the failure is on the school officer's work list.

The awards are set up outside the screens, through the migration import (the real service
path for awards that predate the system). The demo district leaves its head uncertified, so
the district officer issues the head a certificate first (持证上岗: only the certified may
approve).
"""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import Browser, expect
from python_calamine import CalamineWorkbook

from tests.aid.test_migration import grant
from tests.browser.test_clue_walk import expect_message, signed_in
from zizhu.aid.demo import the_demo_school
from zizhu.aid.models import Semester, Term
from zizhu.aid.rules import current_school_year
from zizhu.core.models import User
from zizhu.core.services import issue_certification
from zizhu.registry.models import Student

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

PROGRAMME = "义务教育家庭经济困难学生生活补助"
RESULT_HEADER = ("批次号", "身份证号", "银行卡号", "金额", "结果", "失败原因")


@pytest.fixture
def site(demo_site: str) -> str:
    return demo_site


@pytest.fixture
def recipients(site: str) -> list[Student]:
    """Three students of the demo school with live awards; the last has no valid card."""
    district = User.objects.get(username="demo_district")
    year = current_school_year()
    students = list(Student.objects.filter(school=the_demo_school()).order_by("pk")[:3])
    assert len(students) == 3
    for student in students:
        # The card is the student's own, so the holder check passes.
        student.card_holder_id = student.id_number
        student.save(update_fields=["card_holder_id", "card_holder_id_hash"])
        grant(student, district, year=year.code, start=f"{year.starts_on:%Y-%m}")
    Student.objects.filter(pk=students[2].pk).update(bank_account="12345")
    today = timezone.localdate()
    issue_certification(
        User.objects.get(username="demo_head"),
        actor=district,
        number="XZZZ-TEST-HEAD",
        issued_on=today - timedelta(days=1),
        expires_on=today + timedelta(days=365),
    )
    return students


def result_csv(bank_file: bytes, failed_id: str) -> bytes:
    """The bank's answer to its 代发 file: every row paid except `failed_id`."""
    sheet = CalamineWorkbook.from_filelike(io.BytesIO(bank_file)).get_sheet_by_index(0)
    header, *rows = sheet.to_python()
    column = {name: index for index, name in enumerate(header)}
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(RESULT_HEADER)
    for row in rows:
        failed = row[column["身份证号"]] == failed_id
        writer.writerow(
            [
                row[column["批次号"]],
                row[column["身份证号"]],
                row[column["银行卡号"]],
                row[column["金额"]],
                "失败" if failed else "成功",
                "账户已销户" if failed else "",
            ]
        )
    return buffer.getvalue().encode()


def test_batch_to_failed_payment_on_the_schools_work_list(
    browser: Browser, site: str, recipients: list[Student]
) -> None:
    good, failing, no_card = recipients
    year = current_school_year()
    semester = Semester.objects.get(school_year=year, term=Term.AUTUMN)

    # 1. The district creates the batch and sees the blocked line with its reason.
    with signed_in(browser, site, "demo_district") as page:
        page.get_by_role("navigation", name="主导航").get_by_role(
            "link", name="资金发放", exact=True
        ).click()
        page.get_by_role("link", name="新建发放批次").click()
        page.get_by_label("资助项目").select_option(label=PROGRAMME)
        page.get_by_label("学年").select_option(label=str(year))
        page.get_by_label("学期").select_option(label=str(semester))
        page.get_by_role("button", name="生成批次").click()
        expect_message(page, "已生成发放批次")
        expect(page.get_by_test_id("batch-status")).to_have_text("已核验待审批")
        blocked = page.get_by_test_id("line-blocked")
        expect(blocked).to_have_count(1)
        expect(blocked).to_contain_text(no_card.name)
        expect(blocked).to_contain_text("无有效银行卡")
        expect(page.get_by_test_id("line-payable")).to_have_count(2)
        batch_url = page.url

    # 2. The certified district head approves, after the confirmation page.
    with signed_in(browser, site, "demo_head") as page:
        page.goto(batch_url)
        page.get_by_role("link", name="审批", exact=True).click()
        page.get_by_role("button", name="确认审批").click()
        expect(page.get_by_test_id("batch-status")).to_have_text("已审批")

    # 3. The district downloads the bank file and uploads the bank's answer with one failure.
    with signed_in(browser, site, "demo_district") as page:
        page.goto(batch_url)
        # Generating the bank file ends the batch's checking stage: the page asks first.
        page.once("dialog", lambda dialog: dialog.accept())
        with page.expect_download() as download:
            page.get_by_role("button", name="下载银行文件").click()
        path = download.value.path()
        with open(path, "rb") as handle:
            answer = result_csv(handle.read(), str(failing.id_number))
        page.reload()
        expect(page.get_by_test_id("batch-status")).to_have_text("已生成银行文件")
        page.get_by_label("回盘文件").set_input_files(
            {"name": "发放回盘.csv", "mimeType": "text/csv", "buffer": answer}
        )
        page.get_by_role("button", name="导入回盘文件").click()
        expect_message(page, "成功 1 笔，失败 1 笔")
        expect(page.get_by_test_id("batch-status")).to_have_text("已回盘")
        failed_line = page.get_by_test_id("line-failed")
        expect(failed_line).to_have_count(1)
        expect(failed_line).to_contain_text("账户已销户")
        expect(page.get_by_test_id("line-paid")).to_contain_text(good.name)

    # 4. The school officer finds the failure on the work list and the failed-lines page.
    with signed_in(browser, site, "demo_officer") as page:
        page.get_by_role("link", name="1 条资助发放失败，请核对银行卡信息").click()
        expect(page.get_by_role("heading", name="发放失败明细")).to_be_visible()
        row = page.locator("table.list tbody tr")
        expect(row).to_have_count(1)
        expect(row).to_contain_text(failing.name)
        expect(row).to_contain_text("账户已销户")
