"""`zizhu import-dataset KIND FILE --as-of YYYY-MM-DD [--source DEPT] [--user USERNAME]`.

Runs the import in the foreground (no job). A rejected file writes the XLSX error report
and exits with status 1, so scripts can tell "imported" from "fix the file".
"""

from __future__ import annotations

import time
from datetime import date
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from zizhu.core.cli import add_user_argument, command_actor
from zizhu.core.errors import DomainError, ImportRejected
from zizhu.core.tabular import RowError, error_report_xlsx
from zizhu.sources.formats import FORMATS
from zizhu.sources.services import import_dataset


class Command(BaseCommand):
    help = "导入一份部门比对数据文件（CSV 或 XLSX），作为该数据集的新版本。"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("kind", help=f"数据集：{'、'.join(FORMATS)}")
        parser.add_argument("file", help="CSV 或 XLSX 文件")
        parser.add_argument("--as-of", required=True, help="数据截止日期，YYYY-MM-DD")
        parser.add_argument("--source", default=None, help="来源部门（默认按数据交换规范）")
        add_user_argument(parser)
        parser.add_argument("--report", default=None, help="错误报告路径（默认 FILE.errors.xlsx）")

    def handle(self, *args: Any, **options: Any) -> None:
        kind = options["kind"]
        if kind not in FORMATS:
            raise CommandError(f"未知的数据集“{kind}”。可选：{'、'.join(FORMATS)}。")
        path = Path(options["file"])
        if not path.is_file():
            raise CommandError(f"找不到文件“{path}”。")
        as_of = _parse_date(options["as_of"])
        actor = command_actor(options["user"])
        started = time.monotonic()
        try:
            version = import_dataset(
                kind, path, path.name, actor=actor, as_of=as_of, department=options["source"]
            )
        except ImportRejected as rejection:
            self._reject(rejection, Path(options["report"] or f"{path}.errors.xlsx"))
        except DomainError as error:
            raise CommandError(error.message) from None
        self.stdout.write(
            self.style.SUCCESS(
                f"已导入{version}：{version.row_count} 行"
                f"（用时 {time.monotonic() - started:.1f} 秒）。"
            )
        )

    def _reject(self, rejection: ImportRejected, report: Path) -> None:
        self.stderr.write(rejection.message)
        errors = [
            RowError(int(str(e["row"])), str(e["column"]), str(e["value"]), str(e["reason"]))
            for e in rejection.report
        ]
        if errors:
            report.write_bytes(error_report_xlsx(errors))
            self.stderr.write(f"错误报告已写入：{report}（共 {len(errors)} 处错误）")
        raise SystemExit(1)


def _parse_date(raw: str) -> date:
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise CommandError(f"数据截止日期“{raw}”的格式应为 YYYY-MM-DD，如 2026-10-31。") from None
