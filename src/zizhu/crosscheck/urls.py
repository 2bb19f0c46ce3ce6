from django.urls import path

from zizhu.crosscheck import views

app_name = "crosscheck"

urlpatterns = [
    path("", views.home, name="home"),
    path("run/", views.run_start, name="run_start"),
    path("jobs/<int:pk>/", views.run_progress, name="run_progress"),
    path("jobs/<int:pk>/progress/", views.run_progress_fragment, name="run_progress_fragment"),
    path("runs/<int:pk>/", views.run_detail, name="run_detail"),
    path("runs/<int:pk>/export/", views.run_export, name="run_export"),
    path("rules/<str:code>/", views.rule_detail, name="rule_detail"),
    path("hits/", views.hit_list, name="hit_list"),
    path("hits/<int:pk>/", views.hit_detail, name="hit_detail"),
]
