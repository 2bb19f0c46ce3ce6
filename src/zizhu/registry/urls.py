from django.urls import path

from zizhu.registry import views

app_name = "registry"

urlpatterns = [
    path("students/", views.student_list, name="student_list"),
    path("students/export.xlsx", views.student_export, name="student_export"),
    path("students/<int:pk>/", views.student_detail, name="student_detail"),
    path("students/<int:pk>/reveal/", views.student_reveal, name="student_reveal"),
    path("staff/", views.staff_list, name="staff_list"),
]
