"""Reach: who may see and touch which org units' data.

One door for lists (`<Model>.objects.visible_to(actor)`, built on `scope_for`) and one for
single objects (`get_for`), which answers 404 when the object is out of reach so that
"missing" and "not yours" look alike (style.md, "Reach").
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

from django.core.exceptions import ObjectDoesNotExist
from django.db import models

from zizhu.core.errors import NotPermitted, OutOfReach
from zizhu.core.models import OrgUnit, Role, RoleAssignment, UnitKind, User
from zizhu.core.permissions import ROLE_PERMISSIONS

if TYPE_CHECKING:
    from collections.abc import Iterable

M = TypeVar("M", bound=models.Model)
QS = TypeVar("QS", bound=models.QuerySet[Any])
_CACHE_ATTR = "_zizhu_assignments"


def assignments_of(actor: User) -> list[RoleAssignment]:
    """The actor's role assignments, loaded once per user object (one request)."""
    if not actor.is_authenticated or not actor.is_active:
        return []
    cached: list[RoleAssignment] | None = getattr(actor, _CACHE_ATTR, None)
    if cached is None:
        cached = list(RoleAssignment.objects.filter(user=actor).select_related("org_unit"))
        setattr(actor, _CACHE_ATTR, cached)
    return cached


def forget_assignments(actor: User) -> None:
    if hasattr(actor, _CACHE_ATTR):
        delattr(actor, _CACHE_ATTR)


def permissions_of(actor: User) -> frozenset[str]:
    granted: set[str] = set()
    for assignment in assignments_of(actor):
        granted |= ROLE_PERMISSIONS.get(assignment.role, frozenset())
    return frozenset(granted)


def has_permission(actor: User, perm: str) -> bool:
    return perm in permissions_of(actor)


def roles_of(actor: User) -> frozenset[str]:
    return frozenset(a.role for a in assignments_of(actor))


def require_permission(actor: User, perm: str) -> None:
    if not has_permission(actor, perm):
        raise NotPermitted("您的角色没有此项操作权限。如需办理，请联系区资助中心。")


@dataclass(frozen=True)
class Scope:
    """The org units an actor reaches for one permission."""

    everything: bool = False
    unit_ids: frozenset[int] = field(default_factory=frozenset)

    def filter(self, queryset: QS, unit_field: str) -> QS:
        """Rows whose `unit_field` (an OrgUnit FK path) is within reach."""
        if self.everything:
            return queryset
        return queryset.filter(**{f"{unit_field}__in": self.unit_ids})

    def filter_units(self, queryset: QS) -> QS:
        if self.everything:
            return queryset
        return queryset.filter(pk__in=self.unit_ids)

    def covers(self, unit_id: int | None) -> bool:
        return self.everything or (unit_id is not None and unit_id in self.unit_ids)


def _units_under(assignments: Iterable[RoleAssignment]) -> Scope:
    unit_ids: set[int] = set()
    towns: list[int] = []
    for assignment in assignments:
        kind = assignment.org_unit.kind
        if kind == UnitKind.DISTRICT:
            return Scope(everything=True)
        unit_ids.add(assignment.org_unit_id)
        if kind == UnitKind.TOWN:
            towns.append(assignment.org_unit_id)
    if towns:
        unit_ids.update(OrgUnit.objects.filter(parent_id__in=towns).values_list("pk", flat=True))
    return Scope(unit_ids=frozenset(unit_ids))


def scope_for(actor: User, perm: str) -> Scope:
    """Units reached through the roles that grant `perm`; empty when none does."""
    granting = [a for a in assignments_of(actor) if perm in ROLE_PERMISSIONS.get(a.role, ())]
    return _units_under(granting)


def get_for(
    actor: User,
    queryset: models.QuerySet[M],
    unit_field: str,
    *,
    perm: str,
    **lookup: Any,
) -> M:
    """The single-object door: the object if within reach for `perm`, else OutOfReach (404)."""
    scoped = scope_for(actor, perm).filter(queryset, unit_field)
    try:
        return scoped.get(**lookup)
    except (ObjectDoesNotExist, ValueError):
        raise OutOfReach() from None


def get_unit_for(actor: User, pk: int | str, *, perm: str = "orgunit:view") -> OrgUnit:
    return get_for(actor, OrgUnit.objects.all(), "pk", perm=perm, pk=pk)


def home_unit(actor: User, perm: str) -> OrgUnit | None:
    """The unit of the actor's first role granting `perm`: where their acts are filed."""
    for assignment in assignments_of(actor):
        if perm in ROLE_PERMISSIONS.get(assignment.role, frozenset()):
            return assignment.org_unit
    return None


def role_labels(actor: User, unit: OrgUnit | None = None) -> str:
    """For the audit row: the actor's roles, at the unit when it is within their reach."""
    labels = []
    for assignment in assignments_of(actor):
        if unit is None or _units_under([assignment]).covers(unit.pk):
            labels.append(f"{Role(assignment.role).label}@{assignment.org_unit.code}")
    return "；".join(labels)
