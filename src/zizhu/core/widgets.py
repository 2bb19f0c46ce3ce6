"""Form widgets that render in Python where Django's template-per-option rendering is the
cost of a page: a list page's school filter has ~80 options, which took ~40 ms per request
through the form templates and ~0.2 ms this way."""

from __future__ import annotations

from typing import Any

from django import forms
from django.forms.utils import flatatt
from django.utils.html import escape, format_html
from django.utils.safestring import SafeString, mark_safe


class FastSelect(forms.Select):
    """A flat <select> (no option groups) built with format_html."""

    def render(
        self,
        name: str,
        value: Any,
        attrs: dict[str, Any] | None = None,
        renderer: Any = None,
    ) -> SafeString:
        final_attrs = self.build_attrs(self.attrs, attrs)
        chosen = {str(item) for item in self.format_value(value)}
        parts: list[str] = [format_html('<select name="{}"{}>', name, flatatt(final_attrs))]
        for option_value, label in self.choices:
            if isinstance(label, list | tuple):
                raise TypeError("FastSelect does not render option groups")
            text = "" if option_value is None else str(option_value)
            selected = " selected" if text in chosen else ""
            parts.append(f'<option value="{escape(text)}"{selected}>{escape(str(label))}</option>')
        parts.append("</select>")
        return mark_safe("".join(parts))  # noqa: S308 -- every part was escaped above


class FastTextInput(forms.TextInput):
    """A text <input> built with format_html, for the filter forms on busy list pages."""

    def render(
        self,
        name: str,
        value: Any,
        attrs: dict[str, Any] | None = None,
        renderer: Any = None,
    ) -> SafeString:
        final_attrs = self.build_attrs(self.attrs, attrs)
        shown = self.format_value(value)
        value_attr = format_html(' value="{}"', shown) if shown not in (None, "") else ""
        return format_html(
            '<input type="{}" name="{}"{}{}>',
            self.input_type,
            name,
            value_attr,
            flatatt(final_attrs),
        )
