"""`Authorization: Token lwm_…` authenticates a printer; other tokens fall through to users."""

from django.utils.translation import gettext_lazy as _
from rest_framework import authentication, exceptions

from apps.machines.models import Machine
from apps.machines.selectors import machine_for_token
from apps.machines.tokens import TOKEN_SCHEME


class MachinePrincipal:
    """Stands in for request.user when a printer calls; it is never a Django user."""

    is_authenticated = True
    is_anonymous = False
    is_staff = False
    is_superuser = False

    def __init__(self, machine: Machine) -> None:
        self.machine = machine
        self.pk = None

    def __str__(self) -> str:
        return f"machine:{self.machine.slug}"


class MachineTokenAuthentication(authentication.BaseAuthentication):
    keyword = "Token"

    def authenticate(self, request):
        parts = authentication.get_authorization_header(request).split()
        if len(parts) != 2 or parts[0].lower() != self.keyword.lower().encode():
            return None
        token = parts[1].decode(errors="replace")
        if not token.startswith(f"{TOKEN_SCHEME}_"):
            return None  # a user's API token: TokenAuthentication handles it
        machine = machine_for_token(token=token)
        if machine is None:
            raise exceptions.AuthenticationFailed(_("Invalid or revoked machine token."))
        return MachinePrincipal(machine), machine

    def authenticate_header(self, request) -> str:
        # Makes DRF answer 401 (not 403) when the header is missing.
        return self.keyword
