"""The job list, and the printer's job lifecycle: create or update, finish, abort."""

from django.http import Http404
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.generics import ListAPIView
from rest_framework.parsers import JSONParser
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.layers.apis import Conflict
from apps.layers.filters import JobFilter
from apps.layers.job_serializers import JobOutput, JobUpsertInput
from apps.layers.job_services import job_abort, job_finish, job_upsert
from apps.layers.selectors import job_get, job_list
from apps.layers.services import JobEnded
from apps.machines.permissions import IsMachine, request_machine


class JobListCreateApi(ListAPIView):
    """GET lists jobs (operators). POST creates or updates the printer's job (its machine token)."""

    serializer_class = JobOutput
    filterset_class = JobFilter
    parser_classes = [JSONParser]

    def get_permissions(self):
        if self.request.method == "POST":
            return [IsMachine()]
        return super().get_permissions()

    def get_queryset(self):
        return job_list().order_by("-started_at", "-pk")

    @extend_schema(
        request=JobUpsertInput,
        responses={
            201: JobOutput,
            200: OpenApiResponse(JobOutput, "The job existed; the fields given were updated."),
            400: OpenApiResponse(description="A bad field; a message per field."),
            401: OpenApiResponse(description="Missing or bad machine token."),
            409: OpenApiResponse(description="The job was finished or aborted and cannot change."),
        },
    )
    def post(self, request):
        form = JobUpsertInput(data=request.data)
        form.is_valid(raise_exception=True)
        data = form.validated_data
        parts = data.get("parts")
        try:
            result = job_upsert(
                machine=request_machine(request),
                job_id=data["job"],
                name=data.get("name"),
                expected_layers=data.get("expected_layers"),
                part_names=None if parts is None else {str(part["id"]): part["name"] for part in parts},
            )
        except JobEnded as error:
            raise Conflict(str(error)) from error
        job = job_get(job_pk=result.job.pk)
        return Response(JobOutput(job).data, status=status.HTTP_201_CREATED if result.created else status.HTTP_200_OK)


class _JobEndApi(APIView):
    permission_classes = [IsMachine]

    @extend_schema(
        request=None,
        responses={
            200: JobOutput,
            404: OpenApiResponse(description="No such job of this machine."),
            409: OpenApiResponse(description="The job already ended the other way."),
        },
    )
    def post(self, request, job_pk: int):
        machine = request_machine(request)
        job = job_get(job_pk=job_pk, machine=machine)
        if job is None:
            raise Http404  # also for another machine's job: its existence is not disclosed
        try:
            self.end(job=job)
        except JobEnded as error:
            raise Conflict(str(error)) from error
        return Response(JobOutput(job_get(job_pk=job_pk, machine=machine)).data)


class JobFinishApi(_JobEndApi):
    """Marks the printer's job finished: it takes no more layers. Again is a no-op."""

    end = staticmethod(job_finish)


class JobAbortApi(_JobEndApi):
    """Marks the printer's job aborted: it takes no more layers. Again is a no-op."""

    end = staticmethod(job_abort)
