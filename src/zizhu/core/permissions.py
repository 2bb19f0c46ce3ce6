"""The one role → permission table. Permissions are `resource:action` strings.

Later apps add their permissions here, so the whole grant picture reads on one screen.
"""

from zizhu.core.models import Role, UnitKind

# Which kind of org unit each role is held at.
ROLE_UNIT_KIND: dict[str, str] = {
    Role.DISTRICT_OFFICER: UnitKind.DISTRICT,
    Role.DISTRICT_HEAD: UnitKind.DISTRICT,
    Role.INSPECTION_TEAM: UnitKind.DISTRICT,
    Role.AUDITOR: UnitKind.DISTRICT,
    Role.SYSADMIN: UnitKind.DISTRICT,
    Role.TOWN_SUPERVISOR: UnitKind.TOWN,
    Role.SCHOOL_OFFICER: UnitKind.SCHOOL,
    Role.PRINCIPAL: UnitKind.SCHOOL,
    Role.SCHOOL_INSPECTOR: UnitKind.SCHOOL,
}

_READ = frozenset(
    {
        "orgunit:view",
        "student:view",
        "staff:view",
        "certification:view",
    }
)
_OVERSIGHT = _READ | {"audit:view", "audit:export"}

ROLE_PERMISSIONS: dict[str, frozenset[str]] = {
    Role.DISTRICT_OFFICER: _READ
    | {
        "job:view",
        "register:import",
        "student:change_status",
        "dataset:view",
        "dataset:import",
        "student:edit",
        "student:export",
        "pii:reveal",
        "certification:manage",
        "audit:view",
    },
    Role.DISTRICT_HEAD: _OVERSIGHT
    | {
        "student:export",
        "pii:reveal",
        "certification:manage",
        "reporter:view",
        "job:view",
        "dataset:view",
    },
    Role.TOWN_SUPERVISOR: _READ | {"audit:view"},
    Role.SCHOOL_OFFICER: _READ
    | {
        "student:edit",
        "student:export",
        "student:change_status",
        "register:import",
        "job:view",
        "pii:reveal",
    },
    Role.PRINCIPAL: _READ | {"student:export", "audit:view"},
    Role.SCHOOL_INSPECTOR: _OVERSIGHT | {"reporter:view"},
    Role.INSPECTION_TEAM: _OVERSIGHT | {"dataset:view"},
    Role.AUDITOR: _OVERSIGHT | {"dataset:view"},
    Role.SYSADMIN: frozenset(
        {"orgunit:view", "user:manage", "calendar:manage", "audit:view", "audit:verify"}
    ),
}

# Roles whose actions on reviews, approvals and verifications need a live certificate.
CERTIFIED_ROLES = frozenset({Role.SCHOOL_OFFICER, Role.DISTRICT_OFFICER})
