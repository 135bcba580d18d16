"""System alerts over REST, apart from the defect alerts at /api/v1/alerts/."""

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.generics import ListAPIView
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.monitoring.models import SystemAlert
from apps.monitoring.selectors import system_alerts
from apps.monitoring.serializers import SystemAlertOutput


class SystemAlertFilterInput(serializers.Serializer):
    status = serializers.ChoiceField(choices=SystemAlert.Status.choices, required=False)
    kind = serializers.ChoiceField(choices=SystemAlert.Kind.choices, required=False)


class SystemAlertListApi(ListAPIView):
    """`GET /api/v1/system-alerts/?status=open&kind=printer_stalled`: newest first."""

    serializer_class = SystemAlertOutput

    def get_queryset(self):
        filters = SystemAlertFilterInput(data=self.request.query_params)
        filters.is_valid(raise_exception=True)
        alerts = system_alerts(status=filters.validated_data.get("status"))
        kind = filters.validated_data.get("kind")
        return alerts.filter(kind=kind) if kind else alerts


class SystemAlertDetailApi(APIView):
    """`GET /api/v1/system-alerts/{id}/`."""

    @extend_schema(responses=SystemAlertOutput)
    def get(self, request, alert_id: int):
        return Response(SystemAlertOutput(get_object_or_404(system_alerts(), pk=alert_id)).data)
