from django.urls import URLPattern

from zizhu.aid.views import (
    applications,
    awards,
    config,
    coverage,
    identification,
    migration,
    notices,
    review,
)

app_name = "aid"

urlpatterns: list[URLPattern] = [
    *applications.urlpatterns,
    *notices.urlpatterns,
    *awards.urlpatterns,
    *review.urlpatterns,
    *coverage.urlpatterns,
    *migration.urlpatterns,
    *config.urlpatterns,
    *identification.urlpatterns,
]
