"""`zizhu rotate_keys` (the issue's `rotate-keys`): re-encrypt values still under an older key.

Architecture.md "Personal data": the key id is stored beside each ciphertext so keys can
rotate. Put the new key first in ZIZHU_ENCRYPTION_KEYS, make it ZIZHU_ENCRYPTION_KEY_ID, run
this command, and then the old keys can be removed from the list. The blind index uses its own
key and is left untouched, so lookups and department joins keep working throughout.
"""

from __future__ import annotations

from typing import Any

from django.apps import apps
from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import models, transaction
from django.db.models.functions import Cast

from zizhu.core import audit, crypto
from zizhu.core.crypto import SensitiveField

SYSTEM_LABEL = "系统命令"


def sensitive_models() -> list[tuple[type[models.Model], list[SensitiveField]]]:
    """Concrete models with their own SensitiveField columns (inherited ones count once)."""
    found = []
    for model in apps.get_models():
        if model._meta.proxy or not model._meta.managed:
            continue
        fields = [f for f in model._meta.local_concrete_fields if isinstance(f, SensitiveField)]
        if fields:
            found.append((model, fields))
    return found


def _raw(field: SensitiveField) -> Cast:
    # Casting to a plain text column skips the field's from_db_value, so the ciphertext (and
    # its key id) is read as stored instead of being decrypted on load.
    return Cast(field.attname, output_field=models.TextField())


def _reencrypted(
    row: tuple[Any, ...], fields: list[SensitiveField], active: str
) -> dict[str, models.Value]:
    changes: dict[str, models.Value] = {}
    for field, token in zip(fields, row[1:], strict=True):
        if not token or crypto.key_id_of(token) == active:
            continue
        plain = crypto.decrypt(token, kind=field.kind)
        sealed = crypto.encrypt(plain, kind=field.kind, key_id=active)
        # A Value with a plain text type is written as given; passing the string itself would
        # make the field encrypt the ciphertext a second time.
        changes[field.attname] = models.Value(sealed, output_field=models.TextField())
    return changes


class Command(BaseCommand):
    help = "用当前密钥重新加密所有仍使用旧密钥的敏感信息（身份证号、银行卡号、联系电话）。"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--batch", type=int, default=2000, help="每批处理的行数")
        parser.add_argument("--dry-run", action="store_true", help="只统计，不写入")

    def handle(self, *args: Any, batch: int, dry_run: bool, **options: Any) -> None:
        if batch < 1:
            raise CommandError("--batch 必须是正整数。")
        try:
            active = crypto.active_key_id()
            counts = {
                f"{model._meta.label_lower}.{field.name}": count
                for model, fields in sensitive_models()
                for field, count in self._rotate_model(model, fields, active, batch, dry_run)
            }
        except ImproperlyConfigured as error:
            raise CommandError(str(error)) from error
        for name, count in counts.items():
            self.stdout.write(f"{name}: {count}")
        total = sum(counts.values())
        if dry_run:
            self.stdout.write(f"试运行：共 {total} 个值需要改用密钥 {active} 加密，未写入。")
            return
        with transaction.atomic():
            audit.record(
                "crypto.keys_rotated",
                actor=None,
                actor_label=SYSTEM_LABEL,
                after={"key_id": active, "counts": counts, "total": total},
            )
        self.stdout.write(self.style.SUCCESS(f"已用密钥 {active} 重新加密 {total} 个值。"))

    def _rotate_model(
        self,
        model: type[models.Model],
        fields: list[SensitiveField],
        active: str,
        batch: int,
        dry_run: bool,
    ) -> list[tuple[SensitiveField, int]]:
        counts = dict.fromkeys(fields, 0)
        by_attname = {field.attname: field for field in fields}
        manager = model._base_manager
        raw_names = [f"_raw_{field.attname}" for field in fields]
        annotated = manager.annotate(**{n: _raw(f) for n, f in zip(raw_names, fields, strict=True)})
        last_pk: Any = None
        while True:
            # One transaction per batch: a long run holds no lock for long, and a failure
            # leaves whole batches done, which a rerun picks up where it stopped.
            with transaction.atomic():
                chunk = annotated.order_by("pk")
                if last_pk is not None:
                    chunk = chunk.filter(pk__gt=last_pk)
                if not dry_run:
                    chunk = chunk.select_for_update()
                rows = list(chunk.values_list("pk", *raw_names)[:batch])
                for row in rows:
                    changes = _reencrypted(row, fields, active)
                    for attname in changes:
                        counts[by_attname[attname]] += 1
                    if changes and not dry_run:
                        manager.filter(pk=row[0]).update(**changes)
            if len(rows) < batch:
                return list(counts.items())
            last_pk = rows[-1][0]
