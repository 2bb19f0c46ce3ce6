from django.apps import AppConfig


class RegistryConfig(AppConfig):
    name = "zizhu.registry"
    label = "registry"
    verbose_name = "学籍与人员"
