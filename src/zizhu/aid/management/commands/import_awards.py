"""`zizhu import-awards FILE [--user USERNAME] [--report PATH]`: the first year's migration
of current recipients (受助学生), run here and now rather than by the worker.

Exit status 0 when imported, 1 when the file was refused (the XLSX error report is written
beside the file, or to --report) or the command could not run.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from zizhu.aid.services.migration import SUFFIXES, import_awards, summary_message
from zizhu.core.cli import add_user_argument, command_actor
from zizhu.core.errors import DomainError, ImportRejected
from zizhu.core.tabular import RowError, error_report_xlsx

SHOWN_ERRORS = 20


def _row_errors(rejection: ImportRejected) -> list[RowError]:
    return [
        RowError(int(str(e["row"])), str(e["column"]), str(e["value"]), str(e["reason"]))
        for e in rejection.report
        if "row" in e
    ]


class Command(BaseCommand):
    help = (
        "导入现有受助学生（历史数据迁移，CSV 或 XLSX）。任何一行格式有误则不导入任何数据，"
        "并生成错误报告；违反资助规则的历史记录按原样导入，留待比对核查。"
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", help="受助学生文件（.csv 或 .xlsx）")
        add_user_argument(parser)
        parser.add_argument("--report", help="错误报告的保存路径（默认与文件放在一起）")

    def handle(self, *args: Any, **options: Any) -> None:
        path = Path(options["file"])
        if not path.is_file():
            raise CommandError(f"找不到文件“{path}”。")
        if path.suffix.lower() not in SUFFIXES:
            raise CommandError(f"“{path.name}”不是 CSV 或 XLSX 文件。")
        actor = command_actor(options["user"])
        try:
            summary = import_awards(path, path.name, actor=actor)
        except ImportRejected as rejection:
            report = Path(options["report"]) if options["report"] else None
            self._rejected(rejection, report or path.with_name(f"{path.stem}-错误报告.xlsx"))
        except DomainError as error:
            raise CommandError(error.message) from None
        else:
            self.stdout.write(self.style.SUCCESS(summary_message(summary)))

    def _rejected(self, rejection: ImportRejected, target: Path) -> None:
        self.stderr.write(rejection.message)
        errors = _row_errors(rejection)
        if errors:
            target.write_bytes(error_report_xlsx(errors))
            for error in sorted(errors, key=lambda e: e.row)[:SHOWN_ERRORS]:
                self.stderr.write(
                    f"  第 {error.row} 行 {error.column}（{error.value}）：{error.reason}"
                )
            if len(errors) > SHOWN_ERRORS:
                self.stderr.write(f"  ……共 {len(errors)} 处错误，其余见错误报告。")
            self.stderr.write(f"错误报告已保存到：{target}")
        # A distinct exit status lets scripts stop here.
        raise SystemExit(1)
