from django.apps import AppConfig


class CasesConfig(AppConfig):
    name = "zizhu.cases"
    label = "cases"
    verbose_name = "问题线索"
