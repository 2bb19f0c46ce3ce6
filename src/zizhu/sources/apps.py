from django.apps import AppConfig


class SourcesConfig(AppConfig):
    name = "zizhu.sources"
    label = "sources"
    verbose_name = "部门比对数据"
