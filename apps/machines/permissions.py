from rest_framework.permissions import BasePermission

from apps.machines.models import Machine


def request_machine(request) -> Machine | None:
    return request.auth if isinstance(request.auth, Machine) else None


class IsMachine(BasePermission):
    message = "This endpoint takes a machine token."

    def has_permission(self, request, view) -> bool:
        return request_machine(request) is not None


class IsOperator(BasePermission):
    """A signed-in person (session or user token); printers are refused."""

    message = "This endpoint is for operators."

    def has_permission(self, request, view) -> bool:
        user = request.user
        return bool(user and user.is_authenticated and request_machine(request) is None)


class IsMachineOrOperator(BasePermission):
    def has_permission(self, request, view) -> bool:
        return bool(request.user and request.user.is_authenticated)


class IsAdminOperator(IsOperator):
    """Admins (staff) manage machines, alert rules and models; operators may only read them."""

    message = "Only admins may change this."

    def has_permission(self, request, view) -> bool:
        return super().has_permission(request, view) and bool(request.user.is_staff)
