from django.urls import include, path

urlpatterns = [
    path("", include("zizhu.core.urls")),
    path("registry/", include("zizhu.registry.urls")),
    path("sources/", include("zizhu.sources.urls")),
    path("crosscheck/", include("zizhu.crosscheck.urls")),
    path("aid/", include("zizhu.aid.urls")),
    path("cases/", include("zizhu.cases.urls")),
    path("portal/", include("zizhu.portal.urls")),
    path("payments/", include("zizhu.payments.urls")),
]
