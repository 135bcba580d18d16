import tempfile

from django.http import FileResponse
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.layers.models import PrintJob
from apps.machines.permissions import IsOperator
from apps.records.evidence import evidence_zip_write
from apps.records.selectors import record_build
from apps.records.volume import job_volume

# A zip larger than this goes to disk while it is written.
_SPOOL_BYTES = 64 * 1024 * 1024


class JobEvidenceApi(APIView):
    """The job's build record (HTML, PDF, JSON), its evidence layers' images and heatmaps, and
    manifest.json with the SHA-256 of every other file."""

    permission_classes = [IsOperator]

    @extend_schema(
        parameters=[OpenApiParameter("layers", str, enum=["evidence", "all"],
                                     description="evidence (default): the anomalous, alerted and labeled layers; "
                                     "all: every layer of the job.")],
        responses={(200, "application/zip"): OpenApiTypes.BINARY},
    )
    def get(self, request, job_id: int):
        job = get_object_or_404(PrintJob.objects.select_related("machine"), pk=job_id)
        which = request.query_params.get("layers", "evidence")
        if which not in ("evidence", "all"):
            return Response({"layers": ['Use "evidence" or "all".']}, status=400)
        target = tempfile.SpooledTemporaryFile(max_size=_SPOOL_BYTES)
        evidence_zip_write(record_build(job=job), target, all_layers=which == "all")
        target.seek(0)
        filename = f"evidence-{job.machine.slug}-{job.job_id}.zip".replace('"', "")
        return FileResponse(target, as_attachment=True, filename=filename, content_type="application/zip")


class JobVolumeApi(APIView):
    """Anomaly density through the build (x by layer, y by layer), the regions as points and the parts."""

    permission_classes = [IsOperator]

    @extend_schema(responses={200: OpenApiTypes.OBJECT})
    def get(self, request, job_id: int):
        job = get_object_or_404(PrintJob, pk=job_id)
        return Response(job_volume(job=job))
