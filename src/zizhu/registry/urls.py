from django.urls import path

from zizhu.registry.views import imports, ledger, students

app_name = "registry"

urlpatterns = [
    path("students/", students.student_list, name="student_list"),
    path("students/export.xlsx", students.student_export, name="student_export"),
    path("students/<int:pk>/", students.student_detail, name="student_detail"),
    path("students/<int:pk>/reveal/", students.student_reveal, name="student_reveal"),
    path(
        "students/<int:pk>/changes/new/", ledger.status_change_create, name="status_change_create"
    ),
    path("ledger/<int:pk>/evidence/", ledger.ledger_evidence, name="ledger_evidence"),
    path("staff/", students.staff_list, name="staff_list"),
    path("imports/", imports.import_list, name="import_list"),
    path("imports/new/", imports.import_create, name="import_create"),
    path("imports/<int:pk>/", imports.import_detail, name="import_detail"),
]
