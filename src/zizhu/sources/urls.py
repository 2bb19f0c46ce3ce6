from django.urls import path

from zizhu.sources import views

app_name = "sources"

urlpatterns = [
    path("", views.dataset_list, name="dataset_list"),
    path("upload/", views.dataset_upload, name="dataset_upload"),
    path("versions/<int:pk>/", views.version_detail, name="version_detail"),
    path("versions/<int:old_pk>/diff/<int:new_pk>/", views.version_diff, name="version_diff"),
    path("<str:kind>/", views.dataset_detail, name="dataset_detail"),
]
