"""Password rule (issue 2): at least 10 characters from at least three character classes."""

import string

from django.core.exceptions import ValidationError

MIN_LENGTH = 10
MIN_CLASSES = 3


def _classes(password: str) -> int:
    tests = (
        any(c.islower() for c in password),
        any(c.isupper() for c in password),
        any(c.isdigit() for c in password),
        any(c in string.punctuation or not c.isalnum() for c in password),
    )
    return sum(tests)


class StrengthValidator:
    def validate(self, password: str, user: object = None) -> None:
        if len(password) < MIN_LENGTH or _classes(password) < MIN_CLASSES:
            raise ValidationError(self.get_help_text(), code="password_too_weak")

    def get_help_text(self) -> str:
        return f"密码至少 {MIN_LENGTH} 位，且须包含大写字母、小写字母、数字、符号中的至少三类。"
