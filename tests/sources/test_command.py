"""`zizhu import-dataset`: imports in the foreground, writes the report and exits 1 on errors."""

from __future__ import annotations

from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from python_calamine import CalamineWorkbook

from tests.sources.samples import csv_bytes, person_id, valid_rows, xlsx_bytes
from zizhu.core.models import User
from zizhu.sources.models import DatasetVersion


def write(path: Path, content: bytes) -> Path:
    path.write_bytes(content)
    return path


def run(*args: str) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("import_dataset", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_imports_and_prints_version_and_rows(tmp_path: Path, district_officer: User) -> None:
    path = write(tmp_path / "民政.csv", csv_bytes(valid_rows("civil_affairs")))

    out, _ = run("civil_affairs", str(path), "--as-of", "2026-10-31", "--user", "district_officer")

    version = DatasetVersion.objects.get()
    assert "第1版" in out
    assert "3 行" in out
    assert version.department == "民政"
    assert version.imported_by == district_officer


def test_source_sets_the_department_and_xlsx_is_read(
    tmp_path: Path, district_officer: User
) -> None:
    path = write(tmp_path / "cadres.xlsx", xlsx_bytes(valid_rows("cadres")))

    run(
        "cadres",
        str(path),
        "--as-of",
        "2026-10-31",
        "--source",
        "区委组织部",
        "--user",
        "district_officer",
    )

    assert DatasetVersion.objects.get().department == "区委组织部"


def test_user_comes_from_the_environment(
    tmp_path: Path, district_officer: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ZIZHU_CLI_USER", "district_officer")
    path = write(tmp_path / "d.csv", csv_bytes(valid_rows("deaths")))

    run("deaths", str(path), "--as-of", "2026-10-31")

    assert DatasetVersion.objects.get().imported_by == district_officer


def test_missing_user_is_a_chinese_command_error(
    tmp_path: Path, db: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("ZIZHU_CLI_USER", raising=False)
    path = write(tmp_path / "d.csv", csv_bytes(valid_rows("deaths")))

    with pytest.raises(CommandError, match="ZIZHU_CLI_USER"):
        run("deaths", str(path), "--as-of", "2026-10-31")


def test_rejected_file_writes_the_report_and_exits_1(
    tmp_path: Path, district_officer: User
) -> None:
    rows = [*valid_rows("deaths"), [person_id(60)[:-1] + "Y", "某", "2025-01-01"]]
    path = write(tmp_path / "d.csv", csv_bytes(rows))

    with pytest.raises(SystemExit) as caught:
        run("deaths", str(path), "--as-of", "2026-10-31", "--user", "district_officer")

    assert caught.value.code == 1
    report = Path(f"{path}.errors.xlsx")
    sheet = CalamineWorkbook.from_path(str(report)).get_sheet_by_index(0).to_python()
    assert sheet[0] == ["行号", "列", "值", "原因"]
    assert sheet[1][:2] == ["5", "身份证号"]
    assert not DatasetVersion.objects.exists()


def test_report_path_can_be_given(tmp_path: Path, district_officer: User) -> None:
    rows = [*valid_rows("deaths"), [person_id(61), "", "2025-01-01"]]
    path = write(tmp_path / "d.csv", csv_bytes(rows))
    report = tmp_path / "out"
    report.mkdir()

    with pytest.raises(SystemExit):
        run(
            "deaths",
            str(path),
            "--as-of",
            "2026-10-31",
            "--user",
            "district_officer",
            "--report",
            str(report / "r.xlsx"),
        )

    assert (report / "r.xlsx").exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("tax", "{file}", "--as-of", "2026-10-31"), "未知的数据集"),
        (("deaths", "{missing}", "--as-of", "2026-10-31"), "找不到文件"),
        (("deaths", "{file}", "--as-of", "31/10/2026"), "YYYY-MM-DD"),
        (("deaths", "{file}", "--as-of", "2026-10-31", "--user", "nobody"), "不存在或已停用"),
    ],
)
def test_bad_arguments_are_command_errors(
    tmp_path: Path, district_officer: User, args: tuple[str, ...], message: str
) -> None:
    path = write(tmp_path / "d.csv", csv_bytes(valid_rows("deaths")))
    filled = [a.format(file=path, missing=tmp_path / "none.csv") for a in args]
    if "--user" not in filled:
        filled += ["--user", "district_officer"]

    with pytest.raises(CommandError, match=message):
        run(*filled)


def test_user_without_the_permission_is_refused(tmp_path: Path, auditor: User) -> None:
    path = write(tmp_path / "d.csv", csv_bytes(valid_rows("deaths")))

    with pytest.raises(CommandError, match="权限"):
        run("deaths", str(path), "--as-of", "2026-10-31", "--user", "auditor")

    assert not DatasetVersion.objects.exists()
