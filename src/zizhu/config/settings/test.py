"""Test runs: DATABASE_URL picks SQLite (default, in memory) or PostgreSQL."""

import os

os.environ.setdefault("ZIZHU_SECRET_KEY", "test-only-not-secret")
os.environ.setdefault("ZIZHU_ENCRYPTION_KEYS", "t1:dGVzdC1vbmx5LWtleS1ub3Qtc2VjcmV0LTMyLWJ5dGU=")
os.environ.setdefault("ZIZHU_ENCRYPTION_KEY_ID", "t1")
os.environ.setdefault("ZIZHU_BLIND_INDEX_KEY", "dGVzdC1vbmx5LWhtYWMta2V5LW5vdC1zZWNyZXQtMzI=")
os.environ.setdefault("DATABASE_URL", "sqlite://:memory:")

from zizhu.config.settings.base import *  # noqa: F403
from zizhu.config.settings.base import DATABASES, MIDDLEWARE

# Static files are served by the test server itself; whitenoise would warn about STATIC_ROOT.
MIDDLEWARE = [m for m in MIDDLEWARE if not m.startswith("whitenoise.")]
# Jobs run in-line in tests, inside the transaction that starts them.
TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
# A session is written on its first request only, so query counts never depend on the clock;
# the sliding tests set a short refresh themselves.
ZIZHU_SESSION_REFRESH_SECONDS = 10**6
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.InMemoryStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"].pop("OPTIONS", None)
    DATABASES["default"]["OPTIONS"] = {"transaction_mode": "IMMEDIATE"}
