from django.urls import URLPattern

from zizhu.payments.views import batches, funds

app_name = "payments"

urlpatterns: list[URLPattern] = [
    *batches.urlpatterns,
    *funds.urlpatterns,
]
