from django.urls import URLPattern

from zizhu.cases.views import handling, intake, sla

app_name = "cases"

urlpatterns: list[URLPattern] = [
    *intake.urlpatterns,
    *sla.urlpatterns,
    *handling.urlpatterns,
]
