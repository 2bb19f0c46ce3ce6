"""Planted violations: the cross-checks' answer key in the demo district (issue 6).

`plant_violations` adds, to a district that already has its register and aid year (as
`zizhu seed-demo` leaves it), students who break each cross-check rule in every way the
rule's description names, and control students who sit just on the other side of each
threshold or condition (a motorcycle, 99.99 万元 of capital, a 7,999-yuan insurance base, a
teacher of another school…). It travels the real paths:

* department data is imported as exchange files through `sources.services.import_dataset`;
* awards arrive through the first-year migration (`aid.services.migration.import_awards`),
  which accepts rule-breaking rows — duplicates, mutually exclusive programmes, students no
  longer 在读 — as history, exactly as a district's real export would bring them;
* status changes go through the register's ledger, so the aid lifecycle reacts as it would;
* the unsettled batch is created with `payments.services.batches.create_batch`.

New students, guardians and staff are bulk-inserted, as `registry.demo` does.

Everyone else's department data agrees with the register: each live award of categories 1–6
already in the database gets a backing record, so a run finds the planted cases and nothing
more. Guardians without an ID number (probabilistic linkage) are not planted here.

The thresholds come from the rules' parameters (`Rule.param_values`), so the controls stay
just below whatever the district configured. Everything is drawn from
`random.Random(seed)`: one seed on one database gives the same people and the same answer.
"""

from __future__ import annotations

import csv
import io
import random
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.utils import timezone

from zizhu.aid.models import (
    Award,
    AwardStatus,
    DifficultyTier,
    HardshipCategory,
    Programme,
    SchoolYear,
    Semester,
    Standard,
    Term,
)
from zizhu.aid.rules import current_school_year, first_of_month, next_month
from zizhu.aid.services.migration import SPEC as AWARD_SPEC
from zizhu.aid.services.migration import import_awards
from zizhu.core import audit
from zizhu.core.crypto import Sensitive, blind_index
from zizhu.core.errors import DomainError
from zizhu.core.idnumbers import make_id_number
from zizhu.core.models import AuditEntry, OrgUnit, Role, Stage, User
from zizhu.crosscheck.rules import SPEC_ORDER, all_rules, get_rule
from zizhu.payments.services.batches import create_batch
from zizhu.registry.demo import (
    AREA_CODE,
    GRADES,
    HOME_TOWN,
    SURNAMES,
    address,
    bank_account,
    birth_window,
    person_name,
    random_date,
    school_name,
    school_year_start,
)
from zizhu.registry.models import (
    ChangeKind,
    Guardian,
    GuardianRelation,
    Post,
    Staff,
    Student,
)
from zizhu.registry.services import record_status_change
from zizhu.sources.formats import FORMATS
from zizhu.sources.models import DatasetKind
from zizhu.sources.services import import_dataset

SEEDED_ACTION = "demo.crosscheck_seeded"
ACTOR = "demo_district"

OFFICIAL_FAMILY, FAVORITISM, AFFLUENCE = "OFFICIAL_FAMILY", "FAVORITISM", "AFFLUENCE"
DECEASED, DUPLICATE, UNSUPPORTED = "DECEASED_OR_GONE", "DUPLICATE_AID", "CATEGORY_UNSUPPORTED"
CARD_HOLDER, MISSED, IDENTITY = "CARD_HOLDER_MISMATCH", "MISSED_ELIGIBLE", "IDENTITY_MISMATCH"

# The demo register's phones start with 13 (registry.demo.phone_number): planted phones use
# another prefix, so a shared phone is always one this module meant.
PHONE_PREFIX = "199"
COMPULSORY = (Stage.PRIMARY, Stage.JUNIOR, Stage.NINE_YEAR)
PROGRAMME_FOR_STAGE: dict[str, str] = {
    Stage.PRESCHOOL: "PRESCHOOL_AID",
    Stage.PRIMARY: "COMPULSORY_LIVING",
    Stage.JUNIOR: "COMPULSORY_LIVING",
    Stage.NINE_YEAR: "COMPULSORY_LIVING",
    Stage.SENIOR: "HS_STIPEND",
    Stage.VOCATIONAL: "VOC_STIPEND",
}
ALLOWED_PAIR = ("HS_STIPEND", "HS_TUITION_WAIVER")
BATCH_PROGRAMME = "HS_TUITION_WAIVER"
MOTORCYCLE = "普通二轮摩托车"
HEAVY_TRUCK = "重型普通货车"
LIVE_LABEL, STOPPED_LABEL = "有效", "已停止"

# Values for the columns a planted record does not set (exchange-formats.md enumerations).
_DEFAULTS: dict[str, dict[str, str]] = {
    DatasetKind.CIVIL_AFFAIRS: {"category": "低保", "status": "在册", "start_on": "2024-03-01"},
    DatasetKind.RURAL_REVITALIZATION: {"household_type": "脱贫户", "status": "在册"},
    DatasetKind.DISABILITY: {"kind": "肢体", "level": "二级", "status": "有效"},
    DatasetKind.VEHICLES: {"registered_on": "2021-05-18", "status": "正常"},
    DatasetKind.BUSINESSES: {"role": "法定代表人", "status": "存续"},
    DatasetKind.SOCIAL_INSURANCE: {"employer": "新洲区某建材有限公司", "status": "正常"},
    DatasetKind.CADRES: {"unit": "新洲区某局", "title": "副局长", "rank": "副处级"},
    DatasetKind.PUBLIC_PAYROLL: {"unit": "新洲区某街道办事处", "kind": "公务员"},
    DatasetKind.VILLAGE_CADRES: {"village": "某村", "title": "村委会委员"},
}


# --- the answer ------------------------------------------------------------------------------


@dataclass(frozen=True)
class PlantedCase:
    """One planted student: what the case is, and which rules must flag it (none: a control).
    `evidence` names, per rule, how the finding's facts begin (the variant it must cite)."""

    key: str
    label: str
    student_id: int
    rules: frozenset[str]
    evidence: dict[str, str] = field(default_factory=dict)


@dataclass
class Planted:
    cases: list[PlantedCase]
    versions: dict[str, int]  # dataset kind → the version number imported
    batch: str = ""  # the unsettled payment batch, when one was planted

    @property
    def violations(self) -> dict[str, set[int]]:
        """{rule code: the students a run must flag}."""
        found: dict[str, set[int]] = {code: set() for code in SPEC_ORDER}
        for case in self.cases:
            for code in case.rules:
                found[code].add(case.student_id)
        return found

    @property
    def violators(self) -> set[int]:
        """Students at least one rule must flag."""
        return {case.student_id for case in self.cases if case.rules}

    @property
    def controls(self) -> set[int]:
        """Students no rule may flag."""
        return {case.student_id for case in self.cases if not case.rules}

    def student(self, key: str) -> int:
        return next(case.student_id for case in self.cases if case.key == key)


# --- the plan: people, records and awards before anything is written -------------------------


@dataclass(frozen=True)
class _Person:
    id_number: str
    name: str
    phone: str
    male: bool


@dataclass
class _Case:
    key: str
    label: str
    hits: dict[str, str]  # rule code → how the finding's facts begin
    student: Student
    guardians: list[Guardian]

    def guardian(self, relation: str) -> Guardian:
        return next(g for g in self.guardians if g.relation == relation)

    def person(self, relation: str) -> _Person:
        g = self.guardian(relation)
        return _Person(g.id_number or "", g.name, g.phone or "", relation in _MALE)


@dataclass(frozen=True)
class _AwardRow:
    case: _Case
    programme: str
    school: OrgUnit
    year: SchoolYear
    category: int
    start: date
    end: date | None
    status: str


@dataclass(frozen=True)
class _Schools:
    home: OrgUnit  # a compulsory school: the demo school when there is one
    other: OrgUnit  # another compulsory school
    senior: OrgUnit  # a senior high school (the home school when the district has none)
    senior2: OrgUnit  # another school for a second award


_Who = _Person | Student | Guardian
F, M = GuardianRelation.FATHER.value, GuardianRelation.MOTHER.value
GF, GM = GuardianRelation.GRANDFATHER.value, GuardianRelation.GRANDMOTHER.value
_MALE = {F, GF}
_ADULT_BIRTHS: dict[str, tuple[date, date]] = {
    F: (date(1975, 1, 1), date(1992, 12, 31)),
    M: (date(1977, 1, 1), date(1994, 12, 31)),
    GF: (date(1950, 1, 1), date(1966, 12, 31)),
    GM: (date(1952, 1, 1), date(1968, 12, 31)),
}


def _ident(who: _Who) -> tuple[str, str]:
    number = who.id_number or ""
    if not number:
        raise DomainError("演示数据内部错误：部门数据中的人员缺少身份证号。")
    return number, who.name


class _Plan:
    def __init__(
        self, rng: random.Random, *, schools: _Schools, year: SchoolYear, today: date
    ) -> None:
        self.rng = rng
        self.schools = schools
        self.year = year
        self.today = today
        self.cases: list[_Case] = []
        self.staff: list[Staff] = []
        self.records: dict[str, list[dict[str, str]]] = defaultdict(list)
        self.awards: list[_AwardRow] = []
        self.changes: list[tuple[_Case, str, bool]] = []  # (case, ledger kind, after awards)
        self.batch: list[_Case] = []
        self._taken: set[str] = set()
        self._serial = 0

    def serial(self) -> int:
        self._serial += 1
        return self._serial

    # --- people ---

    def id_number(self, birth: date, *, male: bool) -> str:
        """A fresh fictitious number: held by nobody in the register nor planted before."""
        for _ in range(200):
            number = make_id_number(AREA_CODE, birth, self.rng.randrange(500), male=male)
            if number not in self._taken and not _held(number):
                self._taken.add(number)
                return number
        raise DomainError(f"演示数据中 {birth} 出生的人数过多。")

    def phone(self) -> str:
        return f"{PHONE_PREFIX}{self.rng.randrange(10**8):08d}"

    def adult(self, relation: str = F, *, surname: str = "") -> _Person:
        male = relation in _MALE
        first, last = _ADULT_BIRTHS.get(relation, (date(1970, 1, 1), date(1990, 12, 31)))
        birth = random_date(self.rng, first, last)
        name = person_name(self.rng, male=male, surname=surname or None)
        return _Person(self.id_number(birth, male=male), name, self.phone(), male)

    def staff_member(self, school: OrgUnit, post: str, *, hardship: bool = False) -> _Person:
        person = self.adult(self.rng.choice((F, M)))
        self.staff.append(
            Staff(
                id_number=person.id_number,
                name=person.name,
                school=school,
                post=post,
                hardship_staff=hardship,
                phone=person.phone,
            )
        )
        return person

    # --- students ---

    def student(
        self,
        key: str,
        label: str,
        *,
        hits: dict[str, str] | None = None,
        school: OrgUnit | None = None,
        relations: Sequence[str] = (F, M),
        given: dict[str, _Person] | None = None,
    ) -> _Case:
        """A student with guardians (`given` fixes some of them); the first guardian's phone
        is the student's and that guardian holds the card, as in most families."""
        school = school or self.schools.home
        surname = self.rng.choice(SURNAMES)
        guardians = [
            _guardian((given or {}).get(r) or self.adult(r, surname=_surname(r, surname)), r)
            for r in relations
        ]
        student = self._student(school, surname, guardians[0])
        case = _Case(key, label, dict(hits or {}), student, guardians)
        self.cases.append(case)
        return case

    def _student(self, school: OrgUnit, surname: str, first: Guardian) -> Student:
        grade, year_index = self.rng.choice(GRADES[school.stage or Stage.PRIMARY])
        male = self.rng.random() < 0.52
        birth = random_date(self.rng, *birth_window(year_index, school_year_start(self.today)))
        home = address(self.rng, HOME_TOWN)
        return Student(
            id_number=self.id_number(birth, male=male),
            name=person_name(self.rng, male=male, surname=surname),
            gender="男" if male else "女",
            birth_date=birth,
            area_code=AREA_CODE,
            school=school,
            grade=grade,
            grade_rank=year_index,
            class_name=f"{self.rng.randint(1, 3)}班",
            enrolled_on=date(school_year_start(self.today), 9, 1),
            hukou_address=home,
            home_address=home,
            phone=first.phone,
            bank_account=bank_account(self.rng),
            card_holder_id=first.id_number,
        )

    # --- department data ---

    def record(self, dataset: str, who: _Who, /, **attrs: str) -> None:
        """One row of `dataset` for `who`; `attrs` by the format's keys, the rest defaulted."""
        number, name = _ident(who)
        spec = FORMATS[dataset]
        values = {spec.person_key: number, spec.name_key: name, **_DEFAULTS.get(dataset, {})}
        if dataset == DatasetKind.RURAL_REVITALIZATION:
            values["head_id_number"] = number
        if dataset == DatasetKind.MARTYRS_CHILDREN:
            values["martyr_name"] = person_name(self.rng, male=True)
        values.update(attrs)
        self.records[dataset].append(values)

    def household(self, case: _Case, members: Sequence[tuple[_Who, str]], relation: str) -> str:
        """The student's 户 in the household data: `members` (head first) and the student."""
        number = f"{AREA_CODE}{self.serial():06d}"
        place = case.student.hukou_address
        for who, to_head in (*members, (case.student, relation)):
            self.record(
                DatasetKind.HOUSEHOLD,
                who,
                household_no=number,
                relation_to_head=to_head,
                address=place,
            )
        return number

    def plate(self) -> str:
        return f"鄂A{self.rng.choice('BCDEFGHJK')}{self.serial():04d}"

    def credit_code(self) -> str:
        return f"91420117MA4K{self.serial():06d}"

    # --- aid ---

    def award(
        self,
        case: _Case,
        *,
        programme: str = "",
        school: OrgUnit | None = None,
        year: SchoolYear | None = None,
        category: int = 7,
        start: date | None = None,
        end: date | None = None,
        stopped: bool = False,
    ) -> None:
        school = school or case.student.school
        year = year or self.year
        self.awards.append(
            _AwardRow(
                case=case,
                programme=programme or PROGRAMME_FOR_STAGE[case.student.school.stage],
                school=school,
                year=year,
                category=category,
                start=start or first_of_month(year.starts_on),
                end=end,
                status=STOPPED_LABEL if stopped else LIVE_LABEL,
            )
        )

    def change(self, case: _Case, kind: str, *, after_awards: bool = False) -> None:
        self.changes.append((case, kind, after_awards))


def _surname(relation: str, family: str) -> str:
    return family if relation in _MALE else ""


def _guardian(person: _Person, relation: str) -> Guardian:
    return Guardian(
        name=person.name,
        id_number=person.id_number,
        relation=relation,
        employer="外出务工",
        phone=person.phone,
    )


def _held(number: str) -> bool:
    digest = blind_index(number, Sensitive.ID_NUMBER)
    return (
        Student.objects.filter(id_number_hash=digest).exists()
        or Guardian.objects.filter(id_number_hash=digest).exists()
        or Staff.objects.filter(id_number_hash=digest).exists()
    )


# --- the rules, one planter each: violations first, then their controls ----------------------
#
# `hits` names the rules a case must trigger and how each finding's facts begin (the variant
# it must cite); a case without hits is a control no rule may flag.


def _official_family(plan: _Plan) -> None:
    other = plan.schools.other
    case = plan.student("of_cadre", "父亲是领导干部", hits={OFFICIAL_FAMILY: "cadres:"})
    plan.record(DatasetKind.CADRES, case.guardian(F))
    plan.award(case)
    case = plan.student(
        "of_payroll", "母亲是财政供养人员（事业编）", hits={OFFICIAL_FAMILY: "public_payroll:"}
    )
    plan.record(DatasetKind.PUBLIC_PAYROLL, case.guardian(M), unit="新洲区人民医院", kind="事业编")
    plan.award(case)
    teacher = plan.staff_member(other, Post.TEACHER)
    label = "父亲是外校教师（非特殊困难教职工）"
    case = plan.student("of_staff", label, hits={OFFICIAL_FAMILY: "staff:"}, given={F: teacher})
    plan.award(case)
    aunt, grandfather = plan.adult(M), plan.adult(GF)
    label = "同户的姑姑是公务员（非监护人）"
    case = plan.student("of_household", label, hits={OFFICIAL_FAMILY: "public_payroll:"})
    plan.record(DatasetKind.PUBLIC_PAYROLL, aunt)
    father, mother = case.guardian(F), case.guardian(M)
    plan.household(
        case, [(grandfather, "户主"), (father, "子"), (aunt, "女"), (mother, "儿媳")], "孙子"
    )
    plan.award(case)
    # Controls: hardship staff, a cadre whose child has no award, a cadre's namesake.
    hardship = plan.staff_member(other, Post.TEACHER, hardship=True)
    case = plan.student("ctl_hardship_other", "父亲是外校特殊困难教职工", given={F: hardship})
    plan.award(case)
    case = plan.student("ctl_cadre_no_award", "父亲是领导干部，但学生未受助")
    plan.record(DatasetKind.CADRES, case.guardian(F))
    case = plan.student("ctl_cadre_namesake", "父亲与一名领导干部同名（身份证号不同）")
    namesake = plan.adult(F)
    plan.record(DatasetKind.CADRES, _Person(namesake.id_number, case.guardian(F).name, "", True))
    plan.award(case)
    _official_family_linked(plan)


def _official_family_linked(plan: _Plan) -> None:
    """A father registered without an ID number, whom only the probabilistic linkage can tie
    to a cadre (same name, same 户籍 address); and a namesake elsewhere who must not tie."""
    label = "父亲未登记身份证号，姓名与户籍地址同一名领导干部一致（概率匹配）"
    hits = {OFFICIAL_FAMILY: "linked:cadres:"}
    # The mother comes first: she holds the card, so the father's missing number is all that
    # is unusual about the family.
    case = plan.student("of_linked_cadre", label, hits=hits, relations=(M, F))
    cadre = plan.adult(F)
    father = case.guardian(F)
    father.name, father.id_number = cadre.name, None
    plan.record(DatasetKind.CADRES, cadre)
    plan.record(
        DatasetKind.HOUSEHOLD,
        cadre,
        household_no=f"{AREA_CODE}{plan.serial():06d}",
        relation_to_head="户主",
        address=case.student.hukou_address,
    )
    plan.award(case)
    label = "父亲未登记身份证号，与一名领导干部同名，但住址、电话都不同"
    case = plan.student("ctl_linked_namesake", label, relations=(M, F))
    cadre = plan.adult(F)
    case.guardian(F).name, case.guardian(F).id_number = cadre.name, None
    plan.record(DatasetKind.CADRES, cadre)
    plan.record(
        DatasetKind.HOUSEHOLD,
        cadre,
        household_no=f"{AREA_CODE}{plan.serial():06d}",
        relation_to_head="户主",
        address=f"{case.student.hukou_address}对面新村 8 栋",
    )
    plan.award(case)


def _favoritism(plan: _Plan) -> None:
    home, other = plan.schools.home, plan.schools.other
    teacher = plan.staff_member(home, Post.TEACHER, hardship=True)
    label = "母亲是本校教师（特殊困难教职工）"
    hits = {FAVORITISM: "guardian:staff:"}
    plan.award(plan.student("fav_guardian_teacher", label, hits=hits, given={M: teacher}))
    officer = plan.staff_member(home, Post.AID_OFFICER)
    hits = {FAVORITISM: "guardian:staff:", OFFICIAL_FAMILY: "staff:"}
    plan.award(
        plan.student("fav_guardian_officer", "父亲是本校资助专干", hits=hits, given={F: officer})
    )
    cadre = plan.adult(F)
    plan.record(DatasetKind.VILLAGE_CADRES, cadre, village="李家村", title="村委会主任")
    hits = {FAVORITISM: "guardian:village_cadres:"}
    plan.award(
        plan.student("fav_guardian_village", "父亲是村委会主任", hits=hits, given={F: cadre})
    )
    _favoritism_households(plan)
    _favoritism_phones(plan)
    # Controls: a phone shared with a teacher of another school, or with a staff post that
    # does not count; a village cadre whose child has no award.
    case = plan.student("ctl_phone_other_school", "学生联系电话与外校教师相同")
    case.student.phone = plan.staff_member(other, Post.TEACHER).phone
    plan.award(case)
    case = plan.student("ctl_phone_other_post", "母亲联系电话与本校后勤人员（其他岗位）相同")
    case.guardian(M).phone = plan.staff_member(home, Post.OTHER).phone
    plan.award(case)
    cadre = plan.adult(F)
    plan.record(DatasetKind.VILLAGE_CADRES, cadre, village="河口村", title="村支部书记")
    plan.student("ctl_village_no_award", "父亲是村支部书记，但学生未受助", given={F: cadre})


def _favoritism_households(plan: _Plan) -> None:
    label = "同户的祖母是村妇联主席（非监护人）"
    case = plan.student(
        "fav_household_village", label, hits={FAVORITISM: "household:village_cadres:"}
    )
    grandmother = plan.adult(GM)
    plan.record(DatasetKind.VILLAGE_CADRES, grandmother, village="塘角村", title="村妇联主席")
    father, mother = case.guardian(F), case.guardian(M)
    plan.household(case, [(grandmother, "户主"), (father, "子"), (mother, "儿媳")], "孙女")
    plan.award(case)
    hits = {FAVORITISM: "household:staff:", OFFICIAL_FAMILY: "staff:"}
    case = plan.student("fav_household_staff", "同户的伯父是本校教师（非监护人）", hits=hits)
    uncle = plan.staff_member(plan.schools.home, Post.TEACHER)
    grandfather = plan.adult(GF)
    plan.household(case, [(grandfather, "户主"), (uncle, "子"), (case.guardian(F), "子")], "孙子")
    plan.award(case)


def _favoritism_phones(plan: _Plan) -> None:
    home = plan.schools.home
    hits = {FAVORITISM: "phone:staff:"}
    case = plan.student("fav_phone_student", "学生登记的联系电话与本校教师相同", hits=hits)
    case.student.phone = plan.staff_member(home, Post.TEACHER).phone
    plan.award(case)
    case = plan.student("fav_phone_guardian", "母亲的联系电话与本校资助专干相同", hits=hits)
    case.guardian(M).phone = plan.staff_member(home, Post.AID_OFFICER, hardship=True).phone
    plan.award(case)


def _affluence(plan: _Plan) -> None:
    params = _params(AFFLUENCE)
    cars, excluded = params["vehicle_types"], params["truck_excluded"]

    def vehicles(key: str, label: str, kinds: Sequence[str], status: str = "正常") -> None:
        hits = {} if key.startswith("ctl_") else {AFFLUENCE: "vehicle:"}
        case = plan.student(key, label, hits=hits)
        for kind in kinds:
            plate = plan.plate()
            plan.record(
                DatasetKind.VEHICLES,
                case.guardian(F),
                plate=plate,
                vehicle_type=kind,
                status=status,
            )
        plan.award(case)

    vehicles("aff_car", f"父亲名下有{cars[0]}", cars[:1])
    vehicles("ctl_motorcycle", "父亲名下只有摩托车", [MOTORCYCLE])
    vehicles("ctl_excluded_truck", f"父亲名下只有{'、'.join(excluded)}", excluded)
    vehicles("ctl_car_cancelled", f"父亲名下的{cars[0]}已注销", cars[:1], status="注销")
    label = f"同户的祖父名下有{HEAVY_TRUCK}（非监护人）"
    case = plan.student("aff_truck_household", label, hits={AFFLUENCE: "vehicle:"})
    grandfather = plan.adult(GF)
    plan.record(DatasetKind.VEHICLES, grandfather, plate=plan.plate(), vehicle_type=HEAVY_TRUCK)
    plan.household(case, [(grandfather, "户主"), (case.guardian(F), "子")], "孙子")
    plan.award(case)
    case = plan.student("ctl_car_no_award", f"父亲名下有{cars[0]}，但学生未受助")
    plan.record(DatasetKind.VEHICLES, case.guardian(F), plate=plan.plate(), vehicle_type=cars[0])
    _businesses(plan, params["min_capital_10k"])
    _insurance(plan, params["min_insurance_base"])


def _businesses(plan: _Plan, capital: Decimal) -> None:
    below = capital - Decimal("0.01")
    legal, holder, sole = "法定代表人", "股东", "个体经营者"

    def business(key: str, label: str, role: str, amount: Decimal, status: str = "存续") -> None:
        hits = {} if key.startswith("ctl_") else {AFFLUENCE: "business:"}
        case = plan.student(key, label, hits=hits)
        owner = case.guardian(F if role == holder else M)
        plan.record(
            DatasetKind.BUSINESSES,
            owner,
            company=f"武汉市新洲区{owner.name}商贸有限公司",
            credit_code=plan.credit_code(),
            role=role,
            capital_10k_yuan=str(amount),
            status=status,
        )
        plan.award(case)

    business("aff_business", f"母亲是法定代表人，注册资本 {capital} 万元", legal, capital)
    business("aff_shareholder", f"父亲是股东，注册资本 {capital * 3} 万元", holder, capital * 3)
    business("ctl_capital_below", f"母亲是法定代表人，注册资本 {below} 万元", legal, below)
    business("ctl_business_cancelled", "母亲名下企业已注销", legal, capital * 5, "注销")
    business("ctl_sole_trader", "母亲是个体经营者", sole, capital * 2)


def _insurance(plan: _Plan, base: Decimal) -> None:
    below = base - 1
    for key, label, amount, status in (
        ("aff_insurance", f"父亲社保缴费基数 {base} 元", base, "正常"),
        ("ctl_insurance_below", f"父亲社保缴费基数 {below} 元", below, "正常"),
        ("ctl_insurance_suspended", "父亲社保缴费基数较高但已暂停参保", base * 2, "暂停"),
    ):
        hits = {} if key.startswith("ctl_") else {AFFLUENCE: "insurance:"}
        case = plan.student(key, label, hits=hits)
        base_yuan = f"{amount:.2f}"
        plan.record(
            DatasetKind.SOCIAL_INSURANCE,
            case.guardian(F),
            monthly_base_yuan=base_yuan,
            status=status,
        )
        plan.award(case)


def _deceased(plan: _Plan, past: SchoolYear | None) -> None:
    died = plan.today - timedelta(days=45)
    label = "公安已死亡注销，学籍仍为在读且仍在资助"
    case = plan.student("dec_dead", label, hits={DECEASED: "dead:award:"})
    plan.record(DatasetKind.DEATHS, case.student, died_on=died.isoformat())
    plan.award(case)
    for key, label, kind in (
        ("dec_status_dead", "学籍状态为死亡，仍在资助", ChangeKind.DEATH),
        ("dec_dropout", "已退学，仍在资助", ChangeKind.DROPOUT),
        ("dec_suspended", "已休学，仍在资助", ChangeKind.SUSPENSION),
    ):
        case = plan.student(key, label, hits={DECEASED: "status:"})
        plan.change(case, kind)
        plan.award(case)
    # Controls: a death with no aid left, aid the ledger already ended, aid already stopped.
    case = plan.student("ctl_dead_no_aid", "公安已死亡注销，但无资助、不在发放批次中")
    plan.record(DatasetKind.DEATHS, case.student, died_on=(died - timedelta(days=150)).isoformat())
    case = plan.student("ctl_ended_by_ledger", "退学已登记，资助已随学籍异动终止")
    plan.award(case)
    plan.change(case, ChangeKind.DROPOUT, after_awards=True)
    case = plan.student("ctl_graduated_stopped", "已毕业，资助已停止")
    plan.change(case, ChangeKind.GRADUATION)
    plan.award(case, stopped=True, end=first_of_month(plan.year.starts_on))
    if past is not None:
        _deceased_in_batch(plan, past, died)


def _deceased_in_batch(plan: _Plan, year: SchoolYear, died: date) -> None:
    """Aid that ended months ago, still on a payable line of an unsettled batch (the register
    was never told of the death, so the pre-payment check lets the line through)."""
    spring = Semester.objects.get(school_year=year, term=Term.SPRING)
    start = first_of_month(spring.starts_on)
    for key, label in (
        ("dec_batch", "公安已死亡注销，仍在未结算的发放批次中"),
        ("ctl_batch_alive", "在同一未结算发放批次中，但无异常"),
    ):
        dead = not key.startswith("ctl_")
        hits = {DECEASED: "dead:batch:"} if dead else {}
        case = plan.student(key, label, hits=hits, school=plan.schools.senior)
        if dead:
            plan.record(DatasetKind.DEATHS, case.student, died_on=died.isoformat())
        plan.award(case, programme=BATCH_PROGRAMME, year=year, start=start, end=next_month(start))
        plan.batch.append(case)


def _duplicate(plan: _Plan, past: SchoolYear | None) -> None:
    senior, allowed = plan.schools.senior, ALLOWED_PAIR
    case = plan.student("dup_same", "同一学年同一项目有两条有效资助", hits={DUPLICATE: "same:"})
    plan.award(case)
    plan.award(case)
    hits = {DUPLICATE: "schools:"}
    case = plan.student("dup_schools", "同一学年在两所学校同时受助", hits=hits, school=senior)
    plan.award(case, programme=allowed[0])
    plan.award(case, programme=allowed[1], school=plan.schools.senior2)
    pair = _exclusive_pair()
    if pair is not None:
        label, hits = f"同时享受互斥项目（{pair[0]} 与 {pair[1]}）", {DUPLICATE: "exclusive:"}
        case = plan.student("dup_exclusive", label, hits=hits, school=senior)
        plan.award(case, programme=pair[0])
        plan.award(case, programme=pair[1])
    # Controls: programmes that may go together, a duplicate already stopped, two schools
    # in two school years.
    case = plan.student("ctl_allowed_pair", "同时享受助学金与免学杂费（允许兼得）", school=senior)
    plan.award(case, programme=allowed[0])
    plan.award(case, programme=allowed[1])
    case = plan.student("ctl_duplicate_stopped", "重复的一条资助已停止")
    plan.award(case)
    plan.award(case, stopped=True, end=first_of_month(plan.year.starts_on))
    if past is not None:
        case = plan.student("ctl_schools_two_years", "上学年在外校受助，本学年在本校受助")
        plan.award(case, school=plan.schools.other, year=past)
        plan.award(case)


def _unsupported(plan: _Plan) -> None:
    civil, rural = DatasetKind.CIVIL_AFFAIRS, DatasetKind.RURAL_REVITALIZATION
    low_income, poverty = {UNSUPPORTED: "category:2:"}, {UNSUPPORTED: "category:1:"}
    case = plan.student("cat_none", "按低保家庭资助，民政数据中无记录", hits=low_income)
    plan.award(case, category=2)
    case = plan.student("cat_wrong_kind", "按低保家庭资助，民政记录却是特困供养", hits=low_income)
    plan.record(civil, case.student, category="特困供养")
    plan.award(case, category=2)
    case = plan.student("cat_exited", "按脱贫家庭资助，防返贫记录已退出", hits=poverty)
    plan.record(rural, case.student, head_id_number=_ident(case.guardian(F))[0], status="已退出")
    plan.award(case, category=1)
    hits = {UNSUPPORTED: "category:6:"}
    case = plan.student("cat_cancelled", "按残疾人子女资助，父亲残疾证已注销", hits=hits)
    plan.record(DatasetKind.DISABILITY, case.guardian(F), status="注销")
    plan.award(case, category=6)
    # Controls: an award and the record that backs it.
    case = plan.student("ctl_backed_guardian", "按低保家庭资助，母亲在册低保")
    plan.record(civil, case.guardian(M))
    plan.award(case, category=2)
    case = plan.student("ctl_backed_self", "按脱贫家庭资助，本人在册")
    plan.record(rural, case.student, head_id_number=_ident(case.guardian(F))[0])
    plan.award(case, category=1)
    case = plan.student("ctl_backed_martyr", "按烈士子女资助，有退役军人事务记录")
    plan.record(DatasetKind.MARTYRS_CHILDREN, case.student)
    plan.award(case, category=5)


def _missed(plan: _Plan) -> None:
    civil = DatasetKind.CIVIL_AFFAIRS
    case = plan.student("mis_guardian", "父亲在册低保，学生未受助", hits={MISSED: "eligible:2:"})
    plan.record(civil, case.guardian(F))
    hits = {MISSED: "eligible:6:"}
    case = plan.student("mis_disability", "本人持有效残疾证，未受助", hits=hits)
    plan.record(DatasetKind.DISABILITY, case.student, level="三级")
    case = plan.student("mis_orphan", "事实无人抚养儿童，未受助", hits={MISSED: "eligible:4:"})
    plan.record(civil, case.student, category="事实无人抚养儿童")
    # Controls: records no longer live, and live ones of students who left or are suspended.
    case = plan.student("ctl_civil_exited", "父亲低保已退出，学生未受助")
    plan.record(civil, case.guardian(F), status="已退出", end_on="2025-12-31")
    case = plan.student("ctl_disability_cancelled", "本人残疾证已注销，未受助")
    plan.record(DatasetKind.DISABILITY, case.student, status="注销")
    case = plan.student("ctl_eligible_transferred", "父亲在册低保，但学生已转出")
    plan.record(civil, case.guardian(F))
    plan.change(case, ChangeKind.TRANSFER_OUT)
    case = plan.student("ctl_eligible_suspended", "本人是烈士子女，但学生已休学")
    plan.record(DatasetKind.MARTYRS_CHILDREN, case.student)
    plan.change(case, ChangeKind.SUSPENSION)


def _card_holder(plan: _Plan) -> None:
    holder = plan.student("ctl_holder_mother", "资助卡持卡人是母亲")
    holder.student.card_holder_id = holder.guardian(M).id_number
    plan.award(holder)
    case = plan.student("ctl_holder_self", "资助卡持卡人是学生本人")
    case.student.card_holder_id = case.student.id_number
    plan.award(case)
    other_teacher = plan.staff_member(plan.schools.other, Post.TEACHER)
    for key, label, person in (
        ("card_stranger", "资助卡持卡人与学生无登记关系", plan.adult(F)),
        ("card_teacher", "资助卡持卡人是外校教师", other_teacher),
        ("card_other_family", "资助卡持卡人是另一名学生的父亲", holder.person(F)),
    ):
        case = plan.student(key, label, hits={CARD_HOLDER: "holder:"})
        case.student.card_holder_id = person.id_number
        plan.award(case)
    case = plan.student("ctl_stranger_no_award", "持卡人与学生无登记关系，但学生未受助")
    case.student.card_holder_id = plan.adult(F).id_number


def _identity(plan: _Plan) -> None:
    def planted(key: str, label: str) -> _Case:
        """The household data takes the name the student has now; the register's name may
        then be changed."""
        hits = {} if key.startswith("ctl_") else {IDENTITY: "name:"}
        case = plan.student(key, label, hits=hits)
        relation = "子" if case.student.gender == "男" else "女"
        plan.household(case, [(case.guardian(F), "户主"), (case.guardian(M), "妻")], relation)
        return case

    def another_name(case: _Case) -> str:
        name = case.student.name
        while name == case.student.name:
            name = person_name(plan.rng, male=case.student.gender == "男")
        return name

    case = planted("id_typo", "学籍姓名与户籍姓名有一字不同")
    name = case.student.name
    case.student.name = name[:-1] + ("晗" if name[-1] == "涵" else "涵")
    case = planted("id_other_person", "户籍中同一身份证号是另一个人")
    case.student.name = another_name(case)
    planted("ctl_same_name", "学籍姓名与户籍姓名一致")
    case = planted("ctl_spaced_name", "学籍姓名多一个空格，户籍姓名相同")
    case.student.name = f"{case.student.name[0]} {case.student.name[1:]}"
    case = planted("ctl_renamed_graduated", "姓名不一致，但学生已毕业")
    case.student.name = another_name(case)
    plan.change(case, ChangeKind.GRADUATION)


# --- department data that agrees with the register ------------------------------------------


def _back_existing_awards(plan: _Plan) -> int:
    """A backing record for every live award of categories 1–6 already on file, from the
    dataset and with the values its category's criteria ask for."""
    categories = {
        c.number: c
        for c in HardshipCategory.objects.exclude(dataset_kind="")
        if c.dataset_kind in FORMATS
    }
    pairs = sorted(
        set(
            Award.objects.filter(
                status=AwardStatus.LIVE, category__number__in=list(categories)
            ).values_list("student_id", "category__number")
        )
    )
    students = Student.objects.in_bulk({student_id for student_id, _ in pairs})
    for student_id, number in pairs:
        category = categories[number]
        values = {
            attr: str(allowed[0] if isinstance(allowed, list) else allowed)
            for attr, allowed in sorted((category.criteria or {}).items())
        }
        plan.record(category.dataset_kind, students[student_id], **values)
    return len(pairs)


# --- writing -----------------------------------------------------------------------------------


def _save_register(plan: _Plan) -> None:
    Staff.objects.bulk_create(plan.staff)
    Student.objects.bulk_create([case.student for case in plan.cases])
    guardians = []
    for case in plan.cases:
        for guardian in case.guardians:
            guardian.student = case.student
            guardians.append(guardian)
    Guardian.objects.bulk_create(guardians)


def _record_changes(plan: _Plan, actor: User, *, after_awards: bool) -> None:
    effective = plan.today - timedelta(days=20)
    for case, kind, after in plan.changes:
        if after == after_awards:
            record_status_change(
                case.student,
                actor=actor,
                kind=kind,
                effective_on=effective,
                reason=f"比对演示：{case.label}",
            )


def _dataset_file(kind: str, rows: list[dict[str, str]], day: date) -> tuple[bytes, str]:
    """The exchange file: CSV, and XLSX for the vehicles (both formats travel the import)."""
    spec = FORMATS[kind]
    table = [[column.header for column in spec.columns]]
    table += [[row.get(column.key, "") for column in spec.columns] for row in rows]
    name = f"比对演示_{spec.label}"
    if kind == DatasetKind.VEHICLES:
        return _xlsx(table, day), f"{name}.xlsx"
    return _csv(table), f"{name}.csv"


def _csv(table: list[list[str]]) -> bytes:
    out = io.StringIO()
    csv.writer(out).writerows(table)
    return out.getvalue().encode("utf-8-sig")


def _xlsx(table: list[list[str]], day: date) -> bytes:
    """Written with a fixed creation time (xlsxwriter fixes the zip entries' own), so one
    seed gives byte-identical files and the versions' checksums repeat."""
    import xlsxwriter

    buffer = io.BytesIO()
    workbook = xlsxwriter.Workbook(buffer, {"in_memory": True})
    workbook.set_properties({"created": datetime.combine(day, time(), tzinfo=UTC)})
    sheet = workbook.add_worksheet()
    for number, values in enumerate(table):
        sheet.write_row(number, 0, values)
    workbook.close()
    return buffer.getvalue()


def _import_datasets(plan: _Plan, actor: User) -> dict[str, int]:
    versions: dict[str, int] = {}
    for kind in DatasetKind.values:
        rows = plan.records.get(kind)
        if not rows:
            continue
        content, filename = _dataset_file(kind, rows, plan.today)
        version = import_dataset(kind, content, filename, actor=actor, as_of=plan.today)
        versions[kind] = version.number
    return versions


def _import_awards(plan: _Plan, actor: User) -> None:
    tier = DifficultyTier.objects.order_by("rank").first()
    if tier is None:
        raise DomainError("资助配置中没有困难等级，请先完成资助配置。")
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([header for header, _ in AWARD_SPEC])
    for row in plan.awards:
        values = {
            "id_number": row.case.student.id_number or "",
            "name": row.case.student.name,
            "school_code": row.school.code,
            "programme": row.programme,
            "school_year": row.year.code,
            "category": str(row.category),
            "tier": tier.name,
            "annual_amount": f"{_amount(row.programme, row.year):.2f}",
            "start_month": f"{row.start:%Y-%m}",
            "end_month": f"{row.end:%Y-%m}" if row.end else "",
            "status": row.status,
        }
        writer.writerow([values[key] for _, key in AWARD_SPEC])
    import_awards(out.getvalue().encode("utf-8-sig"), "比对演示_受助学生.csv", actor=actor)


def _amount(code: str, year: SchoolYear) -> Decimal:
    amounts = Standard.objects.filter(programme__code=code, school_year=year)
    return amounts.order_by("-annual_amount").values_list("annual_amount", flat=True).first() or (
        Decimal("1000.00")
    )


def _plant_batch(plan: _Plan, actor: User, year: SchoolYear | None) -> str:
    if not plan.batch or year is None:
        return ""
    batch = create_batch(
        actor=actor,
        programme=Programme.objects.get(code=BATCH_PROGRAMME),
        school_year=year,
        semester=Semester.objects.get(school_year=year, term=Term.SPRING),
    )
    return batch.number


# --- the entry point -----------------------------------------------------------------------


def _params(code: str) -> dict[str, Any]:
    rule = get_rule(code)
    if rule is None:
        raise DomainError(f"缺少比对规则 {code}。")
    return rule.param_values()


def _exclusive_pair() -> tuple[str, str] | None:
    for programme in Programme.objects.order_by("code").prefetch_related("excludes"):
        others = sorted(other.code for other in programme.excludes.all())
        if others:
            return programme.code, others[0]
    return None


def _schools() -> _Schools:
    schools = list(OrgUnit.objects.schools().filter(active=True).order_by("code"))
    compulsory = [s for s in schools if s.stage in COMPULSORY]
    if len(compulsory) < 2:
        raise DomainError(
            "请先生成演示数据（zizhu seed-demo）：比对演示数据需要至少两所义务教育学校。"
        )
    wanted = school_name(HOME_TOWN, Stage.PRIMARY, 1)
    home = next((s for s in compulsory if s.name == wanted), compulsory[0])
    other = next(s for s in compulsory if s.pk != home.pk)
    seniors = [s for s in schools if s.stage == Stage.SENIOR] or [home]
    senior2 = next((s for s in seniors if s.pk != seniors[0].pk), other)
    return _Schools(home=home, other=other, senior=seniors[0], senior2=senior2)


def _batch_year(today: date) -> SchoolYear | None:
    """The latest school year already over, with a spring semester: its batch is history."""
    return (
        SchoolYear.objects.filter(ends_on__lt=today, semesters__term=Term.SPRING)
        .order_by("-ends_on")
        .first()
    )


def _actor(actor: User | None) -> User:
    if actor is not None:
        return actor
    found = User.objects.filter(
        username=ACTOR, assignments__role=Role.DISTRICT_OFFICER, is_active=True
    ).first()
    if found is None:
        raise DomainError("请先生成演示数据（zizhu seed-demo），再生成比对演示数据。")
    return found


def _plan(seed: int, today: date) -> tuple[_Plan, SchoolYear | None]:
    rng = random.Random(f"crosscheck-demo-{seed}")  # noqa: S311 - fictitious data, not secrets
    batch_year = _batch_year(today)
    plan = _Plan(rng, schools=_schools(), year=current_school_year(), today=today)
    _back_existing_awards(plan)
    _official_family(plan)
    _favoritism(plan)
    _affluence(plan)
    _deceased(plan, batch_year)
    _duplicate(plan, batch_year)
    _unsupported(plan)
    _missed(plan)
    _card_holder(plan)
    _identity(plan)
    return plan, batch_year


@transaction.atomic
def plant_violations(*, seed: int, actor: User | None = None) -> Planted:
    """Plant violations of every rule and their controls; returns the expected answer.
    Once only per database: a second time would import the department data again."""
    if AuditEntry.objects.filter(action=SEEDED_ACTION).exists():
        raise DomainError(
            "比对演示数据已经生成过：每个库只能生成一次（再次生成会重复导入部门数据和受助学生）。"
        )
    actor = _actor(actor)
    today = timezone.localdate()
    plan, batch_year = _plan(seed, today)
    _save_register(plan)
    _record_changes(plan, actor, after_awards=False)
    versions = _import_datasets(plan, actor)
    _import_awards(plan, actor)
    _record_changes(plan, actor, after_awards=True)
    batch = _plant_batch(plan, actor, batch_year)
    planted = Planted(
        cases=[
            PlantedCase(c.key, c.label, c.student.pk, frozenset(c.hits), dict(c.hits))
            for c in plan.cases
        ],
        versions=versions,
        batch=batch,
    )
    audit.record(
        SEEDED_ACTION,
        actor=None,
        actor_label="演示数据",
        after={
            "seed": seed,
            "datasets": versions,
            "violations": {code: len(ids) for code, ids in planted.violations.items()},
            "controls": len(planted.controls),
            "batch": batch,
        },
    )
    return planted


def summary_lines(planted: Planted) -> list[str]:
    """What was planted, per rule, for the person at the terminal (both demo commands)."""
    rules = all_rules()
    lines = [
        f"比对演示数据：导入部门数据 {len(planted.versions)} 个数据集，"
        f"布设违规学生 {len(planted.violators)} 名、"
        f"对照学生 {len(planted.controls)} 名（不应被任何规则命中）。"
    ]
    for code, students in planted.violations.items():
        title = rules[code].title if code in rules else code
        lines.append(f"  {code:<22} {title}：应命中 {len(students)} 名学生")
    if planted.batch:
        lines.append(f"  未结算的发放批次 {planted.batch} 中有一名已死亡注销的学生")
    lines.append(f"运行比对查看命中：zizhu crosscheck run --user {ACTOR}")
    return lines
