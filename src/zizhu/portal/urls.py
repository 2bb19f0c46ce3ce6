from django.urls import path

from zizhu.portal import views

app_name = "portal"

urlpatterns = [
    path("", views.home, name="home"),
    path("notices/", views.notice_list, name="notice_list"),
    path("notices/<str:token>/", views.notice_detail, name="notice_detail"),
    path("notices/<str:token>/objection/", views.objection_create, name="objection_create"),
    path("notices/<str:token>/objection/thanks/", views.objection_thanks, name="objection_thanks"),
]
