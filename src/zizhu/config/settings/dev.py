"""Local development: embedded SQLite under var/, fixed fictitious keys that are NOT secrets."""

import os

# Dev-only defaults, set before base reads them. Never use these values in production.
os.environ.setdefault("ZIZHU_SECRET_KEY", "dev-only-not-secret-7c1f0e5a2b9d4c68")
os.environ.setdefault("ZIZHU_ENCRYPTION_KEYS", "dev1:ZGV2LW9ubHkta2V5LW5vdC1zZWNyZXQtMzItYnl0ZSE=")
os.environ.setdefault("ZIZHU_ENCRYPTION_KEY_ID", "dev1")
os.environ.setdefault("ZIZHU_BLIND_INDEX_KEY", "ZGV2LW9ubHktaG1hYy1rZXktbm90LXNlY3JldC0zMiE=")
os.environ.setdefault("ZIZHU_DEBUG", "true")

from zizhu.config.settings.base import *  # noqa: F403
