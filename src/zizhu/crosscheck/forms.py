"""Filters for the cross-check hit lists (a run's hits, a rule's hits, all hits).

One form carries every filter; each page keeps the fields it offers (`fields=`), so the
three lists filter the same way and read the same query strings.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django import forms
from django.db.models import QuerySet

from zizhu.core.models import OrgUnit
from zizhu.core.widgets import FastSelect, FastTextInput
from zizhu.crosscheck.models import Change, Hit, RunHit, Verdict
from zizhu.crosscheck.rules import all_rules

PRESENT = "present"
GONE = "gone"
PRESENCE_CHOICES = [("", "全部"), (PRESENT, "仍命中"), (GONE, "已消失")]


class SchoolChoiceField(forms.ModelChoiceField[OrgUnit]):
    def label_from_instance(self, obj: OrgUnit) -> str:
        return obj.name


def _rule_choices() -> list[tuple[str, str]]:
    return [("", "全部规则")] + [(code, rule.title) for code, rule in all_rules().items()]


class HitFilterForm(forms.Form):
    rule = forms.ChoiceField(label="规则", required=False, choices=_rule_choices, widget=FastSelect)
    change = forms.ChoiceField(
        label="变化",
        required=False,
        choices=[("", "全部变化"), *Change.choices],
        widget=FastSelect,
    )
    present = forms.ChoiceField(
        label="命中状态", required=False, choices=PRESENCE_CHOICES, widget=FastSelect
    )
    verdict = forms.ChoiceField(
        label="核查结论",
        required=False,
        choices=[("", "全部结论"), *Verdict.choices],
        widget=FastSelect,
    )
    school = SchoolChoiceField(
        label="学校",
        queryset=OrgUnit.objects.none(),
        required=False,
        empty_label="全部学校",
        widget=FastSelect,
    )
    name = forms.CharField(label="学生姓名", required=False, max_length=64, widget=FastTextInput)

    def __init__(
        self, *args: Any, schools: QuerySet[OrgUnit], fields: Iterable[str], **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        kept = set(fields)
        for name in list(self.fields):
            if name not in kept:
                del self.fields[name]
        if "school" in self.fields:
            self.fields["school"].queryset = schools  # type: ignore[attr-defined]

    def _value(self, name: str) -> Any:
        return self.cleaned_data.get(name) if name in self.fields else None

    def _lookups(self, prefix: str) -> dict[str, Any]:
        """The chosen filters as ORM lookups on a hit reached through `prefix`."""
        lookups: dict[str, Any] = {}
        if rule := self._value("rule"):
            lookups[f"{prefix}rule"] = rule
        if verdict := self._value("verdict"):
            lookups[f"{prefix}verdict"] = verdict
        if presence := self._value("present"):
            lookups[f"{prefix}present"] = presence == PRESENT
        if school := self._value("school"):
            lookups[f"{prefix}school"] = school
        if name := (self._value("name") or "").strip():
            lookups[f"{prefix}student__name__contains"] = name
        return lookups

    def filter_hits(self, hits: QuerySet[Hit]) -> QuerySet[Hit]:
        return hits.filter(**self._lookups(""))

    def filter_run_hits(self, run_hits: QuerySet[RunHit]) -> QuerySet[RunHit]:
        lookups = self._lookups("hit__")
        if change := self._value("change"):
            lookups["change"] = change
        return run_hits.filter(**lookups)

    def described(self) -> dict[str, str]:
        """The filters as plain text, for the export's audit row."""
        if not self.is_valid():
            return {}
        return {
            key: getattr(value, "code", None) or str(value)
            for key, value in self.cleaned_data.items()
            if value
        }
