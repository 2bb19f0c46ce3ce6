"""Cross-check screens (issue 6); `common` holds the reach checks and display helpers."""

from zizhu.crosscheck.views.hits import hit_detail, hit_list, rule_detail
from zizhu.crosscheck.views.runs import (
    home,
    run_detail,
    run_export,
    run_progress,
    run_progress_fragment,
    run_start,
)

__all__ = [
    "hit_detail",
    "hit_list",
    "home",
    "rule_detail",
    "run_detail",
    "run_export",
    "run_progress",
    "run_progress_fragment",
    "run_start",
]
