"""Issue 3's walk: upload a register file with an error → read the report → fix → upload →
search the student → open the page. Jobs run in-line in tests, so each upload lands on a
finished job page."""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from django.test import override_settings
from django.utils import timezone
from playwright.sync_api import Page, expect
from python_calamine import CalamineWorkbook

from zizhu.core import jobs
from zizhu.core.idnumbers import make_id_number
from zizhu.core.models import Job, OrgUnit, Stage, UnitKind, User
from zizhu.registry import formats
from zizhu.registry.demo import DEMO_PASSWORD, seed_demo
from zizhu.registry.imports import school_year_start

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

STUDENT_NAME = "欧阳浏览"


@pytest.fixture
def site(live_server: Any) -> str:
    seed_demo(students=50, seed=1)
    return str(live_server.url)


def log_in(page: Page, site: str, username: str) -> None:
    page.goto(f"{site}/login/")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="登录").click()
    expect(page.get_by_role("heading", name="工作台")).to_be_visible()


def students_csv(path: Path, school: OrgUnit, rows: list[tuple[str, str]]) -> Path:
    """A students exchange file: (ID number, name) per row, sixth graders at `school`."""
    enrolled = date(school_year_start(timezone.localdate()).year - 5, 9, 1)
    with path.open("w", encoding="utf-8-sig", newline="") as stream:
        writer = csv.writer(stream)
        writer.writerow([column.header for column in formats.STUDENTS])
        for number, name in rows:
            gender = "男" if int(number[16]) % 2 else "女"
            writer.writerow(
                [
                    *(number, name, gender, school.code, "六年级", "2班", "否", "在读"),
                    *(enrolled.isoformat(), "新洲区邾城街", "", "13900001111", "", ""),
                ]
            )
    return path


def upload_students(page: Page, site: str, file: Path) -> None:
    page.goto(f"{site}/")
    page.get_by_role("navigation", name="主导航").get_by_role("link", name="学籍导入").click()
    page.get_by_role("link", name="上传学籍文件").click()
    page.get_by_label("学生文件").set_input_files(file)
    page.get_by_role("button", name="上传并开始导入").click()
    expect(page).to_have_url(re.compile(r"/jobs/\d+/$"))


def test_fix_a_rejected_register_file_then_find_the_student(
    page: Page, site: str, tmp_path: Path
) -> None:
    school = OrgUnit.objects.filter(kind=UnitKind.SCHOOL, stage=Stage.PRIMARY).first()
    assert school is not None
    birth = date(school_year_start(timezone.localdate()).year - 11, 5, 6)
    classmate = make_id_number("420117", birth, 97, male=False)
    good = make_id_number("420117", birth, 98, male=True)
    bad = good[:17] + ("0" if good[17] != "0" else "1")
    log_in(page, site, "demo_district")

    # 1. A file whose second data row (spreadsheet row 3) has a wrong check character.
    upload_students(
        page,
        site,
        students_csv(tmp_path / "学生.csv", school, [(classmate, "司马同学"), (bad, STUDENT_NAME)]),
    )
    expect(page.locator("#job-progress")).to_contain_text("未通过校验")
    expect(page.get_by_role("alert")).to_contain_text("未导入任何数据")

    # 2. The report names the row, the column and the reason.
    with page.expect_download() as download_info:
        page.get_by_role("link", name="下载错误报告（Excel）").click()
    download = download_info.value
    assert download.suggested_filename.startswith("错误报告")
    sheet = CalamineWorkbook.from_path(download.path()).get_sheet_by_index(0).to_python()
    reported = [[str(cell) for cell in row] for row in sheet if bad in map(str, row)]
    assert len(reported) == 1
    assert any(cell.removesuffix(".0") == "3" for cell in reported[0])
    assert any("身份证号" in cell for cell in reported[0])
    assert any("校验位" in cell for cell in reported[0])

    # 3. Fixed, the same file goes through.
    upload_students(
        page,
        site,
        students_csv(
            tmp_path / "学生.csv", school, [(classmate, "司马同学"), (good, STUDENT_NAME)]
        ),
    )
    expect(page.locator("#job-progress")).to_contain_text("已完成")
    expect(page.locator("#job-progress")).to_contain_text("新增 2")

    # 4. The student can be found and opened.
    page.get_by_role("navigation", name="主导航").get_by_role(
        "link", name="学生", exact=True
    ).click()
    page.get_by_role("search").get_by_label("姓名", exact=True).fill(STUDENT_NAME)
    page.get_by_role("button", name="查询").click()
    page.get_by_role("link", name=STUDENT_NAME).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(STUDENT_NAME)
    expect(page.locator("main")).to_contain_text(school.name)
    expect(page.locator("main")).to_contain_text("420117********")


# --- the job page follows a job the worker has not finished ---------------------------------

QUEUE_ONLY = {"default": {"BACKEND": "django_tasks.backends.dummy.DummyBackend"}}


@pytest.fixture
def test_kind() -> Iterator[str]:
    @jobs.handles("browser_test")
    def handler(job: Job, progress: jobs.Progress) -> tuple[dict[str, Any], str]:
        return {"rows": 4}, "测试任务已处理 4 行。"

    yield "browser_test"
    jobs.HANDLERS.pop("browser_test", None)


def test_job_page_polls_progress_until_the_job_finishes(
    page: Page, site: str, test_kind: str
) -> None:
    officer = User.objects.get(username="demo_district")
    # Queued but not run, as when the worker has not picked the job up yet.
    with override_settings(TASKS=QUEUE_ONLY):
        job = jobs.start_job(
            test_kind,
            actor=officer,
            org_unit=OrgUnit.objects.get(kind=UnitKind.DISTRICT),
            title="浏览器测试任务",
        )
    log_in(page, site, "demo_district")
    page.goto(f"{site}/jobs/{job.pk}/")
    block = page.locator("#job-progress")
    expect(block).to_contain_text("排队中")
    expect(block).to_have_attribute("hx-trigger", "every 1s")

    jobs.Progress(job)(2, total=4, stage="校验数据")
    expect(block).to_contain_text("校验数据")
    expect(block).to_contain_text("50%")

    jobs.run_job.call(job.pk)
    expect(block).to_contain_text("已完成")
    expect(block).to_contain_text("测试任务已处理 4 行。")
    expect(block).not_to_have_attribute("hx-trigger", "every 1s")
