"""Login lockout (django-axes) for the login form and the admin's."""

from axes.backends import AxesStandaloneBackend
from django.conf import settings
from django.shortcuts import render


class LoginLockoutBackend(AxesStandaloneBackend):
    """Refuses a locked-out username at the login form.

    Code that authenticates without a request (tests' `client.login`, scripts) has no address to
    lock against; django-axes would raise for it, so it is passed on to the next backend instead.
    """

    def authenticate(self, request, username=None, password=None, **kwargs):
        if request is None:
            return None
        return super().authenticate(request, username=username, password=password, **kwargs)


def lockout_response(request, original_response=None, credentials=None):
    """The lockout page, with the standard Retry-After header (seconds) a client can act on."""
    minutes = settings.AXES_COOLOFF_TIME * 60
    context = {"failure_limit": settings.AXES_FAILURE_LIMIT, "cooloff_minutes": round(minutes)}
    response = render(request, "registration/locked_out.html", context, status=429)
    response["Retry-After"] = str(round(minutes * 60))
    return response
