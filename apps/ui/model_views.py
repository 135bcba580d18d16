"""The models page: a machine's versions with their metrics; admins retrain, activate, roll back."""

from django.contrib import messages
from django.contrib.admin.views.decorators import staff_member_required
from django.contrib.auth.decorators import login_required
from django.http import JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from apps.machines.models import Machine
from apps.scoring.false_positives import false_positive_rates
from apps.scoring.models import ModelVersion
from apps.scoring.selectors import model_versions_for
from apps.scoring.training import model_version_activate, model_version_rollback
from apps.ui.services import model_version_retrain


@login_required
def machine_models(request, slug: str):
    machine = get_object_or_404(Machine, slug=slug)
    versions = list(model_versions_for(machine=machine).prefetch_related("layer_groups"))
    active = next((v for v in versions if v.status == ModelVersion.Status.ACTIVE), None)
    rates = false_positive_rates(version=active) if active else None
    return render(request, "ui/models.html", {"machine": machine, "versions": versions, "active": active,
                                              "rates": rates})


@login_required
def model_version_progress(request, version_id: int):
    version = get_object_or_404(ModelVersion, pk=version_id)
    return JsonResponse({"status": version.status, "progress": version.progress, "error": version.error})


@staff_member_required
@require_POST
def model_retrain(request, slug: str):
    machine = get_object_or_404(Machine, slug=slug)
    version = model_version_retrain(machine=machine)
    messages.success(request, f"Training v{version.version} was queued.")
    return redirect("ui:machine-models", slug=slug)


@staff_member_required
@require_POST
def model_activate(request, slug: str, version_id: int):
    version = get_object_or_404(ModelVersion, pk=version_id, machine__slug=slug)
    try:
        model_version_activate(version=version, actor=request.user)
        messages.success(request, f"v{version.version} is now active.")
    except ValueError as error:
        messages.error(request, str(error))
    return redirect("ui:machine-models", slug=slug)


@staff_member_required
@require_POST
def model_rollback(request, slug: str):
    machine = get_object_or_404(Machine, slug=slug)
    try:
        version = model_version_rollback(machine=machine, actor=request.user)
        messages.success(request, f"Rolled back to v{version.version}.")
    except ValueError as error:
        messages.error(request, str(error))
    return redirect("ui:machine-models", slug=slug)
