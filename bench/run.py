"""Benchmarks (`make bench`). Each runs in its own process against a fresh database.

A benchmark is a function returning `(label, measured, limit[, unit])`, or a list of such
figures when it measures several things (a limit of None: printed, not judged); list it in
BENCHMARKS with the database it needs. The parent process makes the database (a new SQLite
file, or a new PostgreSQL database on 127.0.0.1), runs the benchmark in a child process (so
memory and Django set-up are its own) and prints one line per result; the exit code is 1 if
any limit is missed. Figures go into docs/benchmarks.md by hand, with the command and the machine.

    .venv/bin/python bench/run.py                 # all
    .venv/bin/python bench/run.py search-p95      # one or more by name
"""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
PG_ADMIN_URL = os.environ.get("ZIZHU_BENCH_PG", "postgres://postgres@127.0.0.1:5432")


@dataclass(frozen=True)
class Result:
    name: str
    measured: float
    limit: float | None  # None: a figure shown beside the others, with no limit of its own
    unit: str = "s"

    @property
    def passed(self) -> bool:
        return self.limit is None or self.measured <= self.limit

    def line(self) -> str:
        if self.limit is None:
            return f"{self.name}: {self.measured:.2f} {self.unit}"
        verdict = "PASS" if self.passed else "FAIL"
        return (
            f"{self.name}: {self.measured:.1f} {self.unit} "
            f"(limit {self.limit:.0f} {self.unit}) {verdict}"
        )


def bench_seed_demo() -> tuple[str, float, float]:
    """Issue 2: 20,000 students must seed in 60 s or less on this machine."""
    from zizhu.registry.demo import seed_demo

    students = 20_000
    started = time.perf_counter()
    summary = seed_demo(students=students, seed=1)
    elapsed = time.perf_counter() - started
    assert summary.students == students
    return f"seed-demo {students} students", elapsed, 60


# name → (module:function, database kind)
BENCHMARKS: dict[str, tuple[str, str]] = {
    "seed-demo": ("run:bench_seed_demo", "sqlite"),
    "register-import": ("bench_register:bench_register_import", "sqlite"),
    "dataset-import": ("bench_sources:bench_dataset_import", "sqlite"),
    "dataset-import-pg": ("bench_sources:bench_dataset_import", "postgres"),
    "search-p95": ("bench_search:bench_search", "postgres"),
    "spring-review": ("bench_aid:bench_spring_review", "sqlite"),
    "payment-batch": ("bench_payments:bench_payment_batch", "sqlite"),
    "crosscheck-full": ("bench_crosscheck:bench_crosscheck_full", "sqlite"),
    "crosscheck-full-pg": ("bench_crosscheck:bench_crosscheck_full", "postgres"),
    "splink-linkage": ("bench_linkage:bench_linkage", "sqlite"),
}

Figure = tuple[str, float, float | None] | tuple[str, float, float | None, str]


def _fresh_database(kind: str, name: str, workdir: Path) -> str:
    if kind == "sqlite":
        return f"sqlite:///{workdir / (name + '.sqlite3')}"
    database = "zizhu_bench_" + name.replace("-", "_")
    for sql in (f"DROP DATABASE IF EXISTS {database}", f"CREATE DATABASE {database}"):
        subprocess.run(
            ["psql", f"{PG_ADMIN_URL}/postgres", "-q", "-c", sql], check=True, capture_output=True
        )
    return f"{PG_ADMIN_URL}/{database}"


def _child(name: str) -> None:
    """Runs inside the child: set Django up on the prepared database, migrate, measure."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "zizhu.config.settings.dev")
    os.environ["ZIZHU_DEBUG"] = "false"  # DEBUG would keep every SQL query in memory
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)
    target, _ = BENCHMARKS[name]
    module_name, function_name = target.split(":")
    sys.path.insert(0, str(HERE))
    function: Callable[[], Figure | list[Figure]] = getattr(
        importlib.import_module(module_name), function_name
    )
    outcome = function()
    for figure in outcome if isinstance(outcome, list) else [outcome]:
        label, measured, limit = figure[:3]
        unit = figure[3] if len(figure) > 3 else "s"
        print("RESULT " + json.dumps([label, measured, limit, unit]), flush=True)


def _run(name: str, workdir: Path) -> list[Result] | None:
    _, kind = BENCHMARKS[name]
    env = dict(os.environ, DATABASE_URL=_fresh_database(kind, name, workdir))
    process = subprocess.run(
        [sys.executable, str(HERE / "run.py"), "--child", name],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    results = []
    for line in process.stdout.splitlines():
        if line.startswith("RESULT "):
            label, measured, limit, unit = json.loads(line[7:])
            results.append(Result(f"{label} [{kind}]", measured, limit, unit))
        else:
            print(f"  {line}")
    if results and process.returncode == 0:
        return results
    print(process.stderr[-3000:], file=sys.stderr)
    print(f"{name}: FAILED TO RUN (exit {process.returncode})")
    return None


def main(argv: list[str]) -> int:
    if argv[:1] == ["--child"]:
        _child(argv[1])
        return 0
    names = argv or list(BENCHMARKS)
    unknown = [name for name in names if name not in BENCHMARKS]
    if unknown:
        print(f"unknown benchmark(s): {', '.join(unknown)}; known: {', '.join(BENCHMARKS)}")
        return 2
    ok = True
    with tempfile.TemporaryDirectory(prefix="zizhu-bench-") as workdir:
        for name in names:
            results = _run(name, Path(workdir))
            if results is None:
                ok = False
                continue
            for result in results:
                print(result.line(), flush=True)
                ok = ok and result.passed
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
