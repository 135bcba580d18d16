from django.http import Http404
from drf_spectacular.utils import extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.layers.models import PrintJob
from apps.machines.permissions import IsMachineOrOperator, request_machine
from apps.parts.selectors import job_part_summaries
from apps.parts.serializers import PartOutput


class JobPartsApi(APIView):
    """A job's parts with their anomalous layers and verdicts; a printer sees only its own jobs."""

    permission_classes = [IsMachineOrOperator]

    @extend_schema(responses=PartOutput(many=True))
    def get(self, request, job_id: int):
        jobs = PrintJob.objects.all()
        machine = request_machine(request)
        if machine is not None:
            jobs = jobs.filter(machine=machine)
        job = jobs.filter(pk=job_id).first()
        if job is None:
            raise Http404  # also for another machine's job: its existence is not disclosed
        return Response(PartOutput(job_part_summaries(job=job), many=True).data)
