"""Sensitive identifiers: AES-256-GCM at rest, an HMAC-SHA256 blind index for exact lookup.

Architecture.md "Personal data": ID numbers, bank accounts and phone numbers are stored
encrypted with the key id beside the ciphertext (so keys can rotate) and found through a keyed
hash, which department datasets share so cross-checks join without clear values.

Model usage::

    id_number = SensitiveField(kind=Sensitive.ID_NUMBER)
    id_number_hash = BlindIndexField(source="id_number")

The sensitive field's `pre_save` fills its blind index, so every save and bulk_create keeps
the pair consistent. `QuerySet.update()` bypasses `pre_save`: write sensitive values through
model instances only.
"""

import base64
import hashlib
import hmac
import os
from functools import lru_cache
from typing import Any

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import models


class Sensitive(models.TextChoices):
    ID_NUMBER = "id_number", "身份证号"
    PHONE = "phone", "联系电话"
    BANK_ACCOUNT = "bank_account", "银行卡号"
    # A clue reporter's name and way of contact: protected like an identifier (issue 5).
    REPORTER = "reporter", "举报人信息"


_NONCE_BYTES = 12


@lru_cache(maxsize=8)
def _keys(spec: str) -> dict[str, AESGCM]:
    keys: dict[str, AESGCM] = {}
    for item in spec.split(","):
        key_id, _, encoded = item.strip().partition(":")
        try:
            raw = base64.b64decode(encoded, validate=True)
        except ValueError:
            raise ImproperlyConfigured(f"Encryption key {key_id!r} is not base64.") from None
        if len(raw) != 32 or not key_id:
            raise ImproperlyConfigured(f"Encryption key {key_id!r} must be 32 bytes (AES-256).")
        keys[key_id] = AESGCM(raw)
    return keys


def active_key_id() -> str:
    key_id: str = settings.ZIZHU_ENCRYPTION_KEY_ID
    if key_id not in _keys(settings.ZIZHU_ENCRYPTION_KEYS):
        raise ImproperlyConfigured(f"ZIZHU_ENCRYPTION_KEY_ID {key_id!r} is not in the key list.")
    return key_id


def encrypt(plain: str, *, kind: str, key_id: str | None = None) -> str:
    """`key_id$base64(nonce || ciphertext+tag)`; the kind is bound in as associated data."""
    key_id = key_id or active_key_id()
    nonce = os.urandom(_NONCE_BYTES)
    sealed = _keys(settings.ZIZHU_ENCRYPTION_KEYS)[key_id].encrypt(
        nonce, plain.encode(), kind.encode()
    )
    return f"{key_id}${base64.b64encode(nonce + sealed).decode()}"


def decrypt(token: str, *, kind: str) -> str:
    key_id, _, body = token.partition("$")
    try:
        cipher = _keys(settings.ZIZHU_ENCRYPTION_KEYS)[key_id]
    except KeyError:
        raise ImproperlyConfigured(
            f"No key {key_id!r} to decrypt a stored {kind}; add it to ZIZHU_ENCRYPTION_KEYS."
        ) from None
    raw = base64.b64decode(body)
    return cipher.decrypt(raw[:_NONCE_BYTES], raw[_NONCE_BYTES:], kind.encode()).decode()


def key_id_of(token: str) -> str:
    return token.partition("$")[0]


@lru_cache(maxsize=4)
def _index_key(encoded: str) -> bytes:
    raw = base64.b64decode(encoded)
    if len(raw) < 32:
        raise ImproperlyConfigured("ZIZHU_BLIND_INDEX_KEY must be at least 32 bytes (base64).")
    return raw


def normalise(value: str, kind: str) -> str:
    cleaned = "".join(value.split())
    if kind == Sensitive.ID_NUMBER:
        return cleaned.upper()
    return cleaned


def blind_index(value: str, kind: str) -> str:
    """HMAC-SHA256 of the normalised value, namespaced by kind. Same key everywhere."""
    key = _index_key(settings.ZIZHU_BLIND_INDEX_KEY)
    message = f"{kind}:{normalise(value, kind)}".encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def mask(value: str | None, kind: str) -> str:
    """Masked display: 420117********123X, 138****5678, ************1234."""
    if not value:
        return ""
    if kind == Sensitive.ID_NUMBER and len(value) >= 10:
        return value[:6] + "*" * (len(value) - 10) + value[-4:]
    if kind == Sensitive.PHONE and len(value) >= 7:
        return value[:3] + "*" * (len(value) - 7) + value[-4:]
    if len(value) > 4:
        return "*" * (len(value) - 4) + value[-4:]
    return "*" * len(value)


class SensitiveField(models.TextField[str | None, str | None]):
    """Holds the clear value in Python, the ciphertext in the database."""

    def __init__(self, *args: Any, kind: str, **kwargs: Any) -> None:
        self.kind = kind
        kwargs.setdefault("blank", True)
        kwargs.setdefault("null", True)
        super().__init__(*args, **kwargs)

    def deconstruct(self) -> Any:
        name, path, args, kwargs = super().deconstruct()
        kwargs["kind"] = self.kind
        return name, path, args, kwargs

    def from_db_value(self, value: str | None, expression: Any, connection: Any) -> str | None:
        if value is None or value == "":
            return None
        return decrypt(value, kind=self.kind)

    def get_prep_value(self, value: Any) -> str | None:
        if value is None or value == "":
            return None
        return encrypt(normalise(str(value), self.kind), kind=self.kind)

    def pre_save(self, model_instance: models.Model, add: bool) -> Any:
        value = getattr(model_instance, self.attname)
        for field in model_instance._meta.concrete_fields:
            if isinstance(field, BlindIndexField) and field.source == self.name:
                digest = blind_index(value, self.kind) if value else None
                setattr(model_instance, field.attname, digest)
        return value


class BlindIndexField(models.CharField[str | None, str | None]):
    """The keyed hash of a SensitiveField on the same model; declare it after its source."""

    def __init__(self, *args: Any, source: str, **kwargs: Any) -> None:
        self.source = source
        kwargs.setdefault("max_length", 64)
        kwargs.setdefault("null", True)
        kwargs.setdefault("blank", True)
        kwargs.setdefault("editable", False)
        kwargs.setdefault("db_index", True)
        super().__init__(*args, **kwargs)

    def deconstruct(self) -> Any:
        name, path, args, kwargs = super().deconstruct()
        kwargs["source"] = self.source
        return name, path, args, kwargs
