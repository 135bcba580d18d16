"""The build record and the build volume, for operators."""

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, render

from apps.layers.models import PrintJob
from apps.records.rendering import record_html, record_pdf
from apps.records.selectors import record_build


def _job(job_id: int) -> PrintJob:
    return get_object_or_404(PrintJob.objects.select_related("machine"), pk=job_id)


@login_required
def job_report(request, job_id: int):
    return HttpResponse(record_html(record_build(job=_job(job_id))))


@login_required
def job_report_pdf(request, job_id: int):
    job = _job(job_id)
    response = HttpResponse(record_pdf(record_build(job=job)), content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="record-{job.machine.slug}-{job.pk}.pdf"'
    return response


@login_required
def job_volume_page(request, job_id: int):
    return render(request, "records/volume.html", {"job": _job(job_id)})
