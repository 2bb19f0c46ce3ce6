from django.apps import AppConfig


class RegistryConfig(AppConfig):
    name = "zizhu.registry"
    label = "registry"
    verbose_name = "学籍与人员"

    def ready(self) -> None:
        # Registers the "register_import" job handler with core.jobs (@handles).
        from zizhu.registry import imports  # noqa: F401
