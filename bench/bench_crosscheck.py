"""Issue 6: the cross-checks at Wuhan-city scale — 1,500,000 students, 2,500,000 guardians,
~4,000,000 department rows — end to end in 60 s or less and 4 GiB or less, with the time of a
bare DuckDB join of the same keys printed beside it.

`bench_crosscheck_full` runs against whatever database Django is configured for; the caller
sets up a fresh, migrated one (bench/run.py does). Generation is not timed: the register,
awards, staff and twelve department dataset versions are written straight into the real
tables with bulk SQL (executemany on SQLite, COPY on PostgreSQL), with the application's blind
index and encryption. The timed part runs in a fresh Python process, so its peak resident
memory (VmHWM: Python and DuckDB share the process) is the run's alone. Run alone with:

    DATABASE_URL=sqlite:////tmp/bench_xc.sqlite3 .venv/bin/zizhu migrate
    DATABASE_URL=sqlite:////tmp/bench_xc.sqlite3 .venv/bin/python bench/bench_crosscheck.py

`ZIZHU_BENCH_XC_STUDENTS` scales everything down (e.g. 30000) for a quick try.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import random
import resource
import secrets
import subprocess
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from operator import itemgetter
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from zizhu.core.models import User

LIMIT_SECONDS = 60.0
LIMIT_MIB = 4096.0
STUDENTS = int(os.environ.get("ZIZHU_BENCH_XC_STUDENTS", "1500000"))
SEED = 6
USERNAME = "bench_crosscheck"
AREA = "420117"
FLUSH = 50_000
DATASET_AS_OF = date(2026, 10, 31)

# Schools by stage at full scale (1,500) and each stage's share of the students.
STAGE_MIX = (
    ("幼儿园", 480, 0.15),
    ("小学", 560, 0.42),
    ("初中", 190, 0.17),
    ("九年一贯制", 90, 0.08),
    ("高中", 110, 0.12),
    ("中职", 70, 0.06),
)
SIBLINGS = 0.20  # share of families with two children in school
TWO_GUARDIANS = 2 / 3  # 1.5 M students in 1.25 M families → ~2.5 M guardian rows
RECIPIENT_FAMILY = 0.10  # ~10 % of students hold a live award
STAFF = 100_000
# Probability per recipient family (per family, so per ~1.2 recipients) of each planted
# violation. Kept to 0.1–0.5 % of recipients, about what a district's first run finds.
PLANT = {
    "OFFICIAL_FAMILY": 0.003,
    "FAVORITISM": 0.002,
    "AFFLUENCE": 0.004,
    "DECEASED_OR_GONE": 0.0015,
    "DUPLICATE_AID": 0.001,
    "CATEGORY_UNSUPPORTED": 0.003,
    "CARD_HOLDER_MISMATCH": 0.002,
    "LINKED": 0.0005,  # an ID-less guardian who is an official (for the Splink linkage)
}
IDENTITY_MISMATCH = 0.0003  # of all students: 学籍 name ≠ 户籍 name
MISSED_ELIGIBLE = 0.0004  # of non-recipient families: 低保 in 民政 data, no award
# Background (no violation): share of guardians with an ID number in each dataset.
BACKGROUND = {
    "public_payroll": 0.04,
    "cadres": 0.003,
    "village_cadres": 0.004,
    "staff": 0.013,
    "vehicles": 0.11,
    "businesses": 0.035,
    "social_insurance": 0.12,
}
# People outside the register in each dataset (elderly, childless adults …), at full scale.
POOL = {
    "civil_affairs": 45_000,
    "rural_revitalization": 30_000,
    "disability": 30_000,
    "martyrs_children": 150,
    "deaths": 50_000,
    "vehicles": 80_000,
    "businesses": 30_000,
    "social_insurance": 40_000,
    "cadres": 3_000,
    "public_payroll": 20_000,
    "village_cadres": 5_000,
}
HOUSEHOLD_STUDENT = 0.93  # the rest are registered outside the city (外地户籍)
HOUSEHOLD_GUARDIAN = 0.90

# Names, villages, employers and grades come from the demo district (registry.demo).
ESTATES = (
    "金桥",
    "滨江",
    "幸福",
    "阳光",
    "锦绣",
    "华府",
    "翠园",
    "新城",
    "东方",
    "丽景",
    "书香",
    "和谐",
)
CARS = ("小型轿车",) * 8 + ("小型普通客车", "轻型普通货车")
NOT_COUNTED = ("普通二轮摩托车", "三轮汽车", "低速货车")


# --- the application's blind index and encryption, primed for speed ------------------------


def hasher(kind: str) -> Callable[[str], str]:
    """`crypto.blind_index(value, kind)` for normalised values, checked on a probe."""
    from django.conf import settings

    from zizhu.core import crypto

    primed = hmac.new(
        base64.b64decode(settings.ZIZHU_BLIND_INDEX_KEY), f"{kind}:".encode(), hashlib.sha256
    )

    def fast(value: str) -> str:
        digest = primed.copy()
        digest.update(value.encode())
        return digest.hexdigest()

    probe = "42011720120101001X" if kind == "id_number" else "13800000000"
    assert fast(probe) == crypto.blind_index(probe, kind)
    return fast


def sealer(kind: str) -> Callable[[str], str]:
    """`crypto.encrypt(value, kind=kind)` without its per-call key lookup, checked by
    decrypting a probe with the application's own function."""
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM
    from django.conf import settings

    from zizhu.core import crypto

    key_id = crypto.active_key_id()
    cipher: AESGCM = crypto._keys(settings.ZIZHU_ENCRYPTION_KEYS)[key_id]
    bound, urandom, encode = kind.encode(), os.urandom, base64.b64encode

    def seal(value: str) -> str:
        nonce = urandom(12)
        return f"{key_id}${encode(nonce + cipher.encrypt(nonce, value.encode(), bound)).decode()}"

    assert crypto.decrypt(seal("42011720120101001X"), kind=kind) == "42011720120101001X"
    return seal


# --- bulk writing ---------------------------------------------------------------------------


class Sink:
    """Rows for one table, written FLUSH at a time: COPY on PostgreSQL, executemany of one
    prepared INSERT on SQLite (one transaction per flush)."""

    def __init__(self, table: str, columns: Sequence[str], *, after: Sink | None = None) -> None:
        from django.db import connection

        self.table, self.columns = table, tuple(columns)
        self.after = after  # rows here reference rows there: flush that one first
        self.rows: list[tuple[Any, ...]] = []
        self.count = 0
        self.postgres = connection.vendor == "postgresql"

    def add(self, row: tuple[Any, ...]) -> None:
        self.rows.append(row)
        if len(self.rows) >= FLUSH:
            self.flush()

    def flush(self) -> None:
        from django.db import connection, transaction

        if not self.rows:
            return
        if self.after is not None:
            self.after.flush()
        names = ", ".join(f'"{c}"' for c in self.columns)
        with transaction.atomic(), connection.cursor() as cursor:
            if self.postgres:
                with cursor.copy(f'COPY "{self.table}" ({names}) FROM STDIN') as copy:
                    for row in self.rows:
                        copy.write_row(row)
            else:
                marks = ", ".join(["%s"] * len(self.columns))
                cursor.executemany(
                    f'INSERT INTO "{self.table}" ({names}) VALUES ({marks})',  # noqa: S608
                    self.rows,
                )
        self.count += len(self.rows)
        self.rows = []


@contextmanager
def indexes_deferred(tables: Sequence[str]) -> Iterator[None]:
    """Drop the plain (non-constraint) indexes of `tables`, load, then create them again
    from their own definitions: one sort per index instead of millions of random B-tree
    insertions."""
    from django.db import connection

    saved: list[tuple[str, str]] = []
    with connection.cursor() as cursor:
        for table in tables:
            if connection.vendor == "postgresql":
                cursor.execute(
                    "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = %s"
                    " AND indexname NOT IN (SELECT conname FROM pg_constraint)",
                    [table],
                )
            else:
                cursor.execute(
                    "SELECT name, sql FROM sqlite_master WHERE type = 'index'"
                    " AND tbl_name = %s AND sql IS NOT NULL",
                    [table],
                )
            saved += cursor.fetchall()
        for name, _ in saved:
            cursor.execute(f'DROP INDEX "{name}"')
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            for _, ddl in saved:
                cursor.execute(ddl)


# --- people ---------------------------------------------------------------------------------


class Person:
    __slots__ = ("birth", "hash", "id", "male", "name", "phone")

    def __init__(self, id_number: str | None, name: str, male: bool, birth: date) -> None:
        self.id, self.name, self.male, self.birth = id_number, name, male, birth
        self.hash: str | None = None
        self.phone = ""


_LIVE_ONLY = (("2026-2027", "live", None),)
_LAST_YEAR_TOO = (("2025-2026", "ended", "2026-08-01"), ("2026-2027", "live", None))


@dataclass
class Child:
    person: Person
    pk: int
    school: int  # index into City.schools
    stage: str
    grade: str
    rank: int
    status: str = "enrolled"
    awards: list[tuple[str, int]] = field(default_factory=list)  # (programme, school index)
    years: tuple[tuple[str, str, str | None], ...] = _LIVE_ONLY  # (year, status, end month)
    category: int | None = None
    tier: int = 0
    holder: Person | None = None  # the card holder, when not drawn from the family
    in_household: bool = False  # always in the household data (a plant needs it there)


@dataclass
class Figures:
    students: int = 0
    guardians: int = 0
    guardians_without_id: int = 0
    staff: int = 0
    awards: int = 0
    recipients: int = 0
    records: Counter[str] = field(default_factory=Counter)
    planted: dict[str, set[int]] = field(default_factory=lambda: defaultdict(set))


class City:
    """Draws the city from one seeded generator and writes it as it goes."""

    def __init__(self, students: int, officer: User) -> None:
        from django.db import connection
        from django.utils import timezone

        from zizhu.core.crypto import Sensitive, mask
        from zizhu.core.idnumbers import check_character
        from zizhu.registry import demo

        self.rng = random.Random(SEED)  # fictitious data, reproducible
        self.surnames, self.villages, self.employers = demo.SURNAMES, demo.VILLAGES, demo.EMPLOYERS
        self.given = {True: demo.GIVEN_MALE, False: demo.GIVEN_FEMALE}
        self.grades = demo.GRADES  # stage → ((grade, year index), …)
        self.scale = students / 1_500_000
        self.total = students
        self.officer = officer
        self.hash_id, self.hash_phone = hasher("id_number"), hasher("phone")
        self.hash_card = hasher("bank_account")
        self.seal_id, self.seal_phone = sealer("id_number"), sealer("phone")
        self.seal_card = sealer("bank_account")
        self.mask = lambda value: mask(value, Sensitive.ID_NUMBER)
        self.check = check_character
        self.sequence: dict[tuple[date, bool], int] = defaultdict(int)
        self.serial = 0  # phones, bank accounts and household numbers
        self.now = connection.ops.adapt_datetimefield_value(timezone.now())
        self.figures = Figures()
        self.row_numbers: Counter[str] = Counter()
        self.records: dict[str, list[tuple[Any, ...]]] = defaultdict(list)
        self.versions: dict[str, int] = {}
        self.programmes: dict[str, int] = {}
        self.categories: dict[int, int] = {}
        self.tiers: list[int] = []
        self.years: dict[str, int] = {}
        self.schools: list[tuple[int, str, str]] = []  # (pk, stage, town)
        self.by_stage: dict[str, list[int]] = defaultdict(list)
        self.sinks = self._sinks()

    # -- the small things

    def unique(self) -> int:
        self.serial += 1
        return self.serial

    def phone(self) -> str:
        # A bijection of the serial over 10^9: unique, scattered numbers.
        return f"13{(self.unique() * 7_919_113 + 12_345) % 1_000_000_000:09d}"

    def card(self) -> str:
        return f"62{(self.unique() * 48_271_009 + 777) % 10**17:017d}"

    def name(self, male: bool, surname: str | None = None) -> str:
        rng = self.rng
        pool = self.given[male]
        given = rng.choice(pool) + (rng.choice(pool) if rng.random() < 0.7 else "")
        return (surname or rng.choice(self.surnames)) + given

    def person(
        self, first: date, days: int, *, male: bool | None = None, surname: str | None = None
    ) -> Person:
        rng = self.rng
        male = rng.random() < 0.5 if male is None else male
        birth = first + timedelta(days=rng.randrange(days))
        while self.sequence[birth, male] >= 500:  # 500 numbers per date and gender
            birth += timedelta(days=1)
        sequence = self.sequence[birth, male]
        self.sequence[birth, male] = sequence + 1
        gender = (sequence // 100) % 5 * 2 + (1 if male else 0)
        first17 = f"{AREA}{birth:%Y%m%d}{sequence % 100:02d}{gender}"
        person = Person(first17 + self.check(first17), self.name(male, surname), male, birth)
        person.hash = self.hash_id(person.id)
        person.phone = self.phone()
        return person

    def adult(self, first_year: int = 1965, last_year: int = 1996) -> Person:
        return self.person(date(first_year, 1, 1), (last_year - first_year) * 365)

    def address(self, town: str) -> str:
        """A flat in a housing estate (60 %) or a house in a village group."""
        rng = self.rng
        if rng.random() < 0.6:
            return (
                f"湖北省武汉市{town}{rng.choice(ESTATES)}小区{rng.randint(1, 40)}栋"
                f"{rng.randint(1, 4)}单元{rng.randint(1, 33)}{rng.randint(1, 4):02d}室"
            )
        return (
            f"湖北省武汉市{town}{rng.choice(self.villages)}村{rng.randint(1, 15)}组"
            f"{rng.randint(1, 400)}号"
        )

    # -- sinks and reference data

    def _sinks(self) -> dict[str, Sink]:
        students = Sink(
            "registry_student",
            (
                "id",
                "id_number",
                "id_number_hash",
                "name",
                "gender",
                "birth_date",
                "area_code",
                "school_id",
                "grade",
                "grade_rank",
                "class_name",
                "boarder",
                "status",
                "enrolled_on",
                "hukou_address",
                "home_address",
                "phone",
                "phone_hash",
                "bank_account",
                "bank_account_hash",
                "card_holder_id",
                "card_holder_id_hash",
                "created_at",
                "updated_at",
            ),
        )
        return {
            "student": students,
            "guardian": Sink(
                "registry_guardian",
                (
                    "student_id",
                    "name",
                    "id_number",
                    "id_number_hash",
                    "relation",
                    "employer",
                    "phone",
                    "phone_hash",
                ),
                after=students,
            ),
            "staff": Sink(
                "registry_staff",
                (
                    "id_number",
                    "id_number_hash",
                    "name",
                    "school_id",
                    "post",
                    "hardship_staff",
                    "phone",
                    "phone_hash",
                ),
            ),
            "award": Sink(
                "aid_award",
                (
                    "student_id",
                    "school_id",
                    "programme_id",
                    "school_year_id",
                    "category_id",
                    "tier_id",
                    "annual_amount",
                    "start_month",
                    "end_month",
                    "status",
                    "source",
                    "created_at",
                ),
                after=students,
            ),
            "record": Sink(
                "sources_datasetrecord",
                (
                    "version_id",
                    "row_number",
                    "person_hash",
                    "person_masked",
                    "name",
                    "related_hash",
                    "attrs",
                ),
            ),
        }

    def reference(self) -> None:
        from zizhu.aid.models import DifficultyTier, HardshipCategory, Programme, SchoolYear
        from zizhu.sources.formats import FORMATS
        from zizhu.sources.models import DatasetVersion

        self.programmes = dict(Programme.objects.values_list("code", "pk"))
        self.categories = dict(HardshipCategory.objects.values_list("number", "pk"))
        self.tiers = list(DifficultyTier.objects.order_by("rank").values_list("pk", flat=True))
        self.years = dict(SchoolYear.objects.values_list("code", "pk"))
        for kind, spec in FORMATS.items():
            version = DatasetVersion.objects.create(
                kind=kind,
                number=1,
                department=spec.department,
                as_of=DATASET_AS_OF,
                file_name=f"{kind}_{DATASET_AS_OF:%Y%m}.csv",
                sha256=hashlib.sha256(kind.encode()).hexdigest(),
                row_count=0,
                imported_by=self.officer,
            )
            self.versions[kind] = version.pk

    def create_schools(self) -> None:
        from zizhu.core.models import OrgUnit, UnitKind

        towns = list(OrgUnit.objects.filter(kind=UnitKind.TOWN).order_by("code"))
        units = []
        for digit, (stage, count, _) in enumerate(STAGE_MIX, start=1):
            for n in range(max(1, round(count * self.scale))):
                town = towns[n % len(towns)]
                units.append(
                    OrgUnit(
                        kind=UnitKind.SCHOOL,
                        code=f"XC{digit}{n:05d}",
                        name=f"{town.name.removesuffix('道')}第{n + 1}{_SUFFIX[stage]}",
                        parent=town,
                        stage=stage,
                        boarding=stage in ("高中", "中职") or n % 4 == 0,
                    )
                )
        names = {town.pk: town.name for town in towns}
        for unit in OrgUnit.objects.bulk_create(units):
            self.by_stage[unit.stage].append(len(self.schools))
            self.schools.append((unit.pk, unit.stage, names[unit.parent_id]))

    # -- department records

    def record(
        self, kind: str, person: Person, attrs: dict[str, str], related: Person | None = None
    ) -> None:
        assert person.id is not None and person.hash is not None
        self.row_numbers[kind] += 1
        related_hash = "" if related is None or related.hash is None else related.hash
        self.records[kind].append(
            (
                self.versions[kind],
                self.row_numbers[kind] + 1,  # row 1 is the header
                person.hash,
                self.mask(person.id),
                person.name,
                related_hash,
                json.dumps(attrs, ensure_ascii=False, separators=(",", ":")),
            )
        )

    def write_records(self) -> None:
        """Each version's records together, sorted by person hash: the layout an import
        leaves (sources.services sorts the same way before inserting)."""
        sink = self.sinks["record"]
        for kind in sorted(self.records):
            rows = self.records.pop(kind)
            rows.sort(key=itemgetter(2))
            for row in rows:
                sink.add(row)
            sink.flush()

    def household(self, members: list[tuple[Person, str]], address: str) -> None:
        number = f"4201{self.unique():09d}"
        for person, relation in members:
            self.record(
                "household",
                person,
                {"household_no": number, "relation_to_head": relation, "address": address},
            )

    def vehicle(self, person: Person, *, counted: bool) -> None:
        rng = self.rng
        kind = rng.choice(CARS) if counted else rng.choice(NOT_COUNTED)
        registered = date(2008, 1, 1) + timedelta(days=rng.randrange(6000))
        self.record(
            "vehicles",
            person,
            {
                "plate": f"鄂A{self.unique() % 100000:05d}",
                "vehicle_type": kind,
                "registered_on": registered.isoformat(),
                "status": "正常",
            },
        )

    def business(self, person: Person, *, counted: bool) -> None:
        rng = self.rng
        n = self.unique()
        role = rng.choice(("法定代表人", "股东")) if counted else "个体经营者"
        capital = rng.choice(("100", "200", "500", "1000")) if counted else str(rng.randint(1, 50))
        self.record(
            "businesses",
            person,
            {
                "company": f"武汉市某某{n % 9973}商贸有限公司",
                "credit_code": f"91420117MA{n % 10**8:08d}",
                "role": role,
                "capital_10k_yuan": capital,
                "status": "存续",
            },
        )

    def insurance(self, person: Person, *, base: int) -> None:
        self.record(
            "social_insurance",
            person,
            {
                "employer": f"武汉某{self.rng.choice(('建设', '物流', '制造', '商贸'))}公司",
                "monthly_base_yuan": f"{base}.00",
                "status": "正常",
            },
        )

    def payroll(self, person: Person) -> None:
        self.record(
            "public_payroll",
            person,
            {
                "unit": self.rng.choice(("区教育局", "区财政局", "某街道办事处", "区人民医院")),
                "kind": self.rng.choice(("公务员", "参公", "事业编", "其他")),
            },
        )

    def cadre(self, person: Person) -> None:
        self.record(
            "cadres",
            person,
            {"unit": "某街道办事处", "title": self.rng.choice(("主任", "副主任")), "rank": "科级"},
        )

    def village_cadre(self, person: Person, town: str) -> None:
        village = f"{town}{self.rng.choice(self.villages)}村"
        self.record(
            "village_cadres",
            person,
            {"village": village, "title": self.rng.choice(("党支部书记", "村委会主任", "委员"))},
        )

    def staff(
        self, person: Person, school: int, post: str, *, hardship: bool = False, phone: str = ""
    ) -> None:
        assert person.id is not None
        phone = phone or person.phone
        self.sinks["staff"].add(
            (
                self.seal_id(person.id),
                person.hash,
                person.name,
                self.schools[school][0],
                post,
                hardship,
                self.seal_phone(phone),
                self.hash_phone(phone),
            )
        )
        self.figures.staff += 1


_SUFFIX = {
    "幼儿园": "幼儿园",
    "小学": "小学",
    "初中": "初级中学",
    "九年一贯制": "实验学校",
    "高中": "高级中学",
    "中职": "职业技术学校",
}
_GONE = ("transferred_out", "dropped_out", "suspended")  # 转出, 退学, 休学
_PROGRAMME_AMOUNT = {
    "PRESCHOOL_AID": (1000, 1000, 1000),
    "HS_STIPEND": (3000, 2000, 1000),
    "HS_TUITION_WAIVER": (1600, 1600, 1600),
    "VOC_STIPEND": (3000, 2000, 1000),
    "VOC_TUITION_WAIVER": (2000, 2000, 2000),
}


def programmes_for(stage: str, rank: int) -> list[str]:
    if stage == "幼儿园":
        return ["PRESCHOOL_AID"]
    if stage == "高中":
        return ["HS_STIPEND", "HS_TUITION_WAIVER"]
    if stage == "中职":
        return ["VOC_TUITION_WAIVER"] + (["VOC_STIPEND"] if rank < 12 else [])
    return ["COMPULSORY_LIVING"]


def amount(programme: str, rank: int, tier: int) -> Decimal:
    if programme == "COMPULSORY_LIVING":
        return Decimal(1500 if rank >= 7 else 1250)
    return Decimal(_PROGRAMME_AMOUNT[programme][tier])


# --- families -------------------------------------------------------------------------------


class Families:
    """One family at a time: children, guardians, household, awards, department records and
    whatever violation the dice plant."""

    def __init__(self, city: City) -> None:
        self.city = city
        self.rng = city.rng
        self.year_start = 2026
        self.slots = self._slots()
        self.next_pk = self._first_pk()

    def _first_pk(self) -> int:
        from zizhu.registry.models import Student

        top = Student.objects.order_by("-pk").values_list("pk", flat=True).first()
        return (top or 0) + 1

    def _slots(self) -> list[tuple[int, str, int]]:
        """(school, grade, year index) for every student place, shuffled."""
        city, rng = self.city, self.rng
        slots: list[tuple[int, str, int]] = []
        for stage, _, share in STAGE_MIX:
            schools = city.by_stage[stage]
            grades = city.grades[stage]
            places = round(share * city.total)
            weights = [rng.uniform(0.5, 1.5) for _ in schools]
            for school in rng.choices(schools, weights=weights, k=places):
                grade, rank = rng.choice(grades)
                slots.append((school, grade, rank))
        rng.shuffle(slots)
        return slots[: city.total]

    def run(self) -> None:
        i, slots = 0, self.slots
        while i < len(slots):
            kids = 2 if i + 1 < len(slots) and self.rng.random() < SIBLINGS else 1
            self.family(slots[i : i + kids])
            i += kids

    # -- one family

    def child(self, slot: tuple[int, str, int], surname: str) -> Child:
        school, grade, rank = slot
        last = date(self.year_start - 5 - rank, 8, 31)
        person = self.city.person(
            date(last.year - 1, 9, 1), 365, male=self.rng.random() < 0.52, surname=surname
        )
        pk, self.next_pk = self.next_pk, self.next_pk + 1
        return Child(person, pk, school, self.city.schools[school][1], grade, rank)

    def guardians(self, oldest: date, surname: str) -> list[tuple[Person, str, bool]]:
        """(person, relation, has an ID number on file). ~15 % of rows lack the number."""
        rng, city = self.rng, self.city
        if rng.random() < TWO_GUARDIANS:
            pair = ("父亲", "母亲") if rng.random() < 0.85 else ("祖父", "祖母")
        else:
            pair = (rng.choices(("母亲", "父亲", "祖母", "外祖母"), (4, 3, 2, 1))[0],)
        out = []
        for relation in pair:
            male = relation in ("父亲", "祖父")
            older = relation in ("祖父", "祖母", "外祖母")
            lead = rng.randint(45, 62) if older else rng.randint(22, 38)
            first = oldest - timedelta(days=365 * lead)
            person = city.person(first, 365, male=male, surname=surname if male else None)
            known = rng.random() >= (0.28 if older else 0.12)
            out.append((person, relation, known))
        return out

    def family(self, slots: Sequence[tuple[int, str, int]]) -> None:
        rng, city = self.rng, self.city
        surname = rng.choice(city.surnames)
        kids = [self.child(slot, surname) for slot in slots]
        oldest = min(kid.person.birth for kid in kids)
        adults = self.guardians(oldest, surname)
        known = [p for p, _, has in adults if has]
        town = city.schools[kids[0].school][2]
        home = city.address(town)
        recipient = rng.random() < RECIPIENT_FAMILY
        extra: list[tuple[Person, str]] = []  # household members who are not guardians
        if recipient:
            self.recipient(kids, adults, known, extra, home)
        else:
            self.background(kids, known, town)
        self.write(kids, adults, home, recipient)
        self.write_household(kids, adults, extra, home)

    def write(
        self, kids: list[Child], adults: list[tuple[Person, str, bool]], home: str, recipient: bool
    ) -> None:
        city, rng = self.city, self.rng
        known = [p for p, _, has in adults if has]
        for kid in kids:
            p = kid.person
            assert p.id is not None
            holder: Person | None = None
            account = ""
            if recipient or rng.random() < 0.2:
                account = city.card()
                holder = kid.holder or (rng.choice(known) if known and rng.random() < 0.5 else p)
            phone = adults[0][0].phone
            school_pk, stage, _ = city.schools[kid.school]
            city.sinks["student"].add(
                (
                    kid.pk,
                    city.seal_id(p.id),
                    p.hash,
                    p.name,
                    "男" if p.male else "女",
                    p.birth.isoformat(),
                    AREA,
                    school_pk,
                    kid.grade,
                    kid.rank,
                    f"{rng.randint(1, 8)}班",
                    stage in ("高中", "中职") and rng.random() < 0.6,
                    kid.status,
                    date(self.year_start - max(0, kid.rank - 1), 9, 1).isoformat(),
                    home,
                    home,
                    city.seal_phone(phone),
                    city.hash_phone(phone),
                    city.seal_card(account) if account else None,
                    city.hash_card(account) if account else None,
                    city.seal_id(holder.id) if holder and holder.id else None,
                    holder.hash if holder else None,
                    city.now,
                    city.now,
                )
            )
            for person, relation, has in adults:
                city.sinks["guardian"].add(
                    (
                        kid.pk,
                        person.name,
                        city.seal_id(person.id) if has and person.id else None,
                        person.hash if has else None,
                        relation,
                        rng.choice(city.employers),
                        city.seal_phone(person.phone),
                        city.hash_phone(person.phone),
                    )
                )
                city.figures.guardians += 1
                city.figures.guardians_without_id += not has
            self.write_awards(kid)
        city.figures.students += len(kids)

    def write_awards(self, kid: Child) -> None:
        city = self.city
        tier, category = kid.tier, kid.category
        for programme, school in kid.awards:
            for year, status, end in kid.years:
                city.sinks["award"].add(
                    (
                        kid.pk,
                        city.schools[school][0],
                        city.programmes[programme],
                        city.years[year],
                        city.categories[category] if category else None,
                        city.tiers[tier],
                        amount(programme, kid.rank, tier),
                        f"{year[:4]}-09-01",
                        end,
                        status,
                        "migration",
                        city.now,
                    )
                )
                city.figures.awards += 1

    def write_household(
        self,
        kids: list[Child],
        adults: list[tuple[Person, str, bool]],
        extra: list[tuple[Person, str]],
        home: str,
    ) -> None:
        rng, city = self.rng, self.city
        members: list[tuple[Person, str]] = []
        for person, relation, has in adults:
            if has and rng.random() < HOUSEHOLD_GUARDIAN:
                members.append((person, "户主" if not members else _HEAD_RELATION[relation]))
        for kid in kids:
            mismatch = kid.status == "enrolled" and rng.random() < IDENTITY_MISMATCH
            if not (mismatch or kid.in_household or rng.random() < HOUSEHOLD_STUDENT):
                continue
            shown = kid.person
            if mismatch:  # 户籍 spells the name differently (one character)
                shown = Person(shown.id, shown.name[:-1] + "晓", shown.male, shown.birth)
                shown.hash = kid.person.hash
                city.figures.planted["IDENTITY_MISMATCH"].add(kid.pk)
            members.append((shown, "户主" if not members else ("子" if shown.male else "女")))
        members += extra
        if members:
            city.household(members, home)

    # -- background families: no violation, but the officials, cars and firms of a city

    def background(self, kids: list[Child], known: list[Person], town: str) -> None:
        rng, city = self.rng, self.city
        for kid in kids:
            if rng.random() < 0.015:
                kid.status = rng.choice(("suspended", "transferred_out", "dropped_out"))
        for person in known:
            self.official(person, town)
            self.belongings(person)
        if rng.random() < MISSED_ELIGIBLE and known:
            for person in known:
                city.record("civil_affairs", person, _DIBAO, related=known[0])
            for kid in kids:
                if kid.status == "enrolled":
                    city.figures.planted["MISSED_ELIGIBLE"].add(kid.pk)

    def official(self, person: Person, town: str) -> None:
        """Some parents are civil servants, cadres or teachers: no violation without aid."""
        rng, city = self.rng, self.city
        if rng.random() < BACKGROUND["public_payroll"]:
            city.payroll(person)
        elif rng.random() < BACKGROUND["cadres"]:
            city.cadre(person)
        elif rng.random() < BACKGROUND["village_cadres"]:
            city.village_cadre(person, town)
        elif rng.random() < BACKGROUND["staff"]:
            school = rng.randrange(len(city.schools))
            city.staff(person, school, rng.choice(("教师", "教师", "教师", "其他")))

    def belongings(self, person: Person) -> None:
        rng, city = self.rng, self.city
        if rng.random() < BACKGROUND["vehicles"]:
            city.vehicle(person, counted=rng.random() < 0.85)
        if rng.random() < BACKGROUND["businesses"]:
            city.business(person, counted=rng.random() < 0.3)
        if rng.random() < BACKGROUND["social_insurance"]:
            city.insurance(person, base=rng.randint(2500, 20000))
        if rng.random() < 0.004:  # left 低保 years ago: not evidence of anything
            city.record("civil_affairs", person, _LEFT_DIBAO, related=person)

    # -- recipient families

    def recipient(
        self,
        kids: list[Child],
        adults: list[tuple[Person, str, bool]],
        known: list[Person],
        extra: list[tuple[Person, str]],
        home: str,
    ) -> None:
        rng, city = self.rng, self.city
        category = rng.choices((1, 2, 3, 4, 5, 6, 7), (30, 25, 4, 3, 0.5, 7.5, 30))[0]
        tier = rng.choices((0, 1, 2), (3, 4, 3))[0]
        planted = {rule for rule, p in PLANT.items() if rng.random() < p}
        for kid in kids:
            kid.category, kid.tier = category, tier
            kid.awards = [(p, kid.school) for p in programmes_for(kid.stage, kid.rank)]
            if rng.random() < 0.6:  # aided last year too: an ended award beside the live one
                kid.years = _LAST_YEAR_TOO
        city.figures.recipients += len(kids)
        self.evidence(kids, known, category, unsupported="CATEGORY_UNSUPPORTED" in planted)
        self.noise(known)
        for rule in sorted(planted):
            done = getattr(self, "plant_" + rule.lower())(kids, adults, known, extra, home)
            if done:
                city.figures.planted[rule].update(done)

    def evidence(
        self, kids: list[Child], known: list[Person], category: int, *, unsupported: bool
    ) -> None:
        """The department records that back the family's category (or, planted, a record
        that no longer does: 已退出, 注销)."""
        city, rng = self.city, self.rng
        children = [kid.person for kid in kids]
        head = known[0] if known else children[0]
        if category == 1:
            status = "已退出" if unsupported else "在册"
            attrs = {"household_type": rng.choice(_HOUSEHOLD_TYPES), "status": status}
            for person in children + known:
                city.record("rural_revitalization", person, attrs, related=head)
        elif category in (2, 3, 4):
            name = {2: "低保", 3: "特困供养", 4: rng.choice(("孤儿", "事实无人抚养儿童"))}[category]
            attrs = {**_DIBAO, "category": name}
            if unsupported:
                attrs.update(status="已退出", end_on="2026-06-30")
            for person in children + known if category == 2 else children:
                city.record("civil_affairs", person, attrs, related=head)
        elif category == 5 and not unsupported:
            for person in children:
                city.record("martyrs_children", person, {"martyr_name": city.name(True)})
        elif category == 6:
            # 残疾人子女: a disabled guardian covers every child; else the children themselves.
            attrs = {"kind": rng.choice(_DISABILITIES), "level": rng.choice(_LEVELS)}
            attrs["status"] = "注销" if unsupported else "有效"
            for person in [rng.choice(known)] if known else children:
                city.record("disability", person, attrs)

    def noise(self, known: list[Person]) -> None:
        """What a poor family has that does not count: a motorbike, a low insurance base."""
        rng, city = self.rng, self.city
        for person in known:
            if rng.random() < 0.05:
                city.vehicle(person, counted=False)
            if rng.random() < 0.08:
                city.insurance(person, base=rng.randint(2200, 6000))
            if rng.random() < 0.01:
                city.business(person, counted=False)

    # each plant_* returns the student ids it expects the rule to find (empty: not planted)

    def plant_official_family(
        self, kids: list[Child], adults: Any, known: list[Person], *_: Any
    ) -> list[int]:
        if not known:
            return []
        rng, city = self.rng, self.city
        person = rng.choice(known)
        roll = rng.random()
        if roll < 0.6:
            city.payroll(person)
        elif roll < 0.8:
            city.cadre(person)
        else:  # staff (not hardship staff) of another school
            school = rng.randrange(len(city.schools))
            if school == kids[0].school:
                school = (school + 1) % len(city.schools)
            city.staff(person, school, "其他")
        return [kid.pk for kid in kids]

    def plant_favoritism(
        self,
        kids: list[Child],
        adults: Any,
        known: list[Person],
        extra: list[tuple[Person, str]],
        home: str,
    ) -> list[int]:
        rng, city = self.rng, self.city
        kid = kids[0]
        roll = rng.random()
        if roll < 0.4 and known:  # a guardian teaches at the child's school (hardship staff)
            city.staff(rng.choice(known), kid.school, "教师", hardship=True)
            return [k.pk for k in kids if k.school == kid.school]
        if roll < 0.7:  # a village cadre in the same household
            cadre = city.adult()
            city.village_cadre(cadre, city.schools[kid.school][2])
            extra.append((cadre, "其他"))
            for k in kids:
                k.in_household = True
            return [k.pk for k in kids]
        # the aid officer of the child's school shares the family's phone
        officer = city.adult()
        city.staff(officer, kid.school, "资助专干", phone=adults[0][0].phone)
        return [k.pk for k in kids if k.school == kid.school]

    def plant_affluence(
        self, kids: list[Child], adults: Any, known: list[Person], *_: Any
    ) -> list[int]:
        if not known:
            return []
        rng, city = self.rng, self.city
        person = rng.choice(known)
        roll = rng.random()
        if roll < 0.5:
            city.vehicle(person, counted=True)
        elif roll < 0.75:
            city.business(person, counted=True)
        else:
            city.insurance(person, base=rng.randint(8000, 25000))
        return [kid.pk for kid in kids]

    def plant_deceased_or_gone(self, kids: list[Child], *_: Any) -> list[int]:
        rng, city = self.rng, self.city
        kid = kids[0]
        if rng.random() < 1 / 3:
            died = date(2026, 1, 1) + timedelta(days=rng.randrange(280))
            city.record("deaths", kid.person, {"died_on": died.isoformat()})
        else:
            kid.status = rng.choice(_GONE)
        return [kid.pk]

    def plant_duplicate_aid(self, kids: list[Child], *_: Any) -> list[int]:
        rng, city = self.rng, self.city
        kid = kids[0]
        roll = rng.random()
        first = kid.awards[0][0]
        if roll < 1 / 3:  # the same programme twice
            kid.awards.append((first, kid.school))
        elif roll < 2 / 3:  # aided at a second school of the same stage
            kid.awards.append((first, rng.choice(city.by_stage[kid.stage])))
        elif kid.stage in ("高中", "中职"):  # mutually exclusive: 普高 and 中职 助学金
            kid.awards = [("HS_STIPEND", kid.school), ("VOC_STIPEND", kid.school)]
        else:
            kid.awards.append((first, kid.school))
        return [kid.pk]

    def plant_card_holder_mismatch(self, kids: list[Child], *_: Any) -> list[int]:
        kid = kids[0]
        kid.holder = self.city.adult()
        return [kid.pk]

    def plant_category_unsupported(self, kids: list[Child], *_: Any) -> list[int]:
        # The records themselves are written by `evidence`, which knows the category.
        category = kids[0].category or 7
        return [kid.pk for kid in kids] if category <= 6 else []

    def plant_linked(
        self,
        kids: list[Child],
        adults: list[tuple[Person, str, bool]],
        known: Any,
        extra: Any,
        home: str,
    ) -> list[int]:
        """A guardian registered without an ID number who is a teacher (not hardship staff)
        at the child's school: same name, phone and address. The shared phone is found by
        FAVORITISM; the teacher as 三类人员 (OFFICIAL_FAMILY) only by the probabilistic
        linkage, so that part is counted (LINKED) but not asserted."""
        city = self.city
        missing = [p for p, _, has in adults if not has]
        if not missing:
            return []
        teacher = city.adult()
        teacher.name, teacher.phone = missing[0].name, missing[0].phone
        city.staff(teacher, kids[0].school, "教师")
        city.household([(teacher, "户主")], home)
        city.figures.planted["FAVORITISM"].update(
            kid.pk for kid in kids if kid.school == kids[0].school
        )
        return [kid.pk for kid in kids]


_HEAD_RELATION = {"父亲": "配偶", "母亲": "配偶", "祖父": "父亲", "祖母": "母亲", "外祖母": "其他"}
_DISABILITIES = ("肢体", "视力", "听力", "智力", "精神")
_LEVELS = ("一级", "二级", "三级", "四级")
_HOUSEHOLD_TYPES = ("脱贫户", "脱贫不稳定户", "边缘易致贫户", "突发严重困难户")
_DIBAO = {"category": "低保", "status": "在册", "start_on": "2024-01-01"}
_LEFT_DIBAO = {
    "category": "低保",
    "status": "已退出",
    "start_on": "2020-03-01",
    "end_on": "2025-06-30",
}


# --- people outside the register, and the staff ----------------------------------------------


def add_pool(city: City) -> None:
    """Department records of people who are neither students nor guardians: the elderly on
    低保, the dead, officials without children at school, other people's cars and firms.
    Officials get a household record too (their address is what linkage compares)."""
    towns = sorted({town for _, _, town in city.schools})
    for kind, full in POOL.items():
        for _ in range(round(full * city.scale)):
            _pool_person(city, kind, towns)


def _pool_person(city: City, kind: str, towns: list[str]) -> None:
    rng = city.rng
    first, last = _POOL_BIRTHS.get(kind, (1940, 1990))
    person = city.adult(first, last)
    if kind in ("cadres", "public_payroll", "village_cadres"):
        town = rng.choice(towns)
        if kind == "village_cadres":
            city.village_cadre(person, town)
        else:
            (city.cadre if kind == "cadres" else city.payroll)(person)
        city.household([(person, "户主")], city.address(town))
        return
    _POOL_RECORDS[kind](city, person)


_POOL_BIRTHS = {"deaths": (1925, 1965), "martyrs_children": (1995, 2020)}
_POOL_RECORDS: dict[str, Callable[[City, Person], None]] = {
    "deaths": lambda city, p: city.record(
        "deaths",
        p,
        {"died_on": (date(2025, 1, 1) + timedelta(city.rng.randrange(660))).isoformat()},
    ),
    "martyrs_children": lambda city, p: city.record(
        "martyrs_children", p, {"martyr_name": city.name(True)}
    ),
    "civil_affairs": lambda city, p: city.record(
        "civil_affairs",
        p,
        {**_DIBAO, "category": city.rng.choice(("低保", "低保", "特困供养", "低保边缘"))},
        related=p,
    ),
    "rural_revitalization": lambda city, p: city.record(
        "rural_revitalization",
        p,
        {"household_type": city.rng.choice(_HOUSEHOLD_TYPES), "status": "在册"},
        related=p,
    ),
    "disability": lambda city, p: city.record(
        "disability",
        p,
        {"kind": "肢体", "level": city.rng.choice(("三级", "四级")), "status": "有效"},
    ),
    "vehicles": lambda city, p: city.vehicle(p, counted=city.rng.random() < 0.8),
    "businesses": lambda city, p: city.business(p, counted=city.rng.random() < 0.4),
    "social_insurance": lambda city, p: city.insurance(p, base=city.rng.randint(2500, 30000)),
}


def add_staff(city: City, students_at: Counter[int]) -> None:
    """The staff who are not guardians in the register, to STAFF in all: in each school a
    head, an aid officer, teachers and other staff, in proportion to its students."""
    rng = city.rng
    wanted = round(STAFF * city.scale) - city.figures.staff
    total = sum(students_at.values()) or 1
    for index, (_, stage, _) in enumerate(city.schools):
        count = max(3, round(wanted * students_at[index] / total))
        head = "园长" if stage == "幼儿园" else "校长"
        posts = [head, "资助专干"] + [
            "教师" if rng.random() < 0.82 else "其他" for _ in range(count - 2)
        ]
        for post in posts:
            city.staff(city.adult(1964, 2000), index, post, hardship=rng.random() < 0.03)


def generate(students: int, officer: User) -> Figures:
    """Write the city into the database (not timed). Returns what was written and planted."""
    from django.db import connection

    city = City(students, officer)
    city.reference()
    city.create_schools()
    families = Families(city)
    students_at = Counter(slot[0] for slot in families.slots)
    tables = [sink.table for sink in city.sinks.values()]
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA cache_size = -1000000")  # 1 GB for the index builds
    with indexes_deferred(tables):
        families.run()
        add_staff(city, students_at)
        add_pool(city)
        for sink in city.sinks.values():
            sink.flush()
        city.write_records()
    finish(city)
    return city.figures


def finish(city: City) -> None:
    from django.db import connection

    from zizhu.sources.models import DatasetVersion

    for kind, pk in city.versions.items():
        DatasetVersion.objects.filter(pk=pk).update(row_count=city.row_numbers[kind])
    city.figures.records = Counter(city.row_numbers)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT setval(pg_get_serial_sequence('registry_student', 'id'),"
                " (SELECT max(id) FROM registry_student))"
            )
            cursor.execute("VACUUM ANALYZE")  # what autovacuum would do after a bulk load
        else:
            cursor.execute("ANALYZE")


# --- the timed part: a fresh process ---------------------------------------------------------


def _peak_mib() -> float:
    """This process's peak resident memory (Python and DuckDB's threads share it), in MiB.

    VmHWM, not ru_maxrss: Linux carries ru_maxrss over fork and exec, so a process started
    by the generator would report the generator's peak."""
    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


BARE_JOIN = """
SELECT count(*) FROM (
    SELECT student_id, id_hash FROM student
    UNION ALL
    SELECT g.student_id, g.id_hash FROM guardian g JOIN student s ON s.student_id = g.student_id
) p
JOIN record r ON r.person_hash = p.id_hash
"""


def bare_join() -> dict[str, float]:
    """Students ⋈ guardians ⋈ every department row on the hash keys, in DuckDB: the floor
    under any cross-check of the same data. Loading the keys is timed apart."""
    from zizhu.crosscheck import snapshot

    con = snapshot.connect()
    started = time.perf_counter()
    key = (("student_id", "BIGINT"), ("id_hash", "VARCHAR"))
    snapshot.load_table(con, "student", key, "SELECT id, id_number_hash FROM registry_student")
    snapshot.load_table(
        con,
        "guardian",
        key,
        "SELECT student_id, id_number_hash FROM registry_guardian WHERE id_number_hash IS NOT NULL",
    )
    snapshot.load_table(
        con,
        "record",
        (("person_hash", "VARCHAR"),),
        "SELECT person_hash FROM sources_datasetrecord",
    )
    loaded = time.perf_counter()
    rows = con.execute(BARE_JOIN).fetchone()[0]
    joined = time.perf_counter()
    con.close()
    return {"load": loaded - started, "join": joined - loaded, "rows": rows}


def measure() -> dict[str, Any]:
    """Runs in a fresh process: the cross-check end to end, then the bare join."""
    from zizhu.core.models import User
    from zizhu.crosscheck.services.runs import run_crosscheck

    officer = User.objects.get(username=USERNAME)
    before = _peak_mib()
    stages: list[tuple[str, float, float]] = []
    started = time.perf_counter()

    def report(stage: str, done: int, total: int) -> None:
        stages.append((stage, time.perf_counter() - started, _peak_mib()))

    run = run_crosscheck(officer, report=report)
    wall = time.perf_counter() - started
    peak = _peak_mib()
    return {
        "wall": wall,
        "peak_mib": peak,
        "baseline_mib": before,
        "stages": stages,
        "timings": run.timings,
        "counts": run.counts,
        "run": run.pk,
        "bare": bare_join(),
        "peak_after_bare_mib": _peak_mib(),
    }


def _measure_in_fresh_process() -> dict[str, Any]:
    from django.db import connections

    connections.close_all()
    env = dict(os.environ, DJANGO_SETTINGS_MODULE="zizhu.config.settings.dev", ZIZHU_DEBUG="false")
    process = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), "--measure"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    for line in process.stdout.splitlines():
        if line.startswith("FIGURES "):
            figures: dict[str, Any] = json.loads(line[8:])
            return figures
    raise RuntimeError(f"the measuring process failed:\n{process.stderr[-4000:]}")


# --- the benchmark --------------------------------------------------------------------------


def bench_actor() -> User:
    """A certified district officer (crosscheck:run, and clues are registered in its name)."""
    from zizhu.core import services
    from zizhu.core.models import OrgUnit, Role, UnitKind, User

    existing = User.objects.filter(username=USERNAME).first()
    if existing is not None:
        return existing
    # Nobody signs in as this account; a random password keeps it that way.
    user = services.create_user(
        USERNAME, actor=None, full_name="性能测试", password=secrets.token_urlsafe(18) + "-Aa1"
    )
    district = OrgUnit.objects.get(kind=UnitKind.DISTRICT, parent__isnull=True)
    services.assign_role(user, actor=None, role=Role.DISTRICT_OFFICER, org_unit=district)
    today = date.today()  # noqa: DTZ011 -- a certificate's dates are calendar dates
    services.issue_certification(
        user,
        actor=user,
        number="BENCH-XC",
        issued_on=today - timedelta(days=30),
        expires_on=today + timedelta(days=365),
    )
    return user


def check_planted(figures: Figures, run_pk: int) -> list[str]:
    """Every planted violation must be among the run's hits (LINKED: reported only)."""
    from zizhu.crosscheck.models import RunHit

    found: dict[str, set[int]] = defaultdict(set)
    for rule, student in RunHit.objects.filter(run_id=run_pk).values_list(
        "hit__rule", "hit__student_id"
    ):
        found[rule].add(student)
    lines, missing = [], []
    for rule, planted in sorted(figures.planted.items()):
        hits = found["OFFICIAL_FAMILY"] if rule == "LINKED" else found[rule]
        caught = len(planted & hits)
        lines.append(
            f"  {rule}: planted {len(planted)}, found {caught}"
            + ("" if rule == "LINKED" else f", hits {len(hits)}")
        )
        if rule != "LINKED" and caught < len(planted):
            missing.append(rule)
    if missing:
        raise AssertionError("planted violations not found: " + ", ".join(missing))
    return lines


def _phase_lines(figures: dict[str, Any]) -> list[str]:
    timings = figures["timings"]
    rules = timings.get("rules", {})
    lines = [
        f"  snapshot {timings.get('snapshot', 0):.1f} s, linkage {timings.get('linkage', 0):.1f} s,"
        f" rules {sum(rules.values()):.1f} s, record + clues {timings.get('record', 0):.1f} s,"
        f" total (run.timings) {timings.get('total', 0):.1f} s",
        "  rules: " + ", ".join(f"{code} {s:.2f}" for code, s in rules.items()),
        "  stages (s since start, peak MiB): "
        + "; ".join(f"{stage} {at:.1f} s {mib:.0f}" for stage, at, mib in figures["stages"]),
    ]
    counts = figures["counts"]
    hits = {code: c["hits"] for code, c in counts.get("rules", {}).items()}
    lines.append(f"  hits {sum(hits.values())} ({hits}), clues {counts.get('clues', 0)}")
    return lines


def bench_crosscheck_full(
    students: int = STUDENTS,
) -> list[tuple[str, float, float | None, str]]:
    """Figures: the run's wall time and peak memory (limited), the bare join and the ratio."""
    officer = bench_actor()
    started = time.perf_counter()
    figures = generate(students, officer)
    print(
        f"  generated in {time.perf_counter() - started:.0f} s: {figures.students} students,"
        f" {figures.guardians} guardians ({figures.guardians_without_id} without ID number),"
        f" {figures.staff} staff, {figures.awards} awards ({figures.recipients} recipients),"
        f" {sum(figures.records.values())} department rows {dict(figures.records)}",
        flush=True,
    )
    measured = _measure_in_fresh_process()
    for line in _phase_lines(measured) + check_planted(figures, measured["run"]):
        print(line)
    bare = measured["bare"]
    wall = measured["wall"]
    print(
        f"  bare join: keys loaded in {bare['load']:.1f} s, join {bare['join']:.2f} s"
        f" ({bare['rows']} rows); run / (load + join) {wall / (bare['load'] + bare['join']):.1f}×;"
        f" process baseline {measured['baseline_mib']:.0f} MiB"
    )
    scale = f"{figures.students:,} students, {sum(figures.records.values()):,} department rows"
    return [
        (f"cross-check full run, {scale}", wall, LIMIT_SECONDS, "s"),
        (
            "cross-check peak memory (VmHWM of the run's process)",
            measured["peak_mib"],
            LIMIT_MIB,
            "MiB",
        ),
        (f"bare DuckDB join of the same keys ({bare['rows']:,} rows)", bare["join"], None, "s"),
        ("ratio full run / bare join", wall / bare["join"], None, "×"),
    ]


def main() -> int:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "zizhu.config.settings.dev")
    os.environ["ZIZHU_DEBUG"] = "false"  # DEBUG would keep every SQL query in memory
    import django

    django.setup()
    if sys.argv[1:2] == ["--measure"]:
        print("FIGURES " + json.dumps(measure(), default=str), flush=True)
        return 0
    ok = True
    for label, measured, limit, unit in bench_crosscheck_full():
        if limit is None:
            print(f"{label}: {measured:.2f} {unit}")
            continue
        ok = ok and measured <= limit
        verdict = "PASS" if measured <= limit else "FAIL"
        print(f"{label}: {measured:.1f} {unit} (limit {limit:.0f} {unit}) {verdict}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
