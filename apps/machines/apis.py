from django.http import Http404
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.generics import ListAPIView
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.machines.models import Machine
from apps.machines.permissions import IsAdminOperator
from apps.machines.selectors import machine_list
from apps.machines.services import machine_revoke_token, machine_rotate_token


class MachineOutput(serializers.ModelSerializer):
    active_model = serializers.SerializerMethodField()

    class Meta:
        model = Machine
        fields = ["id", "name", "slug", "is_active", "pause_on_critical", "created_at", "active_model"]

    def get_active_model(self, machine: Machine) -> dict | None:
        active = next(iter(machine.active_versions), None)
        if active is None:
            return None
        return {"version": active.version, "scorer": active.scorer, "threshold": active.threshold}


class MachineListApi(ListAPIView):
    serializer_class = MachineOutput

    def get_queryset(self):
        from django.db.models import Prefetch

        from apps.scoring.models import ModelVersion

        active = ModelVersion.objects.filter(status=ModelVersion.Status.ACTIVE)
        return machine_list().prefetch_related(
            Prefetch("model_versions", queryset=active, to_attr="active_versions")
        )


class LayerGroupOutput(serializers.Serializer):
    index = serializers.IntegerField()
    threshold = serializers.FloatField()
    threshold_source = serializers.CharField(help_text='"group": calibrated on this group; "global": too few layers.')
    calibration_method = serializers.CharField(allow_blank=True)
    n_train = serializers.IntegerField()
    n_holdout = serializers.IntegerField()


class MachineGroupsOutput(serializers.Serializer):
    machine = serializers.CharField(source="machine.slug")
    model_version = serializers.IntegerField(source="version")
    scorer = serializers.CharField()
    threshold = serializers.FloatField(help_text="The version's global threshold.")
    groups = LayerGroupOutput(many=True, source="layer_groups.all")


class MachineGroupsApi(APIView):
    """The layer groups of the machine's active model version, with their thresholds."""

    @extend_schema(responses=MachineGroupsOutput)
    def get(self, request, slug: str):
        from apps.scoring.selectors import model_version_active

        machine = machine_list().filter(slug=slug).first()
        version = model_version_active(machine=machine) if machine else None
        if version is None:
            raise Http404
        return Response(MachineGroupsOutput(version).data)


class TokenRotatedOutput(serializers.Serializer):
    machine = serializers.CharField(source="machine.slug")
    token = serializers.CharField(help_text="The new token, shown this once; only its hash is kept.")


class TokenRevokedOutput(serializers.Serializer):
    machine = serializers.CharField(source="slug")
    revoked_at = serializers.DateTimeField(source="token_revoked_at")


class MachineTokenRotateApi(APIView):
    """Issues the machine a new token (shown once); the old one stops working at once."""

    permission_classes = [IsAdminOperator]

    @extend_schema(request=None, responses={201: TokenRotatedOutput})
    def post(self, request, slug: str):
        machine = get_object_or_404(Machine, slug=slug)
        token = machine_rotate_token(machine=machine, actor=request.user)
        return Response(TokenRotatedOutput({"machine": machine, "token": token}).data, status=201)


class MachineTokenRevokeApi(APIView):
    """The machine's token stops working: its uploads get 401 until a new token is issued."""

    permission_classes = [IsAdminOperator]

    @extend_schema(request=None, responses=TokenRevokedOutput)
    def post(self, request, slug: str):
        machine = get_object_or_404(Machine, slug=slug)
        machine = machine_revoke_token(machine=machine, actor=request.user)
        return Response(TokenRevokedOutput(machine).data)
