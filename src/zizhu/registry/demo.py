"""The demo district: fictitious schools, students, guardians, staff and one login per role.

Everything is drawn from `random.Random(seed)`, so one seed always gives the same people; only
the school year and the certificate dates follow today's date. Accounts, roles and
certificates go through `core.services` (style.md, "Data": demo data is built on the same
services); the register itself is bulk-inserted, because 20,000 students must seed in under a
minute (issue 2) and the sensitive fields fill their blind indexes in `pre_save`, which
`bulk_create` calls.

Every name, ID number, phone and bank account here is invented. ID numbers are valid
(GB 11643-1999 check character) but are built from random birth dates and sequence digits.
"""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from datetime import date, timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone

from zizhu.core import audit, services
from zizhu.core.errors import DomainError
from zizhu.core.idnumbers import make_id_number
from zizhu.core.models import OrgUnit, Role, Stage, UnitKind, User
from zizhu.registry.models import Guardian, GuardianRelation, Post, Staff, Student

AREA_CODE = "420117"
DEMO_PASSWORD = "Zizhu@Demo2026"  # noqa: S105 - the published demo password, not a secret
LOGIN_URL = "http://127.0.0.1:8000/login/"
BATCH = 2000

# --- reference tables ------------------------------------------------------------------

SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蒋蔡余杜叶程"
    "苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛段雷侯龙史陶黎贺顾毛"
)
GIVEN_MALE = "伟强磊军勇杰涛斌超明刚平辉鹏华飞鑫波宇浩凯健俊帆帅旭宁龙林晨阳博文轩睿泽子一天宏志"
GIVEN_FEMALE = "芳娟敏静丽艳娜霞燕玲婷雪慧琳颖倩佳欣怡悦思雨梦涵琪瑶诗月婉晴可馨彤萱妍心语若"
VILLAGES = (
    "李家",
    "河口",
    "塘角",
    "新桥",
    "石咀",
    "柳河",
    "龙王",
    "白庙",
    "杨岗",
    "花园",
    "桥头",
    "胡湾",
)
EMPLOYERS = ("务农", "外出务工", "个体经营", "新洲区某建材公司", "武汉某物流公司", "待业", "")

# The grades of each stage with their year index: 1 is primary grade one, 0 the final
# kindergarten year, 10 the first year of high school or secondary vocational school.
_PRIMARY = ("一年级", "二年级", "三年级", "四年级", "五年级", "六年级")
GRADES: dict[str, tuple[tuple[str, int], ...]] = {
    Stage.PRESCHOOL: (("小班", -2), ("中班", -1), ("大班", 0)),
    Stage.PRIMARY: tuple(zip(_PRIMARY, range(1, 7), strict=True)),
    Stage.JUNIOR: (("七年级", 7), ("八年级", 8), ("九年级", 9)),
    Stage.NINE_YEAR: tuple(
        zip((*_PRIMARY, "七年级", "八年级", "九年级"), range(1, 10), strict=True)
    ),
    Stage.SENIOR: (("高一", 10), ("高二", 11), ("高三", 12)),
    Stage.VOCATIONAL: (("一年级", 10), ("二年级", 11), ("三年级", 12)),
}


@dataclass(frozen=True)
class StageRule:
    digit: int  # the stage's digit in the school code
    count: int  # schools of this stage in the district
    first_suffix: str
    suffix: str  # "{ordinal}" becomes 第二, 第三 …
    boarding_share: float
    size: float  # relative number of students


STAGE_RULES: dict[str, StageRule] = {
    Stage.PRESCHOOL: StageRule(1, 22, "中心幼儿园", "{ordinal}幼儿园", 0.0, 1.0),
    Stage.PRIMARY: StageRule(2, 28, "中心小学", "{ordinal}小学", 0.25, 2.5),
    Stage.JUNIOR: StageRule(3, 12, "第一初级中学", "{ordinal}初级中学", 0.6, 3.0),
    Stage.NINE_YEAR: StageRule(4, 8, "实验学校", "{ordinal}实验学校", 0.7, 3.0),
    Stage.SENIOR: StageRule(5, 6, "高级中学", "{ordinal}高级中学", 1.0, 5.0),
    Stage.VOCATIONAL: StageRule(6, 4, "职业技术学校", "{ordinal}职业技术学校", 0.75, 3.5),
}
ORDINALS = ("", "第二", "第三", "第四", "第五", "第六", "第七", "第八", "第九")
# Stages every town has one of (its 中心小学 and 中心幼儿园); the rest are spread by weight.
IN_EVERY_TOWN = (Stage.PRESCHOOL, Stage.PRIMARY)
TOWN_WEIGHTS = {"邾城街道": 3.0, "阳逻街道": 3.0, "道观河风景旅游区": 0.5}
TOWN_PREFIXES = {"阳逻经济开发区": "阳逻开发区", "道观河风景旅游区": "道观河"}

# --- the demo accounts -------------------------------------------------------------------

HOME_TOWN = "邾城街道"  # the town supervisor's town, holding the demo school
UNCERTIFIED_TOWN = "阳逻街道"
EXPIRED_TOWN = "仓埠街道"


class Cert:
    NONE = "none"
    VALID = "valid"
    EXPIRED = "expired"


@dataclass(frozen=True)
class DemoAccount:
    username: str
    role: str
    place: str  # "district", "town", or the town whose 中心小学 the account works at
    certificate: str = Cert.NONE
    note: str = ""


# The district head comes first: it issues the certificates.
DEMO_ACCOUNTS: tuple[DemoAccount, ...] = (
    DemoAccount("demo_head", Role.DISTRICT_HEAD, "district", Cert.VALID),
    DemoAccount("demo_district", Role.DISTRICT_OFFICER, "district", Cert.VALID),
    DemoAccount("demo_inspection", Role.INSPECTION_TEAM, "district"),
    DemoAccount("demo_auditor", Role.AUDITOR, "district"),
    DemoAccount("demo_admin", Role.SYSADMIN, "district"),
    DemoAccount("demo_town", Role.TOWN_SUPERVISOR, "town"),
    DemoAccount("demo_officer", Role.SCHOOL_OFFICER, HOME_TOWN, Cert.VALID),
    DemoAccount(
        "demo_officer2", Role.SCHOOL_OFFICER, HOME_TOWN, Cert.VALID, "第二名资助专干：负责学校初审"
    ),
    DemoAccount("demo_principal", Role.PRINCIPAL, HOME_TOWN),
    DemoAccount("demo_inspector", Role.SCHOOL_INSPECTOR, HOME_TOWN),
    DemoAccount("demo_uncertified", Role.SCHOOL_OFFICER, UNCERTIFIED_TOWN, note="未取得上岗证"),
    DemoAccount("demo_expired", Role.SCHOOL_OFFICER, EXPIRED_TOWN, Cert.EXPIRED, "上岗证已过期"),
)
_SCHOOL_POST = {
    Role.SCHOOL_OFFICER: Post.AID_OFFICER,
    Role.PRINCIPAL: Post.PRINCIPAL,
    Role.SCHOOL_INSPECTOR: Post.OTHER,
}


@dataclass(frozen=True)
class DemoSummary:
    schools: int
    students: int
    guardians: int
    staff: int
    accounts: int


# --- pure helpers ------------------------------------------------------------------------


def school_year_start(today: date) -> int:
    """The calendar year the current school year began in (it starts on 1 September)."""
    return today.year if today.month >= 9 else today.year - 1


def birth_window(year_index: int, school_year: int) -> tuple[date, date]:
    """Birth dates of a cohort: grade one takes children who are six by 31 August."""
    last = date(school_year - 5 - year_index, 8, 31)
    return date(last.year - 1, 9, 1), last


def town_prefix(town_name: str) -> str:
    """邾城街道 → 邾城街, 凤凰镇 → 凤凰镇, as local school names use them."""
    if town_name in TOWN_PREFIXES:
        return TOWN_PREFIXES[town_name]
    return town_name.removesuffix("道")


def school_name(town_name: str, stage: str, ordinal: int) -> str:
    rule = STAGE_RULES[stage]
    prefix = town_prefix(town_name)
    if ordinal == 1:
        return prefix + rule.first_suffix
    return prefix + rule.suffix.format(ordinal=ORDINALS[ordinal - 1])


def person_name(rng: random.Random, *, male: bool, surname: str | None = None) -> str:
    pool = GIVEN_MALE if male else GIVEN_FEMALE
    given = "".join(rng.choice(pool) for _ in range(rng.choice((1, 2, 2))))
    return (surname or rng.choice(SURNAMES)) + given


def phone_number(rng: random.Random) -> str:
    return f"13{rng.randrange(10)}{rng.randrange(10**8):08d}"


def bank_account(rng: random.Random) -> str:
    return f"62{rng.randrange(10**17):017d}"


def random_date(rng: random.Random, first: date, last: date) -> date:
    return first + timedelta(days=rng.randint(0, (last - first).days))


class IdAllocator:
    """Unique fictitious ID numbers: a running sequence per birth date and gender."""

    def __init__(self) -> None:
        self._next: dict[tuple[date, bool], int] = defaultdict(int)

    def take(self, birth: date, *, male: bool) -> str:
        sequence = self._next[birth, male]
        if sequence >= 500:  # make_id_number has 500 distinct numbers per date and gender
            raise DomainError(f"演示数据中 {birth} 出生的人数过多。")
        self._next[birth, male] = sequence + 1
        return make_id_number(AREA_CODE, birth, sequence, male=male)


# --- schools -----------------------------------------------------------------------------


@dataclass(frozen=True)
class SchoolPlan:
    code: str
    name: str
    town: str
    stage: str
    boarding: bool


def plan_schools(rng: random.Random, towns: list[OrgUnit]) -> list[SchoolPlan]:
    """~80 schools: a 中心小学 and 中心幼儿园 in every town, the rest spread by town size."""
    per_town: dict[tuple[str, str], int] = defaultdict(int)
    for stage, rule in STAGE_RULES.items():
        extra = rule.count
        if stage in IN_EVERY_TOWN:
            for town in towns:
                per_town[town.name, stage] += 1
            extra -= len(towns)
        weights = [TOWN_WEIGHTS.get(town.name, 1.0) for town in towns]
        for town in rng.choices(towns, weights=weights, k=extra):
            per_town[town.name, stage] += 1
    plans = []
    for town in towns:
        for stage, rule in STAGE_RULES.items():
            for ordinal in range(1, min(per_town[town.name, stage], 9) + 1):
                boarding = rng.random() < rule.boarding_share
                code = f"{AREA_CODE}{int(town.code[-3:]):02d}{rule.digit}{ordinal}"
                name = school_name(town.name, stage, ordinal)
                plans.append(SchoolPlan(code, name, town.name, stage, boarding))
    return plans


def create_schools(plans: list[SchoolPlan], towns: dict[str, OrgUnit]) -> list[OrgUnit]:
    if OrgUnit.objects.filter(code__in=[plan.code for plan in plans]).exists():
        raise DomainError("演示学校的代码已被占用：演示数据只能生成在没有学校的库中。")
    return OrgUnit.objects.bulk_create(
        OrgUnit(
            kind=UnitKind.SCHOOL,
            code=plan.code,
            name=plan.name,
            parent=towns[plan.town],
            stage=plan.stage,
            boarding=plan.boarding,
        )
        for plan in plans
    )


# --- staff and accounts ------------------------------------------------------------------


def plan_staff(rng: random.Random, school: OrgUnit, ids: IdAllocator) -> list[Staff]:
    """A head (校长 or 园长), an aid officer, a discipline inspector and several teachers."""
    head = Post.KINDERGARTEN_HEAD if school.stage == Stage.PRESCHOOL else Post.PRINCIPAL
    posts = [head, Post.AID_OFFICER, Post.OTHER] + [Post.TEACHER] * rng.randint(4, 8)
    staff = []
    for post in posts:
        male = rng.random() < 0.5
        birth = random_date(rng, date(1966, 1, 1), date(1998, 12, 31))
        staff.append(
            Staff(
                id_number=ids.take(birth, male=male),
                name=person_name(rng, male=male),
                school=school,
                post=post,
                hardship_staff=post == Post.TEACHER and rng.random() < 0.08,
                phone=phone_number(rng),
            )
        )
    return staff


def _account_unit(account: DemoAccount, district: OrgUnit, schools: list[OrgUnit]) -> OrgUnit:
    if account.place == "district":
        return district
    if account.place == "town":
        return OrgUnit.objects.get(kind=UnitKind.TOWN, name=HOME_TOWN)
    return demo_school(schools, account.place)


def demo_school(schools: list[OrgUnit], town_name: str) -> OrgUnit:
    """The town's 中心小学, where that town's school-level demo accounts work."""
    wanted = school_name(town_name, Stage.PRIMARY, 1)
    return next(school for school in schools if school.name == wanted)


def _certify(user: User, *, issuer: User, kind: str, number: str, today: date) -> None:
    if kind == Cert.VALID:
        issued, expires = today - timedelta(days=200), today + timedelta(days=3 * 365 - 200)
    elif kind == Cert.EXPIRED:
        issued, expires = today - timedelta(days=3 * 365 + 30), today - timedelta(days=30)
    else:
        return
    services.issue_certification(
        user, actor=issuer, number=number, issued_on=issued, expires_on=expires
    )


def _staff_for(account: DemoAccount, staff: list[Staff], unit: OrgUnit) -> Staff | None:
    post = _SCHOOL_POST.get(Role(account.role))
    if post is None:
        return None
    # Two officers at one school: the second takes the next free row of that post, else a
    # teacher (demo_officer2 is a teacher who also does aid work).
    free = [s for s in staff if s.school_id == unit.pk and s.user_id is None]
    return next((s for s in free if s.post == post), None) or next(
        (s for s in free if s.post == Post.TEACHER), None
    )


def create_accounts(
    rng: random.Random, district: OrgUnit, schools: list[OrgUnit], staff: list[Staff]
) -> list[User]:
    """One login per role; school accounts take the name of their school's staff row."""
    today = timezone.localdate()
    users: list[User] = []
    for number, account in enumerate(DEMO_ACCOUNTS, start=1):
        unit = _account_unit(account, district, schools)
        record = _staff_for(account, staff, unit)
        full_name = record.name if record else person_name(rng, male=rng.random() < 0.5)
        user = services.create_user(
            account.username, actor=None, full_name=full_name, password=DEMO_PASSWORD
        )
        services.assign_role(user, actor=None, role=account.role, org_unit=unit)
        cert_number = f"XZZZ-{today:%Y}-{number:04d}"
        issuer = users[0] if users else user  # DEMO_ACCOUNTS[0] is the district head
        _certify(user, issuer=issuer, kind=account.certificate, number=cert_number, today=today)
        if record is not None:
            record.user = user
        users.append(user)
    return users


# --- students and guardians ----------------------------------------------------------------


@dataclass
class StudentPlan:
    student: Student
    guardians: list[Guardian] = field(default_factory=list)


_GUARDIAN_SETS: tuple[tuple[tuple[str, ...], float], ...] = (
    ((GuardianRelation.FATHER, GuardianRelation.MOTHER), 0.55),
    ((GuardianRelation.FATHER,), 0.15),
    ((GuardianRelation.MOTHER,), 0.10),
    ((GuardianRelation.GRANDFATHER, GuardianRelation.GRANDMOTHER), 0.08),
    ((GuardianRelation.GRANDMOTHER,), 0.06),
    ((GuardianRelation.MATERNAL_GRANDMOTHER,), 0.04),
    ((GuardianRelation.OTHER,), 0.02),
)
_MALE_RELATIONS = {
    GuardianRelation.FATHER,
    GuardianRelation.GRANDFATHER,
    GuardianRelation.MATERNAL_GRANDFATHER,
}
_OLDER = {GuardianRelation.FATHER: (22, 38), GuardianRelation.MOTHER: (20, 36)}


def plan_guardians(
    rng: random.Random, ids: IdAllocator, *, surname: str, child_birth: date
) -> list[Guardian]:
    """1–2 guardians; about 5% have no ID number on file (seed 二(一)3 data gaps)."""
    sets, weights = zip(*_GUARDIAN_SETS, strict=True)
    relations = rng.choices(sets, weights=weights)[0]
    guardians = []
    for relation in relations:
        male = relation in _MALE_RELATIONS
        low, high = _OLDER.get(relation, (45, 62))
        birth = random_date(
            rng,
            child_birth - timedelta(days=365 * high),
            child_birth - timedelta(days=365 * low),
        )
        same_surname = relation in (GuardianRelation.FATHER, GuardianRelation.GRANDFATHER)
        guardians.append(
            Guardian(
                name=person_name(rng, male=male, surname=surname if same_surname else None),
                id_number=ids.take(birth, male=male) if rng.random() >= 0.05 else None,
                relation=relation,
                employer=rng.choice(EMPLOYERS),
                phone=phone_number(rng),
            )
        )
    return guardians


@dataclass(frozen=True)
class SchoolContext:
    school: OrgUnit
    town: str
    classes: int
    school_year: int


def address(rng: random.Random, town: str) -> str:
    village = rng.choice(VILLAGES)
    return f"湖北省武汉市新洲区{town}{village}村{rng.randint(1, 9)}组{rng.randint(1, 80)}号"


def plan_student(rng: random.Random, ids: IdAllocator, ctx: SchoolContext) -> StudentPlan:
    grades = GRADES[ctx.school.stage]
    grade, year_index = rng.choice(grades)
    male = rng.random() < 0.52
    birth = random_date(rng, *birth_window(year_index, ctx.school_year))
    surname = rng.choice(SURNAMES)
    id_number = ids.take(birth, male=male)
    guardians = plan_guardians(rng, ids, surname=surname, child_birth=birth)
    holders = [g.id_number for g in guardians if g.id_number]
    holder = holders[0] if holders and rng.random() < 0.7 else id_number
    home = address(rng, ctx.town)
    student = Student(
        id_number=id_number,
        name=person_name(rng, male=male, surname=surname),
        gender="男" if male else "女",
        birth_date=birth,
        area_code=AREA_CODE,
        school=ctx.school,
        grade=grade,
        grade_rank=year_index,
        class_name=f"{rng.randint(1, ctx.classes)}班",
        boarder=ctx.school.boarding and year_index > 0 and rng.random() < 0.6,
        enrolled_on=date(ctx.school_year - (year_index - grades[0][1]), 9, 1),
        hukou_address=home,
        home_address=home if rng.random() < 0.85 else address(rng, ctx.town),
        phone=guardians[0].phone,
        bank_account=bank_account(rng),
        card_holder_id=holder,
    )
    return StudentPlan(student, guardians)


def students_per_school(rng: random.Random, schools: list[OrgUnit], total: int) -> list[int]:
    weights = [STAGE_RULES[school.stage].size for school in schools]
    counts = [0] * len(schools)
    for index in rng.choices(range(len(schools)), weights=weights, k=total):
        counts[index] += 1
    return counts


def plan_students(
    rng: random.Random, schools: list[OrgUnit], total: int, ids: IdAllocator
) -> Iterator[StudentPlan]:
    school_year = school_year_start(timezone.localdate())
    towns: dict[int | None, str] = dict(
        OrgUnit.objects.filter(kind=UnitKind.TOWN).values_list("pk", "name")
    )
    for school, count in zip(schools, students_per_school(rng, schools, total), strict=True):
        per_grade = count / len(GRADES[school.stage])
        classes = max(1, round(per_grade / 45))
        ctx = SchoolContext(school, towns[school.parent_id], classes, school_year)
        for _ in range(count):
            yield plan_student(rng, ids, ctx)


def insert_students(plans: Iterator[StudentPlan]) -> tuple[int, int]:
    """Bulk-insert in batches; guardians follow their students, whose keys come back."""
    students = guardians = 0
    batch: list[StudentPlan] = []
    for plan in plans:
        batch.append(plan)
        if len(batch) == BATCH:
            students, guardians = _flush(batch, students, guardians)
    return _flush(batch, students, guardians)


def _flush(batch: list[StudentPlan], students: int, guardians: int) -> tuple[int, int]:
    Student.objects.bulk_create([plan.student for plan in batch], batch_size=BATCH)
    rows = []
    for plan in batch:
        for guardian in plan.guardians:
            guardian.student = plan.student
            rows.append(guardian)
    Guardian.objects.bulk_create(rows, batch_size=BATCH)
    count = len(batch)
    batch.clear()
    return students + count, guardians + len(rows)


# --- the entry point -------------------------------------------------------------------------


def _reference_units() -> tuple[OrgUnit, list[OrgUnit]]:
    district = OrgUnit.objects.filter(kind=UnitKind.DISTRICT, code=AREA_CODE).first()
    towns = list(OrgUnit.objects.filter(kind=UnitKind.TOWN, parent=district).order_by("code"))
    if district is None or not towns:
        raise DomainError("缺少新洲区及街镇基础数据，请先执行 zizhu migrate。")
    return district, towns


@transaction.atomic
def seed_demo(*, students: int, seed: int) -> DemoSummary:
    """Seed the demo district into a database that has its reference units but no schools."""
    usernames = [account.username for account in DEMO_ACCOUNTS]
    if User.objects.filter(username__in=usernames).exists():
        raise DomainError("演示账号已存在：演示数据只能生成一次。")
    rng = random.Random(seed)  # noqa: S311 - reproducible fictitious data, not secrets
    ids = IdAllocator()
    district, towns = _reference_units()
    schools = create_schools(plan_schools(rng, towns), {town.name: town for town in towns})
    staff = [person for school in schools for person in plan_staff(rng, school, ids)]
    users = create_accounts(rng, district, schools, staff)
    Staff.objects.bulk_create(staff, batch_size=BATCH)
    student_count, guardian_count = insert_students(plan_students(rng, schools, students, ids))
    summary = DemoSummary(len(schools), student_count, guardian_count, len(staff), len(users))
    audit.record(
        "demo.seeded",
        actor=None,
        actor_label="演示数据",
        after={"seed": seed, **asdict(summary)},
    )
    return summary


def certificate_state(user: User, *, today: date | None = None) -> str:
    """For the demo-logins table: 有效 / 已过期 / 已吊销 / 未取证."""
    today = today or timezone.localdate()
    live = services.live_certificate(user, on=today)
    if live is not None:
        return f"有效（至 {live.expires_on:%Y-%m-%d}）"
    latest = user.certifications.order_by("-expires_on").first()
    if latest is None:
        return "未取证"
    if latest.revoked_at is not None:
        return "已吊销"
    if latest.expires_on < today:
        return f"已过期（{latest.expires_on:%Y-%m-%d}）"
    return f"未生效（自 {latest.issued_on:%Y-%m-%d}）"


def demo_login_rows() -> list[dict[str, Any]]:
    """The demo accounts present in the database, in DEMO_ACCOUNTS order."""
    users = {
        user.username: user
        for user in User.objects.filter(
            username__in=[a.username for a in DEMO_ACCOUNTS]
        ).prefetch_related("assignments__org_unit")
    }
    rows = []
    for account in DEMO_ACCOUNTS:
        user = users.get(account.username)
        if user is None:
            continue
        units = "、".join(a.org_unit.name for a in user.assignments.all())
        rows.append(
            {
                "username": account.username,
                "password": DEMO_PASSWORD,
                "name": user.full_name,
                "role": Role(account.role).label,
                "unit": units,
                "certificate": certificate_state(user),
            }
        )
    return rows
