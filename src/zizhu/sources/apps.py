from django.apps import AppConfig


class SourcesConfig(AppConfig):
    name = "zizhu.sources"
    label = "sources"
    verbose_name = "部门比对数据"

    def ready(self) -> None:
        # Registers the "dataset_import" job handler with core.jobs.
        from zizhu.sources import services  # noqa: F401
