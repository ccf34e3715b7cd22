"""When the database cannot be reached or its connections are all busy, answer at once with
503 and Retry-After instead of a 500 after a long wait: Twilio and SendGrid retry a 5xx, and
nothing was accepted, so nothing is lost."""

from __future__ import annotations

import logging
from collections.abc import Callable

from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse

logger = logging.getLogger(__name__)

RETRY_AFTER_SECONDS = 5


class DatabaseUnavailableMiddleware:
    """Turns a database that is down or out of connections into 503 + Retry-After."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not isinstance(exception, OperationalError | InterfaceError):
            return None
        logger.warning("database unavailable for %s: %s", request.path, type(exception).__name__)
        response = HttpResponse(
            "Service temporarily unavailable; retry shortly.\n",
            status=503,
            content_type="text/plain",
        )
        response["Retry-After"] = str(RETRY_AFTER_SECONDS)
        return response
