"""Seed 2004–2026 holidays and 调休 make-up working days from chinesecalendar 1.11.0.

Years after 2026 are entered by an administrator when the State Council publishes them.
"""

from django.db import migrations

FIRST_YEAR, LAST_YEAR = 2004, 2026

NAMES = {
    "New Year's Day": "元旦",
    "Spring Festival": "春节",
    "Tomb-sweeping Day": "清明节",
    "Labour Day": "劳动节",
    "Dragon Boat Festival": "端午节",
    "National Day": "国庆节",
    "Mid-autumn Festival": "中秋节",
    "Anti-Fascist 70th Day": "中国人民抗日战争胜利70周年纪念日",
}


def _name(value: object) -> str:
    text = getattr(value, "value", value)
    if isinstance(text, tuple):
        text = text[0]
    return NAMES.get(str(text), str(text))


def seed(apps, schema_editor):
    from chinese_calendar import constants

    calendar_year = apps.get_model("core", "CalendarYear")
    calendar_day = apps.get_model("core", "CalendarDay")
    days = [
        calendar_day(date=day, kind="holiday", name=_name(name))
        for day, name in constants.holidays.items()
        if FIRST_YEAR <= day.year <= LAST_YEAR
    ] + [
        calendar_day(date=day, kind="workday", name=_name(name))
        for day, name in constants.workdays.items()
        if FIRST_YEAR <= day.year <= LAST_YEAR
    ]
    calendar_day.objects.bulk_create(days)
    calendar_year.objects.bulk_create(
        calendar_year(year=year, complete=True, source="chinesecalendar 1.11.0（国务院办公厅通知）")
        for year in range(FIRST_YEAR, LAST_YEAR + 1)
    )


def unseed(apps, schema_editor):
    apps.get_model("core", "CalendarDay").objects.filter(
        date__year__gte=FIRST_YEAR, date__year__lte=LAST_YEAR
    ).delete()
    apps.get_model("core", "CalendarYear").objects.filter(
        year__gte=FIRST_YEAR, year__lte=LAST_YEAR
    ).delete()


class Migration(migrations.Migration):
    dependencies = [("core", "0001_initial")]
    operations = [migrations.RunPython(seed, unseed)]
