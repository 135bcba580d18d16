from django.urls import path

from apps.parts import views as part_views
from apps.ui import alert_views, model_views, views

app_name = "ui"

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("", views.dashboard, name="machine-list"),  # the old name, kept for links elsewhere
    path("fleet/cards/", views.dashboard_cards, name="dashboard-cards"),
    path("label/", views.label_queue, name="label-queue"),
    path("analyze/", views.analyze, name="analyze"),
    path("alerts/", alert_views.alerts_inbox, name="alerts"),
    path("alerts/<int:alert_id>/acknowledge/", alert_views.alert_acknowledge_view, name="alert-acknowledge"),
    path("alerts/<int:alert_id>/resolve/", alert_views.alert_resolve_view, name="alert-resolve"),
    path("machines/<slug:slug>/", views.machine_detail, name="machine-detail"),
    path("machines/<slug:slug>/alerts/", alert_views.machine_alert_settings, name="machine-alerts"),
    path("machines/<slug:slug>/alerts/test/", alert_views.machine_test_alert, name="machine-test-alert"),
    path("machines/<slug:slug>/models/", model_views.machine_models, name="machine-models"),
    path("machines/<slug:slug>/models/retrain/", model_views.model_retrain, name="model-retrain"),
    path("machines/<slug:slug>/models/rollback/", model_views.model_rollback, name="model-rollback"),
    path(
        "machines/<slug:slug>/models/<int:version_id>/activate/",
        model_views.model_activate,
        name="model-activate",
    ),
    path(
        "models/<int:version_id>/progress/",
        model_views.model_version_progress,
        name="model-progress",
    ),
    path("jobs/<int:job_id>/", views.job_detail, name="job-detail"),
    path("parts/verdict-rule/", part_views.verdict_rule, name="part-verdict-rule"),
    path("layers/<int:layer_id>/", views.layer_detail, name="layer-detail"),
    path("layers/<int:layer_id>/features.png", views.layer_features, name="layer-features"),
]
