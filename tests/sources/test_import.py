"""import_dataset: validation all or nothing, versions with provenance, keyed identities."""

from __future__ import annotations

import hashlib
import json
from datetime import date, timedelta
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.utils import timezone

from tests.factories import StudentFactory
from tests.sources.conftest import AS_OF, Importer
from tests.sources.samples import (
    ALICE,
    BOB,
    CAROL,
    PEOPLE,
    csv_bytes,
    header,
    person_id,
    valid_rows,
    xlsx_bytes,
)
from zizhu.core import crypto
from zizhu.core.crypto import Sensitive
from zizhu.core.errors import DomainError, ImportRejected, NotPermitted
from zizhu.core.models import AuditEntry, Job, JobStatus, User
from zizhu.sources.models import DatasetKind, DatasetRecord, DatasetVersion
from zizhu.sources.services import id_hasher, import_dataset, start_dataset_import


def id_hash(number: str) -> str:
    return crypto.blind_index(number, Sensitive.ID_NUMBER)


def rejected(importer: Importer, kind: str, rows: list[list[str]]) -> ImportRejected:
    with pytest.raises(ImportRejected) as caught:
        importer(kind, rows)
    return caught.value


def assert_nothing_imported() -> None:
    assert not DatasetVersion.objects.exists()
    assert not DatasetRecord.objects.exists()
    assert not AuditEntry.objects.filter(action="dataset.imported").exists()


# --- every format ------------------------------------------------------------------------


@pytest.mark.parametrize("kind", DatasetKind.values)
def test_every_kind_imports_a_valid_file(import_rows: Importer, kind: str) -> None:
    version = import_rows(kind)

    records = list(version.records.order_by("row_number"))
    assert version.row_count == 3
    assert [r.row_number for r in records] == [2, 3, 4]
    assert [r.person_hash for r in records] == [id_hash(n) for n, _ in PEOPLE]
    assert [r.name for r in records] == [name for _, name in PEOPLE]
    assert records[0].person_masked == crypto.mask(ALICE, Sensitive.ID_NUMBER)


def test_gb18030_csv_imports(district_officer: User) -> None:
    content = csv_bytes(valid_rows("disability"), "gb18030")

    version = import_dataset("disability", content, "残联.csv", actor=district_officer, as_of=AS_OF)

    assert version.records.get(row_number=4).name == "王小五"


def test_xlsx_imports(district_officer: User) -> None:
    content = xlsx_bytes(valid_rows("vehicles"))

    version = import_dataset("vehicles", content, "车辆.xlsx", actor=district_officer, as_of=AS_OF)

    record = version.records.get(row_number=2)
    assert record.person_hash == id_hash(ALICE)
    assert record.attrs == {
        "plate": "鄂A12340",
        "vehicle_type": "小型轿车",
        "registered_on": "2020-01-01",
        "status": "正常",
    }


def test_attrs_hold_the_other_columns_by_english_key(import_rows: Importer) -> None:
    version = import_rows("civil_affairs")

    record = version.records.get(row_number=3)
    # Blank 结束日期 is left out; dates are ISO text; 户主 is kept as related_hash only.
    assert record.attrs == {"category": "低保", "status": "在册", "start_on": "2024-01-01"}
    assert record.related_hash == id_hash(ALICE)
    assert version.records.get(row_number=2).related_hash == id_hash(ALICE)


def test_amounts_are_stored_as_exact_text(import_rows: Importer) -> None:
    businesses = import_rows("businesses").records.get(row_number=2)
    insurance = import_rows("social_insurance").records.get(row_number=2)

    assert businesses.attrs["capital_10k_yuan"] == "100.5"
    assert insurance.attrs["monthly_base_yuan"] == "8500.00"


def test_blank_related_person_is_an_empty_hash(import_rows: Importer) -> None:
    rows = valid_rows("civil_affairs")
    rows[2][6] = ""

    version = import_rows("civil_affairs", rows)

    assert version.records.get(row_number=3).related_hash == ""


def test_fifteen_digit_id_is_converted_before_hashing(import_rows: Importer) -> None:
    eighteen = person_id(7, date(1965, 4, 3))
    fifteen = eighteen[:6] + eighteen[8:17]
    rows = [header("deaths"), [fifteen, "赵老汉", "2025-01-02"]]

    version = import_rows("deaths", rows)

    record = version.records.get()
    assert record.person_hash == id_hash(eighteen)
    assert record.person_masked == crypto.mask(eighteen, Sensitive.ID_NUMBER)


def test_lower_case_x_is_hashed_as_upper_case(import_rows: Importer) -> None:
    number = "11010519491231002X"
    rows = [header("deaths"), [number.lower(), "某人", "2025-01-02"]]

    version = import_rows("deaths", rows)

    assert version.records.get().person_hash == id_hash(number)


# --- personal data -----------------------------------------------------------------------


def test_person_hash_is_the_registers_blind_index(import_rows: Importer) -> None:
    student = StudentFactory(id_number=CAROL)

    version = import_rows("disability")

    assert version.records.get(row_number=4).person_hash == student.id_number_hash


def test_fast_hash_agrees_with_blind_index() -> None:
    hasher = id_hasher()

    for number in (ALICE, BOB, CAROL, "11010519491231002X"):
        assert hasher(number) == crypto.blind_index(number, Sensitive.ID_NUMBER)


def _all_text(table: str) -> str:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT * FROM {table}")  # noqa: S608 -- fixed table names
        return json.dumps(cursor.fetchall(), default=str, ensure_ascii=False)


def test_no_clear_id_number_is_stored(import_rows: Importer) -> None:
    import_rows("civil_affairs")
    import_rows("rural_revitalization")

    stored = "".join(
        _all_text(table)
        for table in ("sources_datasetrecord", "sources_datasetversion", "core_auditentry")
    )
    for number in (ALICE, BOB, CAROL):
        assert number not in stored
        assert number[6:14] not in stored  # not even the birth date part
    assert crypto.mask(ALICE, Sensitive.ID_NUMBER) in stored


# --- validation: all or nothing ----------------------------------------------------------


def test_bad_rows_import_nothing_and_are_reported_row_by_row(import_rows: Importer) -> None:
    rows = valid_rows("civil_affairs")
    rows[1][0] = ALICE[:17] + ("0" if ALICE[17] != "0" else "1")  # checksum
    rows[2][2] = "五保"  # not a category
    rows[3][4] = "2024-02-30"  # no such date
    rows[3][6] = "123"  # related ID too

    error = rejected(import_rows, "civil_affairs", rows)

    assert [(e["row"], e["column"]) for e in error.report] == [
        (2, "身份证号"),
        (3, "救助类别"),
        (4, "开始日期"),
        (4, "户主身份证号"),
    ]
    assert "未导入任何数据" in error.message
    assert_nothing_imported()


def test_one_bad_row_among_good_ones_imports_nothing(import_rows: Importer) -> None:
    rows = [*valid_rows("disability"), [person_id(9), "", "视力", "一级", "有效"]]

    error = rejected(import_rows, "disability", rows)

    assert error.report == [{"row": 5, "column": "姓名", "value": "", "reason": "不能为空。"}]
    assert_nothing_imported()


def test_missing_header_is_rejected(import_rows: Importer) -> None:
    rows = [row[:2] for row in valid_rows("deaths")]

    error = rejected(import_rows, "deaths", rows)

    assert "死亡日期" in error.message
    assert_nothing_imported()


def test_a_person_twice_in_a_one_row_per_person_dataset_is_rejected(
    import_rows: Importer,
) -> None:
    rows = valid_rows("public_payroll")
    rows.append([BOB, "李四", "另一单位", "参公"])

    error = rejected(import_rows, "public_payroll", rows)

    assert error.report == [
        {"row": 5, "column": "身份证号", "value": BOB, "reason": "与第 3 行重复。"}
    ]
    assert_nothing_imported()


def test_an_owner_with_two_vehicles_is_accepted(import_rows: Importer) -> None:
    rows = valid_rows("vehicles")
    rows.append([ALICE, "张三", "鄂A99999", "二轮摩托车", "2021-05-06", "正常"])

    version = import_rows("vehicles", rows)

    assert version.records.filter(person_hash=id_hash(ALICE)).count() == 2


def test_the_same_vehicle_twice_is_rejected(import_rows: Importer) -> None:
    rows = valid_rows("vehicles")
    rows.append(list(rows[1]))

    error = rejected(import_rows, "vehicles", rows)

    assert error.report[0]["row"] == 5
    assert error.report[0]["column"] == "所有人身份证号+号牌号码"
    assert_nothing_imported()


def test_one_person_in_two_companies_and_two_roles_is_accepted(import_rows: Importer) -> None:
    rows = valid_rows("businesses")
    rows.append([ALICE, "张三", "新洲某某商贸有限公司0", "91420117MA4K000000", "股东", "", "存续"])
    rows.append([ALICE, "张三", "另一公司", "91420117MA4K999999", "股东", "10", "注销"])

    version = import_rows("businesses", rows)

    assert version.row_count == 5


def test_civil_affairs_allows_two_categories_but_not_the_same_one_twice(
    import_rows: Importer,
) -> None:
    rows = valid_rows("civil_affairs")
    rows.append([ALICE, "张三", "孤儿", "在册", "2024-01-01", "", ALICE])
    assert import_rows("civil_affairs", rows).row_count == 4

    rows.append([ALICE, "张三", "孤儿", "已退出", "2024-01-01", "2024-06-30", ALICE])
    error = rejected(import_rows, "civil_affairs", rows)
    assert error.report[0]["row"] == 6


def test_future_as_of_date_is_refused(import_rows: Importer) -> None:
    with pytest.raises(DomainError, match="截止日期"):
        import_rows("deaths", as_of=timezone.localdate() + timedelta(days=1))


def test_unknown_kind_is_refused(import_rows: Importer) -> None:
    with pytest.raises(DomainError, match="未知的数据集"):
        import_rows("tax", valid_rows("deaths"))


def test_empty_file_is_refused(district_officer: User) -> None:
    with pytest.raises(ImportRejected, match="文件是空的"):
        import_dataset("deaths", b"", "d.csv", actor=district_officer, as_of=AS_OF)


def test_header_only_file_is_an_empty_version(import_rows: Importer) -> None:
    version = import_rows("martyrs_children", [header("martyrs_children")])

    assert version.row_count == 0


# --- versions and provenance -------------------------------------------------------------


def test_versions_are_numbered_per_kind_and_old_ones_stay(import_rows: Importer) -> None:
    first = import_rows("civil_affairs")
    second = import_rows("civil_affairs", valid_rows("civil_affairs")[:2])
    other = import_rows("disability")

    assert (first.number, second.number, other.number) == (1, 2, 1)
    assert first.records.count() == 3
    assert second.records.count() == 1


def test_provenance_is_recorded(district_officer: User) -> None:
    content = csv_bytes(valid_rows("household"))

    version = import_dataset(
        "household",
        content,
        "uploads/公安户籍.csv",
        actor=district_officer,
        as_of=date(2026, 9, 30),
    )

    version.refresh_from_db()
    assert version.sha256 == hashlib.sha256(content).hexdigest()
    assert version.row_count == 3
    assert version.department == "公安"
    assert version.as_of == date(2026, 9, 30)
    assert version.imported_by == district_officer
    assert version.file_name == "公安户籍.csv"
    assert version.imported_at is not None


def test_department_can_be_given(import_rows: Importer) -> None:
    version = import_rows("village_cadres", department="区委组织部")

    assert version.department == "区委组织部"


def test_import_is_audited(import_rows: Importer, district_officer: User) -> None:
    version = import_rows("cadres")

    entry = AuditEntry.objects.get(action="dataset.imported")
    assert entry.actor == district_officer
    assert entry.subject_id == str(version.pk)
    after: dict[str, Any] = entry.after or {}
    assert after["kind"] == "cadres"
    assert after["version"] == 1
    assert after["as_of"] == AS_OF.isoformat()
    assert after["sha256"] == version.sha256
    assert after["rows"] == 3


# --- who may import ----------------------------------------------------------------------


@pytest.mark.parametrize("persona", ["officer_a", "outsider", "district_head", "auditor"])
def test_only_the_district_officer_may_import(
    import_rows: Importer, persona: str, request: pytest.FixtureRequest
) -> None:
    actor = request.getfixturevalue(persona)

    with pytest.raises(NotPermitted):
        import_rows("deaths", actor=actor)

    assert_nothing_imported()


def test_starting_an_import_job_needs_the_permission(officer_a: User) -> None:
    upload = SimpleUploadedFile("d.csv", csv_bytes(valid_rows("deaths")))

    with pytest.raises(NotPermitted):
        start_dataset_import(upload, actor=officer_a, kind="deaths", as_of=AS_OF)

    assert not Job.objects.exists()


# --- background job ----------------------------------------------------------------------


def test_job_imports_the_upload(district_officer: User) -> None:
    upload = SimpleUploadedFile("张三等死亡名单.csv", csv_bytes(valid_rows("deaths")))

    job = start_dataset_import(
        upload, actor=district_officer, kind="deaths", as_of=AS_OF, department="区公安分局"
    )

    job.refresh_from_db()
    version = DatasetVersion.objects.get()
    assert job.status == JobStatus.SUCCEEDED, job.message
    assert version.job == job
    assert version.department == "区公安分局"
    assert job.result == {"rows": 3}
    assert version.file_name == "张三等死亡名单.csv"
    assert "张三" not in job.upload.name  # stored under a neutral name
    assert "dataset-deaths" in job.upload.name
    assert job.dataset_version == version
    assert "死亡注销" in job.message


def test_job_with_a_bad_file_is_rejected_with_a_report(district_officer: User) -> None:
    rows = valid_rows("deaths")
    rows[1][2] = "昨天"
    upload = SimpleUploadedFile("deaths.csv", csv_bytes(rows))

    job = start_dataset_import(upload, actor=district_officer, kind="deaths", as_of=AS_OF)

    job.refresh_from_db()
    assert job.status == JobStatus.REJECTED
    assert job.result == {"errors": 1}
    assert job.report.name
    assert_nothing_imported()
