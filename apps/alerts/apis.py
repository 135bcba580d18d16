from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.exceptions import APIException
from rest_framework.generics import ListAPIView, RetrieveAPIView
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.alerts.filters import AlertFilter
from apps.alerts.models import Alert, AlertRule
from apps.alerts.notifications import machine_test_alert_send
from apps.alerts.rules import RuleParams
from apps.alerts.selectors import alert_list
from apps.alerts.serializers import AlertOutput, AlertRuleIO, DeliveryOutput, ResolveInput
from apps.alerts.services import AlertStateError, alert_acknowledge, alert_resolve, alert_rule_save
from apps.api.pagination import OffsetOrCursorPagination
from apps.machines.models import Machine
from apps.machines.permissions import IsAdminOperator


class Conflict(APIException):
    status_code = status.HTTP_409_CONFLICT
    default_code = "conflict"


class AlertListApi(ListAPIView):
    serializer_class = AlertOutput
    filterset_class = AlertFilter
    pagination_class = OffsetOrCursorPagination
    # Cursor pages walk by last change, oldest first by default: what a sync resumes from.
    cursor_orderings = {
        "updated_at": ("updated_at", "pk"),
        "-updated_at": ("-updated_at", "-pk"),
        "opened_at": ("opened_at", "pk"),
        "-opened_at": ("-opened_at", "-pk"),
    }

    def get_queryset(self):
        return alert_list()


class AlertDetailApi(RetrieveAPIView):
    serializer_class = AlertOutput
    lookup_url_kwarg = "alert_id"

    def get_queryset(self):
        return alert_list()


class AlertAcknowledgeApi(APIView):
    @extend_schema(request=None, responses=AlertOutput)
    def post(self, request, alert_id: int):
        alert = get_object_or_404(Alert, pk=alert_id)
        try:
            alert = alert_acknowledge(alert=alert, user=request.user)
        except AlertStateError as error:
            raise Conflict(str(error)) from error
        return Response(AlertOutput(alert).data)


class AlertResolveApi(APIView):
    @extend_schema(request=ResolveInput, responses=AlertOutput)
    def post(self, request, alert_id: int):
        alert = get_object_or_404(Alert, pk=alert_id)
        form = ResolveInput(data=request.data)
        form.is_valid(raise_exception=True)
        try:
            alert = alert_resolve(alert=alert, user=request.user, outcome=form.validated_data["outcome"])
        except AlertStateError as error:
            raise Conflict(str(error)) from error
        return Response(AlertOutput(alert).data)


class MachineTestAlertApi(APIView):
    @extend_schema(request=None, responses={202: DeliveryOutput(many=True)})
    def post(self, request, slug: str):
        machine = get_object_or_404(Machine, slug=slug)
        deliveries = machine_test_alert_send(machine=machine, requested_by=request.user.get_username())
        return Response(DeliveryOutput(deliveries, many=True).data, status=status.HTTP_202_ACCEPTED)


class MachineAlertRuleApi(APIView):
    """The machine's own rule. GET shows the rule in force; PUT/PATCH (admins) gives the machine its own."""

    def get_permissions(self):
        if self.request.method in ("PUT", "PATCH"):
            return [IsAdminOperator()]
        return super().get_permissions()

    @extend_schema(responses=AlertRuleIO)
    def get(self, request, slug: str):
        machine = get_object_or_404(Machine, slug=slug)
        rule = (
            AlertRule.objects.filter(machine=machine).first()
            or AlertRule.objects.filter(machine__isnull=True).first()
            or AlertRule(**RuleParams().__dict__)
        )
        return Response(AlertRuleIO(rule).data)

    @extend_schema(request=AlertRuleIO, responses=AlertRuleIO)
    def put(self, request, slug: str):
        return self._save(request, slug, partial=False)

    @extend_schema(request=AlertRuleIO, responses=AlertRuleIO)
    def patch(self, request, slug: str):
        return self._save(request, slug, partial=True)

    def _save(self, request, slug: str, *, partial: bool):
        machine = get_object_or_404(Machine, slug=slug)
        rule = AlertRule.objects.filter(machine=machine).first() or AlertRule(machine=machine)
        form = AlertRuleIO(rule, data=request.data, partial=partial)
        form.is_valid(raise_exception=True)
        for name, value in form.validated_data.items():
            setattr(rule, name, value)
        rule = alert_rule_save(rule=rule, actor=request.user)
        return Response(AlertRuleIO(rule).data)
