from django.urls import path

from zizhu.core.views import audit, auth, calendar, certification, jobs, units, users

app_name = "core"

urlpatterns = [
    path("", auth.home, name="home"),
    path("healthz", auth.healthz, name="healthz"),
    path("login/", auth.login_view, name="login"),
    path("logout/", auth.logout_view, name="logout"),
    path("password/", auth.password_change, name="password_change"),
    path("units/", units.unit_list, name="unit_list"),
    path("units/export.xlsx", units.unit_export, name="unit_export"),
    path("units/<int:pk>/", units.unit_detail, name="unit_detail"),
    path("certifications/", certification.certification_list, name="certification_list"),
    path("certifications/new/", certification.certification_create, name="certification_create"),
    path(
        "certifications/<int:pk>/", certification.certification_detail, name="certification_detail"
    ),
    path(
        "certifications/<int:pk>/revoke/",
        certification.certification_revoke,
        name="certification_revoke",
    ),
    path("audit/", audit.audit_list, name="audit_list"),
    path("audit/export.xlsx", audit.audit_export, name="audit_export"),
    path("audit/<int:pk>/", audit.audit_detail, name="audit_detail"),
    path("calendar/", calendar.calendar_list, name="calendar_list"),
    path("calendar/<int:year>/", calendar.calendar_edit, name="calendar_edit"),
    path("calendar/<int:year>/complete/", calendar.calendar_complete, name="calendar_complete"),
    path("jobs/", jobs.job_list, name="job_list"),
    path("jobs/<int:pk>/", jobs.job_detail, name="job_detail"),
    path("jobs/<int:pk>/progress/", jobs.job_progress, name="job_progress"),
    path("jobs/<int:pk>/report.xlsx", jobs.job_report, name="job_report"),
    path("users/", users.user_list, name="user_list"),
    path("users/new/", users.user_create, name="user_create"),
    path("users/<int:pk>/", users.user_detail, name="user_detail"),
]
