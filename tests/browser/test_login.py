"""The paths a person walks at `make run`: sign in with each demo login, fail, sign out.

The tests seed a small demo district rather than the personas, so they use the same
accounts and password that `zizhu demo-logins` prints.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from zizhu.core.models import Role, User
from zizhu.registry.demo import DEMO_ACCOUNTS, DEMO_PASSWORD, DemoAccount, seed_demo

# live_server needs a transactional database; serialized_rollback restores the reference data
# (district, towns, calendar) that the flush after each test would otherwise wipe.
pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

# Menu entries each kind of account must and must not see (navigation.py's MENU).
NAV_SHOWN = {
    Role.SYSADMIN: {"用户管理", "节假日日历", "审计日志"},
    Role.SCHOOL_OFFICER: {"学生", "教职工", "上岗证"},
    Role.PRINCIPAL: {"学生", "审计日志"},
}
NAV_HIDDEN = {
    Role.SYSADMIN: {"学生", "教职工"},
    Role.SCHOOL_OFFICER: {"用户管理", "节假日日历", "审计日志"},
}
NAV_HIDDEN_DEFAULT = {"用户管理", "节假日日历"}
NAV_SHOWN_DEFAULT = {"工作台", "学生"}


@pytest.fixture
def site(live_server: Any) -> str:
    seed_demo(students=50, seed=1)
    return str(live_server.url)


def log_in(page: Page, site: str, username: str, password: str) -> None:
    page.goto(f"{site}/login/")
    expect(page.get_by_role("heading", name="登录")).to_be_visible()
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(password)
    page.get_by_role("button", name="登录").click()


def nav_link(page: Page, label: str) -> Any:
    return page.get_by_role("navigation", name="主导航").get_by_role("link", name=label, exact=True)


@pytest.mark.parametrize("account", DEMO_ACCOUNTS, ids=lambda a: a.username)
def test_each_demo_login_reaches_its_home_page(page: Page, site: str, account: DemoAccount) -> None:
    log_in(page, site, account.username, DEMO_PASSWORD)

    expect(page).to_have_url(f"{site}/")
    expect(page.get_by_role("heading", name="工作台")).to_be_visible()
    full_name = User.objects.get(username=account.username).full_name
    expect(page.locator("main")).to_contain_text(f"您好，{full_name}")
    expect(page.locator("main .tag")).to_contain_text(str(Role(account.role).label))
    for label in NAV_SHOWN.get(Role(account.role), NAV_SHOWN_DEFAULT):
        expect(nav_link(page, label)).to_have_count(1)
    for label in NAV_HIDDEN.get(Role(account.role), NAV_HIDDEN_DEFAULT):
        expect(nav_link(page, label)).to_have_count(0)


def test_wrong_password_shows_the_chinese_error(page: Page, site: str) -> None:
    log_in(page, site, "demo_officer", "Wrong@Password1")

    expect(page.get_by_role("alert")).to_contain_text("用户名或密码不正确")
    expect(page).to_have_url(re.compile(r"/login/$"))
    expect(page.get_by_role("navigation", name="主导航")).to_have_count(0)


def test_logout_returns_to_the_login_page(page: Page, site: str) -> None:
    log_in(page, site, "demo_principal", DEMO_PASSWORD)
    expect(page).to_have_url(f"{site}/")

    page.get_by_role("button", name="退出").click()

    expect(page).to_have_url(re.compile(r"/login/$"))
    expect(page.get_by_role("heading", name="登录")).to_be_visible()
    page.goto(f"{site}/")
    expect(page).to_have_url(re.compile(r"/login/\?next=/$"))
