from django.http import HttpRequest

from zizhu.core.navigation import menu_for
from zizhu.core.reach import assignments_of


def navigation(request: HttpRequest) -> dict[str, object]:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {"menu": menu_for(user), "my_assignments": assignments_of(user)}
