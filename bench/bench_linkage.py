"""Issue 6: link 1,000,000 guardians without an ID number against 1,000,000 officials
(staff, cadres, public payroll) with `zizhu.crosscheck.linkage.link` in 120 s or less.

The data is made here, straight into an in-memory DuckDB database (no Django tables needed):
names from ~100 surnames weighted as in the census and Zipf-weighted pools of given-name
characters, so that common names repeat as they do in a district; random phone hashes;
household-level addresses. Planted among them:

- true matches: guardian i is official i (2% of the guardians), with a one-character name
  typo in 10%, the same phone in 70% of those whose official has one, the same address in
  65% and an address two characters off in 10%;
- relatives: a spouse sharing an official's phone and address under another name (0.5%),
  who must not link at the rules' threshold.

Only the `link` call is timed. Printed: pairs per blocking rule, links, recall of the
planted matches at the floor and at 0.9, the relatives above 0.9, and peak memory. Run alone:

    .venv/bin/python bench/bench_linkage.py
"""

# ruff: noqa: S608 -- the SQL names only the benchmark's own tables; no input reaches it.
from __future__ import annotations

import os
import random
import resource
import sys
import time
from itertools import accumulate
from typing import Any

LIMIT_SECONDS = 120.0
ROWS = int(os.environ.get("ZIZHU_BENCH_LINK_ROWS", "1000000"))
SEED = 6
THRESHOLD = 0.9  # the rules' default min_probability

# The 100 commonest surnames in census order; share ∝ (rank + 1.5)^-0.9, rank from 1, gives 王 ≈ 8%
# and the hundredth ≈ 0.2%, close to the published shares.
SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蒋蔡余杜叶程"
    "苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛段雷侯龙史陶黎贺顾毛"
)
GIVEN_MALE = (
    "伟强磊军勇杰涛斌超明刚平辉鹏华飞鑫波宇浩凯健俊帆帅旭宁龙林晨阳博文轩睿泽子一天宏志"
    "建国峰亮新海东成兵云德永生胜利光春金福荣贵山清洪庆祥忠良家振兴义宝顺万安民中先武学"
    "松柏江河长发友礼仁智信彬立正世达"
)
GIVEN_FEMALE = (
    "芳娟敏静丽艳娜霞燕玲婷雪慧琳颖倩佳欣怡悦思雨梦涵琪瑶诗月婉晴可馨彤萱妍心语若秀英兰"
    "凤桂珍梅玉琴云莲红花素萍翠菊美春爱淑琼巧惠娥莉丹蓉娇晓薇媛璐露茜蕾洁"
)
TOWNS = (
    "邾城街道",
    "阳逻街道",
    "仓埠街道",
    "汪集街道",
    "李集街道",
    "三店街道",
    "潘塘街道",
    "旧街街道",
    "双柳街道",
    "涨渡湖街道",
    "辛冲街道",
    "徐古街道",
    "凤凰镇",
)
VILLAGES = (
    "李家",
    "河口",
    "塘角",
    "新桥",
    "石咀",
    "柳河",
    "龙王",
    "白庙",
    "杨岗",
    "花园",
    "桥头",
    "胡湾",
    "陈田",
    "周铺",
    "汪湾",
    "刘集",
    "叶家",
    "黄岗",
    "松林",
    "大屋",
    "枣林",
    "红庙",
    "朱店",
    "张畈",
    "鲁湖",
    "团山",
    "徐湾",
    "孔埠",
    "万家",
    "余集",
)


class People:
    """Deterministic generator of names, phone hashes and addresses."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.surname_cum = list(accumulate((k + 2.5) ** -0.9 for k in range(len(SURNAMES))))
        self.male = _unique(GIVEN_MALE)
        self.female = _unique(GIVEN_FEMALE)
        self.male_cum = list(accumulate(1 / (k + 10) for k in range(len(self.male))))
        self.female_cum = list(accumulate(1 / (k + 10) for k in range(len(self.female))))

    def names(self, n: int) -> list[str]:
        rng = self.rng
        surnames = rng.choices(SURNAMES, cum_weights=self.surname_cum, k=n)
        first_m = rng.choices(self.male, cum_weights=self.male_cum, k=n)
        second_m = rng.choices(self.male, cum_weights=self.male_cum, k=n)
        first_f = rng.choices(self.female, cum_weights=self.female_cum, k=n)
        second_f = rng.choices(self.female, cum_weights=self.female_cum, k=n)
        names = []
        for i in range(n):
            male = rng.random() < 0.5
            given = (first_m[i], second_m[i]) if male else (first_f[i], second_f[i])
            # One name in five has a single given character (王伟), the rest two (王建国).
            names.append(surnames[i] + (given[0] if rng.random() < 0.2 else given[0] + given[1]))
        return names

    def typo(self, name: str) -> str:
        """One given-name character replaced by another."""
        position = self.rng.randrange(1, len(name))
        pool = self.male + self.female
        replacement = self.rng.choice([c for c in pool if c != name[position]])
        return name[:position] + replacement + name[position + 1 :]

    def phone(self) -> str:
        return f"{self.rng.getrandbits(128):032x}"

    def address(self) -> str:
        rng = self.rng
        return (
            f"湖北省武汉市新洲区{rng.choice(TOWNS)}{rng.choice(VILLAGES)}村"
            f"{rng.randint(1, 9)}组{rng.randint(1, 80)}号"
        )

    def near(self, address: str) -> str:
        """The house number moved by one: two characters at most."""
        head, number = address[:-1].rsplit("组", 1)
        return f"{head}组{int(number) % 80 + 1}号"


def _unique(chars: str) -> list[str]:
    return list(dict.fromkeys(chars))


def _officials(people: People, n: int) -> dict[str, list[Any]]:
    names = people.names(n)
    # Staff have a phone on file; cadres and the public payroll (60%) have none.
    phones = [people.phone() if people.rng.random() < 0.4 else None for _ in range(n)]
    addresses = [people.address() for _ in range(n)]
    return {
        "unique_id": list(range(1, n + 1)),
        "name": names,
        "phone_hash": phones,
        "address": addresses,
        "birth_year": [None] * n,
    }


def _guardians(people: People, officials: dict[str, list[Any]], n: int) -> dict[str, list[Any]]:
    rng = people.rng
    planted, relatives = n // 50, n // 200
    names = people.names(n)
    phones: list[str | None] = [people.phone() if rng.random() < 0.9 else None for _ in range(n)]
    addresses = [people.address() for _ in range(n)]
    truth: list[int | None] = [None] * n
    for i in range(planted):
        truth[i] = i + 1
        name, phone, address = (officials[c][i] for c in ("name", "phone_hash", "address"))
        names[i] = people.typo(name) if rng.random() < 0.1 else name
        if phone is not None and rng.random() < 0.7:
            phones[i] = phone
        draw = rng.random()
        if draw < 0.65:
            addresses[i] = address
        elif draw < 0.75:
            addresses[i] = people.near(address)
    with_phone = [i for i in range(planted, n) if officials["phone_hash"][i] is not None]
    for i in with_phone[:relatives]:
        phones[i] = officials["phone_hash"][i]
        addresses[i] = officials["address"][i]
        truth[i] = -(i + 1)  # the relative of official i + 1: must not link
    return {
        "unique_id": list(range(1, n + 1)),
        "name": names,
        "phone_hash": phones,
        "address": addresses,
        "birth_year": [None] * n,
        "truth": truth,
    }


def _load(con: Any, table: str, columns: dict[str, list[Any]]) -> None:
    import pyarrow as pa

    types = {"unique_id": pa.int64(), "birth_year": pa.int32(), "truth": pa.int64()}
    arrow = pa.table({k: pa.array(v, type=types.get(k, pa.string())) for k, v in columns.items()})
    con.register("_arrow", arrow)
    con.execute(f"CREATE OR REPLACE TABLE {table} AS SELECT * FROM _arrow")
    con.unregister("_arrow")


def _rule_pairs(con: Any) -> dict[str, int]:
    """Pairs each blocking rule produces, before Splink removes those an earlier rule made."""
    from zizhu.crosscheck.linkage import BLOCKING

    keys = {"surname": "substr(name, 1, 1)", "given": "substr(name, 2)"}
    counts = {}
    for columns in BLOCKING:
        key = ", ".join(keys.get(c, c) for c in columns)
        not_null = " AND ".join(f"{keys.get(c, c)} <> ''" for c in columns)
        [(pairs,)] = con.execute(
            f"WITH l AS (SELECT {key}, count(*) AS n_l FROM bench_guardian"
            f"           WHERE {not_null} GROUP BY ALL),"
            f" r AS (SELECT {key}, count(*) AS n_r FROM bench_official"
            f"       WHERE {not_null} GROUP BY ALL)"
            " SELECT coalesce(sum(n_l * n_r), 0) FROM l NATURAL JOIN r"
        ).fetchall()
        counts["+".join(columns)] = int(pairs)
    return counts


def _quality(con: Any, pairs: str) -> dict[str, int]:
    [row] = con.execute(
        "SELECT count(DISTINCT g.unique_id) FILTER (WHERE g.truth > 0),"
        "       count(*) FILTER (WHERE g.truth = p.right_id),"
        f"      count(*) FILTER (WHERE g.truth = p.right_id AND p.probability >= {THRESHOLD}),"
        f"      count(*) FILTER (WHERE g.truth = -p.right_id AND p.probability >= {THRESHOLD}),"
        "       count(*) FILTER (WHERE g.truth IS DISTINCT FROM p.right_id"
        f"                          AND p.probability >= {THRESHOLD})"
        f" FROM bench_guardian g LEFT JOIN {pairs} p ON p.left_id = g.unique_id"
    ).fetchall()
    keys = ("planted", "found_floor", "found_rule", "relatives_rule", "wrong_rule")
    return dict(zip(keys, (int(v) for v in row), strict=True))


def _recall_by_evidence(con: Any, pairs: str) -> list[tuple[Any, ...]]:
    """Planted matches by what they share with their official, and the share found ≥ 0.9."""
    return con.execute(
        "SELECT CASE WHEN g.name = o.name THEN 'name' ELSE 'typo' END,"
        "       CASE WHEN g.phone_hash = o.phone_hash THEN '+phone' ELSE '' END,"
        "       CASE WHEN g.address = o.address THEN '+address'"
        "            WHEN levenshtein(g.address, o.address) <= 2 THEN '+near address'"
        "            ELSE '' END AS evidence,"
        f"      count(*), round(avg(CASE WHEN p.probability >= {THRESHOLD} THEN 1 ELSE 0"
        "       END), 3)"
        " FROM bench_guardian g JOIN bench_official o ON o.unique_id = g.truth"
        f" LEFT JOIN {pairs} p ON p.left_id = g.unique_id AND p.right_id = g.truth"
        " GROUP BY ALL ORDER BY 4 DESC"
    ).fetchall()


def _peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def bench_linkage() -> tuple[str, float, float]:
    import duckdb

    from zizhu.crosscheck.linkage import FLOOR, link

    con = duckdb.connect()
    con.execute("SET enable_progress_bar = false")  # a session option, not a global one
    people = People(SEED)
    started = time.perf_counter()
    officials = _officials(people, ROWS)
    _load(con, "bench_official", officials)
    _load(con, "bench_guardian", _guardians(people, officials, ROWS))
    del officials
    print(f"generated 2 × {ROWS:,} rows in {time.perf_counter() - started:.1f} s", flush=True)
    print(f"pairs per blocking rule: {_rule_pairs(con)}", flush=True)
    print(f"peak RSS before linking {_peak_mib():,.0f} MiB", flush=True)

    started = time.perf_counter()
    pairs = link(con, "bench_guardian", "bench_official", floor=FLOOR)
    elapsed = time.perf_counter() - started

    [(links,)] = con.execute(f"SELECT count(*) FROM {pairs}").fetchall()
    q = _quality(con, pairs)
    print(f"links ≥ {FLOOR}: {links:,}", flush=True)
    print(
        f"planted {q['planted']:,}: recall {q['found_floor'] / q['planted']:.3f} at {FLOOR},"
        f" {q['found_rule'] / q['planted']:.3f} at {THRESHOLD};"
        f" links ≥ {THRESHOLD} not planted: {q['wrong_rule']:,}"
        f" (of which relatives sharing phone and address: {q['relatives_rule']:,})",
        flush=True,
    )
    for name, phone, address, count, found in _recall_by_evidence(con, pairs):
        print(f"  planted, shares {name}{phone}{address}: {count:,}, found ≥ 0.9: {found}")
    print(
        f"link: {elapsed:.1f} s; peak RSS {_peak_mib():,.0f} MiB; load {os.getloadavg()}",
        flush=True,
    )
    con.close()
    return f"guardian linkage {ROWS:,} × {ROWS:,}", elapsed, LIMIT_SECONDS


if __name__ == "__main__":
    sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "src"))
    print(bench_linkage())
