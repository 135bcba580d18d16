from django.urls import path

from apps.records import apis, views

app_name = "records"

urlpatterns = [
    path("jobs/<int:job_id>/report/", views.job_report, name="job-report"),
    path("jobs/<int:job_id>/report.pdf", views.job_report_pdf, name="job-report-pdf"),
    path("jobs/<int:job_id>/volume/", views.job_volume_page, name="job-volume"),
    path("api/v1/jobs/<int:job_id>/evidence.zip", apis.JobEvidenceApi.as_view(), name="job-evidence"),
    path("api/v1/jobs/<int:job_id>/volume/", apis.JobVolumeApi.as_view(), name="job-volume-data"),
]
