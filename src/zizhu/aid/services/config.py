"""Writes for the aid configuration the district centre keeps (issue 4, "Configuration").

Categories, tiers, programmes, standards, quotas and school years are data, not code: the
district centre edits them here, each change checked, then written with its audit row in
one transaction. Configuration covers the whole district, so only district-level roles
holding `aid:configure` may change it.

Nothing here deletes what history points at: a programme is deactivated, never deleted; a
tier can be deleted only while nothing uses it; a standard or quota cell is cleared only
when the caller confirms it (`allow_removal`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import ProtectedError

from zizhu.aid.models import (
    DifficultyTier,
    HardshipCategory,
    PaymentRhythm,
    Programme,
    Quota,
    SchoolYear,
    Semester,
    Standard,
    Term,
)
from zizhu.core import audit
from zizhu.core.errors import Conflict, DomainError, NotPermitted
from zizhu.core.models import OrgUnit, Stage, UnitKind, User
from zizhu.core.reach import home_unit, require_permission, scope_for
from zizhu.core.tabular import CellError
from zizhu.sources.formats import FORMATS
from zizhu.sources.models import DatasetKind

PERM = "aid:configure"
CENT = Decimal("0.01")
VISIT_CATEGORY = 7  # 其他家庭经济困难: home visit and evaluation, never department data

_YEAR_CODE = re.compile(r"([0-9]{4})-([0-9]{4})")
# A criteria key becomes an ORM lookup (attrs__<key>__in): no double underscores.
_ATTR_KEY = re.compile(r"[A-Za-z][A-Za-z0-9]*(?:_[A-Za-z0-9]+)*")


def require_configure(actor: User) -> OrgUnit | None:
    """Configuration is district-wide: a district-level `aid:configure` role is needed."""
    require_permission(actor, PERM)
    if not scope_for(actor, PERM).everything:
        raise NotPermitted("资助配置为全区统一设置，仅区资助中心可以修改。")
    return home_unit(actor, PERM)


def _clean(obj: Any) -> None:
    """Field limits as friendly messages (style.md, "Data"); uniqueness is checked above."""
    try:
        obj.full_clean(validate_unique=False, validate_constraints=False)
    except ValidationError as error:
        raise DomainError("；".join(error.messages)) from None


def _record(
    action: str,
    *,
    actor: User,
    subject: Any = None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> None:
    audit.record(
        action,
        actor=actor,
        subject=subject,
        org_unit=home_unit(actor, PERM),
        before=before,
        after=after,
    )


# --- school years and semesters -----------------------------------------------------------


@dataclass(frozen=True)
class TermDates:
    starts_on: date
    ends_on: date


def _check_year(code: str, starts_on: date, ends_on: date) -> None:
    match = _YEAR_CODE.fullmatch(code)
    if match is None or int(match.group(2)) != int(match.group(1)) + 1:
        raise DomainError("学年应写作“2026-2027”的形式，后一年比前一年大 1。")
    if ends_on <= starts_on:
        raise DomainError("学年结束日期必须晚于开始日期。")
    if starts_on.year != int(match.group(1)):
        raise DomainError(f"{code}学年应在 {match.group(1)} 年开始，请核对开始日期。")


def _check_terms(starts_on: date, ends_on: date, terms: Mapping[str, TermDates]) -> None:
    for term, dates in terms.items():
        label = Term(term).label
        if dates.ends_on <= dates.starts_on:
            raise DomainError(f"{label}的结束日期必须晚于开始日期。")
        if dates.starts_on < starts_on or dates.ends_on > ends_on:
            raise DomainError(
                f"{label}（{dates.starts_on:%Y-%m-%d} 至 {dates.ends_on:%Y-%m-%d}）"
                f"须在学年起止日期（{starts_on:%Y-%m-%d} 至 {ends_on:%Y-%m-%d}）之内。"
            )
    autumn, spring = terms.get(Term.AUTUMN), terms.get(Term.SPRING)
    # Seed 二(一)4: identification and awards in autumn, the dynamic review in spring.
    if autumn and spring and autumn.ends_on >= spring.starts_on:
        raise DomainError(
            "秋季学期须在春季学期之前结束：请把春季学期开始日期设在秋季学期结束之后。"
        )


@transaction.atomic
def save_school_year(
    year: SchoolYear | None,
    *,
    actor: User,
    code: str,
    starts_on: date,
    ends_on: date,
    terms: Mapping[str, TermDates],
) -> SchoolYear:
    """Create a school year (year=None) or change one, with its autumn and spring semesters."""
    require_configure(actor)
    code = code.strip()
    _check_year(code, starts_on, ends_on)
    # Semesters not being changed must still fit the (possibly moved) year.
    kept: dict[str, TermDates] = {}
    if year is not None:
        kept = {
            s.term: TermDates(s.starts_on, s.ends_on)
            for s in Semester.objects.filter(school_year=year)
        }
    _check_terms(starts_on, ends_on, {**kept, **terms})
    clash = SchoolYear.objects.filter(code=code)
    if year is not None:
        clash = clash.exclude(pk=year.pk)
    if clash.exists():
        raise DomainError(f"{code}学年已存在，请直接修改它。")
    before = _year_facts(year) if year is not None else None
    target = year or SchoolYear()
    target.code, target.starts_on, target.ends_on = code, starts_on, ends_on
    _clean(target)
    target.save()
    for term, dates in terms.items():
        Semester.objects.update_or_create(
            school_year=target,
            term=term,
            defaults={"starts_on": dates.starts_on, "ends_on": dates.ends_on},
        )
    _record(
        "aid.school_year_saved",
        actor=actor,
        subject=target,
        before=before,
        after=_year_facts(target),
    )
    return target


def _year_facts(year: SchoolYear) -> dict[str, Any]:
    facts: dict[str, Any] = {
        "code": year.code,
        "starts_on": year.starts_on,
        "ends_on": year.ends_on,
    }
    for semester in Semester.objects.filter(school_year=year):
        facts[semester.term] = [semester.starts_on, semester.ends_on]
    return facts


@transaction.atomic
def set_current_school_year(year: SchoolYear, *, actor: User) -> SchoolYear:
    """The year every page and service defaults to. One at a time (`one_current_year`)."""
    require_configure(actor)
    previous = SchoolYear.objects.select_for_update().filter(current=True).first()
    if previous is not None and previous.pk == year.pk:
        raise DomainError(f"{year.code}学年已是当前学年。")
    if not Semester.objects.filter(school_year=year).exists():
        raise DomainError(f"{year.code}学年还没有设置学期，请先设置秋季、春季学期的起止日期。")
    SchoolYear.objects.filter(current=True).update(current=False)
    SchoolYear.objects.filter(pk=year.pk).update(current=True)
    year.current = True
    _record(
        "aid.current_year_set",
        actor=actor,
        subject=year,
        before={"current": previous.code if previous else None},
        after={"current": year.code},
    )
    return year


# --- categories ---------------------------------------------------------------------------


def criteria_columns(kind: str) -> dict[str, str]:
    """The attributes a criterion may test for a dataset, English key → Chinese header.

    Person, name and related-person columns are not in a record's attrs, and ID columns are
    stored only as blind indexes, so neither can be a criterion.
    """
    spec = FORMATS.get(kind)
    if spec is None:
        return {}
    skipped = {spec.person_key, spec.name_key, spec.related_key} | set(spec.id_keys)
    return {c.key: c.header for c in spec.columns if c.key not in skipped}


def _check_criteria(kind: str, criteria: Mapping[str, Sequence[str]]) -> dict[str, list[str]]:
    if criteria and not kind:
        raise DomainError("未选择比对数据集时不能设置有效记录条件。")
    spec = FORMATS.get(kind)
    columns = {c.key: c for c in spec.columns} if spec else {}
    allowed = criteria_columns(kind)
    cleaned: dict[str, list[str]] = {}
    for key, values in criteria.items():
        if not isinstance(key, str) or not _ATTR_KEY.fullmatch(key):
            raise DomainError(f"条件字段“{key}”无效：应为数据格式中的字段。")
        if spec is not None and key not in allowed:
            listing = "、".join(allowed.values()) or "无"
            raise DomainError(
                f"“{DatasetKind(kind).label}”没有可作条件的字段“{key}”。可用：{listing}。"
            )
        kept = [str(v).strip() for v in values if str(v).strip()]
        if not kept:
            raise DomainError(f"条件“{allowed.get(key, key)}”至少要有一个取值。")
        if key in columns:
            for value in kept:
                try:
                    columns[key].parser(value)
                except CellError as error:
                    raise DomainError(
                        f"条件“{allowed[key]}”的取值“{value}”无效：{error.reason}"
                    ) from None
        cleaned[key] = list(dict.fromkeys(kept))
    return cleaned


@transaction.atomic
def update_category(
    category: HardshipCategory,
    *,
    actor: User,
    name: str,
    department: str,
    dataset_kind: str,
    criteria: Mapping[str, Sequence[str]],
) -> HardshipCategory:
    """Edit a category's name, certifying department and the data that proves it.

    Category 7 keeps `needs_visit` and takes no dataset (seed 二(一)3: it rests on a home
    or neighbour visit and the evaluation group's opinion).
    """
    require_configure(actor)
    name, department, dataset_kind = name.strip(), department.strip(), dataset_kind.strip()
    if not name:
        raise DomainError("请填写类别名称。")
    if dataset_kind and dataset_kind not in DatasetKind.values:
        raise DomainError(f"未知的数据集“{dataset_kind}”，请从列表中选择。")
    if category.number == VISIT_CATEGORY and (dataset_kind or criteria):
        raise DomainError("第7类须经家访或邻里走访及评议小组评议认定，不能设置比对数据集。")
    cleaned = _check_criteria(dataset_kind, criteria)
    before = _category_facts(category)
    category.name, category.department = name, department
    category.dataset_kind, category.criteria = dataset_kind, cleaned
    category.needs_visit = category.number == VISIT_CATEGORY
    _clean(category)
    category.save()
    _record(
        "aid.category_updated",
        actor=actor,
        subject=category,
        before=before,
        after=_category_facts(category),
    )
    return category


def _category_facts(category: HardshipCategory) -> dict[str, Any]:
    return {
        "name": category.name,
        "department": category.department,
        "dataset_kind": category.dataset_kind,
        "criteria": category.criteria,
        "needs_visit": category.needs_visit,
    }


# --- tiers --------------------------------------------------------------------------------


@transaction.atomic
def save_tier(
    tier: DifficultyTier | None, *, actor: User, code: str, name: str, rank: int
) -> DifficultyTier:
    """Create a difficulty tier (tier=None) or rename/re-rank one; rank 1 is the neediest."""
    require_configure(actor)
    code, name = code.strip(), name.strip()
    if not name:
        raise DomainError("请填写困难等级名称。")
    if not re.fullmatch(r"[a-z][a-z0-9_]{0,19}", code):
        raise DomainError(
            "等级代码应为小写英文字母开头，由小写字母、数字、下划线组成，最长 20 位。"
        )
    if rank < 1:
        raise DomainError("顺序应为从 1 开始的正整数（1 表示最困难）。")
    others = DifficultyTier.objects.exclude(pk=tier.pk) if tier else DifficultyTier.objects.all()
    for field, value, label in (
        ("code", code, "代码"),
        ("name", name, "名称"),
        ("rank", rank, "顺序"),
    ):
        if others.filter(**{field: value}).exists():
            raise DomainError(f"已有{label}为“{value}”的困难等级，请换一个。")
    before = _tier_facts(tier) if tier else None
    target = tier or DifficultyTier()
    target.code, target.name, target.rank = code, name, rank
    _clean(target)
    target.save()
    _record("aid.tier_saved", actor=actor, subject=target, before=before, after=_tier_facts(target))
    return target


def _tier_facts(tier: DifficultyTier) -> dict[str, Any]:
    return {"code": tier.code, "name": tier.name, "rank": tier.rank}


@transaction.atomic
def delete_tier(tier: DifficultyTier, *, actor: User) -> None:
    """Only an unused tier may go: standards, identifications and awards keep theirs."""
    require_configure(actor)
    facts = _tier_facts(tier)
    try:
        with transaction.atomic():
            tier.delete()
    except ProtectedError:
        raise DomainError(
            f"“{tier.name}”已被资助标准、认定或资助记录使用，不能删除；可修改其名称或顺序。"
        ) from None
    audit.record("aid.tier_deleted", actor=actor, org_unit=home_unit(actor, PERM), before=facts)


# --- programmes ---------------------------------------------------------------------------


@dataclass(frozen=True)
class ProgrammeData:
    code: str
    name: str
    stages: Sequence[str]
    grades: Sequence[str]
    rhythm: str
    boarders_only: bool
    non_boarder_ratio: Decimal
    excludes: Sequence[Programme] = ()


def _check_programme(data: ProgrammeData, programme: Programme | None) -> None:
    if not re.fullmatch(r"[A-Z][A-Z0-9_]{1,31}", data.code.strip()):
        raise DomainError(
            "项目代码应为大写英文字母开头，由大写字母、数字、下划线组成，最长 32 位。"
        )
    if not data.name.strip():
        raise DomainError("请填写资助项目名称。")
    if not data.stages:
        raise DomainError("请至少选择一个适用学段。")
    unknown = [s for s in data.stages if s not in Stage.values]
    if unknown:
        raise DomainError(f"未知的学段“{unknown[0]}”。")
    if data.rhythm not in PaymentRhythm.values:
        raise DomainError("请选择发放方式：按学期或按月。")
    ratio = data.non_boarder_ratio
    if not ratio.is_finite() or ratio < 0 or ratio > 1 or ratio != ratio.quantize(CENT):
        raise DomainError("非寄宿生比例应在 0 到 1 之间，最多两位小数（如 0.5 表示按 50% 发放）。")
    if programme is not None and any(p.pk == programme.pk for p in data.excludes):
        raise DomainError("一个项目不能与自己互斥。")
    others = Programme.objects.exclude(pk=programme.pk) if programme else Programme.objects.all()
    if others.filter(code=data.code.strip()).exists():
        raise DomainError(f"项目代码“{data.code.strip()}”已被使用。")
    if others.filter(name=data.name.strip()).exists():
        raise DomainError(f"项目名称“{data.name.strip()}”已被使用。")


@transaction.atomic
def save_programme(programme: Programme | None, *, actor: User, data: ProgrammeData) -> Programme:
    """Create (programme=None) or change a programme. Exclusions are symmetric: if A
    excludes B, B excludes A (`Programme.excludes` is a symmetrical self-relation)."""
    require_configure(actor)
    _check_programme(data, programme)
    before = _programme_facts(programme) if programme else None
    target = programme or Programme()
    target.code = data.code.strip()
    target.name = data.name.strip()
    target.stages = list(dict.fromkeys(data.stages))
    target.grades = list(dict.fromkeys(g.strip() for g in data.grades if g.strip()))
    target.rhythm = data.rhythm
    target.boarders_only = data.boarders_only
    target.non_boarder_ratio = data.non_boarder_ratio
    _clean(target)
    target.save()
    target.excludes.set(data.excludes)
    _record(
        "aid.programme_saved",
        actor=actor,
        subject=target,
        before=before,
        after=_programme_facts(target),
    )
    return target


def _programme_facts(programme: Programme) -> dict[str, Any]:
    return {
        "code": programme.code,
        "name": programme.name,
        "stages": programme.stages,
        "grades": programme.grades,
        "rhythm": programme.rhythm,
        "boarders_only": programme.boarders_only,
        "non_boarder_ratio": programme.non_boarder_ratio,
        "excludes": sorted(programme.excludes.values_list("code", flat=True)),
        "active": programme.active,
    }


@transaction.atomic
def set_programme_active(programme: Programme, *, actor: User, active: bool) -> Programme:
    """Programmes are deactivated, never deleted: applications and awards point at them."""
    require_configure(actor)
    updated = Programme.objects.filter(pk=programme.pk, active=not active).update(active=active)
    if updated != 1:
        raise Conflict(f"“{programme.name}”已是{'启用' if active else '停用'}状态。")
    programme.active = active
    _record(
        "aid.programme_activated" if active else "aid.programme_deactivated",
        actor=actor,
        subject=programme,
        before={"active": not active},
        after={"active": active},
    )
    return programme


# --- standards ----------------------------------------------------------------------------


def standard_stages(programme: Programme) -> list[str]:
    """The stage columns of a programme's standard grid: "" (every stage) first, then each
    stage a standard can be looked up by. A 九年一贯制 school is priced as primary or junior
    by grade (`rules.student_stage`), so it contributes those two columns, not its own."""
    stages: list[str] = [""]
    for stage in programme.stages:
        looked_up = [Stage.PRIMARY, Stage.JUNIOR] if stage == Stage.NINE_YEAR else [stage]
        stages.extend(s for s in looked_up if s not in stages)
    return stages


def parse_amount(raw: str) -> Decimal:
    """Yuan, at most 2 decimals, not negative."""
    try:
        value = Decimal(raw.strip().replace(",", ""))
    except InvalidOperation:
        raise DomainError(f"“{raw}”不是有效金额，请填写数字，如 1250 或 1250.50。") from None
    if not value.is_finite() or value < 0:
        raise DomainError(f"金额“{raw}”不能为负数。")
    if value != value.quantize(CENT):
        raise DomainError(f"金额“{raw}”最多保留两位小数（到分）。")
    if value >= Decimal("1e10"):
        raise DomainError(f"金额“{raw}”过大，请核对单位是否为元。")
    return value.quantize(CENT)


StandardCell = tuple[int, str]  # (tier pk, stage or "")


@transaction.atomic
def set_standards(
    programme: Programme,
    *,
    actor: User,
    school_year: SchoolYear,
    amounts: Mapping[StandardCell, Decimal | None],
    allow_removal: bool = False,
) -> dict[str, int]:
    """Write a programme's standard grid for a school year. None clears a cell; clearing a
    cell that had a standard needs `allow_removal` (the page asks for confirmation)."""
    require_configure(actor)
    stages = set(standard_stages(programme))
    tiers = {t.pk: t for t in DifficultyTier.objects.all()}
    existing = {
        (s.tier_id, s.stage): s
        for s in Standard.objects.select_for_update().filter(
            programme=programme, school_year=school_year
        )
    }
    removals = [cell for cell, amount in amounts.items() if amount is None and cell in existing]
    if removals and not allow_removal:
        raise DomainError(f"将删除 {len(removals)} 项已有标准，请勾选确认后再保存。")
    changes: dict[str, list[Any]] = {}
    for (tier_id, stage), amount in amounts.items():
        if tier_id not in tiers or stage not in stages:
            raise DomainError("标准表格与当前项目的学段或困难等级不符，请刷新页面后重填。")
        if amount is not None and (amount < 0 or amount != amount.quantize(CENT)):
            raise DomainError("资助标准不能为负数，最多保留两位小数。")
        current = existing.get((tier_id, stage))
        label = f"{tiers[tier_id].name}/{stage or '通用'}"
        old = current.annual_amount if current else None
        if amount is None and current is not None:
            current.delete()
        elif amount is not None and current is None:
            Standard.objects.create(
                programme=programme,
                school_year=school_year,
                tier=tiers[tier_id],
                stage=stage,
                annual_amount=amount,
            )
        elif amount is not None and current is not None and current.annual_amount != amount:
            current.annual_amount = amount
            current.save(update_fields=["annual_amount"])
        else:
            continue
        changes[label] = [old, amount]
    if changes:
        _record(
            "aid.standards_set",
            actor=actor,
            subject=programme,
            after={"school_year": school_year.code, "changes": changes},
        )
    return {"changed": len(changes), "removed": len(removals)}


# --- quotas -------------------------------------------------------------------------------


def quota_schools(programme: Programme) -> list[OrgUnit]:
    """Active schools whose stage the programme serves (a 九年一贯制 school counts for primary
    and junior programmes too)."""
    stages = set(programme.stages)
    if stages & {Stage.PRIMARY, Stage.JUNIOR}:
        stages.add(Stage.NINE_YEAR)
    return list(
        OrgUnit.objects.filter(kind=UnitKind.SCHOOL, active=True, stage__in=stages)
        .select_related("parent")
        .order_by("parent__code", "code")
    )


@transaction.atomic
def set_quotas(
    programme: Programme,
    *,
    actor: User,
    school_year: SchoolYear,
    places: Mapping[int, int | None],
    allow_removal: bool = False,
) -> dict[str, int]:
    """Set many schools' places (名额) for one programme and year in one go.

    None clears a school's quota; clearing one that was set needs `allow_removal`.
    """
    require_configure(actor)
    schools = {school.pk: school for school in quota_schools(programme)}
    existing = {
        q.school_id: q
        for q in Quota.objects.select_for_update().filter(
            programme=programme, school_year=school_year
        )
    }
    removals = [pk for pk, value in places.items() if value is None and pk in existing]
    if removals and not allow_removal:
        raise DomainError(f"将清除 {len(removals)} 所学校已有的名额，请勾选确认后再保存。")
    changes: dict[str, list[Any]] = {}
    for school_id, value in places.items():
        school = schools.get(school_id)
        if school is None:
            raise DomainError(f"所选学校不适用“{programme.name}”，或已停用，请刷新页面后重填。")
        if value is not None and value < 0:
            raise DomainError(f"{school.name}的名额不能为负数。")
        current = existing.get(school_id)
        old = current.places if current else None
        if old == value:
            continue
        if value is None and current is not None:
            current.delete()
        elif current is None and value is not None:
            Quota.objects.create(
                school=school, programme=programme, school_year=school_year, places=value
            )
        elif current is not None and value is not None:
            current.places = value
            current.save(update_fields=["places"])
        changes[school.code] = [old, value]
    if changes:
        _record(
            "aid.quotas_set",
            actor=actor,
            subject=programme,
            after={"school_year": school_year.code, "changes": changes},
        )
    return {"changed": len(changes), "removed": len(removals)}
