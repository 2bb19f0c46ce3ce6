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
        "payment:view",
        "clue:view",
        "orgunit:view",
        "student:view",
        "staff:view",
        "certification:view",
        "aid:view",
    }
)

# Identification and awards (issue 4). Who reviews, signs and publishes follows 三榜公示:
# the school officer enters and reviews, the principal signs, the district reviews and
# publishes online. Certification and segregation of duties are checked in the services.
_SCHOOL_AID = frozenset(
    {
        "identification:manage",
        "application:create",
        "application:school_review",
        "notice:publish_school",
        "objection:resolve",
        "review:decide",
        "coverage:record",
        # Clues (issue 5): schools register what reaches them and verify what they are sent.
        "clue:register",
        "clue:verify",
        "clue:reply",
    }
)
_DISTRICT_AID = frozenset(
    {
        "aid:configure",
        "identification:manage",
        "application:district_review",
        "application:finalise",
        "notice:publish_district",
        "objection:resolve",
        "award:change",
        "award:import",
        "review:open",
        "review:decide",
        "coverage:record",
        "clue:register",
        "clue:assign",
        "clue:verify",
        "clue:decide",
        "clue:reply",
        "portal:edit",
        # Money (issue 7): the officer prepares batches and funds; the head approves.
        "payment:manage",
        "fund:manage",
        "recovery:manage",
        # Cross-checks (issue 6): the centre runs them and reads the evidence.
        "crosscheck:view",
        "crosscheck:run",
    }
)
_OVERSIGHT = _READ | {"audit:view", "audit:export"}

ROLE_PERMISSIONS: dict[str, frozenset[str]] = {
    Role.DISTRICT_OFFICER: _READ
    | _DISTRICT_AID
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
        "aid:configure",
        "award:change",
        "portal:edit",
        "payment:approve",
        "fund:manage",
        "student:export",
        "pii:reveal",
        "certification:manage",
        "reporter:view",
        "job:view",
        "dataset:view",
        "crosscheck:view",
    },
    Role.TOWN_SUPERVISOR: _READ | {"audit:view"},
    Role.SCHOOL_OFFICER: _READ
    | _SCHOOL_AID
    | {
        "student:edit",
        "student:export",
        "student:change_status",
        "register:import",
        "job:view",
        "pii:reveal",
    },
    Role.PRINCIPAL: _READ | {"student:export", "audit:view", "application:sign"},
    Role.SCHOOL_INSPECTOR: _OVERSIGHT | {"reporter:view"},
    Role.INSPECTION_TEAM: _OVERSIGHT | {"dataset:view", "crosscheck:view"},
    Role.AUDITOR: _OVERSIGHT | {"dataset:view", "crosscheck:view"},
    Role.SYSADMIN: frozenset(
        {"orgunit:view", "user:manage", "calendar:manage", "audit:view", "audit:verify"}
    ),
}
