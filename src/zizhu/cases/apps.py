from django.apps import AppConfig


class CasesConfig(AppConfig):
    name = "zizhu.cases"
    label = "cases"
    verbose_name = "问题线索"

    def ready(self) -> None:
        # aid cannot import cases (dependencies point one way); cases hooks into aid here.
        from zizhu.aid.services import notices

        # Imported for its side effect: `clues_due` registers on the work list at start-up,
        # before anyone opens the dashboard.
        from zizhu.cases.services import deadlines, handling  # noqa: F401
        from zizhu.cases.services.intake import objection_hook

        if objection_hook not in notices.OBJECTION_HOOKS:
            notices.OBJECTION_HOOKS.append(objection_hook)
