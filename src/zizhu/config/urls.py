from django.urls import include, path

urlpatterns = [
    path("", include("zizhu.core.urls")),
    path("registry/", include("zizhu.registry.urls")),
    path("sources/", include("zizhu.sources.urls")),
]
