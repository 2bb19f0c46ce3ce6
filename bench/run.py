"""Benchmarks (`make bench`). Each runs against a fresh throwaway SQLite database.

Add a benchmark by writing a function that returns a `Result` and listing it in BENCHMARKS.
Figures go into docs/benchmarks.md by hand, with the command and the machine.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Result:
    name: str
    seconds: float
    limit: float

    @property
    def passed(self) -> bool:
        return self.seconds <= self.limit

    def line(self) -> str:
        verdict = "PASS" if self.passed else "FAIL"
        return f"{self.name}: {self.seconds:.1f} s (limit {self.limit:.0f} s) {verdict}"


def setup_django(workdir: Path) -> None:
    """Point Django at a new SQLite file (the embedded database `make run` uses) and migrate."""
    os.environ["DATABASE_URL"] = f"sqlite:///{workdir / 'bench.sqlite3'}"
    os.environ["DJANGO_SETTINGS_MODULE"] = "zizhu.config.settings.dev"
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)


def bench_seed_demo() -> Result:
    """Issue 2: 20,000 students must seed in 60 s or less on this machine."""
    from zizhu.registry.demo import seed_demo

    students = 20_000
    started = time.perf_counter()
    summary = seed_demo(students=students, seed=1)
    elapsed = time.perf_counter() - started
    assert summary.students == students
    return Result(f"seed-demo {students} students", elapsed, 60)


BENCHMARKS: list[Callable[[], Result]] = [bench_seed_demo]


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="zizhu-bench-") as workdir:
        setup_django(Path(workdir))
        results = []
        for benchmark in BENCHMARKS:
            result = benchmark()
            print(result.line(), flush=True)
            results.append(result)
        from django.db import connections

        connections.close_all()
    return 0 if all(result.passed for result in results) else 1


if __name__ == "__main__":
    sys.exit(main())
