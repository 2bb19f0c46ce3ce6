from django.apps import AppConfig


class PaymentsConfig(AppConfig):
    name = "zizhu.payments"
    label = "payments"
    verbose_name = "资金发放"

    def ready(self) -> None:
        # Imported for its side effect: the failed-payment work item registers at start-up.
        from zizhu.cases.services.handling import DECISION_HOOKS
        from zizhu.payments.services import results  # noqa: F401
        from zizhu.payments.services.recoveries import recover_on_decision

        if recover_on_decision not in DECISION_HOOKS:
            DECISION_HOOKS.append(recover_on_decision)
