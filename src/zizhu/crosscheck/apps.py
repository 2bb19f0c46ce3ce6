from django.apps import AppConfig


class CrosscheckConfig(AppConfig):
    name = "zizhu.crosscheck"
    label = "crosscheck"
    verbose_name = "大数据比对"

    def ready(self) -> None:
        # cases cannot import crosscheck (dependencies point one way): a clue decision reaches
        # the hit that opened it through the cases hook list.
        from zizhu.cases.services import handling

        # Imported for its side effect: registers the "crosscheck_run" job handler.
        from zizhu.crosscheck.services import runs  # noqa: F401
        from zizhu.crosscheck.services.hits import decision_hook

        if decision_hook not in handling.DECISION_HOOKS:
            handling.DECISION_HOOKS.append(decision_hook)
