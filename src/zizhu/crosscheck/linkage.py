"""Guardians without an ID number, linked to officials by probability (Splink on DuckDB).

About one guardian in twenty has no ID number on file, so the ID-hash joins of the rules
cannot see whether that guardian is a teacher, a cadre or on the public payroll. This module
scores each such guardian of a recipient against every official (the `official` view of
`rules/_base.sql`) with a Fellegi–Sunter model and writes the candidates to
`guardian_link(guardian_id, official_key, probability)`. The rules OFFICIAL_FAMILY and
FAVORITISM keep the links at or above their own `min_probability` (default 0.9).

The model is fixed, not trained: the m and u probabilities below are written down from what
the registers look like, so a run is deterministic, needs no training pass and does not drift
with the data of the month. Each level's Bayes factor is m/u; the prior is `PRIOR`.

Comparisons
-----------
name
    Exact; one character different (substituted, added or dropped) in a name of three or
    more characters; one character different in a two-character name; anything else.
    Chinese names are two or three characters, so a typo is one wrong character (张小明 →
    张晓明). Jaro–Winkler takes only a handful of values on such short strings (0.80 for that
    typo, 0.67 for 王伟/王芳, two different people), so the levels use the edit distance,
    which says the same thing plainly. A one-character difference in a two-character name
    is nearly as common between strangers (王伟, 王芳) as between records of one person, so
    that level is close to neutral. No term-frequency adjustment: a name alone gives 0.009,
    far below the floor, so even a rare name needs a phone or an address to link, and
    frequencies counted on the few guardians of a small run would be noise.
phone and address, as one comparison
    Phone hash (exact only: keyed HMAC hashes have no near misses) and address: the
    student's 户籍 address, or the home address where there is none, against the official's
    household-registration address; exact, or at most two characters apart (a typo, a
    neighbouring house number). They are one comparison because they are not independent:
    a spouse or grandparent shares both the phone and the address of the official, and
    multiplying two separate factors would link the spouse. Only the name tells them apart.
birth year
    Exact. Honestly inert today: guardians without an ID number never have a birth year and
    the officials' birth year is not in the data (their ID numbers are hashed), so every pair
    falls in the null level, which is neutral. It is kept so that a birth year, once a source
    provides one, counts without changing the model.

Blocking
--------
Only pairs sharing the phone hash, the exact name, the surname (first character) and the
address, or the given name and the address are scored. A pair reached by none of them (a
name typo with a different phone and a different address) cannot reach the rules' threshold
anyway.

What the numbers give (PRIOR one in a million)
----------------------------------------------
same name and phone: 0.999; same name and address, no phone: 0.995; a one-character typo in
a three-character name with the same phone and address: 0.95 (as would a brother with a
shared generation character living in the same house — still a relative); the same common
name with a different phone and address: 0.001; a spouse sharing phone and address: 0.004.
"""

from __future__ import annotations

from typing import Any

import duckdb

# Candidates below this probability are not written at all; the rules apply their own,
# higher threshold (`min_probability`, default 0.9) on top.
FLOOR = 0.5

# The prior that a given guardian is a given official: one in a million, about one over the
# adults of a district (a guardian is somebody among them). Fixed rather than derived from
# the size of the official tables, so that a small run (a few officials) does not make every
# namesake likely.
PRIOR = 1e-6

# m: how often the level holds for two records of one person; u: for two random people.
NAME_LEVELS = (
    ("exact", "name_l = name_r", 0.92, 1e-4),
    (
        "one character different, three or more characters",
        "length(name_l) >= 3 AND length(name_r) >= 3 AND levenshtein(name_l, name_r) = 1",
        0.05,
        1e-3,
    ),
    ("one character different", "levenshtein(name_l, name_r) = 1", 0.02, 1e-2),
)
NAME_ELSE = (0.01, 1 - 1e-4 - 1e-3 - 1e-2)

# "Within two characters" only between addresses of eight characters or more: on short
# strings (X村, Y村) two characters are the whole address.
# The cheap length tests come first: DuckDB stops a CASE condition's AND at the first false.
_CLOSE = (
    "length(address_l) >= 8 AND length(address_r) >= 8"
    " AND abs(length(address_l) - length(address_r)) <= 2"
    " AND levenshtein(address_l, address_r) <= 2"
)
CONTACT_LEVELS = (
    (
        "same phone, address within two characters",
        f"phone_hash_l = phone_hash_r AND {_CLOSE}",
        0.40,
        1e-6,
    ),
    ("same phone", "phone_hash_l = phone_hash_r", 0.20, 1e-6),
    ("same address", "address_l = address_r", 0.20, 1e-5),
    ("address within two characters", _CLOSE, 0.05, 1e-3),
)
CONTACT_ELSE = (0.15, 1 - 2e-6 - 1e-5 - 1e-3)

BIRTH_YEAR = {"m": (0.95, 0.05), "u": (0.02, 0.98)}

BLOCKING = (("phone_hash",), ("name",), ("surname", "address"), ("given", "address"))

# What `link` reads from each side.
INPUT_COLUMNS = ("unique_id", "name", "phone_hash", "address", "birth_year")

_PAIRS_DDL = "(left_id BIGINT, right_id BIGINT, probability DOUBLE)"
_LINK_DDL = "(guardian_id BIGINT, official_key VARCHAR, probability DOUBLE)"


def link_guardians(con: duckdb.DuckDBPyConnection, *, floor: float | None = None) -> int:
    """Create `guardian_link` for the run's guardians without an ID number; return its size.

    Only guardians of recipients are linked (the rules look at no one else), against all
    officials. Both sides go through `link`.
    """
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _linkage_guardian AS"
        " SELECT g.guardian_id AS unique_id, g.name, g.phone_hash,"
        "        COALESCE(NULLIF(trim(s.hukou_address), ''), NULLIF(trim(s.home_address), ''))"
        "            AS address,"
        "        CAST(NULL AS INTEGER) AS birth_year"
        " FROM guardian g"
        " JOIN student s ON s.student_id = g.student_id"
        " WHERE (g.id_hash IS NULL OR g.id_hash = '')"
        "   AND g.student_id IN (SELECT student_id FROM recipient)"
    )
    # Official keys are text; Splink gets a number for each, in key order (deterministic).
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _linkage_official AS"
        " SELECT row_number() OVER (ORDER BY official_key) AS unique_id, official_key, name,"
        "        phone_hash, address, CAST(NULL AS INTEGER) AS birth_year"
        " FROM official"
    )
    try:
        pairs = link(
            con,
            "_linkage_guardian",
            "_linkage_official",
            floor=FLOOR if floor is None else floor,
            output="_linkage_pairs",
        )
        con.execute(
            f"CREATE OR REPLACE TABLE guardian_link {_LINK_DDL}; "
            "INSERT INTO guardian_link"
            " SELECT p.left_id, o.official_key, max(p.probability)"
            f" FROM {pairs} p JOIN _linkage_official o ON o.unique_id = p.right_id"
            " GROUP BY p.left_id, o.official_key"
        )
    finally:
        con.execute(
            "DROP TABLE IF EXISTS _linkage_guardian; DROP TABLE IF EXISTS _linkage_official;"
            " DROP TABLE IF EXISTS _linkage_pairs"
        )
    [(count,)] = con.execute("SELECT count(*) FROM guardian_link").fetchall()
    return int(count)


def link(
    con: duckdb.DuckDBPyConnection,
    left: str,
    right: str,
    *,
    floor: float = FLOOR,
    output: str = "linkage_pairs",
) -> str:
    """Score every blocked pair of `left` × `right`; keep those with probability ≥ `floor`.

    `left` and `right` are tables or views with the columns of `INPUT_COLUMNS` (`unique_id`
    a BIGINT unique on its side, the rest text but `birth_year`, any of them NULL). Creates
    the table `output(left_id, right_id, probability)` and returns its name.
    """
    con.execute(f"CREATE OR REPLACE TABLE {output} {_PAIRS_DDL}")
    sides = ("_linkage_a", "_linkage_b")
    try:
        for source, side in zip((left, right), sides, strict=True):
            _standardise(con, source, side)
        if any(_is_empty(con, side) for side in sides):
            return output
        _predict(con, sides, floor=floor, output=output)
    finally:
        for side in sides:
            con.execute(f"DROP TABLE IF EXISTS {side}")
    return output


def _standardise(con: duckdb.DuckDBPyConnection, source: str, target: str) -> None:
    """Blank → NULL (neutral), no inner spaces or middle dots, surname and given name split.

    The first character is the surname: a compound surname (欧阳) leaves its second
    character in the given name on both sides alike, which is all blocking needs.
    """
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE {target} AS"
        " SELECT CAST(unique_id AS BIGINT) AS unique_id, name,"
        "        substr(name, 1, 1) AS surname, NULLIF(substr(name, 2), '') AS given,"
        "        NULLIF(trim(phone_hash), '') AS phone_hash,"
        "        NULLIF(regexp_replace(address, '\\s+', '', 'g'), '') AS address,"
        "        TRY_CAST(birth_year AS INTEGER) AS birth_year"
        " FROM (SELECT unique_id,"
        "              NULLIF(regexp_replace(name, '[\\s·•.]+', '', 'g'), '') AS name,"
        "              phone_hash, address, birth_year"
        f"      FROM {source})"
    )


def _is_empty(con: duckdb.DuckDBPyConnection, table: str) -> bool:
    # fetchall, not fetchone: DuckDB 2 keeps a half-read result open on the connection.
    return con.execute(f"SELECT count(*) FROM (SELECT 1 FROM {table} LIMIT 1)").fetchall() == [(0,)]


def _predict(
    con: duckdb.DuckDBPyConnection, sides: tuple[str, str], *, floor: float, output: str
) -> None:
    from splink import DuckDBAPI, Linker

    db_api = DuckDBAPI(connection=con)
    # One-letter dataset names keep Splink's pair keys ("a-__-1234567") within the 12 bytes
    # DuckDB stores inline, off the string heap: a tenth less memory at a million × a million.
    left, right = (
        db_api.register(side, dataset_display_name=name)
        for side, name in zip(sides, "ab", strict=True)
    )
    linker = Linker([left, right], settings(), log_level=None)
    try:
        predictions = linker.inference.predict(
            threshold_match_probability=floor, warning_mode="never"
        )
        # Splink puts either side on the left of a pair; `source_dataset_l` says which.
        con.execute(
            f"INSERT INTO {output}"
            " SELECT CASE WHEN source_dataset_l = 'a' THEN unique_id_l"
            "             ELSE unique_id_r END,"
            "        CASE WHEN source_dataset_l = 'a' THEN unique_id_r"
            "             ELSE unique_id_l END,"
            "        match_probability"
            f" FROM {predictions.physical_name}"
            f" WHERE match_probability >= {float(floor)!r}"
        )
    finally:
        # Splink's working tables live on the run's connection; the rules must not see them.
        db_api.delete_tables_created_by_splink_from_db()  # type: ignore[no-untyped-call]


def settings() -> Any:
    """The Splink model: fixed m/u, `PRIOR`, the blocking rules of the module docstring."""
    import splink.comparison_library as cl
    from splink import SettingsCreator, block_on

    return SettingsCreator(
        link_type="link_only",
        unique_id_column_name="unique_id",
        probability_two_random_records_match=PRIOR,
        comparisons=[
            _custom("name", "name_l IS NULL OR name_r IS NULL", NAME_LEVELS, NAME_ELSE),
            _custom(
                "phone_address",
                "(phone_hash_l IS NULL OR phone_hash_r IS NULL)"
                " AND (address_l IS NULL OR address_r IS NULL)",
                CONTACT_LEVELS,
                CONTACT_ELSE,
            ),
            cl.ExactMatch("birth_year").configure(
                m_probabilities=list(BIRTH_YEAR["m"]), u_probabilities=list(BIRTH_YEAR["u"])
            ),
        ],
        blocking_rules_to_generate_predictions=[block_on(*columns) for columns in BLOCKING],
        retain_matching_columns=False,
        retain_intermediate_calculation_columns=False,
    )


def _custom(
    name: str,
    null_condition: str,
    levels: tuple[tuple[str, str, float, float], ...],
    otherwise: tuple[float, float],
) -> Any:
    import splink.comparison_library as cl

    return cl.CustomComparison(
        output_column_name=name,
        comparison_levels=[
            {"sql_condition": null_condition, "label_for_charts": "null", "is_null_level": True},
            *(
                {
                    "sql_condition": sql,
                    "label_for_charts": label,
                    "m_probability": m,
                    "u_probability": u,
                }
                for label, sql, m, u in levels
            ),
            {
                "sql_condition": "ELSE",
                "label_for_charts": "else",
                "m_probability": otherwise[0],
                "u_probability": otherwise[1],
            },
        ],
    )
