"""Cross-check screens (issue 6): the rules with their statistics and the latest runs,
"立即运行" behind a confirmation step and its progress, one run with its hits and their export,
one rule with its SQL, one hit's evidence, and the list of all hits.

Every page needs district-wide `crosscheck:view` (403 otherwise); hits are read through
`services.hits`, so a hit out of reach answers 404 like a missing one. ID numbers appear
masked only, on the pages and in the export (architecture.md, "Personal data").
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db.models import QuerySet
from django.urls import reverse

from zizhu.core.crypto import Sensitive, mask
from zizhu.core.errors import NotPermitted, OutOfReach
from zizhu.core.models import OrgUnit, User
from zizhu.core.reach import require_permission, scope_for
from zizhu.crosscheck.models import Hit, Run, RunHit, RunStatus
from zizhu.crosscheck.rules import Param, Rule, get_rule
from zizhu.crosscheck.services.hits import (
    RUN_PERM,
    VIEW_PERM,
    RuleStats,
)
from zizhu.sources.models import DatasetKind, DatasetVersion

EXPORT_PERM = "student:export"
CONFIRM = "confirm"
RUNS_PER_PAGE = 10

# Where a piece of evidence comes from: a department dataset, or the platform's own data.
SOURCE_LABELS: dict[str, str] = {
    **dict(DatasetKind.choices),
    "register": "学籍档案",
    "awards": "资助名单",
    "guardian": "监护人信息",
    "staff": "教职工名册",
    "cadre": "领导干部",
    "village_cadre": "村社区干部",
    "phone": "联系电话",
    "linked": "监护人姓名住址关联",
}

RUN_STATUS_CSS: dict[str, str] = {
    RunStatus.RUNNING: "warn",
    RunStatus.SUCCEEDED: "ok",
    RunStatus.FAILED: "bad",
}

# Encrypted or long columns a hit list never shows: each one left out is a decryption less.
LIST_DEFERRED = (
    "evidence",
    "student__phone",
    "student__bank_account",
    "student__card_holder_id",
    "student__hukou_address",
    "student__home_address",
)


# --- reach ----------------------------------------------------------------------------------


def require_view(actor: User) -> None:
    """The results cover the whole district: only district-level roles read them."""
    require_permission(actor, VIEW_PERM)
    if not scope_for(actor, VIEW_PERM).everything:
        raise NotPermitted("大数据比对结果为全区数据，仅区级岗位可以查看。")


def can_run(actor: User) -> bool:
    return scope_for(actor, RUN_PERM).everything


def schools(actor: User) -> QuerySet[OrgUnit]:
    return OrgUnit.objects.visible_to(actor, VIEW_PERM).schools().order_by("code")


def get_run(pk: int) -> Run:
    run = Run.objects.select_related("actor", "job").filter(pk=pk).first()
    if run is None:
        raise OutOfReach()
    return run


# --- display helpers ------------------------------------------------------------------------


def percent(share: float | None) -> str:
    return "—" if share is None else f"{share * 100:.1f}%"


def shown(value: Any) -> str:
    if isinstance(value, list | tuple):
        return "、".join(str(item) for item in value)
    if isinstance(value, Decimal):
        return format(value.normalize(), "f")
    return str(value)


def seconds(value: Any) -> str:
    return "—" if value is None else f"{float(value):.2f} 秒"


@dataclass(frozen=True)
class ParamLine:
    param: Param
    value: str
    default: str


def param_lines(rule: Rule) -> list[ParamLine]:
    values = rule.param_values()
    return [ParamLine(p, shown(values[p.name]), shown(p.default)) for p in rule.params]


@dataclass(frozen=True)
class RuleRow:
    stats: RuleStats
    params: list[ParamLine]

    @property
    def rule(self) -> Rule:
        return self.stats.rule

    @property
    def precision(self) -> str:
        return percent(self.stats.precision)


@dataclass(frozen=True)
class DatasetLine:
    label: str
    number: int
    as_of: str
    rows: int | None
    url: str | None


def dataset_lines(run: Run, *, linked: bool) -> list[DatasetLine]:
    """The department data a run read, each linked to its version page where it still is."""
    used = run.dataset_versions
    present: set[int] = set()
    if linked:
        ids = [info.get("id") for info in used.values()]
        present = set(DatasetVersion.objects.filter(pk__in=ids).values_list("pk", flat=True))
    return [
        DatasetLine(
            label=SOURCE_LABELS.get(kind, kind),
            number=int(info.get("number", 0)),
            as_of=str(info.get("as_of", "")),
            rows=info.get("rows"),
            url=(
                reverse("sources:version_detail", args=[info["id"]])
                if info.get("id") in present
                else None
            ),
        )
        for kind, info in used.items()
    ]


@dataclass(frozen=True)
class RunRow:
    run: Run
    datasets: str
    hits: int
    opened: int
    gone: int
    clues: int

    @property
    def status_css(self) -> str:
        return RUN_STATUS_CSS.get(self.run.status, "warn")


def run_row(run: Run) -> RunRow:
    tallies = run.counts.get("rules", {}).values()
    datasets = "、".join(
        f"{SOURCE_LABELS.get(kind, kind)} 第{info.get('number')}版"
        for kind, info in run.dataset_versions.items()
    )
    return RunRow(
        run=run,
        datasets=datasets or "未使用部门数据",
        hits=sum(int(t.get("hits", 0)) for t in tallies),
        opened=sum(int(t.get("new", 0)) + int(t.get("reopened", 0)) for t in tallies),
        gone=sum(int(t.get("gone", 0)) for t in tallies),
        clues=int(run.counts.get("clues", 0)),
    )


@dataclass(frozen=True)
class HitLine:
    """One row of a hit list: the hit, its student's masked ID number, and the clue shown."""

    hit: Hit
    id_masked: str
    change: str = ""
    clue_pk: int | None = None
    clue_number: str = ""

    @property
    def rule_title(self) -> str:
        rule = get_rule(self.hit.rule)
        return rule.title if rule else self.hit.rule


def hit_lines(hits: Iterable[Hit]) -> list[HitLine]:
    return [
        HitLine(
            hit=hit,
            id_masked=mask(hit.student.id_number, Sensitive.ID_NUMBER),
            clue_pk=hit.clue_id,
            clue_number=hit.clue.number if hit.clue else "",
        )
        for hit in hits
    ]


def run_hit_lines(run_hits: Iterable[RunHit]) -> list[HitLine]:
    lines = []
    for run_hit in run_hits:
        # The clue this run opened; for a hit only still present, the one it opened before.
        clue = run_hit.clue or run_hit.hit.clue
        lines.append(
            HitLine(
                hit=run_hit.hit,
                id_masked=mask(run_hit.hit.student.id_number, Sensitive.ID_NUMBER),
                change=run_hit.get_change_display(),
                clue_pk=clue.pk if clue else None,
                clue_number=clue.number if clue else "",
            )
        )
    return lines
