from django.apps import AppConfig


class AidConfig(AppConfig):
    name = "zizhu.aid"
    label = "aid"
    verbose_name = "认定与资助"
