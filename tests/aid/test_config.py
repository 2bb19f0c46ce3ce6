"""Aid configuration: school years and semesters, categories, tiers, programmes, standards,
quotas — the checks of each service and who may reach the screens."""

from __future__ import annotations

import io
from collections.abc import Callable
from datetime import date
from decimal import Decimal
from typing import Any

import openpyxl
import pytest
from django.test import Client
from django.urls import reverse

from tests.factories import SchoolFactory
from zizhu.aid.models import (
    DifficultyTier,
    HardshipCategory,
    Programme,
    Quota,
    SchoolYear,
    Semester,
    Standard,
    Term,
)
from zizhu.aid.services import config as svc
from zizhu.aid.services.config import ProgrammeData, TermDates
from zizhu.core.errors import DomainError, NotPermitted
from zizhu.core.models import AuditEntry, OrgUnit, Stage, User


@pytest.fixture
def login(client: Client) -> Callable[[User], Client]:
    def sign_in(user: User) -> Client:
        client.force_login(user)
        return client

    return sign_in


def terms(
    autumn: tuple[date, date] = (date(2027, 9, 1), date(2028, 1, 31)),
    spring: tuple[date, date] = (date(2028, 2, 1), date(2028, 8, 31)),
) -> dict[str, TermDates]:
    return {Term.AUTUMN: TermDates(*autumn), Term.SPRING: TermDates(*spring)}


def new_year(actor: User, **overrides: Any) -> SchoolYear:
    values: dict[str, Any] = {
        "code": "2027-2028",
        "starts_on": date(2027, 9, 1),
        "ends_on": date(2028, 8, 31),
        "terms": terms(),
    }
    values.update(overrides)
    return svc.save_school_year(None, actor=actor, **values)


def programme(code: str) -> Programme:
    return Programme.objects.get(code=code)


def programme_data(**overrides: Any) -> ProgrammeData:
    values: dict[str, Any] = {
        "code": "TEST_AID",
        "name": "测试资助",
        "stages": [Stage.SENIOR],
        "grades": [],
        "rhythm": "semester",
        "boarders_only": False,
        "non_boarder_ratio": Decimal("1"),
    }
    values.update(overrides)
    return ProgrammeData(**values)


# --- school years -------------------------------------------------------------------------


def test_district_officer_creates_a_school_year_with_semesters(district_officer: User) -> None:
    year = new_year(district_officer)

    assert [s.term for s in Semester.objects.filter(school_year=year)] == ["autumn", "spring"]
    assert AuditEntry.objects.filter(action="aid.school_year_saved").count() == 1


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"code": "2027-2029"}, "后一年比前一年大 1"),
        ({"ends_on": date(2027, 8, 1)}, "结束日期必须晚于开始日期"),
        ({"terms": terms(autumn=(date(2027, 8, 1), date(2028, 1, 31)))}, "须在学年起止日期"),
        ({"terms": terms(spring=(date(2028, 2, 1), date(2028, 9, 30)))}, "须在学年起止日期"),
        ({"terms": terms(spring=(date(2028, 1, 15), date(2028, 8, 31)))}, "秋季学期须在春季"),
        ({"terms": terms(autumn=(date(2027, 9, 1), date(2027, 9, 1)))}, "结束日期必须晚于开始"),
        ({"code": "2026-2027", "starts_on": date(2026, 9, 1)}, "已存在"),
    ],
)
def test_bad_school_year_dates_are_refused(
    district_officer: User, overrides: dict[str, Any], message: str
) -> None:
    if "starts_on" in overrides:
        overrides["ends_on"] = date(2027, 8, 31)
        overrides["terms"] = terms(
            (date(2026, 9, 1), date(2027, 1, 31)), (date(2027, 2, 1), date(2027, 8, 31))
        )
    with pytest.raises(DomainError, match=message):
        new_year(district_officer, **overrides)


def test_setting_the_current_year_moves_the_flag(district_officer: User) -> None:
    year = new_year(district_officer)

    svc.set_current_school_year(year, actor=district_officer)

    assert list(SchoolYear.objects.filter(current=True)) == [year]
    entry = AuditEntry.objects.get(action="aid.current_year_set")
    assert entry.before == {"current": "2026-2027"}


def test_school_officer_cannot_configure(officer_a: User) -> None:
    with pytest.raises(NotPermitted):
        new_year(officer_a)


# --- categories ---------------------------------------------------------------------------


def test_category_criteria_must_name_columns_of_the_dataset(district_officer: User) -> None:
    low_income = HardshipCategory.objects.get(number=2)

    with pytest.raises(DomainError, match="没有可作条件的字段"):
        svc.update_category(
            low_income,
            actor=district_officer,
            name="低保",
            department="民政",
            dataset_kind="civil_affairs",
            criteria={"household_type": ["脱贫户"]},
        )
    with pytest.raises(DomainError, match="取值“在档”无效"):
        svc.update_category(
            low_income,
            actor=district_officer,
            name="低保",
            department="民政",
            dataset_kind="civil_affairs",
            criteria={"status": ["在档"]},
        )


def test_category_edit_is_saved_and_audited(district_officer: User) -> None:
    low_income = HardshipCategory.objects.get(number=2)

    svc.update_category(
        low_income,
        actor=district_officer,
        name="最低生活保障家庭学生",
        department="区民政局",
        dataset_kind="civil_affairs",
        criteria={"category": ["低保", "低保边缘"], "status": ["在册"]},
    )

    low_income.refresh_from_db()
    assert low_income.criteria == {"category": ["低保", "低保边缘"], "status": ["在册"]}
    assert low_income.department == "区民政局"
    entry = AuditEntry.objects.get(action="aid.category_updated")
    assert entry.before["criteria"] == {"category": ["低保"], "status": ["在册"]}


def test_category_7_keeps_its_visit_and_takes_no_dataset(district_officer: User) -> None:
    other = HardshipCategory.objects.get(number=7)

    with pytest.raises(DomainError, match="第7类"):
        svc.update_category(
            other,
            actor=district_officer,
            name="其他",
            department="学校",
            dataset_kind="civil_affairs",
            criteria={},
        )
    svc.update_category(
        other,
        actor=district_officer,
        name="其他困难",
        department="学校",
        dataset_kind="",
        criteria={},
    )
    other.refresh_from_db()
    assert other.needs_visit


# --- tiers --------------------------------------------------------------------------------


def test_tiers_are_created_and_unused_ones_deleted(district_officer: User) -> None:
    tier = svc.save_tier(None, actor=district_officer, code="extra", name="临时困难", rank=4)

    svc.delete_tier(tier, actor=district_officer)

    assert not DifficultyTier.objects.filter(code="extra").exists()
    assert AuditEntry.objects.filter(action="aid.tier_deleted").count() == 1


def test_a_tier_in_use_cannot_be_deleted(district_officer: User) -> None:
    with pytest.raises(DomainError, match="不能删除"):
        svc.delete_tier(DifficultyTier.objects.get(code="special"), actor=district_officer)


def test_tier_names_and_ranks_are_unique(district_officer: User) -> None:
    with pytest.raises(DomainError, match="顺序"):
        svc.save_tier(None, actor=district_officer, code="extra", name="临时困难", rank=1)


# --- programmes ---------------------------------------------------------------------------


def test_exclusions_are_symmetric(district_officer: User) -> None:
    waiver = programme("HS_TUITION_WAIVER")

    created = svc.save_programme(
        None, actor=district_officer, data=programme_data(excludes=[waiver])
    )

    assert list(waiver.excludes.all()) == [created]
    svc.save_programme(created, actor=district_officer, data=programme_data(excludes=[]))
    assert not waiver.excludes.exists()


def test_default_exclusion_reads_both_ways(db: None) -> None:
    assert programme("VOC_STIPEND") in programme("HS_STIPEND").excludes.all()
    assert programme("HS_STIPEND") in programme("VOC_STIPEND").excludes.all()


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"non_boarder_ratio": Decimal("1.5")}, "0 到 1"),
        ({"non_boarder_ratio": Decimal("-0.1")}, "0 到 1"),
        ({"non_boarder_ratio": Decimal("0.555")}, "两位小数"),
        ({"stages": []}, "适用学段"),
        ({"code": "lower"}, "项目代码"),
        ({"name": "普通高中国家助学金"}, "已被使用"),
    ],
)
def test_bad_programmes_are_refused(
    district_officer: User, overrides: dict[str, Any], message: str
) -> None:
    with pytest.raises(DomainError, match=message):
        svc.save_programme(None, actor=district_officer, data=programme_data(**overrides))


def test_a_programme_cannot_exclude_itself(district_officer: User) -> None:
    stipend = programme("HS_STIPEND")
    data = programme_data(code="HS_STIPEND", name=stipend.name, excludes=[stipend])

    with pytest.raises(DomainError, match="自己"):
        svc.save_programme(stipend, actor=district_officer, data=data)


def test_programmes_are_deactivated_not_deleted(district_officer: User) -> None:
    waiver = programme("HS_TUITION_WAIVER")

    svc.set_programme_active(waiver, actor=district_officer, active=False)

    waiver.refresh_from_db()
    assert not waiver.active
    assert AuditEntry.objects.filter(action="aid.programme_deactivated").count() == 1


# --- standards ----------------------------------------------------------------------------


def test_standards_grid_is_set_per_tier_and_stage(district_officer: User) -> None:
    living = programme("COMPULSORY_LIVING")
    year = SchoolYear.objects.get(current=True)
    special = DifficultyTier.objects.get(code="special")

    assert svc.standard_stages(living) == ["", Stage.PRIMARY, Stage.JUNIOR]
    svc.set_standards(
        living,
        actor=district_officer,
        school_year=year,
        amounts={(special.pk, Stage.JUNIOR): Decimal("1600.00")},
    )

    standard = Standard.objects.get(
        programme=living, school_year=year, tier=special, stage=Stage.JUNIOR
    )
    assert standard.annual_amount == Decimal("1600.00")
    assert AuditEntry.objects.get(action="aid.standards_set").after["changes"] == {
        "特别困难/初中": ["1500.00", "1600.00"]
    }


@pytest.mark.parametrize(
    ("raw", "message"), [("-1", "负数"), ("12.345", "两位小数"), ("abc", "有效金额")]
)
def test_bad_amounts_are_refused(raw: str, message: str) -> None:
    with pytest.raises(DomainError, match=message):
        svc.parse_amount(raw)


def test_negative_standard_is_refused_by_the_service(district_officer: User) -> None:
    special = DifficultyTier.objects.get(code="special")
    with pytest.raises(DomainError, match="负数"):
        svc.set_standards(
            programme("HS_STIPEND"),
            actor=district_officer,
            school_year=SchoolYear.objects.get(current=True),
            amounts={(special.pk, ""): Decimal("-5")},
        )


def test_clearing_a_standard_needs_confirmation(district_officer: User) -> None:
    stipend = programme("HS_STIPEND")
    year = SchoolYear.objects.get(current=True)
    general = DifficultyTier.objects.get(code="general")

    with pytest.raises(DomainError, match="勾选确认"):
        svc.set_standards(
            stipend, actor=district_officer, school_year=year, amounts={(general.pk, ""): None}
        )
    svc.set_standards(
        stipend,
        actor=district_officer,
        school_year=year,
        amounts={(general.pk, ""): None},
        allow_removal=True,
    )
    assert not Standard.objects.filter(programme=stipend, school_year=year, tier=general).exists()


# --- quotas -------------------------------------------------------------------------------


def test_quotas_are_set_in_bulk(
    district_officer: User, school_a: OrgUnit, school_b: OrgUnit
) -> None:
    living = programme("COMPULSORY_LIVING")
    year = SchoolYear.objects.get(current=True)

    result = svc.set_quotas(
        living, actor=district_officer, school_year=year, places={school_a.pk: 30, school_b.pk: 12}
    )

    assert result["changed"] == 2
    assert dict(Quota.objects.values_list("school__code", "places")) == {
        school_a.code: 30,
        school_b.code: 12,
    }
    entry = AuditEntry.objects.get(action="aid.quotas_set")
    assert entry.after["changes"][school_a.code] == [None, 30]


def test_quotas_refuse_negative_places_and_schools_of_another_stage(
    district_officer: User, school_a: OrgUnit
) -> None:
    year = SchoolYear.objects.get(current=True)
    high_school = SchoolFactory(stage=Stage.SENIOR)

    with pytest.raises(DomainError, match="负数"):
        svc.set_quotas(
            programme("COMPULSORY_LIVING"),
            actor=district_officer,
            school_year=year,
            places={school_a.pk: -1},
        )
    with pytest.raises(DomainError, match="不适用"):
        svc.set_quotas(
            programme("COMPULSORY_LIVING"),
            actor=district_officer,
            school_year=year,
            places={high_school.pk: 5},
        )


def test_clearing_a_quota_needs_confirmation(district_officer: User, school_a: OrgUnit) -> None:
    living = programme("COMPULSORY_LIVING")
    year = SchoolYear.objects.get(current=True)
    svc.set_quotas(living, actor=district_officer, school_year=year, places={school_a.pk: 3})

    with pytest.raises(DomainError, match="勾选确认"):
        svc.set_quotas(living, actor=district_officer, school_year=year, places={school_a.pk: None})


# --- screens ------------------------------------------------------------------------------

CONFIG_PAGES = [
    "aid:config_home",
    "aid:config_years",
    "aid:config_year_create",
    "aid:config_categories",
    "aid:config_tiers",
    "aid:config_tier_create",
    "aid:config_programmes",
    "aid:config_programme_create",
    "aid:config_standards",
    "aid:config_quotas",
]


@pytest.mark.parametrize("name", CONFIG_PAGES)
def test_district_officer_opens_every_config_page(
    login: Callable[[User], Client], district_officer: User, school_a: OrgUnit, name: str
) -> None:
    response = login(district_officer).get(reverse(name))

    assert response.status_code == 200


@pytest.mark.parametrize("name", CONFIG_PAGES)
def test_school_officer_cannot_open_config_pages(
    login: Callable[[User], Client], officer_a: User, name: str
) -> None:
    assert login(officer_a).get(reverse(name)).status_code == 403


def test_config_menu_entry_shows_to_district_only(
    login: Callable[[User], Client], officer_a: User, district_officer: User
) -> None:
    url = reverse("aid:config_home")
    assert url not in login(officer_a).get(reverse("core:home")).content.decode()
    assert url in login(district_officer).get(reverse("core:home")).content.decode()


def test_programme_form_refuses_a_ratio_above_one(
    login: Callable[[User], Client], district_officer: User
) -> None:
    response = login(district_officer).post(
        reverse("aid:config_programme_create"),
        {
            "code": "TEST_AID",
            "name": "测试资助",
            "stages": [Stage.SENIOR],
            "rhythm": "semester",
            "non_boarder_ratio": "1.2",
        },
    )

    assert response.status_code == 200
    assert "非寄宿生比例不能大于 1。" in response.content.decode()
    assert not Programme.objects.filter(code="TEST_AID").exists()


def test_year_form_reports_semester_outside_the_year(
    login: Callable[[User], Client], district_officer: User
) -> None:
    response = login(district_officer).post(
        reverse("aid:config_year_create"),
        {
            "code": "2027-2028",
            "starts_on": "2027-09-01",
            "ends_on": "2028-08-31",
            "autumn_starts": "2027-08-01",
            "autumn_ends": "2028-01-31",
            "spring_starts": "2028-02-01",
            "spring_ends": "2028-08-31",
        },
    )

    assert "须在学年起止日期" in response.content.decode()
    assert not SchoolYear.objects.filter(code="2027-2028").exists()


def test_category_form_takes_chinese_headers(
    login: Callable[[User], Client], district_officer: User
) -> None:
    low_income = HardshipCategory.objects.get(number=2)

    response = login(district_officer).post(
        reverse("aid:config_category_edit", args=[low_income.pk]),
        {
            "name": low_income.name,
            "department": "民政",
            "dataset_kind": "civil_affairs",
            "criteria": "救助类别=低保、低保边缘\n状态：在册",
        },
    )

    assert response.status_code == 302
    low_income.refresh_from_db()
    assert low_income.criteria == {"category": ["低保", "低保边缘"], "status": ["在册"]}


def test_standards_grid_saves_and_asks_before_clearing(
    login: Callable[[User], Client], district_officer: User
) -> None:
    stipend = programme("HS_STIPEND")
    year = SchoolYear.objects.get(current=True)
    url = f"{reverse('aid:config_standards')}?year={year.pk}&programme={stipend.pk}"
    tiers = list(DifficultyTier.objects.order_by("rank"))
    grid = {f"amount-{t.pk}-0": "2500" for t in tiers}
    grid[f"amount-{tiers[2].pk}-0"] = ""
    client = login(district_officer)

    asked = client.post(url, grid)
    saved = client.post(url, {**grid, "confirm_removal": "1"})

    assert "确认删除上述标准" in asked.content.decode()
    assert saved.status_code == 302
    amounts = Standard.objects.filter(programme=stipend, school_year=year)
    assert sorted(a.annual_amount for a in amounts) == [Decimal("2500.00")] * 2


def test_standards_grid_reports_negative_amounts(
    login: Callable[[User], Client], district_officer: User
) -> None:
    stipend = programme("HS_STIPEND")
    year = SchoolYear.objects.get(current=True)
    url = f"{reverse('aid:config_standards')}?year={year.pk}&programme={stipend.pk}"
    grid = {f"amount-{t.pk}-0": "-100" for t in DifficultyTier.objects.all()}

    response = login(district_officer).post(url, grid)

    assert "不能为负数" in response.content.decode()
    assert not Standard.objects.filter(programme=stipend, annual_amount__lt=0).exists()


def test_quota_grid_bulk_fill_and_export(
    login: Callable[[User], Client], district_officer: User, school_a: OrgUnit, school_b: OrgUnit
) -> None:
    living = programme("COMPULSORY_LIVING")
    year = SchoolYear.objects.get(current=True)
    query = f"?year={year.pk}&programme={living.pk}"
    client = login(district_officer)

    client.post(reverse("aid:config_quotas") + query, {"fill_all": "8"})
    export = client.get(reverse("aid:config_quota_export") + query)

    assert set(Quota.objects.values_list("places", flat=True)) == {8}
    sheet = openpyxl.load_workbook(io.BytesIO(export.content), read_only=True).active
    rows = [tuple(row) for row in sheet.iter_rows(values_only=True)]
    assert rows[0] == ("学年", "资助项目", "所属街镇", "学校代码", "学校名称", "学段", "名额")
    assert ("2026-2027", living.name, "邾城街道", school_a.code, school_a.name, "小学", "8") in rows


def test_setting_the_current_year_asks_first(
    login: Callable[[User], Client], district_officer: User
) -> None:
    year = SchoolYear.objects.get(code="2025-2026")
    url = reverse("aid:config_year_current", args=[year.pk])
    client = login(district_officer)

    unconfirmed = client.post(url, {})
    confirmed = client.post(url, {"confirm": "on"})

    assert "请勾选确认" in unconfirmed.content.decode()
    assert confirmed.status_code == 302
    assert SchoolYear.objects.get(current=True) == year
