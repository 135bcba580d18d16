from rest_framework import serializers
from rest_framework.generics import ListAPIView

from apps.machines.models import Machine
from apps.machines.selectors import machine_list


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
