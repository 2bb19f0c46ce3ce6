"""`zizhu import-register DIR [--user USERNAME] [--report PATH]`: the register import from a
folder, run in this process (issue 3). It records the same Job and RegisterImport as an
upload from the web, so the import shows on the job and import pages like any other.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from django.core.files.storage import default_storage
from django.core.management.base import BaseCommand, CommandError, CommandParser
from python_calamine import CalamineWorkbook

from zizhu.core.cli import add_user_argument, command_actor
from zizhu.core.errors import DomainError
from zizhu.core.models import Job, JobStatus
from zizhu.registry.imports import KINDS, LABELS, SUFFIXES, run_register_import

# File names the folder may hold, by kind: the Chinese name or the English key.
NAMES = {kind: (LABELS[kind], kind) for kind in KINDS}
SHOWN_ERRORS = 20


def find_register_files(directory: Path) -> dict[str, Path]:
    """学校/schools, 学生/students, 监护人/guardians, 教职工/staff, each .csv or .xlsx."""
    found: dict[str, Path] = {}
    for kind, names in NAMES.items():
        matches = [
            path
            for path in sorted(directory.iterdir())
            if path.is_file() and path.stem.lower() in names and path.suffix.lower() in SUFFIXES
        ]
        if len(matches) > 1:
            listing = "、".join(path.name for path in matches)
            raise CommandError(f"文件夹中有多个{LABELS[kind]}文件（{listing}），请只保留一个。")
        if matches:
            found[kind] = matches[0]
    if not found:
        expected = "、".join(f"{LABELS[k]}.csv（或 {k}.xlsx 等）" for k in KINDS)
        raise CommandError(f"文件夹“{directory}”中没有学籍文件。文件应命名为：{expected}。")
    return found


def _report_rows(content: bytes) -> list[list[Any]]:
    sheet = CalamineWorkbook.from_filelike(io.BytesIO(content)).get_sheet_by_index(0)
    rows: list[list[Any]] = sheet.to_python()
    return rows[1:]


class Command(BaseCommand):
    help = (
        "从文件夹导入学籍：学校、学生、监护人、教职工（CSV 或 XLSX）。"
        "任何一行有错则不导入任何数据，并在文件夹中生成错误报告。"
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("directory", help="存放学籍文件的文件夹")
        add_user_argument(parser)
        parser.add_argument("--report", help="错误报告的保存路径（默认保存在该文件夹中）")

    def handle(self, *args: Any, **options: Any) -> None:
        directory = Path(options["directory"])
        if not directory.is_dir():
            raise CommandError(f"找不到文件夹“{directory}”。")
        actor = command_actor(options["user"])
        files = find_register_files(directory)
        for kind, path in files.items():
            self.stdout.write(f"{LABELS[kind]}：{path.name}")
        try:
            job = run_register_import(files, actor=actor)
        except DomainError as error:
            raise CommandError(error.message) from None
        if job.status == JobStatus.SUCCEEDED:
            self.stdout.write(self.style.SUCCESS(job.message))
            return
        if job.status != JobStatus.REJECTED:
            raise CommandError(job.message or "导入失败。")
        self._rejected(job, Path(options["report"]) if options["report"] else None, directory)

    def _rejected(self, job: Job, report: Path | None, directory: Path) -> None:
        self.stderr.write(job.message)
        if job.report:
            with default_storage.open(job.report.name, "rb") as stream:
                content = stream.read()
            target = report or directory / f"学籍导入错误报告-{job.pk}.xlsx"
            target.write_bytes(content)
            rows = _report_rows(content)
            for row, column, value, reason in rows[:SHOWN_ERRORS]:
                self.stderr.write(f"  第 {row} 行 {column}（{value}）：{reason}")
            if len(rows) > SHOWN_ERRORS:
                self.stderr.write(f"  ……共 {len(rows)} 处错误，其余见错误报告。")
            self.stderr.write(f"错误报告已保存到：{target}")
        # A distinct exit status lets scripts stop here.
        raise SystemExit(1)
