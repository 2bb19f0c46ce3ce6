"""Default configuration from mission.md and exchange-formats.md; all editable afterwards.

Tuition-waiver and preschool amounts follow local charges: the defaults here are
placeholders the district centre is expected to correct on the configuration page.
"""

from datetime import date
from decimal import Decimal

from django.db import migrations

CATEGORIES = [
    # number, name, department, dataset, criteria ({attr: allowed values}), needs_visit
    (
        1,
        "脱贫家庭学生/防返贫监测对象",
        "乡村振兴",
        "rural_revitalization",
        {"status": ["在册"]},
        False,
    ),
    (
        2,
        "最低生活保障家庭学生",
        "民政",
        "civil_affairs",
        {"category": ["低保"], "status": ["在册"]},
        False,
    ),
    (
        3,
        "特困供养学生",
        "民政",
        "civil_affairs",
        {"category": ["特困供养"], "status": ["在册"]},
        False,
    ),
    (
        4,
        "孤儿/事实无人抚养儿童",
        "民政",
        "civil_affairs",
        {"category": ["孤儿", "事实无人抚养儿童"], "status": ["在册"]},
        False,
    ),
    (5, "烈士子女", "退役军人事务", "martyrs_children", {}, False),
    (6, "家庭经济困难残疾学生及残疾人子女", "残联", "disability", {"status": ["有效"]}, False),
    (7, "其他家庭经济困难学生", "学校评议", "", {}, True),
]

TIERS = [("special", "特别困难", 1), ("relative", "比较困难", 2), ("general", "一般困难", 3)]

PRIMARY = ["小学"]
COMPULSORY = ["小学", "初中", "九年一贯制"]
PROGRAMMES = [
    # code, name, stages, grades, rhythm, non_boarder_ratio
    ("PRESCHOOL_AID", "学前教育资助", ["幼儿园"], [], "semester", "1"),
    ("COMPULSORY_LIVING", "义务教育家庭经济困难学生生活补助", COMPULSORY, [], "semester", "0.5"),
    ("HS_STIPEND", "普通高中国家助学金", ["高中"], [], "semester", "1"),
    ("HS_TUITION_WAIVER", "普通高中免学杂费", ["高中"], [], "semester", "1"),
    ("VOC_STIPEND", "中职国家助学金", ["中职"], ["一年级", "二年级"], "semester", "1"),
    ("VOC_TUITION_WAIVER", "中职免学费", ["中职"], [], "semester", "1"),
]
EXCLUSIONS = [("HS_STIPEND", "VOC_STIPEND")]

# (programme, stage or "", {tier code: yuan a year})
STANDARDS = [
    ("PRESCHOOL_AID", "", {"special": "1000", "relative": "1000", "general": "1000"}),
    ("COMPULSORY_LIVING", "小学", {"special": "1250", "relative": "1250", "general": "1250"}),
    ("COMPULSORY_LIVING", "初中", {"special": "1500", "relative": "1500", "general": "1500"}),
    ("HS_STIPEND", "", {"special": "3000", "relative": "2000", "general": "1000"}),
    ("HS_TUITION_WAIVER", "", {"special": "1600", "relative": "1600", "general": "1600"}),
    ("VOC_STIPEND", "", {"special": "3000", "relative": "2000", "general": "1000"}),
    ("VOC_TUITION_WAIVER", "", {"special": "2000", "relative": "2000", "general": "2000"}),
]

YEARS = [
    # code, start, end, current, (autumn start, autumn end), (spring start, spring end)
    (
        "2025-2026",
        date(2025, 9, 1),
        date(2026, 8, 31),
        False,
        (date(2025, 9, 1), date(2026, 1, 31)),
        (date(2026, 2, 1), date(2026, 8, 31)),
    ),
    (
        "2026-2027",
        date(2026, 9, 1),
        date(2027, 8, 31),
        True,
        (date(2026, 9, 1), date(2027, 1, 31)),
        (date(2027, 2, 1), date(2027, 8, 31)),
    ),
]


def seed(apps, schema_editor):
    category = apps.get_model("aid", "HardshipCategory")
    tier = apps.get_model("aid", "DifficultyTier")
    programme = apps.get_model("aid", "Programme")
    standard = apps.get_model("aid", "Standard")
    school_year = apps.get_model("aid", "SchoolYear")
    semester = apps.get_model("aid", "Semester")
    for number, name, department, dataset, criteria, visit in CATEGORIES:
        category.objects.create(
            number=number,
            name=name,
            department=department,
            dataset_kind=dataset,
            criteria=criteria,
            needs_visit=visit,
        )
    tiers = {
        code: tier.objects.create(code=code, name=name, rank=rank) for code, name, rank in TIERS
    }
    programmes = {}
    for code, name, stages, grades, rhythm, ratio in PROGRAMMES:
        programmes[code] = programme.objects.create(
            code=code,
            name=name,
            stages=stages,
            grades=grades,
            rhythm=rhythm,
            non_boarder_ratio=Decimal(ratio),
        )
    for a, b in EXCLUSIONS:
        programmes[a].excludes.add(programmes[b])
    for code, start, end, current, autumn, spring in YEARS:
        year = school_year.objects.create(code=code, starts_on=start, ends_on=end, current=current)
        semester.objects.create(
            school_year=year, term="autumn", starts_on=autumn[0], ends_on=autumn[1]
        )
        semester.objects.create(
            school_year=year, term="spring", starts_on=spring[0], ends_on=spring[1]
        )
        for code_, stage, amounts in STANDARDS:
            for tier_code, amount in amounts.items():
                standard.objects.create(
                    programme=programmes[code_],
                    school_year=year,
                    tier=tiers[tier_code],
                    stage=stage,
                    annual_amount=Decimal(amount),
                )


def unseed(apps, schema_editor):
    for name in (
        "Standard",
        "Semester",
        "SchoolYear",
        "Programme",
        "DifficultyTier",
        "HardshipCategory",
    ):
        apps.get_model("aid", name).objects.all().delete()


class Migration(migrations.Migration):
    dependencies = [("aid", "0001_initial")]
    operations = [migrations.RunPython(seed, unseed)]
