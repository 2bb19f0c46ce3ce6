"""factory_boy factories for test data. Accounts and reach go through the services."""

from __future__ import annotations

import itertools
from datetime import date

import factory

from zizhu.core.idnumbers import make_id_number
from zizhu.core.models import OrgUnit, Stage, UnitKind
from zizhu.registry.models import Guardian, Staff, Student

_serial = itertools.count(1)


def district() -> OrgUnit:
    return OrgUnit.objects.get(kind=UnitKind.DISTRICT, code="420117")


def town(name: str = "邾城街道") -> OrgUnit:
    return OrgUnit.objects.get(kind=UnitKind.TOWN, name=name)


def fake_id(birth: date = date(2014, 3, 1), *, male: bool = True) -> str:
    return make_id_number("420117", birth, next(_serial), male=male)


class SchoolFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = OrgUnit

    kind = UnitKind.SCHOOL
    code = factory.Sequence(lambda n: f"42011799{n:02d}")
    name = factory.Sequence(lambda n: f"测试第{n}小学")
    parent = factory.LazyFunction(town)
    stage = Stage.PRIMARY
    boarding = False


class StudentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Student

    id_number = factory.LazyFunction(fake_id)
    name = factory.Sequence(lambda n: f"测试学生{n}")
    gender = "男"
    birth_date = date(2014, 3, 1)
    area_code = "420117"
    school = factory.SubFactory(SchoolFactory)
    grade = "六年级"
    grade_rank = 6
    class_name = "1班"
    phone = "13800001234"
    bank_account = "6217000010001234567"


class GuardianFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Guardian

    student = factory.SubFactory(StudentFactory)
    name = factory.Sequence(lambda n: f"测试家长{n}")
    id_number = factory.LazyFunction(lambda: fake_id(date(1985, 6, 1)))
    relation = "父亲"
    phone = "13900005678"


class StaffFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Staff

    id_number = factory.LazyFunction(lambda: fake_id(date(1980, 1, 1)))
    name = factory.Sequence(lambda n: f"测试教师{n}")
    school = factory.SubFactory(SchoolFactory)
    post = "教师"
