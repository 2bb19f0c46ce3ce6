from django.apps import AppConfig


class AidConfig(AppConfig):
    name = "zizhu.aid"
    label = "aid"
    verbose_name = "认定与资助"

    def ready(self) -> None:
        # Each module registers itself at start-up:
        # - identification: the "category_proposals" job handler and its work-list source;
        # - lifecycle: the ledger hook (registry.services.on_status_change) that ends, stops
        #   or moves awards, with the notification and spring-review work-list sources;
        # - migration: the "award_import" job handler;
        # - coverage: the 应助尽助 work-list source.
        from zizhu.aid.services import (  # noqa: F401
            coverage,
            identification,
            lifecycle,
            migration,
        )
