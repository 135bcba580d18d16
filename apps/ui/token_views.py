"""A machine's API token: rotate (the new one is shown once) or revoke, by admins or operators allowed to."""

from functools import wraps

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from apps.machines.models import Machine
from apps.machines.services import machine_revoke_token, machine_rotate_token

TOKEN_PERMISSION = "machines.manage_machine_token"


def can_manage_tokens(user) -> bool:
    return bool(user.is_authenticated and (user.is_staff or user.has_perm(TOKEN_PERMISSION)))


def token_manager_required(view):
    @login_required
    @wraps(view)
    def wrapped(request, *args, **kwargs):
        if not can_manage_tokens(request.user):
            raise PermissionDenied("Only admins and operators allowed to manage tokens may do this.")
        return view(request, *args, **kwargs)

    return wrapped


@token_manager_required
@require_POST
@never_cache
def machine_token_rotate(request, slug: str):
    machine = get_object_or_404(Machine, slug=slug)
    token = machine_rotate_token(machine=machine, actor=request.user)
    # Rendered, not redirected: a flash message would keep the token in the session or a cookie.
    return render(request, "ui/token_rotated.html", {"machine": machine, "token": token})


@token_manager_required
@require_POST
def machine_token_revoke(request, slug: str):
    machine = get_object_or_404(Machine, slug=slug)
    machine_revoke_token(machine=machine, actor=request.user)
    messages.warning(request, f"The token of {machine.name} is revoked: its uploads are refused until you rotate it.")
    return redirect("ui:machine-detail", slug=slug)
