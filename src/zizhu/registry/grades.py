"""Grade labels per stage and the school year each stands for.

The year orders the lists (一年级 before 二年级; lexically 三 < 二) and checks ages:
1 is primary grade one, 10 the first year of high school or secondary vocational school
(中职 also counts 一年级…三年级), 0 and below the kindergarten years.
"""

from __future__ import annotations

from zizhu.core.models import Stage

_PRIMARY = ("一年级", "二年级", "三年级", "四年级", "五年级", "六年级")
_UPPER = ("七年级", "八年级", "九年级")
_SENIOR = {"高一": 10, "高二": 11, "高三": 12, "一年级": 10, "二年级": 11, "三年级": 12}

GRADES: dict[str, dict[str, int]] = {
    Stage.PRESCHOOL: {"小班": -2, "中班": -1, "大班": 0},
    Stage.PRIMARY: {label: year for year, label in enumerate(_PRIMARY, start=1)},
    Stage.JUNIOR: {
        **{label: year for year, label in enumerate(_UPPER, start=7)},
        **{"初一": 7, "初二": 8, "初三": 9},
    },
    Stage.NINE_YEAR: {label: year for year, label in enumerate((*_PRIMARY, *_UPPER), start=1)},
    Stage.SENIOR: _SENIOR,
    Stage.VOCATIONAL: _SENIOR,
}

# Labels a stage does not know sort after every known grade.
UNKNOWN_RANK = 99


def grade_rank(stage: str, grade: str) -> int:
    return GRADES.get(stage, {}).get(grade, UNKNOWN_RANK)
