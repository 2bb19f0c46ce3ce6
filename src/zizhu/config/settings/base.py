"""Settings shared by every environment. Secrets and the database come from the environment."""

import json
import os
from pathlib import Path

import dj_database_url
import django_stubs_ext

from zizhu.config.env import env_bool, env_int, env_list, env_str, project_root

# Lets model fields be subscripted with their types at run time (for mypy).
django_stubs_ext.monkeypatch()

BASE_DIR: Path = project_root()
VAR_DIR = BASE_DIR / "var"

SECRET_KEY = env_str("ZIZHU_SECRET_KEY")
DEBUG = env_bool("ZIZHU_DEBUG", default=False)
ALLOWED_HOSTS = env_list("ZIZHU_ALLOWED_HOSTS", default=["127.0.0.1", "localhost"])

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_htmx",
    "django_tasks",
    "django_tasks_db",
    "zizhu.core",
    "zizhu.registry",
    "zizhu.sources",
    "zizhu.aid",
    "zizhu.cases",
    "zizhu.crosscheck",
    "zizhu.payments",
    "zizhu.portal",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "zizhu.core.middleware.RequestIdMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "zizhu.core.middleware.SlidingSessionMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "zizhu.core.middleware.LoginRequiredMiddleware",
    "zizhu.core.middleware.DomainErrorMiddleware",
]

ROOT_URLCONF = "zizhu.config.urls"
WSGI_APPLICATION = "zizhu.config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "zizhu.core.context_processors.navigation",
            ],
        },
    },
]


def _database() -> dict[str, object]:
    default_url = f"sqlite:///{VAR_DIR / 'zizhu.sqlite3'}"
    if "DATABASE_URL" not in os.environ:
        VAR_DIR.mkdir(exist_ok=True)  # the embedded database's folder, on a fresh checkout
    config: dict[str, object] = dict(
        dj_database_url.parse(env_str("DATABASE_URL", default_url), conn_max_age=60)
    )
    if config["ENGINE"] == "django.db.backends.sqlite3":
        # IMMEDIATE transactions take the write lock up front, so two writers queue instead of
        # failing half-way; the audit chain relies on writers being serialised.
        config["OPTIONS"] = {
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
        config["CONN_MAX_AGE"] = 0
    else:
        # Iterating a queryset (form choices, exports) would otherwise open a server-side
        # cursor: three extra round trips for a few dozen rows.
        config["DISABLE_SERVER_SIDE_CURSORS"] = True
    return config


DATABASES = {"default": _database()}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Background jobs (imports, cross-check runs): django-tasks with its database backend, run
# by `zizhu db_worker`. Works on SQLite and PostgreSQL without a broker.
TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}

AUTH_USER_MODEL = "core.User"
LOGIN_URL = "core:login"
LOGIN_REDIRECT_URL = "core:home"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "zizhu.core.passwords.StrengthValidator"},
]

# 30-minute idle timeout: SlidingSessionMiddleware pushes the expiry forward at most once a
# minute (ZIZHU_SESSION_REFRESH_SECONDS), not on every request (a database write per page
# view), so a session dies 30 minutes (±1) after the last request.
SESSION_COOKIE_AGE = env_int("ZIZHU_IDLE_TIMEOUT_SECONDS", default=30 * 60)
SESSION_SAVE_EVERY_REQUEST = False
ZIZHU_SESSION_REFRESH_SECONDS = env_int("ZIZHU_SESSION_REFRESH_SECONDS", default=60)
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = True

LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文")]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True
LOCALE_PATHS = [BASE_DIR / "src" / "zizhu" / "locale"]

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
MEDIA_ROOT = Path(env_str("ZIZHU_MEDIA_ROOT", str(VAR_DIR / "media")))

# Sensitive identifiers (architecture.md, "Personal data"). Keys are base64 of 32 bytes.
# ZIZHU_ENCRYPTION_KEYS lists every key still needed to read old rows ("id:key,id:key");
# ZIZHU_ENCRYPTION_KEY_ID names the one new values are written with.
ZIZHU_ENCRYPTION_KEYS = env_str("ZIZHU_ENCRYPTION_KEYS")
ZIZHU_ENCRYPTION_KEY_ID = env_str("ZIZHU_ENCRYPTION_KEY_ID")
ZIZHU_BLIND_INDEX_KEY = env_str("ZIZHU_BLIND_INDEX_KEY")

# Account protection (issue 2): lock an account after this many failures in the window.
ZIZHU_LOCKOUT_FAILURES = env_int("ZIZHU_LOCKOUT_FAILURES", default=5)
ZIZHU_LOCKOUT_WINDOW_SECONDS = env_int("ZIZHU_LOCKOUT_WINDOW_SECONDS", default=15 * 60)

# 三榜公示 (seed 二(一)2): each round lasts at least this many working days; the hotline
# printed on school notices and shown on the public portal.
ZIZHU_NOTICE_MIN_WORKING_DAYS = env_int("ZIZHU_NOTICE_MIN_WORKING_DAYS", default=5)
ZIZHU_HOTLINE = env_str("ZIZHU_HOTLINE", "027-00000000（示例）")

# Clue deadlines (issue 5): escalations of overdue clues are also e-mailed to these
# addresses ("a@x.cn,b@x.cn"); empty means in-app notifications only.
ZIZHU_ALERT_EMAILS = env_list("ZIZHU_ALERT_EMAILS", default=[])

# Clue appeals (issue 5): the reporter may appeal within this many calendar days of closing.
ZIZHU_APPEAL_DAYS = env_int("ZIZHU_APPEAL_DAYS", default=15)

# Payments (issue 7): how a period the award covers only partly is paid. "prorata" pays the
# owed months; "whole_period_if_any" pays the whole period if any month of it is owed.
ZIZHU_PART_PERIOD_RULE = env_str("ZIZHU_PART_PERIOD_RULE", "prorata")

# Cross-checks (issue 6): rule parameters over the defaults in each rule file's header, as
# JSON {"AFFLUENCE": {"min_insurance_base": 10000}}; `zizhu crosscheck rules` shows them.
ZIZHU_CROSSCHECK_PARAMS = json.loads(env_str("ZIZHU_CROSSCHECK_PARAMS", "{}"))
# DuckDB's memory ceiling and threads for a run ("" = DuckDB's defaults).
ZIZHU_CROSSCHECK_MEMORY = env_str("ZIZHU_CROSSCHECK_MEMORY", "3GB")
ZIZHU_CROSSCHECK_THREADS = env_int("ZIZHU_CROSSCHECK_THREADS", default=0)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env_str("ZIZHU_LOG_LEVEL", "INFO")},
    # WeasyPrint and fontTools narrate every rendering step at INFO.
    "loggers": {
        "weasyprint": {"level": "WARNING"},
        "fontTools": {"level": "WARNING"},
        "splink": {"level": "WARNING"},
    },
}
