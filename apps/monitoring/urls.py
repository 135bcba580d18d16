from django.urls import path

from apps.monitoring import views
from apps.monitoring.apis import SystemAlertDetailApi, SystemAlertListApi

app_name = "monitoring"

urlpatterns = [
    path("healthz", views.healthz, name="healthz"),
    path("readyz", views.ReadyzView.as_view(), name="readyz"),
    path("metrics", views.metrics, name="metrics"),
    path("api/v1/system-alerts/", SystemAlertListApi.as_view(), name="system-alert-list"),
    path("api/v1/system-alerts/<int:alert_id>/", SystemAlertDetailApi.as_view(), name="system-alert-detail"),
]
