"""Payment batches (issue 7, "Batches"): create per programme and semester, the pre-payment
check (also as a dry run), approval by a certified district head who did not create the
batch, and the bank file.

Every step works on whole sets: a batch has tens of thousands of lines and the check must
run in seconds (50,000 lines: create, check, approve and export ≤ 10 s), so nothing queries
per line. Lines are grouped by outcome and written with one UPDATE per group.
"""

from __future__ import annotations

import io
import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

import xlsxwriter
from django.db import IntegrityError, connection, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from zizhu.aid.models import Award, AwardChange, AwardChangeKind, Programme, SchoolYear, Semester
from zizhu.aid.rules import first_of_month
from zizhu.cases.models import Clue, ClueStatus, Opinion
from zizhu.core import audit
from zizhu.core.errors import Conflict, DomainError, InvalidTransition, NotPermitted
from zizhu.core.models import User
from zizhu.core.reach import home_unit, require_permission, scope_for
from zizhu.core.services import record_export, require_certified
from zizhu.payments.models import BatchStatus, LineStatus, PaymentBatch, PaymentLine
from zizhu.payments.services.entitlements import period_amount
from zizhu.registry.models import Guardian, Student, StudentStatus

NO_CARD = "无有效银行卡"
HOLDER_MISMATCH = "持卡人既非学生本人也非监护人"
NOT_ENROLLED = "学生不在读"
OPEN_CLUE = "存在拟停止资助的未结线索"
ALREADY_PAID = "本期已发放"
AWARD_ENDED = "资助已终止"

BANK_FILE_HEADER = (
    "批次号",
    "序号",
    "学校代码",
    "学校名称",
    "姓名",
    "身份证号",
    "银行卡号",
    "金额",
)
_CARD = re.compile(r"[0-9]{12,25}")  # as accepted on import (core.tabular.bank_account)
_CHUNK = 500  # ids per UPDATE … WHERE id IN (…): well under every backend's parameter limit


class CheckReport(list[tuple[PaymentLine, list[str]]]):
    """Every line of the batch with its blocking reasons (empty = payable)."""

    @property
    def blocked(self) -> list[tuple[PaymentLine, list[str]]]:
        return [(line, reasons) for line, reasons in self if reasons]

    @property
    def payable_count(self) -> int:
        return sum(1 for _, reasons in self if not reasons)

    @property
    def payable_total(self) -> Decimal:
        return sum((line.amount for line, reasons in self if not reasons), Decimal("0.00"))


def _require_district(actor: User, perm: str) -> None:
    require_permission(actor, perm)
    if not scope_for(actor, perm).everything:
        raise NotPermitted("发放批次由区资助中心办理，学校不能操作。")


def _tier_changes(programme_id: int, school_year_id: int) -> dict[int, list[AwardChange]]:
    by_award: dict[int, list[AwardChange]] = defaultdict(list)
    for change in AwardChange.objects.filter(
        award__programme_id=programme_id,
        award__school_year_id=school_year_id,
        kind=AwardChangeKind.CHANGE_TIER,
    ).only("id", "award_id", "kind", "effective_month", "old_amount", "new_amount"):
        by_award[change.award_id].append(change)
    return by_award


def _amounts(batch: PaymentBatch) -> dict[int, Decimal]:
    """award id → what it owes for the batch's period now.

    Awards without tier changes that share amount and months owe the same: computed once
    per distinct (amount, start, end), which is what makes 50,000 awards cheap.
    """
    changes = _tier_changes(batch.programme_id, batch.school_year_id)
    year = SchoolYear.objects.get(pk=batch.school_year_id)
    same_terms: dict[tuple[Decimal, date, date | None], Decimal] = {}
    amounts: dict[int, Decimal] = {}
    rows = Award.objects.filter(
        programme_id=batch.programme_id, school_year_id=batch.school_year_id
    ).values_list("pk", "annual_amount", "start_month", "end_month")
    for pk, annual, start, end in rows.iterator(chunk_size=5000):
        key, tiers = (annual, start, end), changes.get(pk, [])
        if tiers or key not in same_terms:
            terms = Award(annual_amount=annual, start_month=start, end_month=end, school_year=year)
            owed = period_amount(terms, batch.period_start, batch.period_end, changes=tiers)
            if tiers:
                amounts[pk] = owed
                continue
            same_terms[key] = owed
        amounts[pk] = same_terms[key]
    return amounts


def _next_number(today: date) -> str:
    prefix = f"PF{today.year}"
    last = (
        PaymentBatch.objects.filter(number__startswith=prefix)
        .order_by("-number")
        .values_list("number", flat=True)
        .first()
    )
    seq = int(last[len(prefix) :]) + 1 if last else 1
    return f"{prefix}{seq:04d}"


@transaction.atomic
def create_batch(
    *, actor: User, programme: Programme, school_year: SchoolYear, semester: Semester
) -> PaymentBatch:
    """One line per award of the programme and year that owes money for the semester's
    months, with the student's card as it is now; then the pre-payment check. A monthly
    programme is batched the same way: the semester's months in one batch."""
    _require_district(actor, "payment:manage")
    if semester.school_year_id != school_year.pk:
        raise DomainError("所选学期不属于该学年，请重新选择。")
    batch = PaymentBatch(
        number=_next_number(timezone.localdate()),
        programme=programme,
        school_year=school_year,
        semester=semester,
        period_start=first_of_month(semester.starts_on),
        period_end=first_of_month(semester.ends_on),
        created_by=actor,
    )
    try:
        with transaction.atomic():
            batch.save()
    except IntegrityError:
        raise Conflict("批次号已被同时创建的批次占用，请重试。") from None
    amounts = _amounts(batch)
    _create_lines(batch, amounts)
    audit.record(
        "payment.batch_created",
        actor=actor,
        subject=batch,
        org_unit=home_unit(actor, "payment:manage"),
        after={
            "programme": programme.code,
            "school_year": school_year.code,
            "period": [batch.period_start, batch.period_end],
        },
    )
    _check(batch, actor=actor, dry_run=False, amounts=amounts)
    return batch


def _create_lines(batch: PaymentBatch, amounts: dict[int, Decimal]) -> None:
    """One INSERT … SELECT for every award of the programme and year, then the amounts
    grouped by value, then away with the lines that owe nothing. The card is copied as
    stored (ciphertext and blind index, both keyed by kind alone), so 50,000 cards are
    snapshot without decrypting and re-encrypting each one."""
    _insert_lines(batch)
    by_amount: dict[Decimal, list[int]] = defaultdict(list)
    for award_id, amount in amounts.items():
        by_amount[amount].append(award_id)
    for amount, award_ids in by_amount.items():
        for chunk in _chunks(award_ids):
            lines = PaymentLine.objects.filter(batch=batch, award_id__in=chunk)
            if amount > 0:
                lines.update(amount=amount)
            else:
                lines.delete()


def _insert_lines(batch: PaymentBatch) -> None:
    line, award, student = PaymentLine._meta, Award._meta, Student._meta
    quote = connection.ops.quote_name

    def col(meta: Any, name: str) -> str:
        return quote(meta.get_field(name).column)

    columns = ", ".join(
        col(line, name)
        for name in (
            "batch",
            "award",
            "student",
            "school",
            "amount",
            "bank_account",
            "bank_account_hash",
            "status",
            "reasons",
            "result_reason",
        )
    )
    reasons = "CAST(%s AS jsonb)" if connection.vendor == "postgresql" else "%s"
    # Identifiers come from _meta and every value is bound.
    sql = (
        f"INSERT INTO {quote(line.db_table)} ({columns}) "  # noqa: S608
        f"SELECT %s, a.{col(award, 'id')}, a.{col(award, 'student')}, a.{col(award, 'school')}, "
        f"0, s.{col(student, 'bank_account')}, s.{col(student, 'bank_account_hash')}, %s, "
        f"{reasons}, '' "
        f"FROM {quote(award.db_table)} a "
        f"JOIN {quote(student.db_table)} s ON s.{col(student, 'id')} = a.{col(award, 'student')} "
        f"WHERE a.{col(award, 'programme')} = %s AND a.{col(award, 'school_year')} = %s"
    )
    params: list[Any] = [
        batch.pk,
        LineStatus.PAYABLE,
        "[]",
        batch.programme_id,
        batch.school_year_id,
    ]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


# --- the pre-payment check -------------------------------------------------------------


@dataclass(frozen=True)
class _StudentFacts:
    status: str
    id_hash: str | None
    holder_hash: str | None
    card: str | None
    card_hash: str | None


def _students(batch: PaymentBatch) -> dict[int, _StudentFacts]:
    ids = batch.lines.values("student_id")
    return {
        pk: _StudentFacts(status, id_hash, holder_hash, card, card_hash)
        for pk, status, id_hash, holder_hash, card, card_hash in Student.objects.filter(
            pk__in=ids
        ).values_list(
            "pk",
            "status",
            "id_number_hash",
            "card_holder_id_hash",
            "bank_account",
            "bank_account_hash",
        )
    }


def _guardian_hashes(batch: PaymentBatch) -> dict[int, set[str]]:
    hashes: dict[int, set[str]] = defaultdict(set)
    rows = Guardian.objects.filter(
        student_id__in=batch.lines.values("student_id"), id_number_hash__isnull=False
    ).values_list("student_id", "id_number_hash")
    for student_id, digest in rows:
        if digest:
            hashes[student_id].add(digest)
    return hashes


def _students_with_stop_clue(batch: PaymentBatch) -> set[int]:
    stopping = [Opinion.STOP, Opinion.RECOVER]
    clues = Clue.objects.exclude(status=ClueStatus.CLOSED).filter(
        Q(verifications__opinion__in=stopping) | Q(decisions__opinion__in=stopping)
    )
    return set(
        Clue.students.through.objects.filter(
            clue_id__in=clues.values("pk"), student_id__in=batch.lines.values("student_id")
        ).values_list("student_id", flat=True)
    )


def _awards_paid_elsewhere(batch: PaymentBatch) -> set[int]:
    """Awards already paid for an overlapping period, or on their way to the bank in an
    approved or exported batch (paying them here too would pay twice)."""
    in_flight = Q(status=LineStatus.PAYABLE) & Q(
        batch__status__in=[BatchStatus.APPROVED, BatchStatus.EXPORTED]
    )
    return set(
        PaymentLine.objects.filter(
            Q(status=LineStatus.PAID) | in_flight,
            award_id__in=batch.lines.values("award_id"),
            batch__period_start__lte=batch.period_end,
            batch__period_end__gte=batch.period_start,
        )
        .exclude(batch=batch)
        .values_list("award_id", flat=True)
    )


@dataclass(frozen=True)
class _Facts:
    students: dict[int, _StudentFacts]
    guardians: dict[int, set[str]]
    clue_students: set[int]
    paid_awards: set[int]
    amounts: dict[int, Decimal]


def _reasons(line: PaymentLine, facts: _Facts) -> list[str]:
    student = facts.students[line.student_id]
    reasons = []
    if not student.card or not _CARD.fullmatch(student.card):
        reasons.append(NO_CARD)
    holders = facts.guardians.get(line.student_id, set()) | {student.id_hash}
    if student.holder_hash is None or student.holder_hash not in holders:
        reasons.append(HOLDER_MISMATCH)
    if student.status != StudentStatus.ENROLLED:
        reasons.append(NOT_ENROLLED)
    if line.student_id in facts.clue_students:
        reasons.append(OPEN_CLUE)
    if line.award_id in facts.paid_awards:
        reasons.append(ALREADY_PAID)
    if facts.amounts.get(line.award_id, Decimal(0)) <= 0:
        reasons.append(AWARD_ENDED)
    return reasons


def _lines(batch: PaymentBatch) -> list[PaymentLine]:
    # The card stays encrypted here: the check reads the student's current card instead.
    return list(batch.lines.defer("bank_account").order_by("school_id", "student_id", "pk"))


def check_batch(batch: PaymentBatch, *, actor: User, dry_run: bool = False) -> CheckReport:
    """List every line with its blocking reasons. Unless `dry_run`, refresh each line's card
    and amount, mark lines BLOCKED or PAYABLE, write the totals and move the batch to
    CHECKED; a dry run writes nothing."""
    return _check(batch, actor=actor, dry_run=dry_run, amounts=None)


def _check(
    batch: PaymentBatch, *, actor: User, dry_run: bool, amounts: dict[int, Decimal] | None
) -> CheckReport:
    _require_district(actor, "payment:manage")
    if batch.status not in (BatchStatus.DRAFT, BatchStatus.CHECKED):
        raise InvalidTransition(
            f"批次当前为“{batch.get_status_display()}”，只有草稿或已核验的批次可以核验。"
        )
    facts = _Facts(
        students=_students(batch),
        guardians=_guardian_hashes(batch),
        clue_students=_students_with_stop_clue(batch),
        paid_awards=_awards_paid_elsewhere(batch),
        amounts=_amounts(batch) if amounts is None else amounts,
    )
    report = CheckReport((line, _reasons(line, facts)) for line in _lines(batch))
    if dry_run:
        return report
    with transaction.atomic():
        _write_check(batch, report, facts, actor=actor)
    return report


def _chunks(ids: Sequence[int]) -> Iterable[Sequence[int]]:
    for start in range(0, len(ids), _CHUNK):
        yield ids[start : start + _CHUNK]


def _refresh_lines(report: CheckReport, facts: _Facts) -> None:
    """Bring each line's card and amount up to date (few change between checks)."""
    changed = []
    for line, _ in report:
        student = facts.students[line.student_id]
        amount = facts.amounts.get(line.award_id, Decimal("0.00"))
        if line.bank_account_hash != student.card_hash or line.amount != amount:
            line.bank_account, line.bank_account_hash = student.card, student.card_hash
            line.amount = amount
            changed.append(line)
    if changed:
        PaymentLine.objects.bulk_update(
            changed, ["bank_account", "bank_account_hash", "amount"], batch_size=_CHUNK
        )


def _write_statuses(batch: PaymentBatch, report: CheckReport) -> None:
    batch.lines.update(status=LineStatus.PAYABLE, reasons=[])
    groups: dict[tuple[str, ...], list[int]] = defaultdict(list)
    for line, reasons in report:
        line.status = LineStatus.BLOCKED if reasons else LineStatus.PAYABLE
        line.reasons = reasons
        if reasons:
            groups[tuple(reasons)].append(line.pk)
    for group, ids in groups.items():
        for chunk in _chunks(ids):
            PaymentLine.objects.filter(pk__in=chunk).update(
                status=LineStatus.BLOCKED, reasons=list(group)
            )


def _write_check(batch: PaymentBatch, report: CheckReport, facts: _Facts, *, actor: User) -> None:
    _refresh_lines(report, facts)
    _write_statuses(batch, report)
    now = timezone.now()
    moved = PaymentBatch.objects.filter(pk=batch.pk, status=batch.status).update(
        status=BatchStatus.CHECKED,
        checked_at=now,
        payable_total=report.payable_total,
        payable_count=report.payable_count,
    )
    if moved != 1:
        raise Conflict("批次已被他人处理，请刷新后重试。")
    before = batch.status
    batch.status, batch.checked_at = BatchStatus.CHECKED, now
    batch.payable_total, batch.payable_count = report.payable_total, report.payable_count
    blocked: dict[str, int] = defaultdict(int)
    for _, reasons in report.blocked:
        for reason in reasons:
            blocked[reason] += 1
    audit.record(
        "payment.batch_checked",
        actor=actor,
        subject=batch,
        org_unit=home_unit(actor, "payment:manage"),
        before={"status": before},
        after={
            "status": batch.status,
            "payable_count": batch.payable_count,
            "payable_total": batch.payable_total,
            "blocked": dict(blocked),
        },
    )


# --- approval and the bank file ---------------------------------------------------------


@transaction.atomic
def approve_batch(batch: PaymentBatch, *, actor: User) -> PaymentBatch:
    """The district head approves a checked batch; never the person who created it."""
    _require_district(actor, "payment:approve")
    require_certified(actor)
    if actor.pk == batch.created_by_id:
        raise NotPermitted("批次创建人不能审批自己创建的批次，请由其他区中心负责人审批。")
    if batch.status != BatchStatus.CHECKED:
        raise InvalidTransition(
            f"批次当前为“{batch.get_status_display()}”，只有已核验的批次可以审批。"
        )
    now = timezone.now()
    moved = PaymentBatch.objects.filter(pk=batch.pk, status=BatchStatus.CHECKED).update(
        status=BatchStatus.APPROVED, approved_by=actor, approved_at=now
    )
    if moved != 1:
        raise Conflict("批次已被他人处理，请刷新后重试。")
    batch.status, batch.approved_by, batch.approved_at = BatchStatus.APPROVED, actor, now
    audit.record(
        "payment.batch_approved",
        actor=actor,
        subject=batch,
        org_unit=home_unit(actor, "payment:approve"),
        before={"status": BatchStatus.CHECKED},
        after={
            "status": batch.status,
            "payable_count": batch.payable_count,
            "payable_total": batch.payable_total,
        },
    )
    return batch


def _bank_rows(
    batch: PaymentBatch,
) -> QuerySet[PaymentLine, tuple[str, str, str, str | None, str | None, Decimal]]:
    return (
        PaymentLine.objects.filter(batch=batch, status=LineStatus.PAYABLE)
        .order_by("school__code", "student_id", "pk")
        .values_list(
            "school__code",
            "school__name",
            "student__name",
            "student__id_number",
            "bank_account",
            "amount",
        )
    )


def _workbook(batch: PaymentBatch) -> tuple[bytes, int]:
    buffer = io.BytesIO()
    workbook = xlsxwriter.Workbook(buffer, {"constant_memory": True, "in_memory": True})
    sheet = workbook.add_worksheet("银行代发")
    text = workbook.add_format({"num_format": "@"})
    sheet.write_row(0, 0, BANK_FILE_HEADER, text)
    count = 0
    for count, row in enumerate(_bank_rows(batch).iterator(chunk_size=5000), start=1):
        code, school, name, id_number, card, amount = row
        cells = (batch.number, str(count), code, school, name, id_number or "", card or "")
        for column, cell in enumerate(cells):
            sheet.write_string(count, column, cell, text)
        sheet.write_string(count, len(cells), f"{amount:.2f}", text)
    workbook.close()
    return buffer.getvalue(), count


@transaction.atomic
def export_bank_file(batch: PaymentBatch, *, actor: User) -> bytes:
    """The bank's 代发 file of the payable lines, with clear ID and card numbers (the bank
    needs them), so it is logged as an export. The first export moves the batch to EXPORTED;
    later ones download the same lines again."""
    _require_district(actor, "payment:manage")
    if batch.status not in (BatchStatus.APPROVED, BatchStatus.EXPORTED):
        raise InvalidTransition(
            f"批次当前为“{batch.get_status_display()}”，审批通过后才能生成银行文件。"
        )
    content, rows = _workbook(batch)
    if batch.status == BatchStatus.APPROVED:
        now = timezone.now()
        moved = PaymentBatch.objects.filter(pk=batch.pk, status=BatchStatus.APPROVED).update(
            status=BatchStatus.EXPORTED, exported_at=now
        )
        if moved != 1:
            raise Conflict("批次已被他人处理，请刷新后重试。")
        batch.status, batch.exported_at = BatchStatus.EXPORTED, now
    record_export(
        "payment.bank_file_exported",
        actor=actor,
        perm="payment:manage",
        filters={"batch": batch.number},
        rows=rows,
        subject=batch,
    )
    return content
