"""PLACEHOLDER: to be written."""

from django.urls import path

from zizhu.sources import views

app_name = "sources"

urlpatterns = [
    path("", views.dataset_list, name="dataset_list"),
]
