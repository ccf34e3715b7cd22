"""How the gate's and the services' refusals read over HTTP: 403, 404, 409 and 400."""

from __future__ import annotations

from typing import Any

from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from memory.models import Customer
from memory.selectors import ContextAccessRefused
from memory.services import IdentityBelongsToAnotherCustomer, StaleVersion


def exception_handler(error: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(error, ContextAccessRefused):
        return Response(
            {"detail": str(error), "refused": sorted(p.value for p in error.refused)},
            status=status.HTTP_403_FORBIDDEN,
        )
    if isinstance(error, Customer.DoesNotExist):
        return Response({"detail": "No such customer."}, status=status.HTTP_404_NOT_FOUND)
    if isinstance(error, StaleVersion):
        return Response(
            {
                "detail": str(error),
                "current": {
                    "id": error.current.pk,
                    "key": error.current.key,
                    "written_version": error.current.written_version,
                },
            },
            status=status.HTTP_409_CONFLICT,
        )
    if isinstance(error, IdentityBelongsToAnotherCustomer):
        return Response({"detail": str(error)}, status=status.HTTP_409_CONFLICT)
    return drf_exception_handler(error, context)
