"""Apply the rules to a snapshot: base views, guardian linkage, then each rule's SELECT.

The engine knows nothing of Django models beyond the snapshot; it returns findings — per rule,
per student, the evidence rows — for `services.runs` to diff and record.
"""

from __future__ import annotations

import hashlib
import time
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from zizhu.crosscheck import linkage
from zizhu.crosscheck.rules import EVIDENCE_COLUMNS, Rule, all_rules, base_sql
from zizhu.crosscheck.snapshot import Snapshot


@dataclass
class Finding:
    """One rule's finding about one student: the evidence rows, and their fingerprint."""

    rule: Rule
    student_id: int
    evidence: list[dict[str, Any]]
    facts: list[str]

    @property
    def fingerprint(self) -> str:
        joined = "\n".join(sorted(set(self.facts)))
        return hashlib.sha256(f"{self.rule.code}\n{joined}".encode()).hexdigest()


@dataclass
class Outcome:
    findings: dict[str, dict[int, Finding]] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)
    params: dict[str, dict[str, Any]] = field(default_factory=dict)
    linked: int = 0
    linkage_seconds: float = 0.0


def _plain(value: Any) -> Any:
    return str(value) if isinstance(value, Decimal) else value


def prepare(snapshot: Snapshot, *, link_threshold: float | None = None) -> tuple[int, float]:
    """Create the shared views and the guardian links. Returns (links, seconds)."""
    con = snapshot.con
    for statement in _statements(base_sql()):
        con.execute(statement)
    started = time.perf_counter()
    links = linkage.link_guardians(con, floor=link_threshold)
    return links, time.perf_counter() - started


def _statements(sql: str) -> list[str]:
    lines = [line for line in sql.splitlines() if not line.strip().startswith("--")]
    return [part.strip() for part in "\n".join(lines).split(";") if part.strip()]


def run_rule(con: Any, rule: Rule) -> tuple[dict[int, Finding], dict[str, Any]]:
    values = rule.param_values()
    scalars: dict[str, Any] = {}
    for param in rule.params:
        value = values[param.name]
        if param.kind == "list":
            con.execute(f"CREATE OR REPLACE TEMP TABLE param_{param.name} (value VARCHAR)")
            con.executemany(f"INSERT INTO param_{param.name} VALUES (?)", [[v] for v in value])
        else:
            scalars[param.name] = value
    rows = con.execute(
        f"SELECT {', '.join(EVIDENCE_COLUMNS)} FROM ({rule.sql}) AS hits"
        " ORDER BY student_id, source, detail",
        scalars or None,
    ).fetchall()
    findings: dict[int, Finding] = {}
    for student_id, fact, source, detail, version_id, row_number, probability in rows:
        finding = findings.get(student_id)
        if finding is None:
            finding = findings[student_id] = Finding(rule, int(student_id), [], [])
        evidence = {"source": source, "detail": detail}
        if version_id is not None:
            evidence["version_id"] = int(version_id)
            evidence["row_number"] = int(row_number)
        if probability is not None:
            evidence["probability"] = round(float(probability), 4)
        if evidence not in finding.evidence:
            finding.evidence.append(evidence)
        finding.facts.append(str(fact))
    return findings, {name: _plain(value) for name, value in values.items()}


def evaluate(
    snapshot: Snapshot,
    rules: dict[str, Rule] | None = None,
    *,
    on_rule: Any = None,
) -> Outcome:
    outcome = Outcome()
    outcome.linked, outcome.linkage_seconds = prepare(snapshot)
    chosen = all_rules() if rules is None else rules
    for code, rule in chosen.items():
        if on_rule is not None:
            on_rule(code)
        started = time.perf_counter()
        outcome.findings[code], outcome.params[code] = run_rule(snapshot.con, rule)
        outcome.seconds[code] = time.perf_counter() - started
    return outcome


def students_by_rule(outcome: Outcome) -> dict[str, set[int]]:
    """{code: student ids found}: what the tests and the generator compare against."""
    result: dict[str, set[int]] = defaultdict(set)
    for code, findings in outcome.findings.items():
        result[code] = set(findings)
    return dict(result)
