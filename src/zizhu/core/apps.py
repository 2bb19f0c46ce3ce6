from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "zizhu.core"
    label = "core"
    verbose_name = "基础"
