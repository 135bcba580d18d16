from django.urls import path

from apps.alerts.apis import (
    AlertAcknowledgeApi,
    AlertDetailApi,
    AlertListApi,
    AlertResolveApi,
    MachineAlertRuleApi,
    MachineTestAlertApi,
)
from apps.layers.apis import (
    LayerDetailApi,
    LayerFileApi,
    LayerLabelApi,
    LayerListCreateApi,
)
from apps.layers.job_apis import JobAbortApi, JobFinishApi, JobListCreateApi
from apps.machines.apis import MachineGroupsApi, MachineListApi
from apps.parts.apis import JobPartsApi

app_name = "api"

urlpatterns = [
    path("machines/", MachineListApi.as_view(), name="machine-list"),
    path("machines/<slug:slug>/groups/", MachineGroupsApi.as_view(), name="machine-groups"),
    path("jobs/", JobListCreateApi.as_view(), name="job-list"),
    path("jobs/<int:job_pk>/finish/", JobFinishApi.as_view(), name="job-finish"),
    path("jobs/<int:job_pk>/abort/", JobAbortApi.as_view(), name="job-abort"),
    path("jobs/<int:job_id>/parts/", JobPartsApi.as_view(), name="job-parts"),
    path("layers/", LayerListCreateApi.as_view(), name="layer-list"),
    path("layers/<int:layer_id>/", LayerDetailApi.as_view(), name="layer-detail"),
    path("layers/<int:layer_id>/image/", LayerFileApi.as_view(kind="image"), name="layer-image"),
    path("layers/<int:layer_id>/heatmap/", LayerFileApi.as_view(kind="heatmap"), name="layer-heatmap"),
    path(
        "layers/<int:layer_id>/reconstruction/",
        LayerFileApi.as_view(kind="reconstruction"),
        name="layer-reconstruction",
    ),
    path("layers/<int:layer_id>/label/", LayerLabelApi.as_view(), name="layer-label"),
]

from apps.ui.apis import AnalyzeApi, LabelBatchApi, LabelQueueApi  # noqa: E402

urlpatterns += [
    path("labels/queue/", LabelQueueApi.as_view(), name="label-queue"),
    path("labels/batch/", LabelBatchApi.as_view(), name="label-batch"),
    path("analyze/", AnalyzeApi.as_view(), name="analyze"),
    path("alerts/", AlertListApi.as_view(), name="alert-list"),
    path("alerts/<int:alert_id>/", AlertDetailApi.as_view(), name="alert-detail"),
    path(
        "alerts/<int:alert_id>/acknowledge/",
        AlertAcknowledgeApi.as_view(),
        name="alert-acknowledge",
    ),
    path("alerts/<int:alert_id>/resolve/", AlertResolveApi.as_view(), name="alert-resolve"),
    path(
        "machines/<slug:slug>/test-alert/", MachineTestAlertApi.as_view(), name="machine-test-alert"
    ),
    path(
        "machines/<slug:slug>/alert-rule/", MachineAlertRuleApi.as_view(), name="machine-alert-rule"
    ),
]
