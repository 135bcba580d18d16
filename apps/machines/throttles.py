"""Request rates: per machine token for printers, per user for operators, per address otherwise.

Rates come from REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"] at request time, so settings overrides
apply; an exceeded rate answers 429 with Retry-After (DRF's Throttled).
"""

from rest_framework.settings import api_settings
from rest_framework.throttling import SimpleRateThrottle

from apps.machines.permissions import request_machine


class _ScopedThrottle(SimpleRateThrottle):
    def __init__(self) -> None:
        self.rate = self.get_rate()
        self.num_requests, self.duration = self.parse_rate(self.rate)

    def get_rate(self) -> str | None:
        return api_settings.DEFAULT_THROTTLE_RATES.get(self.scope)


class MachineRateThrottle(_ScopedThrottle):
    scope = "machine"

    def get_cache_key(self, request, view) -> str | None:
        machine = request_machine(request)
        return self.cache_format % {"scope": self.scope, "ident": machine.pk} if machine else None


class OperatorRateThrottle(_ScopedThrottle):
    scope = "operator"

    def get_cache_key(self, request, view) -> str | None:
        user = request.user
        if request_machine(request) is not None or not (user and user.is_authenticated):
            return None
        return self.cache_format % {"scope": self.scope, "ident": user.pk}


class AnonymousRateThrottle(_ScopedThrottle):
    scope = "anonymous"

    def get_cache_key(self, request, view) -> str | None:
        if request.user and request.user.is_authenticated:
            return None
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}
