"""Shared pieces of the operator commands (`zizhu import-register`, `import-dataset`, …)."""

from __future__ import annotations

import os

from django.core.management.base import CommandError, CommandParser

from zizhu.core.models import User

USER_ENV = "ZIZHU_CLI_USER"


def add_user_argument(parser: CommandParser) -> None:
    parser.add_argument("--user", default=None, help=f"导入人的用户名（默认取环境变量 {USER_ENV}）")


def command_actor(username: str | None) -> User:
    """The account a command acts as: its roles decide what it may do, and the audit rows
    name it. Commands never run as an anonymous super-user."""
    username = username or os.environ.get(USER_ENV, "")
    if not username:
        raise CommandError(f"请用 --user 指定导入人的用户名，或设置环境变量 {USER_ENV}。")
    user = User.objects.filter(username=username, is_active=True).first()
    if user is None:
        raise CommandError(f"用户“{username}”不存在或已停用，请核对用户名。")
    return user
