"""Issue 3: the student search page at 200,000 students on PostgreSQL, p95 ≤ 150 ms under 20
concurrent clients.

The child process (bench/run.py) has migrated a fresh PostgreSQL database. This seeds the
demo district at 200,000 students, starts gunicorn on 127.0.0.1, signs in the demo district
officer (who sees every school: the heaviest reach) and drives the list with wrk on loopback:
20 connections for 30 s over a mix of searches (name prefix, school, grade, status, later
pages). wrk's Lua `done` hook reports the 95th percentile.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from pathlib import Path

STUDENTS = int(os.environ.get("ZIZHU_BENCH_STUDENTS", "200000"))
PORT = 8765
CONNECTIONS, SECONDS = 20, 30
# One sync worker per core: PostgreSQL runs on the same two cores.
WORKERS = int(os.environ.get("ZIZHU_BENCH_WORKERS", "2"))

WRK_SCRIPT = """
local paths = {%s}
local i = 0
request = function()
  i = i + 1
  return wrk.format("GET", paths[(i %% #paths) + 1])
end
done = function(summary, latency, requests)
  io.write(string.format("P50 %%.3f\\nP95 %%.3f\\nP99 %%.3f\\n",
    latency:percentile(50) / 1000, latency:percentile(95) / 1000,
    latency:percentile(99) / 1000))
  io.write(string.format("REQUESTS %%d\\nERRORS %%d\\n", summary.requests,
    summary.errors.status + summary.errors.connect + summary.errors.read
    + summary.errors.write + summary.errors.timeout))
end
"""


def _session_cookie(username: str) -> str:
    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore

    from zizhu.core.models import User

    user = User.objects.get(username=username)
    session = SessionStore()
    session[SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session.save()
    return f"{settings.SESSION_COOKIE_NAME}={session.session_key}"


def _paths() -> list[str]:
    from zizhu.core.models import OrgUnit
    from zizhu.registry.models import Student

    schools = list(OrgUnit.objects.schools().values_list("pk", flat=True)[:10])
    surnames = [name[:1] for name in Student.objects.values_list("name", flat=True)[:40:4]]
    base = "/registry/students/"
    paths = [base, f"{base}?page=7", f"{base}?status=enrolled&page=3"]
    paths += [f"{base}?name={urllib.parse.quote(s)}" for s in surnames]
    paths += [f"{base}?school={pk}" for pk in schools]
    paths += [f"{base}?school={pk}&grade={urllib.parse.quote('三年级')}" for pk in schools[:3]]
    return paths


def _start_server(env: dict[str, str]) -> subprocess.Popen[bytes]:
    gunicorn = Path(sys.executable).with_name("gunicorn")
    server = subprocess.Popen(
        [
            str(gunicorn),
            "zizhu.config.wsgi:application",
            f"--bind=127.0.0.1:{PORT}",
            f"--workers={WORKERS}",
            "--log-level=warning",
        ],
        env=env,
    )
    for _ in range(100):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{PORT}/healthz", timeout=1)
            return server
        except OSError:
            time.sleep(0.2)
    server.kill()
    raise RuntimeError("gunicorn did not start")


def bench_search() -> tuple[str, float, float, str]:
    from zizhu.registry.demo import seed_demo

    seed_demo(students=STUDENTS, seed=1)
    return measure_search()


def measure_search() -> tuple[str, float, float, str]:
    """The load run alone, against whatever database Django is set up on."""
    from django.db import connection, connections

    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")  # what autovacuum would do after a bulk load
    cookie = _session_cookie("demo_district")
    paths = _paths()
    connections.close_all()
    env = dict(os.environ, DJANGO_SETTINGS_MODULE="zizhu.config.settings.dev", ZIZHU_DEBUG="false")
    server = _start_server(env)
    try:
        with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
            script.write(WRK_SCRIPT % ", ".join(f'"{p}"' for p in paths))
        # A short warm-up so every worker has its connection and caches.
        subprocess.run(
            [
                "wrk",
                "-t2",
                "-c4",
                "-d3s",
                "-s",
                script.name,
                "-H",
                f"Cookie: {cookie}",
                f"http://127.0.0.1:{PORT}",
            ],
            capture_output=True,
            check=True,
        )
        run = subprocess.run(
            [
                "wrk",
                "-t2",
                f"-c{CONNECTIONS}",
                f"-d{SECONDS}s",
                "-s",
                script.name,
                "-H",
                f"Cookie: {cookie}",
                f"http://127.0.0.1:{PORT}",
            ],
            capture_output=True,
            text=True,
            check=True,
        )
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)
    figures = dict(re.findall(r"^(P50|P95|P99|REQUESTS|ERRORS) ([\d.]+)$", run.stdout, re.M))
    print(
        f"{figures['REQUESTS']} requests, {figures['ERRORS']} errors, "
        f"p50 {figures['P50']} ms, p95 {figures['P95']} ms, p99 {figures['P99']} ms"
    )
    if int(figures["ERRORS"]) or int(figures["REQUESTS"]) == 0:
        raise RuntimeError(f"wrk saw errors:\n{run.stdout}")
    label = f"student search p95 at {STUDENTS} students, {CONNECTIONS} clients (PostgreSQL)"
    return label, float(figures["P95"]), 150.0, "ms"
