"""Answers 503 while the database is unreachable (a restart), so a client retries instead of
reading a 500 as a verdict; an upload that got this was not stored."""

import logging

from django.db import InterfaceError, OperationalError
from django.http import JsonResponse

logger = logging.getLogger(__name__)

RETRY_AFTER_SECONDS = 5


class DatabaseUnavailableMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if not isinstance(exception, OperationalError | InterfaceError):
            return None
        logger.error("Database unavailable during %s %s: %s", request.method, request.path, exception)
        response = JsonResponse(
            {"detail": "The database is unavailable; nothing was stored. Retry in a few seconds."}, status=503
        )
        response["Retry-After"] = str(RETRY_AFTER_SECONDS)
        return response
