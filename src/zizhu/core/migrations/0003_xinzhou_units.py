"""Reference data: Xinzhou district (420117) and its towns/streets' education branches.

Names from mission.md: 12 streets, 凤凰镇, the 阳逻经济开发区 and the 道观河风景旅游区.
Codes are this system's own (area code + a 3-digit sequence), not official statistics codes.
"""

from django.db import migrations

DISTRICT = ("420117", "新洲区")
TOWNS = [
    "邾城街道",
    "阳逻街道",
    "仓埠街道",
    "三店街道",
    "旧街街道",
    "双柳街道",
    "李集街道",
    "汪集街道",
    "潘塘街道",
    "涨渡湖街道",
    "辛冲街道",
    "徐古街道",
    "凤凰镇",
    "阳逻经济开发区",
    "道观河风景旅游区",
]


def seed(apps, schema_editor):
    org_unit = apps.get_model("core", "OrgUnit")
    district = org_unit.objects.create(kind="district", code=DISTRICT[0], name=DISTRICT[1])
    org_unit.objects.bulk_create(
        org_unit(kind="town", code=f"420117{i:03d}", name=name, parent=district)
        for i, name in enumerate(TOWNS, start=1)
    )


def unseed(apps, schema_editor):
    org_unit = apps.get_model("core", "OrgUnit")
    org_unit.objects.filter(kind="town", code__startswith="420117").delete()
    org_unit.objects.filter(kind="district", code=DISTRICT[0]).delete()


class Migration(migrations.Migration):
    dependencies = [("core", "0002_seed_calendar")]
    operations = [migrations.RunPython(seed, unseed)]
