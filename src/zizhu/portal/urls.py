from django.urls import path

from zizhu.portal import views

app_name = "portal"

urlpatterns = [
    path("", views.home, name="home"),
    path("pages/<slug:slug>/", views.page, name="page"),
    path("report/", views.report, name="report"),
    path("report/receipt/", views.report_receipt, name="report_receipt"),
    path("track/", views.track, name="track"),
    path("track/appeal/", views.appeal, name="appeal"),
    path("notices/", views.notice_list, name="notice_list"),
    path("notices/<str:token>/", views.notice_detail, name="notice_detail"),
    path("notices/<str:token>/objection/", views.objection_create, name="objection_create"),
    path("notices/<str:token>/objection/thanks/", views.objection_thanks, name="objection_thanks"),
]
